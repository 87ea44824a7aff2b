#!/usr/bin/env bash
# Runs the libFuzzer targets for a bounded time (default 60 s each).
# Needs clang (Debian: clang, libclang-rt-14-dev) and the .venv (for seeds).
# Usage: scripts/fuzz.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DPENSIEVE_FUZZ=ON -DPENSIEVE_BENCH=OFF -DPENSIEVE_TESTS=ON > /dev/null
cmake --build build-fuzz --target fuzz_gguf
seeds=build-fuzz/seeds/gguf
corpus=build-fuzz/corpus/gguf
mkdir -p "$seeds" "$corpus"
.venv/bin/python tests/fuzz/make_seeds.py "$seeds"
echo "fuzzing the GGUF reader for ${seconds}s"
build-fuzz/tests/fuzz/fuzz_gguf -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048 \
    -timeout=10 -print_final_stats=1 "$corpus" "$seeds" 2>&1 | tail -n 12
