"""The built-in web page in Debian's headless Chromium, driven by Selenium,
against the real `pensieve serve` (tests/serve.py) with the default model.
Nothing is mocked: the page streams real replies from the real server.
A missing chromium or chromium-driver fails the suite (scripts/install-deps.sh
installs both); it is never skipped."""
import pytest

from serve import Server
from web_page import KEY, new_browser


@pytest.fixture(scope="session")
def server():
    s = Server()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def keyed_server():
    s = Server("--api-key", KEY)
    yield s
    s.stop()


@pytest.fixture(scope="session")
def browser():
    driver = new_browser()
    yield driver
    driver.quit()


@pytest.fixture
def chat(browser, server):
    """The chat page of `server`, with this origin's localStorage emptied."""
    from web_page import open_fresh
    open_fresh(browser, server.url + "/")
    return browser
