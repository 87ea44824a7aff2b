"""Ollama's API driven by the official `ollama` Python client (PyPI), the
way applications built on Ollama talk to it: chat streamed and whole,
generate, list, show, ps, a tool call read back as a structured call (from a
plain Python function, as the client allows), `format` with a JSON Schema
(the reply validated by jsonschema and parsed by the Pydantic model the
schema came from) and an error raised as the client's ResponseError.
Nothing is mocked: the client talks HTTP to the real server and model."""
import json

import jsonschema
import ollama
import pydantic
import pytest

from conftest import Server

GREEDY = {"temperature": 0}
COLOURS = [{"role": "user", "content": "Name three colours."}]
ASK = [{"role": "user", "content": "What will the weather be like in Paris this week?"}]


@pytest.fixture(scope="module")
def client(server):
    return ollama.Client(host=server.url, timeout=120)


def test_chat_whole_and_streamed_agree(client):
    whole = client.chat(model="m", messages=COLOURS, options={**GREEDY, "num_predict": 12})
    assert isinstance(whole, ollama.ChatResponse)
    assert whole.message.role == "assistant" and whole.message.content
    assert whole.done and whole.done_reason in ("stop", "length")
    assert whole.prompt_eval_count > 0 and 0 < whole.eval_count <= 12

    parts = list(client.chat(model="m", messages=COLOURS, stream=True,
                             options={**GREEDY, "num_predict": 12}))
    assert len(parts) > 2 and all(isinstance(p, ollama.ChatResponse) for p in parts)
    assert not any(p.done for p in parts[:-1]) and parts[-1].done
    assert "".join(p.message.content for p in parts) == whole.message.content
    assert parts[-1].eval_count == whole.eval_count


def test_generate_whole_and_streamed(client):
    whole = client.generate(model="m", prompt="The capital of France is", raw=True,
                            options={**GREEDY, "num_predict": 6})
    assert isinstance(whole, ollama.GenerateResponse)
    assert whole.response and whole.done and whole.eval_count == 6
    parts = list(client.generate(model="m", prompt="The capital of France is", raw=True,
                                 stream=True, options={**GREEDY, "num_predict": 6}))
    assert "".join(p.response for p in parts) == whole.response and parts[-1].done


def test_list_show_and_ps_describe_the_served_model(client):
    listed = client.list()
    assert len(listed.models) == 1
    model = listed.models[0]
    assert model.model and model.size > 0 and model.details.format == "gguf"
    assert model.modified_at is not None  # parsed as a datetime

    shown = client.show(model.model)
    assert "completion" in shown.capabilities and "tools" in shown.capabilities
    context = shown.modelinfo[f"{model.details.family}.context_length"]
    assert context > 0

    running = client.ps()
    assert [m.model for m in running.models] == [model.model]
    loaded = running.models[0]
    assert loaded.size == model.size and loaded.size_vram == 0
    assert loaded.context_length == context
    assert loaded.expires_at.year == 9999  # a datetime: loaded until the server stops


def test_errors_are_response_errors_with_ollamas_message(client):
    with pytest.raises(ollama.ResponseError) as caught:
        client.show("no-such-model")
    assert caught.value.status_code == 404 and "not found" in caught.value.error
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat(model="m", messages=COLOURS, options={"num_ctx": 10_000_000})
    assert caught.value.status_code == 400 and "num_ctx" in caught.value.error


def test_an_api_key_goes_as_a_bearer_header(keyed_server):
    keyed = ollama.Client(host=keyed_server.url, timeout=60,
                          headers={"Authorization": "Bearer secret-key"})
    assert len(keyed.list().models) == 1
    with pytest.raises(ollama.ResponseError) as caught:
        ollama.Client(host=keyed_server.url, timeout=60).list()
    assert caught.value.status_code == 401


class Person(pydantic.BaseModel):
    name: str = pydantic.Field(max_length=30)
    age: int = pydantic.Field(ge=0, le=120)


def test_format_json_schema_shapes_the_reply(client):
    schema = Person.model_json_schema()
    reply = client.chat(model="m", format=schema, options={**GREEDY, "num_predict": 80},
                        messages=[{"role": "user", "content": "Invent a person."}])
    jsonschema.validate(json.loads(reply.message.content), schema)
    Person.model_validate_json(reply.message.content)


# --- tool calls: the server forces one (--tool-choice any --max-tool-calls 1) ---

def get_weather(city: str, days: int) -> str:
    """Get the weather forecast for a city.

    Args:
      city: The city's name
      days: How many days ahead, 1 to 7

    Returns:
      str: The forecast
    """
    return f"Sunny in {city} for {days} days, around 24 degrees."


@pytest.fixture(scope="module")
def calling_client():
    s = Server("--max-tool-calls", "1", "--tool-choice", "any", "--temperature", "0")
    yield ollama.Client(host=s.url, timeout=300)
    s.stop()


def check_call(calls):
    assert calls is not None and len(calls) == 1
    call = calls[0]
    assert isinstance(call, ollama.Message.ToolCall)
    assert call.function.name == "get_weather"
    jsonschema.validate(dict(call.function.arguments), {
        "type": "object", "required": ["city", "days"],
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}})
    return call


@pytest.mark.parametrize("streamed", [False, True])
def test_a_python_function_as_tool_comes_back_as_a_structured_call(calling_client, streamed):
    if streamed:
        parts = list(calling_client.chat(model="m", messages=ASK, tools=[get_weather],
                                         stream=True, options={"num_predict": 200}))
        assert parts[-1].done
        calls = [c for p in parts for c in (p.message.tool_calls or [])]
    else:
        calls = calling_client.chat(model="m", messages=ASK, tools=[get_weather],
                                    options={"num_predict": 200}).message.tool_calls
    check_call(calls)


def test_tool_round_trip_through_the_client(calling_client):
    first = calling_client.chat(model="m", messages=ASK, tools=[get_weather],
                                options={"num_predict": 200})
    call = check_call(first.message.tool_calls)
    result = get_weather(**call.function.arguments)
    history = ASK + [first.message, {"role": "tool", "content": result,
                                     "tool_name": call.function.name}]
    second = calling_client.chat(model="m", messages=history, tools=[get_weather],
                                 options={"num_predict": 30})
    assert second.done and second.prompt_eval_count > first.prompt_eval_count
