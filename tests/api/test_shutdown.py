"""SIGTERM and SIGINT with no grace period (--shutdown-grace 0): stop
accepting, cancel in-flight generation at once, exit 0. The grace period
itself is tested in test_hardening_http.py."""
import signal
import threading
import time

import httpx
import pytest

from conftest import Server


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_during_a_stream_exits_0_within_seconds(sig):
    s = Server("--shutdown-grace", "0")
    started = threading.Event()

    def stream():
        body = {"model": "m", "max_tokens": 5000, "stream": True, "temperature": 0,
                "messages": [{"role": "user", "content": "Write a very long story."}]}
        try:
            with httpx.stream("POST", s.url + "/v1/messages", json=body, timeout=60) as r:
                for line in r.iter_lines():
                    if "content_block_delta" in line:
                        started.set()
        except httpx.HTTPError:
            pass

    t = threading.Thread(target=stream, daemon=True)
    t.start()
    assert started.wait(60), "no token arrived"
    begin = time.time()
    s.proc.send_signal(sig)
    assert s.proc.wait(timeout=10) == 0
    assert time.time() - begin < 5
    t.join(timeout=5)
