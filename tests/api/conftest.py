"""Starts the real `pensieve serve` (the default model, a free port) for the
API tests and stops it afterwards (tests/serve.py). Nothing is mocked: the
SDKs talk HTTP to the real server, which runs the real model."""
import httpx
import pytest

from serve import Server  # noqa: F401  (re-exported: the suites import it from here)


@pytest.fixture(scope="session")
def server():
    s = Server()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def keyed_server():
    s = Server("--api-key", "secret-key")
    yield s
    s.stop()


@pytest.fixture(scope="session")
def small_server():
    """A tiny context and body limit, for the overflow and size errors."""
    s = Server("--ctx", "64", "--max-body", "1")
    yield s
    s.stop()


@pytest.fixture
def http(server):
    with httpx.Client(base_url=server.url, timeout=120) as client:
        yield client
