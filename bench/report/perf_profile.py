"""The bottleneck analysis' evidence: a sampling profile (`perf record`) of a
decode-only run and of a prefill-only run, reduced to the top functions and
to coarse groups (matmul, attention, …). Without a working perf the report
falls back to the engine's own phase timings, and says so."""
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from common import log

# Coarse groups by function name, first match wins. Heuristic, and labelled
# as such in the report; the top-functions table shows the raw names.
GROUPS = [
    ("attention and KV cache (F16)", r"attend|attention|attn|softmax|dot_f16|axpy_f16|quantize_f16"),
    ("quantized matmul / GEMV", r"gemv|matmul|micro|tile|vec_dot|dot_q|pack|quantize_row"),
    ("norms, RoPE, activations", r"norm|rope|silu|gelu|swiglu|exp"),
    ("thread pool (waiting/spinning)", r"ThreadPool|thread_pool|worker|spin|futex|sched_yield|pause"),
    ("kernel (OS)", r"^\[k\]"),
]


def short_name(symbol):
    """`pensieve::kernels::avx512::(anonymous namespace)::gemv<…>` → `kernels::avx512::gemv<…>`:
    namespaces the reader knows are dropped, template arguments abbreviated."""
    s = re.split(r"\s{2,}", symbol.strip())[0]  # perf pads the column and appends others
    s = s.replace("pensieve::", "").replace("(anonymous namespace)::", "")
    s = re.sub(r"\((?:\w+::)*\w+\)(\d+)", r"\1", s)  # enum casts in template args: (Enum)1 → 1
    return s if len(s) <= 90 else s[:87] + "..."


def _perf_top(binary, args, seconds_hint):
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "perf.data"
        rec = subprocess.run(["perf", "record", "-F", "999", "-o", str(data), "--", str(binary),
                              *map(str, args)], capture_output=True, text=True,
                             timeout=120 + 4 * seconds_hint)
        if rec.returncode != 0:
            raise RuntimeError(rec.stderr.strip().splitlines()[-1] if rec.stderr.strip() else "perf failed")
        rep = subprocess.run(["perf", "report", "-i", str(data), "--stdio", "--no-children",
                              "--sort", "symbol", "--percent-limit", "0.3"],
                             capture_output=True, text=True, timeout=300)
    rows = []
    for line in rep.stdout.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\[[.k]\])\s+(.*\S)", line)
        if m:
            rows.append({"percent": float(m.group(1)), "space": m.group(2),
                         "symbol": short_name(m.group(3))})
    samples = re.search(r"# Samples: (\S+)", rep.stdout)
    groups = {}
    for r in rows:
        name = next((g for g, rx in GROUPS
                     if re.search(rx, r["symbol"] if r["space"] == "[.]" else "[k]", re.I)), "other")
        groups[name] = groups.get(name, 0) + r["percent"]
    return {"samples": samples.group(1) if samples else None, "top": rows[:12],
            "groups": sorted(({"group": g, "percent": p} for g, p in groups.items()),
                             key=lambda x: -x["percent"])}


def profile(binary, model, decode_tokens, prefill_tokens):
    """perf profiles of decode and of prefill, or the reason there are none."""
    if not shutil.which("perf"):
        return {"tool": None, "note": "perf is not installed (Debian package linux-perf)"}
    try:
        log("profile: decode")
        decode = _perf_top(binary, ["bench", "-m", model, "-p", 1, "-g", decode_tokens, "-r", 1],
                           decode_tokens / 20)
        log("profile: prefill")
        prefill = _perf_top(binary, ["bench", "-m", model, "-p", prefill_tokens, "-g", 1, "-r", 2],
                            prefill_tokens / 100)
    except (RuntimeError, subprocess.SubprocessError, OSError) as e:
        return {"tool": None, "note": f"perf did not run here: {e}"}
    return {"tool": "perf record -F 999 (user + kernel samples, all threads)",
            "decode": decode, "prefill": prefill,
            "decode_command": f"pensieve bench -m {model} -p 1 -g {decode_tokens} -r 1",
            "prefill_command": f"pensieve bench -m {model} -p {prefill_tokens} -g 1 -r 2"}
