#!/usr/bin/env bash
# Runs the libFuzzer targets for a bounded time each (default 60 s per target):
# the GGUF reader, the request path, the Jinja interpreter, the tokenizers,
# the tool-schema grammar compiler with its token masks, and the web pull's
# source strings, file lists and header values.
# Needs clang (Debian: clang, libclang-rt-14-dev) and the .venv (for the GGUF
# seeds). Exits non-zero if any target finds a crash, hang or leak; the
# reproducer is left in build-fuzz/artifacts/<target>/ and the full output in
# build-fuzz/logs/<target>.log.
# Usage: scripts/fuzz.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
targets=(gguf request jinja tokenizer schema web_source)
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPENSIEVE_FUZZ=ON -DPENSIEVE_BENCH=OFF -DPENSIEVE_TESTS=ON > /dev/null
cmake --build build-fuzz --target "${targets[@]/#/fuzz_}"
mkdir -p build-fuzz/seeds/gguf build-fuzz/logs
.venv/bin/python tests/fuzz/make_seeds.py build-fuzz/seeds/gguf

failed=()
for target in "${targets[@]}"; do
    corpus=build-fuzz/corpus/$target
    artifacts=build-fuzz/artifacts/$target/
    log=build-fuzz/logs/$target.log
    mkdir -p "$corpus" "$artifacts"
    seeds=tests/fuzz/seeds/$target
    [[ $target == gguf ]] && seeds=build-fuzz/seeds/gguf
    options=(-max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048 -timeout=10
             -print_final_stats=1 -artifact_prefix="$artifacts")
    [[ -f tests/fuzz/$target.dict ]] && options+=(-dict="tests/fuzz/$target.dict")
    echo "fuzzing $target for ${seconds}s"
    if build-fuzz/tests/fuzz/fuzz_"$target" "${options[@]}" "$corpus" "$seeds" > "$log" 2>&1; then
        grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "$log" || true
    else
        tail -n 60 "$log"
        failed+=("$target")
    fi
done
if (( ${#failed[@]} )); then
    echo "fuzzing found problems in: ${failed[*]} (see build-fuzz/artifacts/ and build-fuzz/logs/)"
    exit 1
fi
