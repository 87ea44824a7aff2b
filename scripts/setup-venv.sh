#!/usr/bin/env bash
# Creates (or updates) the project's Python virtual environment in .venv with
# the test/tooling packages from requirements-test.txt. Never touches the
# user's own Python installation.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements-test.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    .venv/bin/pip install --quiet --disable-pip-version-check -r requirements-test.txt
    echo "$want" > "$stamp"
fi
