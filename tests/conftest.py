"""Shared pytest fixtures: the built `pensieve` binary and the known models
(see paths.py for where they are looked up)."""
from pathlib import Path

import pytest

from paths import REPO, build_dir, missing, model_path  # noqa: F401  (re-exported)


@pytest.fixture(scope="session")
def pensieve_bin() -> Path:
    path = build_dir() / "pensieve"
    if not path.exists():
        missing(f"the pensieve binary ({path})")
    return path


@pytest.fixture(scope="session")
def default_model() -> Path:
    return model_path("smollm2")


@pytest.fixture(scope="session")
def gemma_model() -> Path:
    return model_path("gemma3")
