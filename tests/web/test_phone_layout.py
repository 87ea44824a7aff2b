"""Both pages at phone width (390 px): nothing wider than the window, the
composer and the side bar's toggle in reach."""
from selenium.webdriver.common.by import By

from web_page import open_fresh, wait_for

NO_OVERFLOW = "return document.documentElement.scrollWidth <= window.innerWidth"


def test_both_pages_fit_a_phone(browser, server):
    size = browser.get_window_size()
    browser.set_window_size(390, 844)
    try:
        open_fresh(browser, server.url + "/")
        assert browser.execute_script("return window.innerWidth") <= 400
        assert browser.execute_script(NO_OVERFLOW)
        assert browser.find_element(By.ID, "prompt").is_displayed()
        assert browser.find_element(By.ID, "send").is_displayed()
        new_chat = browser.find_element(By.ID, "new-chat")
        # The side bar is off screen until its toggle opens it.
        assert new_chat.rect["x"] + new_chat.rect["width"] <= 0
        browser.find_element(By.ID, "toggle-sidebar").click()
        wait_for(lambda: new_chat.rect["x"] >= 0, "the side bar to slide in")
        new_chat.click()
        wait_for(lambda: new_chat.rect["x"] + new_chat.rect["width"] <= 0,
                 "the side bar to close")

        browser.get(server.url + "/status")
        wait_for(lambda: browser.find_element(By.ID, "state").text == "live", "the first refresh")
        assert browser.execute_script(NO_OVERFLOW)
    finally:
        browser.set_window_size(size["width"], size["height"])
