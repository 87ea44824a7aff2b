"""The kernels' bandwidth targets as one table, from real runs of
pensieve_bench_kernels: read bandwidth (a STREAM-like sum, and the 8-stream
access pattern of the GEMV), GEMV from memory (BM_GemvCold) as GB/s and as a
share of the STREAM-like bandwidth, and Q4_K GEMM per-token speed against
b = 1.

This machine's memory bandwidth drifts by several percent from minute to
minute (a shared host), so the benchmarks are run in interleaved rounds -
bandwidth and GEMV side by side in every round - and the table quotes
medians over the rounds (each round itself a median of --repetitions).

Usage: python bench/kernels/bandwidth_table.py [--binary B] [--rounds 3]
         [--repetitions 3] [--threads 1,2]
"""
import argparse
import json
import statistics
import subprocess
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
GEMV_TYPES = {2: "Q4_0", 3: "Q4_1", 8: "Q8_0", 12: "Q4_K", 14: "Q6_K", 1: "F16"}
TARGET_TYPES = ("Q4_0", "Q4_1", "Q8_0", "Q4_K")  # >= 85% of bandwidth at 2 threads
GEMM_TYPE = 12  # Q4_K
GEMM_BATCHES = (1, 16, 64, 256)


def run_round(binary, pattern, repetitions):
    """Medians of one run of the benchmarks matching `pattern`, by name."""
    out = subprocess.run(
        [binary, f"--benchmark_filter={pattern}", f"--benchmark_repetitions={repetitions}",
         "--benchmark_report_aggregates_only=true", "--benchmark_format=json"],
        check=True, capture_output=True, text=True).stdout
    medians = {}
    for b in json.loads(out)["benchmarks"]:
        # One repetition reports no aggregates: its single run is the median.
        if b.get("aggregate_name", "median") == "median":
            if "error_message" in b:
                raise SystemExit(f"{b['run_name']}: {b['error_message']}")
            medians[b["run_name"]] = b
    return medians


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=str(REPO / "build/bench/kernels/pensieve_bench_kernels"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repetitions", type=int, default=3)
    ap.add_argument("--threads", default="1,2")
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    t_alt = "|".join(str(t) for t in threads)
    types = "|".join(str(t) for t in GEMV_TYPES)
    batches = "|".join(str(b) for b in GEMM_BATCHES)
    pattern = (f"BM_ReadBandwidth/({t_alt})/|BM_GemvCold/({types})/({t_alt})/|"
               f"BM_Gemm/{GEMM_TYPE}/({t_alt})/({batches})/")
    samples = defaultdict(list)  # run name -> value per round
    label = ""
    for r in range(args.rounds):
        for name, b in run_round(args.binary, pattern, args.repetitions).items():
            samples[name].append(b["tok/s"] if name.startswith("BM_Gemm/") else b["GB/s"])
            label = b.get("label") or label
        print(f"round {r + 1}/{args.rounds} done", flush=True)
    med = {name: statistics.median(v) for name, v in samples.items()}

    def get(name):
        return med.get(name + "/real_time")

    print(f"\nkernel variant: {label.split()[-1] if label else '?'}; "
          f"medians of {args.rounds} interleaved rounds x {args.repetitions} repetitions\n")
    print("| threads | read, 1 stream GB/s | read, 8 streams GB/s |")
    print("|---|---|---|")
    for t in threads:
        print(f"| {t} | {get(f'BM_ReadBandwidth/{t}/1'):.1f} | {get(f'BM_ReadBandwidth/{t}/8'):.1f} |")
    print("\nGEMV 11008 x 4096 from memory (BM_GemvCold), GB/s of weights "
          "(% of the 1-stream read bandwidth at the same thread count):\n")
    print("| threads | " + " | ".join(GEMV_TYPES.values()) + " |")
    print("|---|" + "---|" * len(GEMV_TYPES))
    for t in threads:
        bw = get(f"BM_ReadBandwidth/{t}/1")
        cells = []
        for tid, name in GEMV_TYPES.items():
            v = get(f"BM_GemvCold/{tid}/{t}")
            cells.append(f"{v:.1f} ({100 * v / bw:.0f}%)")
        print(f"| {t} | " + " | ".join(cells) + " |")
    print(f"\nQ4_K GEMM 11008 x 4096 in cache (BM_Gemm), tok/s (x per token of b = 1):\n")
    print("| threads | " + " | ".join(f"b={b}" for b in GEMM_BATCHES) + " |")
    print("|---|" + "---|" * len(GEMM_BATCHES))
    for t in threads:
        one = get(f"BM_Gemm/{GEMM_TYPE}/{t}/1")
        cells = [f"{get(f'BM_Gemm/{GEMM_TYPE}/{t}/{b}'):.0f} ({get(f'BM_Gemm/{GEMM_TYPE}/{t}/{b}') / one:.1f}x)"
                 for b in GEMM_BATCHES]
        print(f"| {t} | " + " | ".join(cells) + " |")
    misses = [n for tid, n in GEMV_TYPES.items() if n in TARGET_TYPES and 2 in threads
              and get(f"BM_GemvCold/{tid}/2") < 0.85 * get("BM_ReadBandwidth/2/1")]
    print("\nGEMV target (>= 85% at 2 threads): " + ("met" if not misses else "missed by " + ", ".join(misses)))
    if 2 in threads:
        ratio = get(f"BM_Gemm/{GEMM_TYPE}/2/64") / get(f"BM_Gemm/{GEMM_TYPE}/2/1")
        print(f"GEMM target (b = 64 >= 8x b = 1 per token, 2 threads): {ratio:.2f}x, "
              + ("met" if ratio >= 8 else "missed"))


if __name__ == "__main__":
    main()
