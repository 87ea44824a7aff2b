"""Where the built binaries and the known models are, for every pytest suite.

PENSIEVE_BUILD_DIR picks the build (default: build/). Models are looked up in
the model directory ($PENSIEVE_HOME/models or ~/.cache/pensieve/models) and
never downloaded by a test. A missing input (model, binary, probe, tool)
fails the tests that need it: nothing is skipped for want of an input.
"""
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

MODEL_FILES = {
    "smollm2": "smollm2-135m-instruct-q4_1.gguf",
    "gemma3": "gemma3-270m-q4_k_m.gguf",
}


def build_dir() -> Path:
    return (REPO / os.environ.get("PENSIEVE_BUILD_DIR", "build")).resolve()


def models_dir() -> Path:
    home = os.environ.get("PENSIEVE_HOME")
    base = Path(home) if home else Path.home() / ".cache" / "pensieve"
    return base / "models"


def missing(what: str):
    pytest.fail(f"{what} is missing: scripts/test.sh builds everything and pulls the models")


def model_path(name: str) -> Path:
    path = models_dir() / MODEL_FILES[name]
    if not path.exists():
        missing(f"model {name} ({path})")
    return path
