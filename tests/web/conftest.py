"""The built-in web page in Debian's headless Chromium, driven by Selenium,
against the real `pensieve serve` (tests/serve.py) with the default model.
Nothing is mocked: the page streams real replies from the real server.
A missing chromium or chromium-driver fails the suite (scripts/install-deps.sh
installs both); it is never skipped."""
import shutil

import pytest

from serve import Server

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
KEY = "page-secret"


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


def new_browser(width=1280, height=900):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        if shutil.which(path) is None:
            pytest.fail(f"{path} is missing: scripts/install-deps.sh installs chromium "
                        "and chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                f"--window-size={width},{height}", "--no-first-run", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-default-apps"):
        options.add_argument(arg)
    # The performance log carries the DevTools Network events: every URL the
    # page asks for. The browser log carries console errors (CSP reports).
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_script_timeout(30)
    return driver


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
