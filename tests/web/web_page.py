"""Helpers for driving the web page in the browser tests: waiting, typing a
message, reading replies, the Network events the page caused."""
import json
import shutil
import time

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

CHROMIUM = "/usr/bin/chromium"  # Debian's chromium and chromium-driver
CHROMEDRIVER = "/usr/bin/chromedriver"
KEY = "page-secret"  # the --api-key of the keyed server
WAIT = 60  # seconds: a bound that proves "not stuck", never a speed check


def new_browser(width=1280, height=900):
    """Debian's Chromium, headless, with the DevTools logs the tests read."""
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


def wait_for(condition, what, timeout=WAIT, interval=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def open_fresh(driver, url):
    """Loads `url` with its origin's localStorage empty, and waits for the
    page's module to have run."""
    driver.get(url)
    driver.execute_script("localStorage.clear()")
    driver.get(url)
    wait_until_ready(driver)


def wait_until_ready(driver):
    # chat.js renders the conversation list or the empty note once it ran.
    wait_for(lambda: driver.execute_script(
        "return document.querySelector('#messages > *, #tps-in') !== null && "
        "document.readyState === 'complete'"), "the page's script")


def set_field(driver, element_id, value):
    """Sets a settings field the way typing would (its input event fires)."""
    driver.execute_script(
        "const e = document.getElementById(arguments[0]); e.value = arguments[1];"
        "e.dispatchEvent(new Event('input', {bubbles: true}));", element_id, str(value))


def type_message(driver, *keys):
    box = driver.find_element(By.ID, "prompt")
    box.send_keys(*keys)
    box.send_keys(Keys.ENTER)


def replies(driver):
    return driver.find_elements(By.CSS_SELECTOR, ".message.assistant")


def streaming(driver):
    return driver.execute_script("return document.querySelector('.message.streaming') !== null")


def wait_reply_done(driver, count):
    """Waits for the `count`-th reply to have finished (Send is back)."""
    wait_for(lambda: len(replies(driver)) >= count and not streaming(driver)
             and driver.find_element(By.ID, "send").is_displayed(), "the reply to finish")
    return replies(driver)[count - 1]


def health(server):
    return httpx.get(server.url + "/health", timeout=30).json()


def requested_urls(driver):
    """Every URL the page asked for since the last call (DevTools Network
    events from Chrome's performance log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls
