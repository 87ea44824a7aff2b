"""Every error path answers JSON in the Anthropic envelope with the right
status, and the SDK raises the matching exception class."""
import anthropic
import httpx
import pytest

OK = {"model": "m", "max_tokens": 4, "messages": [{"role": "user", "content": "Hi"}]}


def error_of(response, status, etype):
    assert response.status_code == status, response.text
    body = response.json()
    assert body["type"] == "error" and body["error"]["type"] == etype
    assert response.headers["request-id"].startswith("req_")
    assert body["request_id"] == response.headers["request-id"]
    return body["error"]["message"]


def test_malformed_json_is_400(http):
    msg = error_of(http.post("/v1/messages", content=b"{not json",
                             headers={"content-type": "application/json"}),
                   400, "invalid_request_error")
    assert "not valid JSON" in msg


@pytest.mark.parametrize("patch,field", [
    ({"max_tokens": None}, "max_tokens"),
    ({"messages": None}, "messages"),
    ({"max_tokens": "10"}, "max_tokens"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"max_tokens": 10**12}, "max_tokens"),
    ({"messages": "hello"}, "messages"),
    ({"messages": [{"role": "robot", "content": "x"}]}, "messages.0.role"),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]}, "messages.0.content.0.text"),
    ({"temperature": "hot"}, "temperature"),
    ({"stop_sequences": [1]}, "stop_sequences.0"),
    ({"system": 7}, "system"),
    ({"stream": "yes"}, "stream"),
])
def test_bad_fields_are_400_naming_the_field(http, patch, field):
    body = dict(OK)
    for k, v in patch.items():
        if v is None:
            body.pop(k)
        else:
            body[k] = v
    assert field in error_of(http.post("/v1/messages", json=body), 400, "invalid_request_error")


def test_unknown_fields_and_query_strings_are_ignored(http):
    body = dict(OK, whatever={"a": 1}, cache_control={"type": "ephemeral"})
    assert http.post("/v1/messages?beta=true", json=body).status_code == 200
    assert http.post("/v1/messages/count_tokens?beta=true", json=OK).json()["input_tokens"] > 0


def test_unknown_route_is_404_and_wrong_method_405(http):
    error_of(http.get("/v1/nothing"), 404, "not_found_error")
    error_of(http.post("/api/event_logging/batch", json={}), 404, "not_found_error")
    # "/v1/models/" names no model: no route, not a wrong method.
    error_of(http.get("/v1/models/"), 404, "not_found_error")
    # A 405 says which methods the path takes (RFC 9110 §15.5.6: Allow).
    for method, path, allow in (("GET", "/v1/messages", "POST"), ("DELETE", "/v1/models", "GET, HEAD"),
                                ("POST", "/", "GET, HEAD")):
        r = http.request(method, path)
        error_of(r, 405, "invalid_request_error")
        assert r.headers["allow"] == allow, (path, r.headers)


def test_sdk_raises_bad_request_for_an_invalid_request(server):
    client = anthropic.Anthropic(base_url=server.url, api_key="x", max_retries=0)
    with pytest.raises(anthropic.BadRequestError):
        client.messages.create(model="m", max_tokens=0, messages=[{"role": "user", "content": "x"}])


def test_prompt_longer_than_the_context_is_400_with_claude_codes_wording(small_server):
    client = anthropic.Anthropic(base_url=small_server.url, api_key="x", max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as e:
        client.messages.create(model="m", max_tokens=4,
                               messages=[{"role": "user", "content": "word " * 200}])
    import re
    assert re.search(r"prompt is too long: \d+ tokens > 63 maximum", str(e.value)), str(e.value)


def test_body_over_the_limit_is_413(small_server):
    client = anthropic.Anthropic(base_url=small_server.url, api_key="x", max_retries=0)
    with pytest.raises(anthropic.APIStatusError) as e:
        client.messages.create(model="m", max_tokens=4,
                               messages=[{"role": "user", "content": "x" * (2 << 20)}])
    assert e.value.status_code == 413
    assert e.value.body["error"]["type"] == "request_too_large"


def test_server_keeps_serving_after_errors(http):
    for bad in (b"", b"[]", b"{\"model\": 1}", b"\xff\xfe"):
        assert http.post("/v1/messages", content=bad).status_code == 400
    assert http.post("/v1/messages", json=OK).status_code == 200
