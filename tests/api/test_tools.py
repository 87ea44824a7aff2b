"""Tool use through the official `anthropic` Python SDK against the real
server and its default model (SmolLM2-135M): calls forced by tool_choice
(`tool`, `any`), streamed and not, every returned input validated with
jsonschema against its tool's input_schema; tool_result history; `none`;
disable_parallel_tool_use; the 400s for bad tools and tool_choice;
count_tokens; structured output; and the serve defaults --tool-choice,
--max-tool-calls, --temperature and --seed.

SmolLM2-135M hardly ever calls a tool on its own, so every test that expects a
call forces one (tool_choice, or the server's --tool-choice any): what is
checked is the server's part (the grammar, the blocks, the stream), never the
model's judgement."""
import json

import anthropic
import jsonschema
import pytest

from conftest import Server

WEATHER = {
    "name": "get_weather",
    "description": "Get the weather forecast for a city.",
    "input_schema": {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "The city's name.", "maxLength": 40},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 1, "maximum": 7},
        },
        "required": ["city", "unit", "days"],
        "additionalProperties": False,
    },
}

ORDER = {
    "name": "place_order",
    "description": "Order groceries from the shop.",
    "input_schema": {
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "minItems": 1,
                "maxItems": 3,
                "items": {
                    "type": "object",
                    "properties": {
                        "product": {"type": "string", "enum": ["apple", "bread", "milk", "eggs"]},
                        "quantity": {"type": "integer", "minimum": 1, "maximum": 12},
                    },
                    "required": ["product", "quantity"],
                    "additionalProperties": False,
                },
            },
            "priority": {"type": "string", "enum": ["low", "normal", "urgent"]},
            "gift": {"type": "boolean"},
        },
        "required": ["items", "priority"],
        "additionalProperties": False,
    },
}

TOOLS = [WEATHER, ORDER]
ASK_WEATHER = [{"role": "user", "content": "What will the weather be like in Paris this week?"}]
ASK_ORDER = [{"role": "user", "content": "Please order two loaves of bread and some milk."}]


@pytest.fixture
def client(server):
    return anthropic.Anthropic(base_url=server.url, api_key="anything", max_retries=0,
                               timeout=300)


def schema_of(name, tools=TOOLS):
    return next(t["input_schema"] for t in tools if t["name"] == name)


def check_input(name, value, tools=TOOLS):
    """The call names one of the tools and its input follows that tool's schema."""
    assert name in [t["name"] for t in tools], name
    schema = schema_of(name, tools)
    jsonschema.validators.validator_for(schema)(schema).validate(value)


def tool_uses(message):
    return [b for b in message.content if b.type == "tool_use"]


def check_message_calls(message, tools=TOOLS):
    for block in tool_uses(message):
        assert block.id.startswith("toolu_"), block.id
        check_input(block.name, block.input, tools)
    return tool_uses(message)


def streamed(client, tools=TOOLS, **kw):
    """Streams a request with the SDK's helper and checks the tool_use blocks
    event by event: start with an empty input, then only input_json_delta
    pieces whose concatenation parses to exactly the final input, then stop.
    Returns the final message."""
    starts, deltas, stops = {}, {}, []
    message_delta = None
    with client.messages.stream(tools=tools, **kw) as stream:
        for event in stream:
            if event.type == "content_block_start" and event.content_block.type == "tool_use":
                block = event.content_block
                assert block.input == {} and block.id.startswith("toolu_"), block
                starts[event.index] = block
                deltas[event.index] = []
            elif event.type == "content_block_delta" and event.index in starts:
                assert event.index not in stops, "a delta after content_block_stop"
                assert event.delta.type == "input_json_delta", event.delta
                deltas[event.index].append(event.delta.partial_json)
            elif event.type == "content_block_stop":
                stops.append(event.index)
            elif event.type == "message_delta":
                message_delta = event
        final = stream.get_final_message()
    assert message_delta is not None and message_delta.delta.stop_reason == final.stop_reason
    assert sorted(starts) == sorted(i for i in stops if i in starts)
    for index, start in starts.items():
        block = final.content[index]
        assert block.type == "tool_use" and block.id == start.id and block.name == start.name
        if final.stop_reason == "max_tokens" and index == max(starts):
            continue  # a call cut off by max_tokens has an incomplete input, as in the API
        assert json.loads("".join(deltas[index])) == block.input, deltas[index]
        check_input(block.name, block.input, tools)
    return final


# -- calls forced by tool_choice ---------------------------------------------------------

FORCED = [
    pytest.param({"type": "tool", "name": "get_weather"}, ASK_WEATHER, id="tool-weather"),
    pytest.param({"type": "tool", "name": "place_order"}, ASK_ORDER, id="tool-order"),
    pytest.param({"type": "any"}, ASK_ORDER, id="any"),
]


@pytest.mark.parametrize("choice,messages", FORCED)
def test_forced_call_not_streamed(client, choice, messages):
    msg = client.messages.create(model="m", max_tokens=400, messages=messages, tools=TOOLS,
                                 tool_choice=choice)
    calls = check_message_calls(msg)
    assert calls, msg.content
    # The call is forced from the first token: no text before it.
    assert msg.content[0].type == "tool_use", msg.content
    if choice["type"] == "tool":
        assert calls[0].name == choice["name"]
    # Whole calls in the content: "tool_use", even when a later call was cut off.
    assert msg.stop_reason == "tool_use", msg.stop_reason
    assert all(b.type == "tool_use" for b in msg.content), msg.content


@pytest.mark.parametrize("choice,messages", FORCED)
def test_forced_call_streamed(client, choice, messages):
    final = streamed(client, model="m", max_tokens=400, messages=messages, tool_choice=choice)
    assert final.content and final.content[0].type == "tool_use", final.content
    if choice["type"] == "tool":
        assert final.content[0].name == choice["name"]
    assert final.stop_reason in ("tool_use", "max_tokens")


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("kind", ["tool", "any"])
def test_one_forced_call_ends_the_reply_with_tool_use(client, kind, stream):
    choice = {"type": kind, "disable_parallel_tool_use": True}
    if kind == "tool":
        choice["name"] = "place_order"
    kw = dict(model="m", max_tokens=400, messages=ASK_ORDER, tool_choice=choice)
    msg = streamed(client, **kw) if stream else client.messages.create(tools=TOOLS, **kw)
    assert [b.type for b in msg.content] == ["tool_use"], msg.content
    assert msg.stop_reason == "tool_use"
    check_message_calls(msg)


@pytest.mark.parametrize("temperature", [0.0, 0.7, 1.0, 1.5])
def test_inputs_follow_enum_range_nested_array_and_closed_objects(client, temperature):
    # Each request draws its own random seed: several temperatures and
    # repeats explore different paths through the schema.
    for _ in range(2):
        msg = client.messages.create(
            model="m", max_tokens=300, messages=ASK_ORDER, tools=TOOLS,
            extra_body={"temperature": temperature},
            tool_choice={"type": "tool", "name": "place_order", "disable_parallel_tool_use": True})
        calls = check_message_calls(msg)
        assert len(calls) == 1 and msg.stop_reason == "tool_use", msg.content
        items = calls[0].input["items"]
        assert 1 <= len(items) <= 3  # also checked by the schema; spelled out for the report


def test_disable_parallel_tool_use_gives_exactly_one_call(client):
    for _ in range(3):
        msg = client.messages.create(
            model="m", max_tokens=400, messages=ASK_WEATHER, tools=TOOLS,
            extra_body={"temperature": 1.0},
            tool_choice={"type": "any", "disable_parallel_tool_use": True})
        assert len(check_message_calls(msg)) == 1, msg.content
        assert msg.stop_reason == "tool_use"


# -- history, none, errors, counting, structured output -----------------------------------

def forced_weather_call(client):
    msg = client.messages.create(
        model="m", max_tokens=200, messages=ASK_WEATHER, tools=TOOLS,
        tool_choice={"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True})
    (call,) = check_message_calls(msg)
    return {"type": "tool_use", "id": call.id, "name": call.name, "input": call.input}


def with_result(call, result):
    return ASK_WEATHER + [{"role": "assistant", "content": [call]},
                          {"role": "user", "content": [{"tool_use_id": call["id"],
                                                        "type": "tool_result", **result}]}]


@pytest.mark.parametrize("result", [
    pytest.param({"content": "Sunny all week, 24 degrees."}, id="string"),
    pytest.param({"content": [{"type": "text", "text": "The weather service is down."}],
                  "is_error": True}, id="blocks-error"),
])
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_tool_result_round_trip(client, result, stream):
    messages = with_result(forced_weather_call(client), result)
    kw = dict(model="m", max_tokens=40, messages=messages, tools=TOOLS)
    msg = streamed(client, **kw) if stream else client.messages.create(**kw)
    assert msg.type == "message" and msg.role == "assistant"
    assert msg.stop_reason in ("end_turn", "max_tokens", "tool_use")
    assert msg.usage.output_tokens > 0
    check_message_calls(msg)


def test_tool_results_reach_the_prompt(client):
    call = forced_weather_call(client)
    short = with_result(call, {"content": "Sunny."})
    long = with_result(call, {"content": "Sunny. " + "Warm and dry, light wind. " * 20})
    error = with_result(call, {"content": "Sunny.", "is_error": True})
    count = lambda m: client.messages.count_tokens(model="m", messages=m, tools=TOOLS).input_tokens
    assert count(long) > count(short) + 60
    assert count(error) > count(short)  # the error mark is rendered


def test_tool_choice_none_answers_in_text(client):
    for _ in range(3):
        msg = client.messages.create(model="m", max_tokens=60, messages=ASK_WEATHER, tools=TOOLS,
                                     tool_choice={"type": "none"})
        assert tool_uses(msg) == [] and msg.stop_reason != "tool_use", msg.content
        assert msg.content and msg.content[0].type == "text"


def bad_tool(**changes):
    return [{**WEATHER, **changes}]


BAD_REQUESTS = [
    pytest.param(dict(tools=TOOLS, tool_choice={"type": "tool", "name": "get_time"}),
                 "tool_choice.name", id="unknown-tool-choice-name"),
    pytest.param(dict(tool_choice={"type": "any"}), "tool_choice", id="any-without-tools"),
    pytest.param(dict(tool_choice={"type": "tool", "name": "get_weather"}), "tool_choice",
                 id="tool-without-tools"),
    pytest.param(dict(tools=[], tool_choice={"type": "any"}), "tool_choice",
                 id="any-with-empty-tools"),
    pytest.param(dict(tools=bad_tool(name="get weather")), "tools.0.name", id="name-space"),
    pytest.param(dict(tools=bad_tool(name="x" * 65)), "tools.0.name", id="name-too-long"),
    pytest.param(dict(tools=bad_tool(name="")), "tools.0.name", id="name-empty"),
    pytest.param(dict(tools=bad_tool(name="wetter.heute")), "tools.0.name", id="name-dot"),
    pytest.param(dict(tools=[WEATHER, ORDER, WEATHER]), "tools", id="duplicate-names"),
    pytest.param(dict(tools=bad_tool(input_schema="object")), "tools.0.input_schema",
                 id="schema-a-string"),
    pytest.param(dict(tools=bad_tool(input_schema=[{"type": "object"}])),
                 "tools.0.input_schema", id="schema-an-array"),
    pytest.param(dict(tools=[ORDER, *bad_tool(input_schema={"type": "nosuchtype"})]),
                 "tools.1.input_schema", id="schema-unknown-type"),
    pytest.param(dict(tools=bad_tool(input_schema={
        "type": "object", "properties": {"when": {"$ref": "#/$defs/date"}}})),
                 "tools.0.input_schema", id="schema-dangling-ref"),
    pytest.param(dict(tools=bad_tool(input_schema={
        "type": "object", "properties": {"n": {"type": "integer", "minimum": 5, "maximum": 1}}})),
                 "tools.0.input_schema", id="schema-empty-range"),
    pytest.param(dict(output_format={"type": "json_schema", "schema": {"type": "nosuchtype"}}),
                 "output_format.schema", id="output-format-unknown-type"),
    # A tool's input is an object: untyped schemas that match none are refused.
    pytest.param(dict(tools=[ORDER, *bad_tool(input_schema={"enum": [1, 2]})]),
                 "tools.1.input_schema", id="schema-enum-of-numbers"),
    pytest.param(dict(tools=bad_tool(input_schema={
        "anyOf": [{"type": "array"}, {"type": "string"}]})),
                 "tools.0.input_schema", id="schema-anyof-without-object"),
    pytest.param(dict(tools=bad_tool(input_schema={
        "$ref": "#/$defs/x", "$defs": {"x": {"type": "array"}}})),
                 "tools.0.input_schema", id="schema-ref-to-array"),
]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
@pytest.mark.parametrize("body,field", BAD_REQUESTS)
def test_bad_tools_are_400_naming_the_field(client, body, field, stream):
    body = dict(body)  # the parameters are shared by both stream variants
    extra = {k: body.pop(k) for k in list(body) if k == "output_format"}
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(model="m", max_tokens=8, messages=ASK_WEATHER, stream=stream,
                               extra_body=extra, **body)
    err = caught.value
    assert err.status_code == 400
    assert err.body["type"] == "error", err.body
    assert err.body["error"]["type"] == "invalid_request_error", err.body
    message = err.body["error"]["message"]
    # The field itself, or a part of it ("tools.1.input_schema.type: ...").
    assert message.startswith((field + ": ", field + ".")), message


# An object schema the grammar compiler refuses (an unknown type inside it).
BROKEN_SCHEMA = {"type": "object", "properties": {"n": {"type": "nosuchtype"}}}


NOTE = {"type": "object", "properties": {"text": {"type": "string", "maxLength": 20}},
        "required": ["text"], "additionalProperties": False}


@pytest.mark.parametrize("schema", [{"anyOf": [NOTE, {"type": "array"}]},
                                    {"$ref": "#/$defs/note", "$defs": {"note": NOTE}}],
                         ids=["anyof-with-an-array", "ref-at-the-root"])
def test_an_untyped_tool_schema_that_allows_objects_gets_an_object_input(client, schema):
    tool = {"name": "note", "description": "Take a note.", "input_schema": schema}
    msg = client.messages.create(model="m", max_tokens=200, messages=ASK_WEATHER, tools=[tool],
                                 tool_choice={"type": "tool", "name": "note",
                                              "disable_parallel_tool_use": True})
    assert msg.stop_reason == "tool_use", msg.content
    assert [b.type for b in msg.content] == ["tool_use"], msg.content
    assert isinstance(msg.content[0].input, dict), msg.content


def test_invalid_schema_is_400_with_tool_choice_none(client):
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(model="m", max_tokens=8, messages=ASK_WEATHER,
                               tools=bad_tool(input_schema=BROKEN_SCHEMA),
                               tool_choice={"type": "none"})
    assert caught.value.body["error"]["message"].startswith("tools.0.input_schema: ")


def test_invalid_schema_is_400_in_count_tokens(client):
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.count_tokens(model="m", messages=ASK_WEATHER,
                                     tools=bad_tool(input_schema=BROKEN_SCHEMA))
    assert caught.value.body["error"]["message"].startswith("tools.0.input_schema: ")


def test_input_schema_of_another_type_is_400(client):
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(model="m", max_tokens=40, messages=ASK_WEATHER,
                               tools=bad_tool(input_schema={"type": "string"}),
                               tool_choice={"type": "any"})
    assert caught.value.body["error"]["message"].startswith("tools.0.input_schema")


def test_required_property_with_false_schema_is_refused_or_respected(client):
    tools = bad_tool(input_schema={"type": "object", "properties": {"never": False},
                                   "required": ["never"]})
    try:
        msg = client.messages.create(model="m", max_tokens=40, messages=ASK_WEATHER, tools=tools,
                                     tool_choice={"type": "any"})
    except anthropic.BadRequestError as e:
        assert e.body["error"]["message"].startswith("tools.0.input_schema")
        return
    check_message_calls(msg, tools)


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_call_cut_by_max_tokens_never_shows_the_call_syntax(client, stream):
    # The opener is forced from the first token, so 8 tokens always end inside the call.
    kw = dict(model="m", max_tokens=8, messages=ASK_WEATHER, tool_choice={"type": "any"})
    msg = streamed(client, **kw) if stream else client.messages.create(tools=TOOLS, **kw)
    assert msg.stop_reason == "max_tokens"
    texts = [b.text for b in msg.content if b.type == "text"]
    assert not any("<tool_call" in t for t in texts), texts


def test_whole_calls_before_one_cut_off_end_with_tool_use(client):
    """Greedy calls to one tool until max_tokens cuts one off, at many lengths:
    a whole reply leaves the cut call out and says "tool_use", since its
    content holds only whole calls for the client to run; a stream that had
    started the cut call's block says "max_tokens" (its last block is no
    call), else "tool_use" too."""
    cut_after_a_call = 0
    for n in range(30, 90, 4):
        kw = dict(model="m", max_tokens=n, messages=ASK_WEATHER, tool_choice={"type": "any"},
                  extra_body={"temperature": 0})
        whole = client.messages.create(tools=[WEATHER], **kw)
        calls = check_message_calls(whole, [WEATHER])
        if calls:
            assert whole.stop_reason == "tool_use", (n, whole)
            assert [b.type for b in whole.content] == ["tool_use"] * len(calls), whole.content
            cut_after_a_call += whole.usage.output_tokens == n
        final = streamed(client, tools=[WEATHER], **kw)
        whole_calls = [b for b in final.content if b.type == "tool_use"]
        if final.stop_reason == "max_tokens":
            assert len(whole_calls) == len(calls) + 1, (n, final.content)
        else:
            assert final.stop_reason == "tool_use" and len(whole_calls) == len(calls), (n, final)
    assert cut_after_a_call > 0, "no length cut the reply after a whole call"


def test_count_tokens_counts_the_rendered_tools(client):
    count = lambda **kw: client.messages.count_tokens(model="m", messages=ASK_WEATHER,
                                                      **kw).input_tokens
    bare, one, both = count(), count(tools=[WEATHER]), count(tools=TOOLS)
    assert bare < one < both, (bare, one, both)
    # The counted prompt is the one generation uses.
    with client.messages.stream(model="m", max_tokens=1, messages=ASK_WEATHER, tools=TOOLS,
                                tool_choice={"type": "none"}) as stream:
        start = next(e for e in stream if e.type == "message_start")
        usage = start.message.usage
        assert usage.input_tokens + usage.cache_read_input_tokens == both
        stream.until_done()


PERSON = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 30},
        "age": {"type": "integer", "minimum": 0, "maximum": 130},
        "mood": {"type": "string", "enum": ["happy", "sad", "calm"]},
        "pets": {"type": "array", "maxItems": 2,
                 "items": {"type": "object", "properties": {"kind": {"enum": ["cat", "dog"]}},
                           "required": ["kind"], "additionalProperties": False}},
    },
    "required": ["name", "age", "mood", "pets"],
    "additionalProperties": False,
}


@pytest.mark.parametrize("field", ["output_format", "output_config"])
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_structured_output_follows_the_schema(client, field, stream):
    fmt = {"type": "json_schema", "schema": PERSON}
    extra = ({"output_format": fmt} if field == "output_format"
             else {"output_config": {"format": fmt}})
    kw = dict(model="m", max_tokens=200, extra_body=extra,
              messages=[{"role": "user", "content": "Describe a person as JSON."}])
    if stream:
        with client.messages.stream(**kw) as s:
            text = "".join(s.text_stream)
            msg = s.get_final_message()
        assert text == msg.content[0].text
    else:
        msg = client.messages.create(**kw)
    assert [b.type for b in msg.content] == ["text"] and msg.stop_reason == "end_turn", msg
    jsonschema.Draft202012Validator(PERSON).validate(json.loads(msg.content[0].text))


def test_structured_output_applies_with_tools_offered(client):
    msg = client.messages.create(model="m", max_tokens=200, tools=TOOLS,
                                 extra_body={"output_format": {"type": "json_schema",
                                                               "schema": PERSON}},
                                 messages=[{"role": "user", "content": "Describe a person."}])
    for block in msg.content:
        if block.type == "text":
            jsonschema.Draft202012Validator(PERSON).validate(json.loads(block.text))
    check_message_calls(msg)


# -- serve defaults: --tool-choice any --max-tool-calls 1 --temperature 0 --seed 7 -------

@pytest.fixture(scope="module")
def calling_server():
    s = Server("--max-tool-calls", "1", "--tool-choice", "any", "--temperature", "0",
               "--seed", "7")
    yield s
    s.stop()


@pytest.fixture
def calling_client(calling_server):
    return anthropic.Anthropic(base_url=calling_server.url, api_key="anything", max_retries=0,
                               timeout=300)


def shape(message):
    """A message without its random ids."""
    return [(b.type, getattr(b, "name", None), getattr(b, "input", None), getattr(b, "text", None))
            for b in message.content], message.stop_reason, message.usage.output_tokens


@pytest.mark.parametrize("messages", [ASK_WEATHER, ASK_ORDER], ids=["weather", "order"])
def test_server_default_makes_exactly_one_call(calling_client, messages):
    msg = calling_client.messages.create(model="m", max_tokens=400, messages=messages,
                                         tools=TOOLS)
    assert [b.type for b in msg.content] == ["tool_use"], msg.content
    assert msg.stop_reason == "tool_use"
    check_message_calls(msg)


@pytest.mark.parametrize("temperature", [None, 1.0], ids=["server-default", "request-1.0"])
def test_server_seed_makes_equal_requests_equal(calling_client, temperature):
    kw = dict(model="m", max_tokens=400, messages=ASK_ORDER, tools=TOOLS)
    if temperature is not None:
        kw["extra_body"] = {"temperature": temperature}
    first = calling_client.messages.create(**kw)
    second = calling_client.messages.create(**kw)
    assert shape(first) == shape(second)
    assert first.content[0].id != second.content[0].id  # ids stay unique
    third = streamed(calling_client, **{k: v for k, v in kw.items() if k != "tools"})
    assert shape(third) == shape(first)


def test_request_tool_choice_overrides_the_server_default(calling_client):
    msg = calling_client.messages.create(model="m", max_tokens=40, messages=ASK_WEATHER,
                                         tools=TOOLS, tool_choice={"type": "none"})
    assert tool_uses(msg) == [] and msg.stop_reason != "tool_use", msg.content
    # --tool-choice any applies only to requests with tools.
    without_tools = calling_client.messages.create(model="m", max_tokens=40,
                                                   messages=ASK_WEATHER)
    assert tool_uses(without_tools) == [] and without_tools.content[0].type == "text"
