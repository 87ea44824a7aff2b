#!/usr/bin/env python3
"""Takes the README's screenshots of the built-in web page: the chat page
and the server page at desktop and phone width, with the real server and
the default model (tests/serve.py starts it, tests/web/web_page.py drives
Debian's headless Chromium). Writes docs/images/*.png.

Run: PENSIEVE_BUILD_DIR=build .venv/bin/python scripts/screenshots.py"""
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "tests"), str(REPO / "tests" / "web")]

import httpx  # noqa: E402

from serve import Server  # noqa: E402
from web_page import (new_browser, open_fresh, set_field, type_message,  # noqa: E402
                      wait_reply_done)

OUT = REPO / "docs" / "images"
DESKTOP = (1280, 800)
PHONE = (390, 844)


def shoot(driver, size, name):
    driver.set_window_size(*size)
    time.sleep(0.5)  # let the layout settle at the new width
    driver.save_screenshot(str(OUT / name))
    print("wrote", OUT / name)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    server = Server("--seed", "7")
    driver = new_browser(*DESKTOP)
    stop = threading.Event()
    try:
        open_fresh(driver, server.url + "/")
        set_field(driver, "max-tokens", 160)
        set_field(driver, "temperature", 0.3)
        type_message(driver, "What is a hash table? Answer briefly, with a short Python example.")
        wait_reply_done(driver, 1)
        shoot(driver, DESKTOP, "chat-desktop.png")
        shoot(driver, PHONE, "chat-phone.png")

        def load():
            while not stop.is_set():
                httpx.post(server.url + "/v1/messages", timeout=120, json={
                    "model": "m", "max_tokens": 64,
                    "messages": [{"role": "user", "content": "Tell me about rivers."}]})

        threads = [threading.Thread(target=load, name=f"load{i}") for i in range(3)]
        for t in threads:
            t.start()
        driver.set_window_size(*DESKTOP)
        driver.get(server.url + "/status")
        time.sleep(20)  # twenty refreshes: the charts have a shape
        shoot(driver, DESKTOP, "status-desktop.png")
        shoot(driver, PHONE, "status-phone.png")
    finally:
        stop.set()
        for t in threading.enumerate():
            if t is not threading.current_thread() and t.name.startswith("load"):
                t.join(timeout=120)
        driver.quit()
        server.stop()


if __name__ == "__main__":
    main()
