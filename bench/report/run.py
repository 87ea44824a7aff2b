"""Runs every benchmark of the suite on this machine and writes one JSON file
of raw results; `generate.py` makes the report from that file alone, so no
number in the report can be typed in by hand.

Usage: python bench/report/run.py --binary build/pensieve [--model M]
         [--duration S] [--out FILE] [--levels 1,5,10,20,50]
         [--ctx-sizes 512,...,8192] [--depths 0,4096,...] [--depth-reps N]
         [--shapes SHAPE:MIX,...] [--shape-reps N] [--llama-bench PATH] [--only SECTION,...]

--duration is the time budget of each load level and of each timed loop;
sweeps with a fixed amount of work (context sizes, thread counts) scale
their repetitions with it. --only runs just the named sections (a quick
look at one of them; the report then shows the others as not measured).
--llama-bench names llama.cpp's llama-bench for the speed-by-depth and
model-shape comparisons; without it those tables have Pensieve's figures
only and say why. The model-shape rows write their random-weight files
into ~/.cache/pensieve/shapes once (gigabytes each; minutes for a 7B).
"""
import argparse
import json
import os
import shlex
import sys
import tempfile
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import cli_benches  # noqa: E402
import concurrency  # noqa: E402
import depth_sweep  # noqa: E402
import shape_sweep  # noqa: E402
import errors  # noqa: E402
import machine  # noqa: E402
import perf_profile  # noqa: E402
import server_benches  # noqa: E402
from common import REPO, log  # noqa: E402


def _display_path(path):
    """The results path as the report should show it: repo-relative if inside."""
    path = path.resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


SECTIONS = ("load", "single", "api_json", "concurrency", "errors", "threads", "context", "quantization",
            "depth", "long_prompt", "shapes", "profile")


def section(results, name, fn):
    """Runs one benchmark, recording its wall time; a failure is recorded as
    an error in the results (and shown in the report), not a crash of the run.
    A section left out by --only is not run and not recorded."""
    if name not in results["sections_run"]:
        return
    t = time.perf_counter()
    try:
        results[name] = fn()
    except Exception as e:  # noqa: BLE001 - any failure becomes a visible error entry
        traceback.print_exc()
        results[name] = {"error": f"{type(e).__name__}: {e}"}
    results["section_seconds"][name] = time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=str(REPO / "build" / "pensieve"))
    ap.add_argument("--model", default="smollm2-135m-instruct-q4_1")
    ap.add_argument("--duration", type=float, default=15)
    ap.add_argument("--levels", default="1,5,10,20,50")
    ap.add_argument("--ctx-sizes", default="512,1024,2048,4096,8192")
    ap.add_argument("--max-tokens", type=int, default=100, help="tokens per request under load")
    ap.add_argument("--reply-tokens", type=int, default=100,
                    help="max_tokens of the single-request and streaming replies (the seed's 100)")
    ap.add_argument("--requantize", default="q8_0,q4_0",
                    help="formats to requantize the model under test to for the quantization table ('' for none)")
    ap.add_argument("--models", default=None,
                    help="models for the load and model tables (default: every downloaded known model)")
    ap.add_argument("--depths", default=None,
                    help="depths of the speed-by-depth table (default 0,4096,8192,16384,32768, each model up to "
                         "its trained context; 0,512 when --duration is under 5 s)")
    ap.add_argument("--depth-reps", type=int, default=None,
                    help="turns per engine and depth in that table (default: the sweeps' repetitions)")
    ap.add_argument("--shapes", default=None,
                    help="SHAPE:MIX,... of the model-shapes table (default: 1B-8B shapes at q4_k_m and q8_0, "
                         "the 1B at f16 and bf16)")
    ap.add_argument("--shape-reps", type=int, default=None,
                    help="turns per engine and row in that table (default: the sweeps' repetitions)")
    ap.add_argument("--llama-bench", default=None,
                    help="llama.cpp's llama-bench, measured side by side in that table (bench/llamacpp/build.sh)")
    ap.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections to run (default: all)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--command", default=None, help="the command line to record (from benchmark.sh)")
    a = ap.parse_args()
    only = a.only.split(",")
    if unknown := [x for x in only if x not in SECTIONS]:
        ap.error(f"unknown section(s) {','.join(unknown)}; known: {','.join(SECTIONS)}")
    if a.llama_bench and not os.access(a.llama_bench, os.X_OK):
        ap.error(f"--llama-bench {a.llama_bench} is not an executable file")
    binary = Path(a.binary).resolve()
    d = a.duration
    reps = max(1, min(5, int(d // 6)))
    # Prompt/generated tokens of the speed sweeps: llama-bench-like sizes, or
    # small ones for a smoke test (--duration under 5 s).
    pp, tg = (256, 64) if d >= 5 else (64, 16)
    # The speed-by-depth table: llama-bench -d's prompt and generated tokens
    # (-p 256 -n 32) at depths up to 32768, or a smoke test's.
    depths = ([int(x) for x in a.depths.split(",")] if a.depths
              else list(depth_sweep.DEPTHS if d >= 5 else depth_sweep.SMOKE_DEPTHS))
    depth_pp, depth_tg = (256, 32) if d >= 5 else (64, 16)
    threads = os.cpu_count() or 1
    t0 = time.perf_counter()
    results = {
        "schema": 1,
        "machine": machine.describe(binary),
        "settings": {"model": a.model, "duration_s": d, "levels": a.levels, "ctx_sizes": a.ctx_sizes,
                     "max_tokens": a.max_tokens, "reply_tokens": a.reply_tokens, "repetitions": reps,
                     "sweep_tokens": [pp, tg], "binary": _display_path(binary)},
        "commands": {"suite": a.command or " ".join(map(shlex.quote, sys.argv)),
                     "results": _display_path(Path(a.out))},
        "section_seconds": {},
        "sections_run": only,
    }
    models = a.models.split(",") if a.models else cli_benches.known_models(binary)
    if a.model not in models:
        models.insert(0, a.model)
    section(results, "load", lambda: [server_benches.load_and_memory(binary, m) for m in models])
    section(results, "single", lambda: server_benches.single_request_suite(binary, a.model, d, a.reply_tokens))
    section(results, "api_json", lambda: cli_benches.api_json(binary, 2000))
    section(results, "concurrency", lambda: concurrency.concurrency_table(
        binary, a.model, [int(x) for x in a.levels.split(",")], d, a.max_tokens))
    section(results, "errors", lambda: errors.error_recovery(binary, a.model, max(3, min(20, int(d)))))
    section(results, "threads", lambda: cli_benches.threads_sweep(binary, a.model, reps, pp, tg))
    section(results, "context", lambda: cli_benches.ctx_sweep(
        binary, a.model, [int(x) for x in a.ctx_sizes.split(",")]))
    with tempfile.TemporaryDirectory() as tmp:
        section(results, "quantization", lambda: cli_benches.quantization(
            binary, models, reps, a.model, [t for t in a.requantize.split(",") if t], tmp, pp, tg))
    section(results, "depth", lambda: depth_sweep.depth_sweep(
        binary, models, depths, a.depth_reps or reps, depth_pp, depth_tg, threads, a.llama_bench,
        None if a.llama_bench else "run.py was not given --llama-bench (scripts/benchmark.sh passes the one "
        "bench/llamacpp/build.sh builds, when it is there)"))
    long_tokens, short_tokens = depth_sweep.LONG_PROMPT if d >= 5 else depth_sweep.SMOKE_LONG_PROMPT
    section(results, "long_prompt", lambda: depth_sweep.long_prompt(
        binary, models, long_tokens, short_tokens, a.depth_reps or reps, threads))
    shape_rows = ([tuple(x.split(":")) for x in a.shapes.split(",")] if a.shapes
                  else shape_sweep.default_rows(d < 5))
    section(results, "shapes", lambda: shape_sweep.shape_sweep(
        binary, shape_rows, a.shape_reps or reps, depth_pp, depth_tg, threads, a.llama_bench,
        None if a.llama_bench else "run.py was not given --llama-bench",
        shape_sweep.default_batch_rows(d < 5)))
    section(results, "profile", lambda: perf_profile.profile(
        binary, a.model, int(min(512, 40 * d)), int(min(512, 64 * d))))
    results["machine"]["load_average_end"] = machine.load_average()
    results["total_seconds"] = time.perf_counter() - t0
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    log(f"wrote {out} in {results['total_seconds']:.0f} s")


if __name__ == "__main__":
    main()
