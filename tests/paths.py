"""Where the built binaries and the known models are, for every pytest suite.

PENSIEVE_BUILD_DIR picks the build (default: build/). Models are looked up in
the model directory ($PENSIEVE_HOME/models or ~/.cache/pensieve/models) and
never downloaded by a test. A missing model skips its tests, unless
PENSIEVE_REQUIRE_MODELS=1 (set by scripts/test.sh), where it fails them.
"""
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"

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
    if os.environ.get("PENSIEVE_REQUIRE_MODELS") == "1":
        pytest.fail(f"{what} is missing (PENSIEVE_REQUIRE_MODELS=1)")
    pytest.skip(f"{what} is missing; run scripts/setup.sh or `pensieve pull`")


def model_path(name: str) -> Path:
    path = models_dir() / MODEL_FILES[name]
    if not path.exists():
        missing(f"model {name} ({path})")
    return path
