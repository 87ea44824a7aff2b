#!/usr/bin/env bash
# The benchmark suite: measures Pensieve on this machine (latency, concurrency,
# load time and memory, memory by context size, speed by threads, speed and
# perplexity per model, speed by context depth side by side with llama.cpp,
# streaming, error recovery, a perf profile) into one JSON file, and with
# --report writes docs/PERFORMANCE.md and its plots from that file alone.
#
# Usage: scripts/benchmark.sh [--model M] [--duration S] [--report]
#                             [--build DIR] [--out FILE] [--llama-bench PATH]
#                             [-- run.py options]
#   --model     model under test (known name or path; default: the default model)
#   --duration  seconds per load level and per timed loop (default 15; 3-5 for a smoke test)
#   --report    also write docs/PERFORMANCE.md + docs/performance/*.png; the raw
#               results then go to docs/performance/results.json next to them
#   --build     Release build directory to use, built here if needed (default build)
#   --out       results file (default <build>/bench-results/<UTC time>.json)
#   --llama-bench  llama.cpp's llama-bench, run side by side in the speed-by-depth
#               table (default: the one bench/llamacpp/build.sh built, if any; without
#               one the report says llama.cpp was not measured)
# Anything after `--` goes to bench/report/run.py (e.g. --levels 1,5 --ctx-sizes 512,1024,
# --depths 0,4096 --depth-reps 1, --only depth).
set -euo pipefail
cd "$(dirname "$0")/.."

model=smollm2-135m-instruct-q4_1
duration=15
report=0
build=build
out=
llama_bench=
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --model) model=$2; shift 2 ;;
        --duration) duration=$2; shift 2 ;;
        --report) report=1; shift ;;
        --build) build=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --llama-bench) llama_bench=$2; shift 2 ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
        *) echo "benchmark.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
# The command line as the report will show it.
cmdline="scripts/benchmark.sh --model $model --duration $duration"
[ "$report" = 1 ] && cmdline+=" --report"
[ "$build" != build ] && cmdline+=" --build $build"
[ -n "$llama_bench" ] && cmdline+=" --llama-bench $llama_bench"
[ ${#extra[@]} -gt 0 ] && cmdline+=" -- ${extra[*]}"
start=$(date +%s)

# Python: the test venv plus the suite's own packages (matplotlib, httpx).
scripts/setup-venv.sh
stamp=.venv/.requirements-bench.sha256
want=$(sha256sum requirements-bench.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    .venv/bin/pip install --quiet --disable-pip-version-check -r requirements-bench.txt
    echo "$want" > "$stamp"
fi

# perf for the bottleneck profile; without it the report says so and goes on.
if ! command -v perf > /dev/null && [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
    apt-get install -y -qq linux-perf > /dev/null 2>&1 || echo "benchmark.sh: could not install linux-perf; no profile" >&2
fi

# The binary under test: a Release build of the current tree.
if [ ! -f "$build/CMakeCache.txt" ]; then
    cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null
fi
if ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release' "$build/CMakeCache.txt"; then
    echo "benchmark.sh: $build is not a Release build; use --build DIR" >&2
    exit 2
fi
cmake --build "$build" -j"$(nproc)" --target pensieve > /dev/null

# The model: pulled if it is a known name that is not downloaded yet.
if [ ! -f "$model" ] && ! "$build/pensieve" models | grep -q "^$model "; then
    "$build/pensieve" pull "$model"
fi

if [ -z "$out" ]; then
    if [ "$report" = 1 ]; then
        out=docs/performance/results.json
    else
        out=$build/bench-results/$(date -u +%Y%m%d-%H%M%S).json
    fi
fi
# llama.cpp for the side-by-side table: never built here (that takes a while;
# bench/llamacpp/build.sh does it once), only found.
if [ -z "$llama_bench" ]; then
    llama_bench=$(bench/llamacpp/build.sh --dir)/llama-bench
    [ -x "$llama_bench" ] || llama_bench=
fi
[ -z "$llama_bench" ] &&
    echo "benchmark.sh: no llama-bench (bench/llamacpp/build.sh builds one); llama.cpp will not be measured" >&2
.venv/bin/python bench/report/run.py --binary "$build/pensieve" --model "$model" \
    --duration "$duration" --out "$out" --command "$cmdline" \
    ${llama_bench:+--llama-bench "$llama_bench"} "${extra[@]}"
if [ "$report" = 1 ]; then
    .venv/bin/python bench/report/generate.py "$out" --out docs/PERFORMANCE.md
fi
echo "benchmark.sh: done in $(( $(date +%s) - start )) s; results in $out" >&2
