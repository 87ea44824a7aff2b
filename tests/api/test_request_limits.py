"""Hostile request shapes against the real server: each is a 400 naming the
field and the limit (api/limits.hpp), answered without the server growing its
memory, and the server keeps serving afterwards."""
OK = {"model": "m", "max_tokens": 4, "messages": [{"role": "user", "content": "Hi"}]}
MB = 1 << 20


def nested_tool_results(levels):
    """A user message whose tool_result holds a tool_result ... `levels` deep."""
    opening = b'[{"type":"tool_result","tool_use_id":"t","content":'
    content = opening * levels + b'"x"' + b"}]" * levels
    return (b'{"model":"m","max_tokens":4,"messages":[{"role":"user","content":'
            + content + b"}]}")


def peak_rss_bytes(server):
    with open(f"/proc/{server.proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/<pid>/status")


def error_message(response):
    assert response.status_code == 400, response.text[:500]
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    return body["error"]["message"]


def test_deeply_nested_tool_results_are_400_and_the_server_keeps_serving(server, http):
    # This 2.9 MB body once overflowed the request parser's stack.
    body = nested_tool_results(55_000)
    assert len(body) > 2_900_000
    peak_before = peak_rss_bytes(server)
    for route in ("/v1/messages", "/v1/messages/count_tokens"):
        msg = error_message(http.post(route, content=body,
                                      headers={"content-type": "application/json"}))
        assert msg.startswith("messages.0.content.0.content.0.content.0."), msg[:300]
        assert "JSON nested deeper than 64 levels (the limit)" in msg
    assert peak_rss_bytes(server) - peak_before < 256 * MB
    assert server.proc.poll() is None
    assert http.get("/health").status_code == 200
    reply = http.post("/v1/messages", json=OK)
    assert reply.status_code == 200, reply.text
    assert reply.json()["type"] == "message"


def test_a_tool_result_inside_a_tool_result_is_400(http):
    msg = error_message(http.post("/v1/messages/count_tokens", content=nested_tool_results(2),
                                  headers={"content-type": "application/json"}))
    assert "messages.0.content.0.content.0: a tool_result block cannot be inside" in msg


def test_too_many_content_blocks_is_400_naming_the_limit(http):
    blocks = [{"type": "text", "text": "a"}] * 100_001
    body = dict(OK, messages=[{"role": "user", "content": blocks}])
    msg = error_message(http.post("/v1/messages", json=body))
    assert "messages.0.content.100000: more than 100000 content blocks in the request" in msg


def test_an_object_of_half_a_million_keys_is_read_in_linear_time(server, http):
    # Inserting each key after a search of the earlier ones took minutes here.
    extra = {f"k{i}": 0 for i in range(500_000)}
    body = dict(OK, metadata=extra)
    reply = http.post("/v1/messages/count_tokens", json=body, timeout=60)
    assert reply.status_code == 200, reply.text[:500]
    assert reply.json()["input_tokens"] > 0
    assert server.proc.poll() is None


def test_a_string_past_the_limit_is_400(http):
    body = dict(OK, messages=[{"role": "user", "content": "a" * (17 * MB)}])
    msg = error_message(http.post("/v1/messages", json=body))
    assert "messages.0.content: a string longer than 16777216 bytes (the limit)" in msg
