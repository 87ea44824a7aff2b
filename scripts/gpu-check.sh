#!/usr/bin/env bash
# The prepared GPU check, for a machine with a GPU and no network: builds a
# Release tree, lists the Vulkan devices, runs the GPU unit tests on the
# first usable one, and times `pensieve bench` on the CPU against
# `--gpu-layers -1` on a random-weight model of a real shape it writes
# (default llama2-7b at q4_k_m) and on the default model (reported as not
# measured when it is not in the model directory). Prints one JSON summary on stdout; progress goes to
# stderr, and a step that could not run is named in the summary.
#
# Usage: scripts/gpu-check.sh [--debs DIR] [--shape NAME] [--mix MIX] [--quick]
#   --debs DIR  install the .deb files in DIR first (the Vulkan loader,
#               headers, glslc) when the loader or glslc is missing
#   --quick     a tiny random model and short runs (checks the script itself,
#               e.g. on lavapipe)
set -euo pipefail
cd "$(dirname "$0")/.."
debs="" shape=llama2-7b mix=q4_k_m quick=0
while [ $# -gt 0 ]; do
    case "$1" in
        --debs) debs=$2; shift 2 ;;
        --shape) shape=$2; shift 2 ;;
        --mix) mix=$2; shift 2 ;;
        --quick) quick=1; shape=tiny; shift ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
log() { echo "gpu-check: $*" >&2; }
start=$(date +%s)

if [ -n "$debs" ] && { ! ldconfig -p | grep -q 'libvulkan.so.1' || ! command -v glslc > /dev/null; }; then
    log "installing the .deb files in $debs"
    dpkg -i "$debs"/*.deb >&2
fi

log "building (Release) in build-gpu/"
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DPENSIEVE_BENCH=OFF > /dev/null
cmake --build build-gpu -j"$(nproc)" --target pensieve pensieve_gpu_tests make_random_model >&2
bin=build-gpu/pensieve
devices=$("$bin" gpu --json)

log "GPU unit tests"
tests_ok=false
if build-gpu/tests/unit/gpu/pensieve_gpu_tests --gtest_brief=1 >&2; then tests_ok=true; fi

# pensieve bench of one model (the default one when none is given) on the
# CPU and fully offloaded, as JSON; a bench that fails gives its error line.
prompt=512 gen=64 reps=3
[ "$quick" = 1 ] && prompt=16 gen=4 reps=1
bench_one() {
    local out
    if out=$("$bin" bench "$@" -p "$prompt" -g "$gen" -r "$reps" --json 2> build-gpu/bench.err); then
        printf '%s' "$out"
    else
        printf '"not measured: %s"' "$(tail -n 1 build-gpu/bench.err | tr -d '"\\')"
    fi
}
bench_pair() {
    log "bench ${1:-the default model}: CPU, then --gpu-layers -1"
    local cpu gpu
    cpu=$(bench_one ${1:+-m "$1"})
    gpu=$(bench_one ${1:+-m "$1"} --gpu-layers -1)
    printf '{"cpu": %s, "gpu": %s}' "$cpu" "$gpu"
}

# The random model takes its tokenizer from a vocabulary-only GGUF in the
# repository (Llama's 32000 SentencePiece pieces), so nothing is downloaded.
shape_file=build-gpu/shapes/$shape-$mix.gguf
mkdir -p build-gpu/shapes
if [ ! -f "$shape_file" ]; then
    log "writing a random-weight $shape model ($mix)"
    build-gpu/tools/make_random_model --shape "$shape" --mix "$mix" \
        --tokenizer-from tests/data/vocab/ggml-vocab-llama-spm.gguf --out "$shape_file" >&2
fi
shape_bench=$(bench_pair "$shape_file")
default_bench=$(bench_pair "")

printf '{"devices": %s, "gpu_unit_tests_passed": %s, "shape": "%s", "mix": "%s", "shape_bench": %s, "default_model_bench": %s, "seconds": %d}\n' \
    "$devices" "$tests_ok" "$shape" "$mix" "$shape_bench" "$default_bench" "$(( $(date +%s) - start ))"
