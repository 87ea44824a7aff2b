"""Failures inside the engine stay with the request they belong to: the
engine thread never dies, other requests finish, and the server goes on
serving with every KV block back in the pool.

The engine-side failure is provoked through the server's test hook
PENSIEVE_TEST_FAULT_TOKEN: any forward pass whose batch holds that token id
fails as a kernel error would. The token is one that only the poisoned
prompt contains."""
import concurrent.futures
import json
import subprocess
import time

import httpx
import pytest

from conftest import Server
from paths import build_dir, model_path


def token_ids(text):
    out = subprocess.run([str(build_dir() / "pensieve"), "tokenize", "--model",
                          str(model_path("smollm2")), "--ids-only", text],
                         capture_output=True, text=True, timeout=60, check=True)
    return [int(t) for t in out.stdout.split()]


POISON = "Tell me about the zyzzyva."
CLEAN = "Count from one to thirty, one number per line."


def message(content, max_tokens=48, stream=False):
    return {"model": "m", "max_tokens": max_tokens, "stream": stream, "temperature": 0,
            "messages": [{"role": "user", "content": content}]}


def still_serving(url):
    with httpx.Client(base_url=url, timeout=120) as c:
        assert c.get("/health").json()["status"] == "ok"
        r = c.post("/v1/messages", json=message("Say hello.", 8))
        assert r.status_code == 200, r.text
        assert r.json()["content"][0]["type"] == "text"
        deadline = time.time() + 10
        while c.get("/health").json()["kv_blocks_used"] != 0:
            assert time.time() < deadline, "KV blocks still in use after every request ended"
            time.sleep(0.1)


@pytest.fixture(scope="module")
def faulty_server():
    poison_ids = set(token_ids(" zyzzyva"))
    clean_ids = set(token_ids(CLEAN))
    fault = max(poison_ids - clean_ids)
    s = Server("--parallel", "4", env={"PENSIEVE_TEST_FAULT_TOKEN": str(fault)})
    yield s
    s.stop()


def stream_events(url, body):
    events = []
    with httpx.stream("POST", url + "/v1/messages", json=body, timeout=120) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    return events


def test_an_engine_failure_fails_only_its_own_request(faulty_server):
    url = faulty_server.url
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        clean = [pool.submit(stream_events, url, message(CLEAN, 64, stream=True))
                 for _ in range(2)]
        time.sleep(0.3)  # the clean ones are decoding when the poisoned ones arrive
        poisoned_whole = pool.submit(httpx.post, url + "/v1/messages", json=message(POISON),
                                     timeout=120)
        poisoned_stream = pool.submit(stream_events, url, message(POISON, stream=True))
        r = poisoned_whole.result()
        assert r.status_code == 500, r.text
        assert r.json()["error"]["type"] == "api_error"
        events = poisoned_stream.result()
        assert events[-1]["type"] == "error", events[-3:]
        assert events[-1]["error"]["type"] == "api_error"
        for f in clean:
            events = f.result()
            assert [e["type"] for e in events if e["type"] == "error"] == []
            assert events[-1]["type"] == "message_stop"
            delta = next(e for e in events if e["type"] == "message_delta")
            assert delta["delta"]["stop_reason"] in ("end_turn", "max_tokens")
    still_serving(url)


def test_a_reservation_that_can_never_fit_the_pool_is_rejected_at_once():
    s = Server("--ctx", "512", "--kv-tokens", "256")
    try:
        start = time.time()
        r = httpx.post(s.url + "/v1/messages", json=message("Hello there.", 400), timeout=120)
        assert r.status_code == 400, r.text
        body = r.json()
        assert body["error"]["type"] == "invalid_request_error"
        assert "256" in body["error"]["message"] and "max_tokens" in body["error"]["message"]
        # Rejected up front, not after waiting out the queue timeout (60 s).
        assert time.time() - start < 30
        still_serving(s.url)
    finally:
        assert s.stop() == 0
