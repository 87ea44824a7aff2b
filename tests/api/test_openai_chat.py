"""OpenAI's Chat Completions dialect (POST /v1/chat/completions) against the
real server and its default model, through the official `openai` Python SDK
and raw HTTP: whole and streamed replies, stop, max_tokens → length, usage
(include_usage, cached tokens from the prefix cache), the [DONE] terminator,
the OpenAI error envelope (n > 1, bad roles, image parts, auth, body size,
content type), GET /v1/models read by both SDKs, and one core: a greedy
reply is the same text on /v1/chat/completions and /v1/messages."""
import json

import anthropic
import httpx
import openai
import pytest

USER = [{"role": "user", "content": "Name three colours."}]
POEM = [{"role": "user", "content": "Write a long poem about the sea."}]


@pytest.fixture
def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key="anything", max_retries=0,
                         timeout=120)


def sse_lines(response):
    """The `data:` payloads of an OpenAI stream, in order (comments skipped)."""
    out = []
    for line in response.iter_lines():
        if line.startswith("data: "):
            out.append(line[len("data: "):])
        else:
            assert line == "" or line.startswith(":"), line
    return out


def openai_error(response, status):
    """The response is `status` with OpenAI's envelope; returns its error."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"message", "type", "param", "code"}, error
    assert isinstance(error["message"], str) and error["message"]
    return error


def test_create_returns_a_chat_completion(client):
    r = client.chat.completions.create(model="gpt-4o", max_tokens=16, messages=USER)
    assert r.object == "chat.completion"
    assert r.id.startswith("chatcmpl-")
    assert r.model == "gpt-4o"  # echoed
    assert isinstance(r.created, int) and r.created > 1_600_000_000
    assert len(r.choices) == 1 and r.choices[0].index == 0
    message = r.choices[0].message
    assert message.role == "assistant" and message.content
    assert message.tool_calls is None
    assert r.choices[0].finish_reason in ("stop", "length")
    u = r.usage
    assert u.prompt_tokens > 0 and u.completion_tokens > 0
    assert u.total_tokens == u.prompt_tokens + u.completion_tokens
    assert u.prompt_tokens_details.cached_tokens >= 0


def test_system_and_developer_messages_and_text_parts_are_accepted(client):
    r = client.chat.completions.create(
        model="m", max_tokens=8, temperature=0,
        messages=[{"role": "system", "content": "You are terse."},
                  {"role": "developer", "content": [{"type": "text", "text": "Answer in English."}]},
                  {"role": "user", "content": [{"type": "text", "text": "Name"},
                                               {"type": "text", "text": "three colours."}]}])
    assert r.choices[0].message.content


def test_stream_yields_chunks_ending_in_done(server):
    body = {"model": "m", "max_tokens": 8, "temperature": 0, "stream": True, "messages": USER}
    with httpx.stream("POST", server.url + "/v1/chat/completions", json=body,
                      timeout=120) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        payloads = sse_lines(r)
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    assert len({c["id"] for c in chunks}) == 1 and chunks[0]["id"].startswith("chatcmpl-")
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert all("usage" not in c for c in chunks)  # no include_usage: no usage at all
    finish = [c["choices"][0]["finish_reason"] for c in chunks]
    assert finish[:-1] == [None] * (len(chunks) - 1)
    assert finish[-1] in ("stop", "length")
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text


def test_stream_through_the_sdk_matches_the_whole_reply(client):
    stream = client.chat.completions.create(model="m", max_tokens=12, temperature=0,
                                            messages=USER, stream=True)
    pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]
    whole = client.chat.completions.create(model="m", max_tokens=12, temperature=0,
                                           messages=USER)
    assert "".join(pieces) == whole.choices[0].message.content


def test_include_usage_adds_a_last_chunk_with_usage_and_no_choices(client):
    stream = client.chat.completions.create(model="m", max_tokens=5, temperature=0,
                                            messages=POEM, stream=True,
                                            stream_options={"include_usage": True})
    chunks = list(stream)
    last = chunks[-1]
    assert last.choices == []
    assert last.usage.completion_tokens == 5
    assert last.usage.total_tokens == last.usage.prompt_tokens + 5
    assert all(c.usage is None for c in chunks[:-1])
    assert chunks[-2].choices[0].finish_reason == "length"


def test_max_tokens_and_max_completion_tokens_end_in_length(client):
    for field in ("max_tokens", "max_completion_tokens"):
        r = client.chat.completions.create(model="m", temperature=0, messages=POEM,
                                           **{field: 3})
        assert r.choices[0].finish_reason == "length"
        assert r.usage.completion_tokens == 3


def test_stop_ends_the_reply_without_the_stop_text(client):
    free = client.chat.completions.create(model="m", max_tokens=24, temperature=0,
                                          messages=POEM)
    words = free.choices[0].message.content.split()
    assert len(words) > 4, words
    stop = words[3]
    for value in (stop, [stop, "zzzz"]):
        r = client.chat.completions.create(model="m", max_tokens=24, temperature=0,
                                           messages=POEM, stop=value)
        assert r.choices[0].finish_reason == "stop"
        assert stop not in r.choices[0].message.content
        assert free.choices[0].message.content.startswith(r.choices[0].message.content)


def test_seed_makes_sampled_replies_repeat(client):
    def ask():
        return client.chat.completions.create(model="m", max_tokens=16, temperature=1.0,
                                              seed=1234, messages=POEM)
    assert ask().choices[0].message.content == ask().choices[0].message.content


def test_prefix_cache_shows_as_cached_tokens(client):
    messages = [{"role": "system", "content": "You are a helpful assistant. " * 20}] + USER
    client.chat.completions.create(model="m", max_tokens=2, temperature=0, messages=messages)
    again = client.chat.completions.create(model="m", max_tokens=2, temperature=0,
                                           messages=messages)
    cached = again.usage.prompt_tokens_details.cached_tokens
    assert 0 < cached <= again.usage.prompt_tokens


def test_greedy_reply_is_the_same_text_as_the_messages_route(server, client):
    conversation = [{"role": "user", "content": "What is the capital of France?"},
                    {"role": "assistant", "content": "Paris."},
                    {"role": "user", "content": "And of Italy?"}]
    ours = client.chat.completions.create(
        model="m", max_tokens=20, temperature=0,
        messages=[{"role": "system", "content": "Be brief."}] + conversation)
    theirs = anthropic.Anthropic(base_url=server.url, api_key="x", max_retries=0,
                                 timeout=120).messages.create(
        model="m", max_tokens=20, extra_body={"temperature": 0}, system="Be brief.",
        messages=conversation)
    assert ours.choices[0].message.content == theirs.content[0].text
    assert ours.usage.completion_tokens == theirs.usage.output_tokens
    assert ours.usage.prompt_tokens == (theirs.usage.input_tokens
                                        + theirs.usage.cache_read_input_tokens)


def test_json_object_response_format_gives_a_json_object(client):
    r = client.chat.completions.create(
        model="m", max_tokens=60, temperature=0, response_format={"type": "json_object"},
        messages=[{"role": "user",
                   "content": "Reply with a JSON object giving the name of a colour."}])
    assert r.choices[0].finish_reason == "stop"
    assert isinstance(json.loads(r.choices[0].message.content), dict)


# --- errors: OpenAI's envelope on every path of the OpenAI routes ---

@pytest.mark.parametrize("body,param", [
    ({"n": 2}, "n"),
    ({"messages": [{"role": "bot", "content": "hi"}]}, "messages.0.role"),
    ({"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}}]}]},
     "messages.0.content.0.type"),
    ({"logprobs": True}, "logprobs"),
    ({"temperature": 3}, "temperature"),
    ({"messages": [{"role": "tool", "tool_call_id": "nope", "content": "x"}]}, None),
    ({"messages": [{"role": "assistant", "content": None, "tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{not json"}}]},
        {"role": "user", "content": "hi"}]}, "messages.0.tool_calls.0.function.arguments"),
    ({"tools": [{"type": "function", "function": {"name": "bad name!"}}]}, None),
    ({"response_format": {"type": "xml"}}, "response_format.type"),
    # Checked by the validation all dialects share, named as OpenAI's body has them.
    ({"stop": [1]}, "stop.0"),
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": "x"}}]},
     "tools.0.function.parameters"),
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {
        "type": "object", "properties": {"a": {"type": "nosuchtype"}}}}}]},
     "tools.0.function.parameters"),
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": "x"}}},
     "response_format.json_schema.schema"),
    ({"messages": [{"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c2", "content": "x"}],
      "tools": [{"type": "function", "function": {"name": "f"}}]}, "messages.1.tool_call_id"),
    ({"tool_choice": "required"}, "tool_choice"),
])
def test_bad_requests_are_400_in_the_openai_envelope(http, body, param):
    request = {"model": "m", "max_tokens": 4, "messages": USER, **body}
    error = openai_error(http.post("/v1/chat/completions", json=request), 400)
    assert error["type"] == "invalid_request_error"
    if param is not None:
        assert error["param"] == param, error
        assert error["message"].startswith(param + ": "), error
    for anthropic_name in ("stop_sequences", "input_schema", "output_format", "tool_use_id",
                           '"any"'):
        assert anthropic_name not in error["message"], error


def test_the_sdk_raises_bad_request_for_n_above_one(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model="m", max_tokens=4, messages=USER, n=2)
    assert e.value.status_code == 400
    assert "n" == e.value.param
    assert "only 1" in e.value.message


def test_front_door_errors_use_the_openai_envelope(server, http, small_server, keyed_server):
    # Content-Type, before routing.
    r = http.post("/v1/chat/completions", content=b"{}", headers={"content-type": "text/plain"})
    assert openai_error(r, 415)["type"] == "invalid_request_error"
    # Wrong method on a known path.
    openai_error(http.get("/v1/chat/completions"), 405)
    # Malformed JSON.
    openai_error(http.post("/v1/completions", content=b"{", headers={
        "content-type": "application/json"}), 400)
    # Body too large (the daemon's limit, 1 MB on small_server).
    big = {"model": "m", "messages": [{"role": "user", "content": "x" * (2 << 20)}]}
    r = httpx.post(small_server.url + "/v1/chat/completions", json=big, timeout=60)
    assert openai_error(r, 413)["type"] == "invalid_request_error"
    # API key.
    r = httpx.post(keyed_server.url + "/v1/chat/completions", json={"model": "m"}, timeout=60)
    assert openai_error(r, 401)["type"] == "authentication_error"
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=keyed_server.url + "/v1", api_key="wrong",
                      max_retries=0).chat.completions.create(model="m", messages=USER)
    # The Anthropic routes keep Anthropic's envelope.
    r = http.post("/v1/messages", content=b"{}", headers={"content-type": "text/plain"})
    assert r.json()["type"] == "error"


def test_a_prompt_over_the_context_is_400(small_server):
    long = [{"role": "user", "content": "word " * 200}]
    r = httpx.post(small_server.url + "/v1/chat/completions",
                   json={"model": "m", "messages": long}, timeout=60)
    assert "prompt is too long" in openai_error(r, 400)["message"]


# --- GET /v1/models: one body for both SDKs ---

def test_models_are_read_by_both_sdks(server, client):
    ours = client.models.list()
    ids = [m.id for m in ours.data]
    assert len(ids) == 1
    assert ours.data[0].object == "model" and ours.data[0].owned_by
    assert isinstance(ours.data[0].created, int)
    assert client.models.retrieve(ids[0]).id == ids[0]
    theirs = anthropic.Anthropic(base_url=server.url, api_key="x", max_retries=0).models.list()
    assert [m.id for m in theirs.data] == ids
    assert theirs.data[0].type == "model" and theirs.data[0].display_name
    assert theirs.first_id == ids[0] and theirs.last_id == ids[0] and not theirs.has_more
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")
