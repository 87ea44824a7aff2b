#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine: system packages, the
# Python venv for tooling, a Release build in build/, and the default model
# in the model directory (~/.cache/pensieve/models or $PENSIEVE_HOME/models).
# Safe to run again: each step skips what is already done.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/setup-venv.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build --target pensieve -j"$(nproc)"
# pip download runs from the project's venv, never the user's Python.
PENSIEVE_PYTHON="$PWD/.venv/bin/python" build/pensieve pull
