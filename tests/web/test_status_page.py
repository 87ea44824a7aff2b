"""The server page at /status: under load its numbers move, its charts
draw, and it names the model and kernels the server reports."""
import re
import threading

import httpx
from selenium.webdriver.common.by import By

from web_page import open_fresh, wait_for


def number(driver, element_id):
    text = driver.find_element(By.ID, element_id).text
    match = re.match(r"[\d.]+", text)
    return float(match.group()) if match else None


def test_the_numbers_move_under_load(browser, server):
    open_fresh(browser, server.url + "/status")
    wait_for(lambda: browser.find_element(By.ID, "state").text == "live", "the first refresh")
    metrics = httpx.get(server.url + "/metrics", timeout=30).text
    kernels = re.search(r'pensieve_build_info\{.*kernels="([^"]+)"', metrics).group(1)
    model = re.search(r'pensieve_build_info\{.*model="([^"]+)"', metrics).group(1)
    assert browser.find_element(By.ID, "kernels").text == kernels
    assert browser.find_element(By.ID, "model").text == model
    generated_before = number(browser, "generated")

    stop = threading.Event()

    def load():
        while not stop.is_set():
            httpx.post(server.url + "/v1/messages", timeout=120, json={
                "model": "m", "max_tokens": 40,
                "messages": [{"role": "user", "content": "Tell me about rivers."}]})

    threads = [threading.Thread(target=load) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: (number(browser, "tps-out") or 0) > 0, "tokens/s out above 0")
        wait_for(lambda: (number(browser, "tps-in") or 0) > 0, "tokens/s in above 0")
        wait_for(lambda: (number(browser, "running") or 0) >= 1, "a running sequence")
        wait_for(lambda: (number(browser, "generated") or 0) > (generated_before or 0),
                 "the generated-token count to grow")
        wait_for(lambda: browser.find_element(By.ID, "ttft-p50").text not in ("–", ""),
                 "a time-to-first-token percentile")
        first = browser.find_element(By.ID, "generated").text
        wait_for(lambda: browser.find_element(By.ID, "generated").text != first,
                 "the page to refresh with new numbers")
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=120)
    assert browser.find_element(By.ID, "itl-p50").text.endswith("ms")
    # The charts have drawn lines with several points each.
    points = browser.execute_script(
        "return document.querySelector('#chart-tps polyline.out').getAttribute('points')")
    assert len(points.split()) >= 2, points
    assert browser.find_element(By.ID, "memory").text.endswith(("MiB", "GiB"))
