"""The raw event stream, parsed by hand: names, order, indices, no [DONE];
and a client that goes away stops its generation."""
import json
import time

import httpx

BODY = {"model": "claude-x", "max_tokens": 12, "stream": True,
        "messages": [{"role": "user", "content": "Tell me about the moon."}]}


def read_events(response):
    events, name = [], None
    for line in response.iter_lines():
        assert line != "data: [DONE]"
        if line.startswith("event: "):
            name = line[len("event: "):]
        elif line.startswith("data: "):
            data = json.loads(line[len("data: "):])
            assert name == data["type"], (name, data)  # every data line has its event line
            events.append(data)
            name = None
    return events


def test_event_grammar(server):
    with httpx.stream("POST", server.url + "/v1/messages", json=BODY, timeout=120) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["request-id"].startswith("req_")
        events = read_events(r)
    types = [e["type"] for e in events]
    assert types[0] == "message_start" and types.count("message_start") == 1
    assert types[1] == "ping"
    assert types[-2:] == ["message_delta", "message_stop"]
    start = events[0]["message"]
    assert start["usage"]["input_tokens"] > 0 and start["content"] == [] and start["stop_reason"] is None
    body = [e for e in events if e["type"].startswith("content_block")]
    assert body[0]["type"] == "content_block_start" and body[-1]["type"] == "content_block_stop"
    assert {e["index"] for e in body} == {0}
    assert all(e["type"] == "content_block_delta" for e in body[1:-1])
    delta = events[-2]
    assert delta["delta"]["stop_reason"] in ("end_turn", "max_tokens")
    assert delta["usage"]["output_tokens"] == len(body) - 2 or delta["usage"]["output_tokens"] > 0


def wait_idle(url, seconds=5.0):
    deadline = time.time() + seconds
    while time.time() < deadline:
        h = httpx.get(url + "/health").json()
        if h["in_flight"] == 0 and h["queued"] == 0:
            return True
        time.sleep(0.05)
    return False


def test_a_disconnected_stream_stops_generating(server):
    body = dict(BODY, max_tokens=3000)
    with httpx.stream("POST", server.url + "/v1/messages", json=body, timeout=120) as r:
        for line in r.iter_lines():
            if "content_block_delta" in line:
                break
    # The client is gone: the engine must be free again within moments.
    assert wait_idle(server.url)
    ok = httpx.post(server.url + "/v1/messages", json=dict(BODY, stream=False), timeout=120)
    assert ok.status_code == 200


def test_a_disconnected_non_streaming_request_stops_generating(server):
    body = dict(BODY, stream=False, max_tokens=3000)
    try:
        httpx.post(server.url + "/v1/messages", json=body, timeout=1.0)
    except httpx.TimeoutException:
        pass
    assert wait_idle(server.url)
