#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and serves the default model on 127.0.0.1:7777.
# Extra arguments are passed to `pensieve serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec build/pensieve serve "$@"
