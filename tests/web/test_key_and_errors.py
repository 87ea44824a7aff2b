"""The key prompt with --api-key, and the page's message for each error:
overloaded (529), prompt too long (400), server gone."""
import threading

import httpx
from selenium.webdriver.common.by import By

from serve import Server
from web_page import (KEY, health, open_fresh, replies, set_field, type_message, wait_for,
                      wait_reply_done)


def overlay_shown(driver):
    return driver.find_element(By.ID, "key-overlay").is_displayed()


def test_the_page_asks_for_the_key_once_and_keeps_it(browser, keyed_server):
    # The page itself loads without the key; its API calls need it.
    assert httpx.get(keyed_server.url + "/", timeout=30).status_code == 200
    assert httpx.get(keyed_server.url + "/v1/models", timeout=30).status_code == 401
    open_fresh(browser, keyed_server.url + "/")
    wait_for(lambda: overlay_shown(browser), "the key prompt")
    key_input = browser.find_element(By.ID, "key-input")
    key_input.send_keys("wrong-key")
    browser.find_element(By.ID, "key-save").click()
    wait_for(lambda: browser.find_element(By.ID, "key-error").is_displayed(),
             "the refused-key note")
    browser.find_element(By.ID, "key-input").send_keys(KEY)
    browser.find_element(By.ID, "key-save").click()
    wait_for(lambda: not overlay_shown(browser), "the prompt to close")
    wait_for(lambda: browser.find_element(By.ID, "model-name").text, "the model list")
    set_field(browser, "max-tokens", 8)
    type_message(browser, "Hi")
    reply = wait_reply_done(browser, 1)
    assert not reply.find_elements(By.CSS_SELECTOR, ".error")
    # Kept: a reload, and the server page, need no second prompt.
    for path in ("/", "/status"):
        browser.get(keyed_server.url + path)
        if path == "/":
            wait_for(lambda: browser.find_element(By.ID, "model-name").text, "the model list")
        else:
            wait_for(lambda: browser.find_element(By.ID, "state").text == "live", "live state")
        assert not overlay_shown(browser)


def error_text(driver):
    reply = wait_reply_done(driver, len(replies(driver)))
    errors = reply.find_elements(By.CSS_SELECTOR, ".error")
    assert errors, "no error shown"
    return errors[0].text


def test_each_error_gets_a_clear_message(browser):
    """One sequence at a time and a queue that gives up at once: a second
    request while one generates is 529; a tiny context makes a long prompt
    too long; then the server goes away."""
    s = Server("--ctx", "256", "--parallel", "1", "--queue-timeout", "0.001")
    try:
        open_fresh(browser, s.url + "/")
        set_field(browser, "max-tokens", 8)
        type_message(browser, "word " * 400)
        assert "too long" in error_text(browser)

        # Hold the only sequence with a long generation, then send.
        done = threading.Event()

        def hog():
            with httpx.stream("POST", s.url + "/v1/messages", timeout=120, json={
                    "model": "m", "max_tokens": 200, "stream": True, "temperature": 0,
                    "messages": [{"role": "user", "content": "Count from 1 to 500."}]}) as r:
                for _ in r.iter_bytes():
                    if done.is_set():
                        break

        thread = threading.Thread(target=hog)
        thread.start()
        try:
            wait_for(lambda: health(s)["in_flight"] == 1, "the long generation")
            type_message(browser, "Hello")
            message = error_text(browser)
            assert "busy" in message, message
        finally:
            done.set()
            thread.join(timeout=60)
    finally:
        s.stop()
    type_message(browser, "Are you there?")
    assert "unreachable" in error_text(browser)
