"""Tool calls and structured output on OpenAI's Chat Completions dialect,
through the official `openai` SDK against the real server: forced calls
(tool_choice "required" and a named function) answered as message.tool_calls
with JSON-string arguments that follow the function's parameters; streamed
calls as delta.tool_calls whose argument pieces concatenate to that JSON; a
round trip (the call and a tool message sent back, a second turn); "none";
response_format json_schema. As in test_tools.py, SmolLM2-135M rarely calls
on its own, so every test that expects a call forces one."""
import json

import jsonschema
import openai
import pytest

from conftest import Server

WEATHER_PARAMETERS = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "maxLength": 40},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
    },
    "required": ["city", "unit", "days"],
    "additionalProperties": False,
}
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the weather forecast for a city.",
    "parameters": WEATHER_PARAMETERS}}
TIME = {"type": "function", "function": {
    "name": "get_time", "description": "The local time in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}
ASK = [{"role": "user", "content": "What will the weather be like in Paris this week?"}]
NAMED = {"type": "function", "function": {"name": "get_weather"}}


@pytest.fixture
def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key="anything", max_retries=0,
                         timeout=300)


def check_call(call):
    assert call.type == "function" and call.id
    assert call.function.name == "get_weather"
    assert isinstance(call.function.arguments, str)
    arguments = json.loads(call.function.arguments)
    jsonschema.validate(arguments, WEATHER_PARAMETERS)
    return arguments


@pytest.mark.parametrize("choice", ["required", NAMED])
def test_forced_call_is_message_tool_calls(client, choice):
    r = client.chat.completions.create(model="m", max_tokens=200, temperature=0, messages=ASK,
                                       tools=[WEATHER, TIME], tool_choice=choice,
                                       parallel_tool_calls=False)
    choice0 = r.choices[0]
    assert choice0.finish_reason == "tool_calls"
    assert len(choice0.message.tool_calls) == 1
    if choice == NAMED:
        check_call(choice0.message.tool_calls[0])


def test_streamed_call_arguments_concatenate_to_valid_json(client):
    stream = client.chat.completions.create(model="m", max_tokens=200, temperature=0,
                                            messages=ASK, tools=[WEATHER], tool_choice=NAMED,
                                            parallel_tool_calls=False, stream=True)
    deltas, finish = [], None
    for chunk in stream:
        choice = chunk.choices[0]
        if choice.delta.tool_calls:
            deltas.extend(choice.delta.tool_calls)
        finish = choice.finish_reason or finish
    assert finish == "tool_calls"
    assert all(d.index == 0 for d in deltas)
    first, rest = deltas[0], deltas[1:]
    assert first.id and first.type == "function" and first.function.name == "get_weather"
    assert rest and all(d.id is None and d.function.name is None for d in rest)
    arguments = (first.function.arguments or "") + "".join(d.function.arguments for d in rest)
    jsonschema.validate(json.loads(arguments), WEATHER_PARAMETERS)
    whole = client.chat.completions.create(model="m", max_tokens=200, temperature=0,
                                           messages=ASK, tools=[WEATHER], tool_choice=NAMED,
                                           parallel_tool_calls=False)
    assert json.loads(whole.choices[0].message.tool_calls[0].function.arguments) == \
        json.loads(arguments)


def test_tool_call_round_trip(client):
    first = client.chat.completions.create(model="m", max_tokens=200, temperature=0,
                                           messages=ASK, tools=[WEATHER], tool_choice=NAMED)
    call = first.choices[0].message.tool_calls[0]
    check_call(call)
    history = ASK + [
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id,
         "content": "Sunny all week, around 24 degrees."},
    ]
    second = client.chat.completions.create(model="m", max_tokens=40, temperature=0,
                                            messages=history, tools=[WEATHER],
                                            tool_choice="none")
    assert second.choices[0].finish_reason in ("stop", "length")
    assert second.choices[0].message.tool_calls is None
    assert second.choices[0].message.content
    # The tool's result reached the prompt: it is longer than the call alone.
    assert second.usage.prompt_tokens > first.usage.prompt_tokens


def test_tool_choice_none_answers_in_text(client):
    r = client.chat.completions.create(model="m", max_tokens=20, temperature=0, messages=ASK,
                                       tools=[WEATHER], tool_choice="none")
    assert r.choices[0].message.tool_calls is None
    assert r.choices[0].message.content


def test_unknown_function_in_tool_choice_is_400(client):
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(
            model="m", max_tokens=20, messages=ASK, tools=[WEATHER],
            tool_choice={"type": "function", "function": {"name": "nope"}})
    assert "nope" in e.value.message


@pytest.mark.parametrize("stream", [False, True])
def test_json_schema_response_format_follows_the_schema(client, stream):
    schema = {"type": "object",
              "properties": {"name": {"type": "string", "maxLength": 30},
                             "age": {"type": "integer", "minimum": 0, "maximum": 120}},
              "required": ["name", "age"], "additionalProperties": False}
    request = dict(model="m", max_tokens=80, temperature=0,
                   messages=[{"role": "user", "content": "Invent a person."}],
                   response_format={"type": "json_schema",
                                    "json_schema": {"name": "person", "schema": schema,
                                                    "strict": True}})
    if stream:
        text = "".join(c.choices[0].delta.content or ""
                       for c in client.chat.completions.create(stream=True, **request)
                       if c.choices)
    else:
        text = client.chat.completions.create(**request).choices[0].message.content
    jsonschema.validate(json.loads(text), schema)


@pytest.fixture(scope="module")
def calling_server():
    s = Server("--tool-choice", "any", "--temperature", "0")
    yield s
    s.stop()


def test_parallel_tool_calls_false_keeps_the_servers_tool_choice_with_one_call(calling_server):
    client = openai.OpenAI(base_url=calling_server.url + "/v1", api_key="x", max_retries=0,
                           timeout=300)
    r = client.chat.completions.create(model="m", max_tokens=300, messages=ASK,
                                       tools=[WEATHER, TIME], parallel_tool_calls=False)
    assert r.choices[0].finish_reason == "tool_calls"  # the server's `any` still applies
    assert len(r.choices[0].message.tool_calls) == 1
