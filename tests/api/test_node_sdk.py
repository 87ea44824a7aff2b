"""The official @anthropic-ai/sdk (npm) against the real server: one
streamed and one non-streamed call (tests/api/node/sdk_check.mjs), and forced
tool calls streamed and not, their inputs validated with Ajv
(tests/api/node/tools_check.mjs); and the official `openai` npm package on
the OpenAI dialect (tests/api/node/openai_check.mjs: create, stream, a
streamed tool call and its round trip, json_schema, models, error classes)."""
import shutil
import subprocess
from pathlib import Path

import pytest

NODE_DIR = Path(__file__).parent / "node"


def test_node_sdk_streamed_and_not(server):
    assert shutil.which("node") is not None, "node is not installed"
    assert (NODE_DIR / "node_modules" / "@anthropic-ai" / "sdk").exists(), \
        "run `npm ci --prefix tests/api/node` first (scripts/test.sh does)"
    r = subprocess.run(["node", "sdk_check.mjs", server.url], cwd=NODE_DIR, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("OK")


def test_node_sdk_tool_calls_streamed_and_not(server):
    assert shutil.which("node") is not None, "node is not installed"
    assert (NODE_DIR / "node_modules" / "ajv").exists(), \
        "run `npm ci --prefix tests/api/node` first (scripts/test.sh does)"
    r = subprocess.run(["node", "tools_check.mjs", server.url], cwd=NODE_DIR, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("OK")


def test_openai_npm_package(server, keyed_server):
    assert shutil.which("node") is not None, "node is not installed"
    assert (NODE_DIR / "node_modules" / "openai").exists(), \
        "run `npm ci --prefix tests/api/node` first (scripts/test.sh does)"
    r = subprocess.run(["node", "openai_check.mjs", server.url, keyed_server.url], cwd=NODE_DIR,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("OK")
