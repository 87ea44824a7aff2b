"""Shared pytest fixtures: where the built binaries and the known models are.

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


def _missing(what: str):
    if os.environ.get("PENSIEVE_REQUIRE_MODELS") == "1":
        pytest.fail(f"{what} is missing (PENSIEVE_REQUIRE_MODELS=1)")
    pytest.skip(f"{what} is missing; run scripts/setup.sh or `pensieve pull`")


@pytest.fixture(scope="session")
def pensieve_bin() -> Path:
    path = build_dir() / "pensieve"
    if not path.exists():
        _missing(f"the pensieve binary ({path})")
    return path


def model_path(name: str) -> Path:
    path = models_dir() / MODEL_FILES[name]
    if not path.exists():
        _missing(f"model {name} ({path})")
    return path


@pytest.fixture(scope="session")
def default_model() -> Path:
    return model_path("smollm2")


@pytest.fixture(scope="session")
def gemma_model() -> Path:
    return model_path("gemma3")
