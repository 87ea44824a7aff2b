#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and serves the default model on 127.0.0.1:7777.
# Extra arguments are passed to `pensieve serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if build/pensieve serve --help > /dev/null 2>&1; then
    exec build/pensieve serve "$@"
fi
# The HTTP server arrives with issue 7; until then show what would be served.
build/pensieve info "$(build/pensieve models | awk '/smollm2-135m-instruct-q4_1/ {print $NF}')"
echo
echo "pensieve: the HTTP server is not built yet; the model above is ready to serve once it is."
