"""Speed on the shapes of the models users run, side by side with llama.cpp:
random-weight files of real shapes and weight mixes written by
`tools/make_random_model` (cached, since a 7B file takes minutes to write),
then `pensieve bench` and `llama-bench` on the same file in turns, each turn
starting with the file out of the page cache, and decode against the
machine's read-bandwidth roofline: the bytes one decode step reads (every
weight matrix but the embedding table, from which one row is read, plus the
output projection) divided into the bandwidth bench_kernels' BM_ReadBandwidth
measures with the same thread count (the faster of its two read patterns)
around that row's runs. On the 1B and 8B Q4_K_M files, also the aggregate
decode speed of several sequences at once against one."""
import os
import re
import statistics
import subprocess
from pathlib import Path

import gguf

from common import log, pensieve_json
from depth_sweep import _llama, _median, _pensieve, llama_bench_version

SHAPES = ("llama3.2-1b", "qwen2.5-1.5b", "gemma3-1b", "llama3.2-3b", "llama3.1-8b")
MIXES = ("q4_k_m", "q8_0")
# Float mixes on the smallest shape only: an F16 8B file is 16 GB.
FLOAT_ROWS = (("llama3.2-1b", "f16"), ("llama3.2-1b", "bf16"))
# A mixture of experts: 17 GB on disk, ~1.9 GB read per token (8 of 128 experts).
MOE_ROWS = (("qwen3-30b-a3b", "q4_k_m"),)
# Its prefill is measured over the prompt its target names: longer prompts
# give each expert more rows at once.
MOE_PROMPT_TOKENS = 512
SMOKE_ROWS = (("tiny", "q4_k_m"),)  # a test shape: seconds, not minutes
# Batched decode: aggregate tok/s of this many sequences decoding together.
BATCH_SIZES = (1, 4, 16)
BATCH_TARGETS = {4: 2.5, 16: 6.0}  # aggregate ÷ one sequence, at least
BATCH_ROWS = (("llama3.2-1b", "q4_k_m"), ("llama3.1-8b", "q4_k_m"))
# The work-split model: thread counts past this machine's cores, modelled.
SPLIT_THREADS = (1, 2, 4, 8, 16)
SPLIT_TARGET = 12.0  # prefill on 16 threads, at least this × one thread
TOKENIZER = "smollm2-135m-instruct-q4_1"
TIMEOUT_S = 1800


def shapes_dir():
    home = os.environ.get("PENSIEVE_HOME")
    return (Path(home) if home else Path.home() / ".cache" / "pensieve") / "shapes"


def model_file(build, shape, mix):
    """The cached random-weight file of (shape, mix), written when missing."""
    path = shapes_dir() / f"{shape}-{mix}.gguf"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        log(f"shape sweep: writing {path.name}")
        subprocess.run([str(build / "tools" / "make_random_model"), "--shape", shape, "--mix", mix,
                        "--tokenizer-from", TOKENIZER, "--out", str(path)], check=True, timeout=TIMEOUT_S)
    return path


def decode_bytes(path):
    """Weight bytes one decode step reads, and the file's type mix. Of a
    mixture-of-experts model's expert tensors (`*_exps`), one token reads its
    active experts only: expert_used_count of expert_count."""
    r = gguf.GGUFReader(path)
    arch = r.fields["general.architecture"].contents()
    used = r.fields.get(f"{arch}.expert_used_count")
    count = r.fields.get(f"{arch}.expert_count")
    tied = not any(t.name == "output.weight" for t in r.tensors)
    total, types = 0, {}
    for t in r.tensors:
        types[t.tensor_type.name] = types.get(t.tensor_type.name, 0) + int(t.n_bytes)
        if t.name == "token_embd.weight":
            total += int(t.n_bytes) if tied else int(t.n_bytes) // int(t.shape[1])
        elif t.name.endswith("_exps.weight"):
            total += int(t.n_bytes) * int(used.contents()) // int(count.contents())
        else:
            total += int(t.n_bytes)
    return total, types


def bandwidth_exe(build):
    """bench_kernels, or None from a build without it (PENSIEVE_BENCH=OFF)."""
    exe = build / "bench" / "kernels" / "pensieve_bench_kernels"
    return exe if exe.exists() else None


def read_bandwidth(build, threads):
    """GB/s the machine reads over 1 GiB: the faster of BM_ReadBandwidth's two
    patterns (threads/1: a STREAM-like sum; threads/8: eight prefetched
    streams per thread, the b = 1 kernels' pattern, which reads faster on some
    CPUs), each the median of 3 runs; None from a build without the kernel
    benchmarks (PENSIEVE_BENCH=OFF)."""
    exe = bandwidth_exe(build)
    if exe is None:
        return None
    r = subprocess.run([str(exe), f"--benchmark_filter=BM_ReadBandwidth/{threads}/",
                        "--benchmark_repetitions=3", "--benchmark_report_aggregates_only=true"],
                       capture_output=True, text=True, timeout=600, check=True)
    return max(float(re.search(r"GB/s=([0-9.]+)", x).group(1))
               for x in r.stdout.splitlines() if "_median" in x)


def uncache(path):
    """Drops the file's pages from the page cache (those no process maps), so
    that the next program reads the file in its own way. Pages stay the size
    they were read in with: Pensieve's huge-page mapping reads 2 MiB pages,
    llama.cpp's mapping smaller ones, and whichever ran before would otherwise
    decide how the other's weights are mapped (on a 2-core Zen 4, the 30B-A3B
    file left in the cache by llama.cpp decoded at 14-16 tok/s in Pensieve,
    read in by Pensieve itself at 19.7)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def _row(binary, build, llama_exe, shape, mix, pp, tg, threads, reps):
    """One (shape, mix): turns of Pensieve and llama.cpp, each from a file out
    of the cache, with the read bandwidth measured before the first turn and
    after each (the machine's bandwidth moves with its neighbours' load: a
    2-core cloud VM measured 31 to 56 GB/s within minutes), the roofline from
    the median of those samples."""
    path = model_file(build, shape, mix)
    nbytes, types = decode_bytes(path)
    ours, theirs, settings = [], [], None
    samples = [read_bandwidth(build, threads)]
    for rep in range(reps):
        log(f"shape sweep: {shape} {mix} turn {rep + 1}/{reps}")
        uncache(path)
        ours.append(_pensieve(binary, str(path), pp, tg, 0, threads))
        if llama_exe:
            uncache(path)
            run, settings = _llama(llama_exe, str(path), pp, tg, 0, threads)
            theirs.append(run)
        samples.append(read_bandwidth(build, threads))
    row = {"shape": shape, "mix": mix, "prompt_tokens": pp, "file_bytes": path.stat().st_size,
           "decode_bytes": nbytes, "type_bytes": types,
           "pensieve": {"prefill_tok_s": _median(ours, "prefill_tok_s"),
                        "decode_tok_s": _median(ours, "decode_tok_s"), "runs": ours}}
    if llama_exe:
        row["llama_cpp"] = {"prefill_tok_s": _median(theirs, "prefill_tok_s"),
                            "decode_tok_s": _median(theirs, "decode_tok_s"), "runs": theirs}
    if None not in samples:
        bw = statistics.median(samples)
        row["read_bandwidth_gb_s"] = {"samples": samples, "median": bw}
        row["roofline_tok_s"] = bw * 1e9 / nbytes
        for who in ("pensieve", "llama_cpp"):
            if who in row:
                row[who]["decode_share_of_roofline"] = row[who]["decode_tok_s"] / row["roofline_tok_s"]
    return row, settings


def batched_decode(binary, build, rows, reps, tg, threads):
    """Per (shape, mix): `pensieve bench --batch-sizes` aggregate decode of
    1, 4 and 16 sequences (tg tokens each), medians of the turns."""
    out = {"batch_sizes": list(BATCH_SIZES), "targets": {str(b): t for b, t in BATCH_TARGETS.items()},
           "gen_tokens": tg, "threads": threads, "repetitions": reps, "rows": []}
    sizes = ",".join(map(str, BATCH_SIZES))
    for shape, mix in rows:
        path = model_file(build, shape, mix)
        runs = []
        for rep in range(reps):
            log(f"batched decode: {shape} {mix} turn {rep + 1}/{reps}")
            r = pensieve_json(binary, "bench", "-m", path, "-t", threads, "-p", 16, "-g", tg, "-r", 1,
                              "--batch-sizes", sizes, "--json", timeout=TIMEOUT_S)
            runs.append(r["batched_decode_tok_s"])
        out["rows"].append({"shape": shape, "mix": mix, "runs": runs, "aggregate_tok_s": {
            str(b): statistics.median(run[str(b)] for run in runs) for b in BATCH_SIZES}})
    return out


def split_model(binary, build, rows, threads=SPLIT_THREADS, pp=256, tg=8):
    """Per (shape, mix): `pensieve bench --split-model`, the forward pass's
    calls recorded with pools of each thread count and list-scheduled on
    that many free cores (compute only)."""
    out = {"threads": list(threads), "prompt_tokens": pp, "gen_tokens": tg, "target_16": SPLIT_TARGET,
           "rows": []}
    for shape, mix in rows:
        path = model_file(build, shape, mix)
        log(f"split model: {shape} {mix}")
        r = pensieve_json(binary, "bench", "-m", path, "-p", pp, "-g", tg, "--split-model",
                          ",".join(map(str, threads)), "--json", timeout=TIMEOUT_S)
        out["rows"].append({"shape": shape, "mix": mix, **r["split_model"]})
    return out


def shape_sweep(binary, rows, reps, pp, tg, threads, llama_exe=None, llama_missing=None, batch_rows=()):
    """One row per (shape, mix): Pensieve's and llama.cpp's pp/tg, and decode
    as a share of the roofline of the bandwidth measured around the row's
    runs (mixtures of experts: prefill over MOE_PROMPT_TOKENS). Then batched
    decode on `batch_rows`."""
    build = Path(binary).resolve().parent
    out = {"prompt_tokens": pp, "gen_tokens": tg, "threads": threads, "repetitions": reps,
           "llama_cpp": {"measured": bool(llama_exe)}, "rows": [],
           "tool": "tools/make_random_model --shape S --mix M --tokenizer-from " + TOKENIZER}
    if llama_exe:
        out["llama_cpp"].update({"binary": llama_exe, "version": llama_bench_version(llama_exe)})
    else:
        out["llama_cpp"]["reason"] = llama_missing or "no llama-bench binary was given"
    for shape, mix in rows:
        row_pp = MOE_PROMPT_TOKENS if (shape, mix) in MOE_ROWS else pp
        row, settings = _row(binary, build, llama_exe, shape, mix, row_pp, tg, threads, reps)
        out["rows"].append(row)
        if settings:
            out["llama_cpp"]["settings"] = settings
    if bandwidth_exe(build) is None:
        out["bandwidth_missing"] = f"{build} has no bench/kernels/pensieve_bench_kernels (PENSIEVE_BENCH=OFF)"
    out["batched"] = batched_decode(binary, build, batch_rows, reps, tg, threads)
    out["split"] = split_model(binary, build, batch_rows)
    return out


def default_rows(smoke):
    if smoke:
        return list(SMOKE_ROWS)
    return [(s, m) for s in SHAPES for m in MIXES] + list(FLOAT_ROWS) + list(MOE_ROWS)


def default_batch_rows(smoke):
    return list(SMOKE_ROWS if smoke else BATCH_ROWS)
