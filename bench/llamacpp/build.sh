#!/usr/bin/env bash
# Builds llama.cpp's llama-bench and llama-perplexity, the reference the
# benchmark suite measures Pensieve against side by side (speed by depth).
# A comparison tool only: never vendored into this repository, never linked
# into Pensieve, never used by a test.
#
# The source is the llama.cpp that the PyPI sdist of llama-cpp-python ships
# under vendor/llama.cpp (PyPI is reachable where GitHub may not be), at a
# pinned version. The binaries and their shared libraries go to
# ~/.cache/pensieve/llama.cpp/<version>/bin (under $PENSIEVE_HOME if set),
# built with their run path set to their own folder so that folder is all
# they need. Idempotent: when both binaries are there and run, nothing is
# done. Prints the binary folder on stdout (progress goes to stderr).
#
# Usage: bench/llamacpp/build.sh [--jobs N] [--dir]
#   --jobs  parallel compile jobs (default: all cores)
#   --dir   only print the binary folder, building nothing (for scripts/benchmark.sh)
set -euo pipefail

version=0.3.36
jobs=$(nproc)
dir_only=0
while [ $# -gt 0 ]; do
    case "$1" in
        --jobs) jobs=$2; shift 2 ;;
        --dir) dir_only=1; shift ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "build.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

home=${PENSIEVE_HOME:-$HOME/.cache/pensieve}
root=$home/llama.cpp/$version
bin=$root/bin
targets=(llama-bench llama-perplexity)
if [ "$dir_only" = 1 ]; then
    echo "$bin"
    exit 0
fi

runs() {  # both binaries present, their libraries found, and they start
    for t in "${targets[@]}"; do
        [ -x "$bin/$t" ] || return 1
        ! ldd "$bin/$t" | grep -q 'not found' || return 1
    done
    "$bin/llama-bench" --version > /dev/null 2>&1
}
if runs; then
    echo "$bin"
    exit 0
fi

# The sdist, fetched once into the cache (pip checks its hash against PyPI's).
mkdir -p "$root/sdist"
sdist=$root/sdist/llama_cpp_python-$version.tar.gz
if [ ! -f "$sdist" ]; then
    echo "build.sh: downloading llama-cpp-python $version (sdist) from PyPI" >&2
    python3 -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
        "llama-cpp-python==$version" -d "$root/sdist" >&2
fi
src=$root/src/llama_cpp_python-$version/vendor/llama.cpp
if [ ! -f "$src/CMakeLists.txt" ]; then
    rm -rf "$root/src"
    mkdir -p "$root/src"
    tar -xzf "$sdist" -C "$root/src"
fi

# GGML_NATIVE: tuned for this CPU, as Pensieve's own kernels are.
# CMAKE_BUILD_RPATH_USE_ORIGIN: the binaries find their libraries through
# $ORIGIN, so copying them with the libraries keeps them working.
echo "build.sh: building ${targets[*]} (llama.cpp from llama-cpp-python $version; several minutes)" >&2
cmake -S "$src" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
    -DLLAMA_CURL=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
    -DCMAKE_BUILD_RPATH_USE_ORIGIN=ON > "$root/configure.log" 2>&1 ||
    { tail -20 "$root/configure.log" >&2; exit 1; }
cmake --build "$root/build" -j"$jobs" --target "${targets[@]}" > "$root/build.log" 2>&1 ||
    { tail -20 "$root/build.log" >&2; exit 1; }

mkdir -p "$bin"
for t in "${targets[@]}"; do
    cp "$root/build/bin/$t" "$bin/"
done
cp -P "$root/build/bin/"lib*.so* "$bin/"
if ! runs; then
    echo "build.sh: the installed binaries do not run:" >&2
    ldd "$bin/llama-bench" >&2
    exit 1
fi
echo "$bin"
