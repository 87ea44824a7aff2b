"""Ollama's API (/api/chat, /api/generate, /api/tags, /api/ps, /api/show,
/api/version) against the real server, over raw HTTP as Ollama's clients
speak it: NDJSON streams by default, whole replies with `stream: false`,
options (num_predict, temperature, stop, seed, num_ctx), format, tool calls with
object arguments (forced by the server's --tool-choice any, as SmolLM2-135M
rarely calls on its own) and their round trip, Ollama's {"error": "..."}
envelope, and one core: a greedy reply is the same text as /v1/messages."""
import json

import anthropic
import httpx
import jsonschema
import pytest

from conftest import Server

USER = [{"role": "user", "content": "Name three colours."}]
POEM = [{"role": "user", "content": "Write a long poem about the sea."}]
GREEDY = {"temperature": 0}
WEATHER_PARAMETERS = {
    "type": "object",
    "properties": {"city": {"type": "string", "maxLength": 40},
                   "days": {"type": "integer", "minimum": 1, "maximum": 7}},
    "required": ["city", "days"],
    "additionalProperties": False,
}
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the weather forecast for a city.",
    "parameters": WEATHER_PARAMETERS}}
ASK = [{"role": "user", "content": "What will the weather be like in Paris this week?"}]


def lines(response):
    """The objects of an NDJSON stream; every line is one JSON object."""
    assert response.headers["content-type"].startswith("application/x-ndjson")
    out = [json.loads(line) for line in response.iter_lines() if line.strip()]
    assert out, "an empty stream"
    return out


def stream(url, path, body):
    with httpx.stream("POST", url + path, json=body, timeout=120) as r:
        assert r.status_code == 200, r.read()
        return lines(r)


def ollama_error(response, status):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and isinstance(body["error"], str) and body["error"]
    return body["error"]


def test_chat_whole_reply(http):
    r = http.post("/api/chat", json={"model": "m", "stream": False, "messages": USER,
                                     "options": {**GREEDY, "num_predict": 8}})
    assert r.status_code == 200
    body = r.json()
    assert body["model"] == "m" and body["created_at"].endswith("Z")
    assert body["message"]["role"] == "assistant" and body["message"]["content"]
    assert body["done"] is True and body["done_reason"] in ("stop", "length")
    assert body["prompt_eval_count"] > 0 and 0 < body["eval_count"] <= 8
    assert body["total_duration"] >= body["eval_duration"] > 0


def test_chat_streams_ndjson_by_default_and_matches_the_whole_reply(server, http):
    body = {"model": "m", "messages": USER, "options": {**GREEDY, "num_predict": 10}}
    parts = stream(server.url, "/api/chat", body)
    assert all(p["done"] is False for p in parts[:-1])
    last = parts[-1]
    assert last["done"] is True and last["done_reason"] == "length" and last["eval_count"] == 10
    text = "".join(p["message"]["content"] for p in parts)
    whole = http.post("/api/chat", json={**body, "stream": False}).json()
    assert text == whole["message"]["content"]


def test_num_predict_ends_in_length_and_stop_ends_the_reply(http):
    def ask(**options):
        return http.post("/api/chat", json={"model": "m", "stream": False, "messages": POEM,
                                            "options": {**GREEDY, **options}}).json()
    free = ask(num_predict=24)
    words = free["message"]["content"].split()
    assert len(words) > 4
    stopped = ask(num_predict=24, stop=[words[3]])
    assert stopped["done_reason"] == "stop"
    assert words[3] not in stopped["message"]["content"]
    assert ask(num_predict=3)["eval_count"] == 3


def test_seed_makes_sampled_replies_repeat(http):
    def ask():
        return http.post("/api/chat", json={
            "model": "m", "stream": False, "messages": POEM,
            "options": {"temperature": 1.0, "seed": 99, "num_predict": 16}}).json()
    assert ask()["message"]["content"] == ask()["message"]["content"]


def test_generate_templated_raw_and_streamed(server, http):
    templated = http.post("/api/generate", json={
        "model": "m", "prompt": "Name three colours.", "system": "Be brief.",
        "stream": False, "options": {**GREEDY, "num_predict": 8}}).json()
    assert templated["response"] and templated["done"] is True
    raw = http.post("/api/generate", json={
        "model": "m", "prompt": "The capital of France is", "raw": True, "stream": False,
        "options": {**GREEDY, "num_predict": 4}}).json()
    assert raw["prompt_eval_count"] < templated["prompt_eval_count"]  # no template around it
    parts = stream(server.url, "/api/generate", {
        "model": "m", "prompt": "The capital of France is", "raw": True,
        "options": {**GREEDY, "num_predict": 4}})
    assert "".join(p["response"] for p in parts) == raw["response"]
    assert parts[-1]["done"] is True


def test_an_empty_request_loads_the_model(http):
    for path, body in (("/api/chat", {"model": "m", "messages": []}),
                       ("/api/generate", {"model": "m", "stream": False})):
        r = http.post(path, json=body)
        assert r.status_code == 200
        assert json.loads(r.text.strip())["done_reason"] == "load"


@pytest.mark.parametrize("model, says", [(7, "model: expected a string, got a number"),
                                         ("m" * 300, "model: ")])
def test_an_empty_request_checks_its_model_name_like_any_other(http, model, says):
    for path, body in (("/api/chat", {"model": model, "messages": []}),
                       ("/api/generate", {"model": model})):
        r = http.post(path, json=body)
        assert r.status_code == 400, r.text
        assert r.json()["error"].startswith(says), r.text


def test_format_schema_shapes_the_reply(http):
    schema = {"type": "object",
              "properties": {"name": {"type": "string", "maxLength": 30},
                             "age": {"type": "integer", "minimum": 0, "maximum": 120}},
              "required": ["name", "age"], "additionalProperties": False}
    r = http.post("/api/chat", json={"model": "m", "stream": False, "format": schema,
                                     "messages": [{"role": "user", "content": "Invent a person."}],
                                     "options": {**GREEDY, "num_predict": 80}}).json()
    jsonschema.validate(json.loads(r["message"]["content"]), schema)


def test_greedy_reply_is_the_same_text_as_the_messages_route(server, http):
    conversation = [{"role": "user", "content": "What is the capital of France?"}]
    ours = http.post("/api/chat", json={
        "model": "m", "stream": False, "options": {**GREEDY, "num_predict": 20},
        "messages": [{"role": "system", "content": "Be brief."}] + conversation}).json()
    theirs = anthropic.Anthropic(base_url=server.url, api_key="x", max_retries=0,
                                 timeout=120).messages.create(
        model="m", max_tokens=20, extra_body=GREEDY, system="Be brief.", messages=conversation)
    assert ours["message"]["content"] == theirs.content[0].text
    assert ours["eval_count"] == theirs.usage.output_tokens


def test_tags_show_and_version(http):
    tags = http.get("/api/tags").json()
    assert len(tags["models"]) == 1
    model = tags["models"][0]
    assert model["name"] == model["model"] and model["size"] > 0
    assert model["details"]["format"] == "gguf" and model["details"]["family"]
    shown = http.post("/api/show", json={"model": model["name"]}).json()
    assert "completion" in shown["capabilities"] and "tools" in shown["capabilities"]
    assert http.post("/api/show", json={"name": model["name"] + ":latest"}).status_code == 200
    ollama_error(http.post("/api/show", json={"model": "nope"}), 404)
    assert http.get("/api/version").json()["version"]


def test_ps_lists_the_loaded_model(http):
    listed = http.get("/api/tags").json()["models"][0]
    ps = http.get("/api/ps").json()
    assert len(ps["models"]) == 1
    running = ps["models"][0]
    # /api/show gives the same context as a Modelfile parameter, where
    # Continue reads the num_ctx it then sends.
    shown = http.post("/api/show", json={"model": listed["name"]}).json()
    assert shown["parameters"] == f"num_ctx {running['context_length']}"
    assert running["name"] == running["model"] == listed["name"]
    assert running["size"] == listed["size"] > 0 and running["size_vram"] == 0
    assert running["details"] == listed["details"]
    assert running["expires_at"] > "2100" and running["context_length"] > 0
    ollama_error(http.post("/api/ps", json={}), 405)


def test_num_ctx_up_to_the_servers_context_is_accepted_beyond_it_is_400(http):
    context = http.get("/api/ps").json()["models"][0]["context_length"]
    for path, body in (("/api/chat", {"messages": USER}), ("/api/generate", {"prompt": "Hi"})):
        for n in (64, context):
            r = http.post(path, json={"model": "m", "stream": False, **body,
                                      "options": {"num_predict": 2, "num_ctx": n}})
            assert r.status_code == 200, r.text
        message = ollama_error(http.post(path, json={
            "model": "m", "stream": False, **body,
            "options": {"num_predict": 2, "num_ctx": context + 1}}), 400)
        assert "num_ctx" in message and str(context) in message


@pytest.mark.parametrize("body", [
    {"messages": [{"role": "user", "content": "x", "images": ["AAAA"]}]},
    {"messages": [{"role": "bot", "content": "x"}]},
    {"messages": USER, "options": {"num_predict": 0}},
    {"messages": USER, "options": {"num_ctx": 0}},
    {"messages": USER, "options": {"num_ctx": "big"}},
    {"messages": USER, "format": "yaml"},
    {"messages": [{"role": "tool", "content": "x"}]},
])
def test_bad_chat_requests_are_400_in_ollamas_envelope(http, body):
    ollama_error(http.post("/api/chat", json={"model": "m", **body}), 400)


@pytest.mark.parametrize("body,field", [
    ({"options": {"temperature": "1"}}, "options.temperature"),
    ({"options": {"stop": [1]}}, "options.stop.0"),
    ({"format": {"type": "nosuchtype"}}, "format"),
    ({"tools": [{"type": "function", "function": {"name": "f", "parameters": "x"}}]},
     "tools.0.function.parameters"),
])
def test_errors_name_the_field_as_ollamas_body_has_it(http, body, field):
    message = ollama_error(http.post("/api/chat", json={"model": "m", "messages": USER, **body}),
                           400)
    assert message.startswith(field + ": ") or message.startswith(field + "."), message


def test_a_num_predict_past_int64_means_no_cap(http):
    r = http.post("/api/generate", json={"model": "m", "prompt": "Hi", "stream": False,
                                         "options": {"num_predict": 2**64 - 1, "stop": ["."]}})
    assert r.status_code == 200, r.text
    assert r.json()["done"] is True


def test_front_door_errors_use_ollamas_envelope(http, keyed_server):
    ollama_error(http.post("/api/chat", content=b"{", headers={"content-type": "text/plain"}),
                 415)
    wrong_method = http.get("/api/chat")
    ollama_error(wrong_method, 405)
    assert wrong_method.headers["allow"] == "POST"
    ollama_error(httpx.post(keyed_server.url + "/api/chat", json={"model": "m"}, timeout=60), 401)
    ollama_error(http.post("/api/generate", json={"model": "m", "prompt": "x",
                                                  "template": "{{ .Prompt }}"}), 400)


# --- tool calls: the server forces one (--tool-choice any --max-tool-calls 1) ---

@pytest.fixture(scope="module")
def calling_server():
    s = Server("--max-tool-calls", "1", "--tool-choice", "any", "--temperature", "0")
    yield s
    s.stop()


@pytest.mark.parametrize("streamed", [False, True])
def test_tool_call_has_object_arguments_following_the_schema(calling_server, streamed):
    body = {"model": "m", "messages": ASK, "tools": [WEATHER], "stream": streamed,
            "options": {"num_predict": 200}}
    if streamed:
        parts = stream(calling_server.url, "/api/chat", body)
        calls = [c for p in parts for c in p["message"].get("tool_calls", [])]
        assert parts[-1]["done"] is True
    else:
        r = httpx.post(calling_server.url + "/api/chat", json=body, timeout=300).json()
        calls = r["message"]["tool_calls"]
    assert len(calls) == 1
    function = calls[0]["function"]
    assert function["name"] == "get_weather"
    assert isinstance(function["arguments"], dict)
    jsonschema.validate(function["arguments"], WEATHER_PARAMETERS)


def test_tool_round_trip(calling_server):
    url = calling_server.url + "/api/chat"
    first = httpx.post(url, json={"model": "m", "messages": ASK, "tools": [WEATHER],
                                  "stream": False, "options": {"num_predict": 200}},
                       timeout=300).json()
    history = ASK + [first["message"],
                     {"role": "tool", "content": "Sunny all week, around 24 degrees."}]
    second = httpx.post(url, json={"model": "m", "messages": history, "tools": [WEATHER],
                                   "stream": False, "options": {"num_predict": 30}},
                        timeout=300)
    assert second.status_code == 200, second.text
    assert second.json()["prompt_eval_count"] > first["prompt_eval_count"]
