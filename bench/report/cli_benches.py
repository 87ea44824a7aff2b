"""Benchmarks that run the `pensieve` CLI in-process (no HTTP): speed by
thread count, memory and speed by context size, speed and perplexity per
model/quantization, and the API's JSON cost. Each returns plain dicts for
the results file."""
import os
import re
import subprocess
from pathlib import Path

from common import REPO, log, pensieve_json

TEXT = REPO / "tests" / "data" / "text" / "coriolanus-act1.txt"


def models_dir():
    home = os.environ.get("PENSIEVE_HOME")
    return (Path(home) if home else Path.home() / ".cache" / "pensieve") / "models"


def known_models(binary):
    """Known model names that are downloaded, from `pensieve models --known`
    (the registry is the source of truth, not a list kept here)."""
    out = subprocess.run([str(binary), "models", "--known"], capture_output=True, text=True,
                         check=True).stdout
    known = out.split("known models", 1)[-1].splitlines()[1:]
    names = [line.split()[0] for line in known if line.strip()]
    return [n for n in names if (models_dir() / f"{n}.gguf").exists()]


def thread_counts():
    """1 .. all cores, plus twice the cores to show what oversubscription costs."""
    n = os.cpu_count() or 1
    counts = sorted({1, *range(2, n + 1, max(1, n // 4)), n, 2 * n})
    return counts


def threads_sweep(binary, model, reps, pp=256, tg=64):
    rows = []
    for t in thread_counts():
        log(f"threads sweep: {t} threads")
        r = pensieve_json(binary, "bench", "-m", model, "-t", t, "-p", pp, "-g", tg,
                          "-r", reps, "--json")
        rows.append({"threads": t, "prefill_tok_s": r["prefill_tok_s_median"],
                     "decode_tok_s": r["decode_tok_s_median"],
                     "prefill_tok_s_sd": r["prefill_tok_s_sd"], "decode_tok_s_sd": r["decode_tok_s_sd"],
                     "prompt_tokens": pp, "gen_tokens": tg, "repetitions": reps})
    return rows


def ctx_sweep(binary, model, sizes):
    log(f"context sweep: {sizes}")
    return pensieve_json(binary, "bench", "-m", model, "--ctx-sweep", ",".join(map(str, sizes)),
                         "--json")


def api_json(binary, iterations):
    log("JSON serialisation timing")
    return pensieve_json(binary, "bench", "--api-json", iterations)


def model_info(binary, name):
    """Size, parameters and quantization mix (by bytes) of a model file."""
    path = Path(name) if Path(name).is_file() else models_dir() / f"{name}.gguf"
    info = pensieve_json(binary, "info", "--json", path)
    types = {t: v["bytes"] for t, v in info["types"].items()}
    total = sum(types.values())
    mix = sorted(((t, b / total) for t, b in types.items()), key=lambda x: -x[1])
    return {"name": name, "display_name": info.get("name"), "architecture": info["architecture"],
            "parameters": info["parameters"],
            "file_mib": path.stat().st_size / 2**20,
            "quant_mix": [{"type": t, "share": s} for t, s in mix if s >= 0.01]}


def perplexity(binary, model, ctx=512):
    """Perplexity of the model on the public-domain text shipped in the repo."""
    r = subprocess.run([str(binary), "perplexity", "-m", model, "-f", TEXT, "--ctx", str(ctx)],
                       capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        raise RuntimeError(f"perplexity failed: {r.stderr.strip()}")
    head = re.match(r"(\d+) tokens, (\d+) chunks", r.stdout)
    value = re.search(r"perplexity: ([\d.]+)", r.stdout)
    return {"perplexity": float(value.group(1)), "tokens": int(head.group(1)),
            "chunks": int(head.group(2)), "ctx": ctx, "text": str(TEXT.relative_to(REPO))}


def _measure(binary, model, reps, pp, tg):
    """Speed and perplexity of one model file or known model."""
    speed = pensieve_json(binary, "bench", "-m", model, "-p", pp, "-g", tg, "-r", reps, "--json")
    row = {"prefill_tok_s": speed["prefill_tok_s_median"], "decode_tok_s": speed["decode_tok_s_median"],
           "weight_bytes_per_token": speed["weight_bytes_per_token"], "prompt_tokens": pp, "gen_tokens": tg}
    row.update(perplexity(binary, model))
    return row


def quantization(binary, models, reps, requantize_model=None, types=(), work_dir=None, pp=256, tg=64):
    """Per available model: what it is, its speed and its perplexity, as
    published. The known models are different models in different formats,
    so for the model under test the same is measured for copies requantized
    by `pensieve quantize` (from the published file, so they can only lose
    quality against it; what they show is each format's speed and its
    added loss)."""
    rows = []
    for name in models:
        log(f"quantization: {name}")
        row = model_info(binary, name)
        row["source"] = "published"
        row.update(_measure(binary, name, reps, pp, tg))
        rows.append(row)
    for t in types:
        out = Path(work_dir) / f"{Path(requantize_model).stem}.{t}.gguf"
        log(f"quantization: {requantize_model} requantized to {t}")
        try:
            subprocess.run([str(binary), "quantize", requantize_model, str(out), "--type", t],
                           check=True, capture_output=True, text=True, timeout=600)
            row = model_info(binary, str(out))
            row.update({"name": f"{requantize_model} → {t}", "source": "requantized from the published file"})
            row.update(_measure(binary, str(out), reps, pp, tg))
            rows.append(row)
        except (subprocess.SubprocessError, RuntimeError) as e:
            rows.append({"name": f"{requantize_model} → {t}", "error": str(e)})
        finally:
            out.unlink(missing_ok=True)
    return rows
