"""Speed by context depth, side by side with llama.cpp: for each model and
depth, `pensieve bench -d D` and `llama-bench -d D` on the same GGUF file
with the same prompt/generated token counts and thread count, run in turns
(Pensieve, llama.cpp, Pensieve, llama.cpp, ...) so that a machine busy for
a while slows both alike; the figures are the medians of the turns.

llama-bench is never part of this repository: bench/llamacpp/build.sh builds
it into a cache folder, and without one the results say llama.cpp was not
measured and why."""
import json
import os
import statistics
import subprocess

from cli_benches import models_dir
from common import log, pensieve_json

DEPTHS = (0, 4096, 8192, 16384, 32768)
Q8_MAX_DEPTH = 8192  # the deepest row of the Q8_0 KV cache's table
SMOKE_DEPTHS = (0, 512)
TIMEOUT_S = 1800  # one run at the deepest depth on a small machine; a stuck run still ends


def gguf_path(model):
    """The file of a known model name, or the path given."""
    return model if os.path.isfile(model) else str(models_dir() / f"{model}.gguf")


def llama_bench_version(exe):
    """`llama-bench --version`'s first line (version, build and commit)."""
    r = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    lines = (r.stdout + r.stderr).strip().splitlines()
    return lines[0].removeprefix("version: ") if lines else "unknown"


def _pensieve(binary, model, pp, tg, depth, threads, kv_type=None):
    kv = ["--kv-type", kv_type] if kv_type else []
    r = pensieve_json(binary, "bench", "-m", model, "-t", threads, "-p", pp, "-g", tg, "-d", depth,
                      "-r", 1, *kv, "--json", timeout=TIMEOUT_S)
    return {"prefill_tok_s": r["prefill_tok_s_median"], "decode_tok_s": r["decode_tok_s_median"]}


def _llama(exe, gguf, pp, tg, depth, threads, kv_type=None):
    """One llama-bench run: its pp test (n_prompt > 0) is prefill, its tg test
    (n_gen > 0) decode; avg_ts is tokens per second over its one repetition.
    A quantized KV cache needs its flash attention on."""
    kv = ["-ctk", kv_type, "-ctv", kv_type, "-fa", "1"] if kv_type else []
    r = subprocess.run([exe, "-m", gguf, "-p", str(pp), "-n", str(tg), "-d", str(depth), "-t", str(threads),
                        "-r", "1", *kv, "-o", "json"], capture_output=True, text=True, timeout=TIMEOUT_S)
    if r.returncode != 0:
        raise RuntimeError(f"llama-bench failed: {r.stderr.strip()[-500:]}")
    tests = json.loads(r.stdout)
    pre = next(t for t in tests if t["n_prompt"] > 0 and t["n_gen"] == 0)
    dec = next(t for t in tests if t["n_gen"] > 0 and t["n_prompt"] == 0)
    settings = {k: pre[k] for k in ("n_batch", "n_ubatch", "type_k", "type_v", "flash_attn", "n_threads", "poll",
                                    "build_commit")}
    return {"prefill_tok_s": pre["avg_ts"], "decode_tok_s": dec["avg_ts"]}, settings


def _median(runs, key):
    return statistics.median(run[key] for run in runs) if runs else None


def _one_depth(binary, llama_exe, model, gguf, pp, tg, depth, threads, reps, kv_type=None):
    ours, theirs, settings = [], [], None
    for rep in range(reps):
        log(f"depth sweep: {model} depth {depth}{' ' + kv_type if kv_type else ''} turn {rep + 1}/{reps}")
        ours.append(_pensieve(binary, model, pp, tg, depth, threads, kv_type))
        if llama_exe:
            run, settings = _llama(llama_exe, gguf, pp, tg, depth, threads, kv_type)
            theirs.append(run)
    row = {"depth": depth, "pensieve": {"prefill_tok_s": _median(ours, "prefill_tok_s"),
                                        "decode_tok_s": _median(ours, "decode_tok_s"), "runs": ours}}
    if llama_exe:
        row["llama_cpp"] = {"prefill_tok_s": _median(theirs, "prefill_tok_s"),
                            "decode_tok_s": _median(theirs, "decode_tok_s"), "runs": theirs}
    return row, settings


def depth_sweep(binary, models, depths, reps, pp, tg, threads, llama_exe=None, llama_missing=None):
    """Per model, the rows for the depths up to its trained context length
    (deeper ones would time a model used outside what it was made for; the
    test's own tokens after the deepest one may run past it, as they do in
    llama-bench); llama.cpp's figures when `llama_exe` is given, else the
    reason in `llama_missing`."""
    out = {"prompt_tokens": pp, "gen_tokens": tg, "threads": threads, "repetitions": reps, "depths": depths,
           "llama_cpp": {"measured": bool(llama_exe)}, "models": []}
    if llama_exe:
        out["llama_cpp"].update({"binary": llama_exe, "version": llama_bench_version(llama_exe)})
    else:
        out["llama_cpp"]["reason"] = llama_missing or "no llama-bench binary was given"
    for model in models:
        gguf = gguf_path(model)
        ctx_train = pensieve_json(binary, "info", "--json", gguf)["context_length"]
        entry = {"model": model, "context_length": ctx_train, "rows": [],
                 "skipped_depths": [d for d in depths if d > ctx_train]}
        for depth in (d for d in depths if d <= ctx_train):
            row, settings = _one_depth(binary, llama_exe, model, gguf, pp, tg, depth, threads, reps)
            entry["rows"].append(row)
            if settings:
                out["llama_cpp"]["settings"] = settings
        out["models"].append(entry)
    # The first model again with a Q8_0 KV cache (half the bytes a decoding
    # token reads at depth), at depth 0 and the deepest depth up to 8192.
    if models:
        deep = max((d for d in depths if 0 < d <= Q8_MAX_DEPTH), default=None)
        gguf = gguf_path(models[0])
        rows = [_one_depth(binary, llama_exe, models[0], gguf, pp, tg, d, threads, reps, "q8_0")[0]
                for d in ([0, deep] if deep else [0])]
        out["kv_q8_0"] = {"model": models[0], "rows": rows}
    return out


# A long prompt against prompts of a sixteenth of its length: with sliding
# windows (Gemma 3's local layers read only their last 512 positions) the
# long one should cost little more than its length in short ones.
LONG_PROMPT = (16384, 1024)
SMOKE_LONG_PROMPT = (1024, 256)
LONG_PROMPT_TARGET = 1.5  # the long prompt's time ÷ the short prompts' time, at most


def _prefill_tok_s(binary, model, tokens, reps, threads):
    r = pensieve_json(binary, "bench", "-m", model, "-t", threads, "-p", tokens, "-g", 1, "-r", reps,
                      "-c", tokens + 16, "--json", timeout=TIMEOUT_S)
    return r["prefill_tok_s_median"]


def long_prompt(binary, models, long_tokens, short_tokens, reps, threads):
    """Per model whose trained context holds `long_tokens`: prefill speed of
    one prompt of `long_tokens` and of prompts of `short_tokens` (three runs
    per turn), in turns; the time ratio is long time ÷ (long/short × short
    time), i.e. short tok/s ÷ long tok/s of the medians."""
    out = {"long_tokens": long_tokens, "short_tokens": short_tokens, "threads": threads, "repetitions": reps,
           "target_ratio": LONG_PROMPT_TARGET, "models": [], "skipped": []}
    for model in models:
        ctx_train = pensieve_json(binary, "info", "--json", gguf_path(model))["context_length"]
        if ctx_train < long_tokens + 16:
            out["skipped"].append({"model": model, "context_length": ctx_train})
            continue
        turns = []
        for rep in range(reps):
            log(f"long prompt: {model} turn {rep + 1}/{reps}")
            turns.append({"short_tok_s": _prefill_tok_s(binary, model, short_tokens, 3, threads),
                          "long_tok_s": _prefill_tok_s(binary, model, long_tokens, 1, threads)})
        short, long = _median(turns, "short_tok_s"), _median(turns, "long_tok_s")
        out["models"].append({"model": model, "short_tok_s": short, "long_tok_s": long,
                              "long_seconds": long_tokens / long,
                              "short_seconds": long_tokens / short,
                              "ratio": short / long, "turns": turns})
    return out
