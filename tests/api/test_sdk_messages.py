"""The official `anthropic` Python SDK against the real server."""
import anthropic
import pytest

USER = [{"role": "user", "content": "Name three colours."}]


@pytest.fixture
def client(server):
    return anthropic.Anthropic(base_url=server.url, api_key="anything", max_retries=0,
                               timeout=120)


def test_create_returns_a_full_message(client):
    msg = client.messages.create(model="claude-sonnet-4-6", max_tokens=16, messages=USER)
    assert msg.type == "message" and msg.role == "assistant"
    assert msg.model == "claude-sonnet-4-6"  # echoed
    assert msg.id.startswith("msg_")
    assert msg.content[0].type == "text" and msg.content[0].text
    assert msg.stop_reason in ("end_turn", "max_tokens")
    assert msg.usage.input_tokens > 0 and msg.usage.output_tokens > 0
    assert msg._request_id and msg._request_id.startswith("req_")


def test_stream_yields_text_and_a_final_message_of_the_same_shape(client):
    with client.messages.stream(model="claude-haiku-4-5", max_tokens=16, messages=USER) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(pieces) >= 1
    assert "".join(pieces) == final.content[0].text
    assert final.usage.output_tokens > 0 and final.usage.input_tokens > 0
    whole = client.messages.create(model="claude-haiku-4-5", max_tokens=16, messages=USER)
    assert final.model_dump().keys() == whole.model_dump().keys()
    assert [b.type for b in final.content] == [b.type for b in whole.content]


def test_count_tokens_matches_the_streamed_input_tokens(client):
    system = "You are terse."
    counted = client.messages.count_tokens(model="claude-x", system=system, messages=USER)
    with client.messages.stream(model="claude-x", max_tokens=2, system=system,
                                messages=USER) as stream:
        start = next(e for e in stream if e.type == "message_start")
        assert start.message.usage.input_tokens == counted.input_tokens
        stream.until_done()


def test_max_tokens_stops_the_reply(client):
    msg = client.messages.create(model="m", max_tokens=3, extra_body={"temperature": 0},
                                 messages=[{"role": "user", "content": "Write a long poem about the sea."}])
    assert msg.stop_reason == "max_tokens"
    assert msg.usage.output_tokens == 3


def test_stop_sequence_is_reported_and_not_included(client):
    prompt = [{"role": "user", "content": "Write a long poem about the sea."}]
    free = client.messages.create(model="m", max_tokens=24, extra_body={"temperature": 0}, messages=prompt)
    text = free.content[0].text
    words = text.split()
    assert len(words) > 4, text
    stop = words[3]
    cut = client.messages.create(model="m", max_tokens=24, extra_body={"temperature": 0}, messages=prompt,
                                 stop_sequences=[stop])
    assert cut.stop_reason == "stop_sequence"
    assert cut.stop_sequence == stop
    assert cut.content[0].text == text[: text.index(stop)]


def test_claude_code_shaped_request_is_accepted(client):
    msg = client.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=8,
        system=[{"type": "text", "text": "x-anthropic-billing-header: cc_version=1; cch=abc;"},
                {"type": "text", "text": "You are helpful.", "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": [{"type": "text", "text": "Hi",
                                                "cache_control": {"type": "ephemeral"}}]},
                  {"role": "system", "content": "Answer briefly."},
                  {"role": "assistant", "content": "Hello"},
                  {"role": "user", "content": "How are you?"}],
        metadata={"user_id": "u1"},
        extra_body={"context_management": {"edits": []}, "output_config": {"effort": "low"},
                    "thinking": {"type": "adaptive"}, "speed": "fast"},
        extra_headers={"anthropic-beta": "claude-code-20250219,oauth-2025-04-20"},
    )
    assert msg.content[0].type == "text"


def test_mid_conversation_system_blocks_reach_the_prompt_as_system_messages_do(client):
    """Claude Code's instructions inside a turn (a mid_conv_system block) and
    a role "system" message both fold into the system prompt: the same
    prompt, so the same count, which grows with the block's text."""
    note = "Answer in French and never use more than ten words in a reply."
    count = lambda messages: client.messages.count_tokens(model="m", messages=messages).input_tokens
    block = {"type": "mid_conv_system", "content": [{"type": "text", "text": note}]}
    with_block = count([{"role": "user", "content": [block, {"type": "text", "text": "Hi"}]}])
    with_message = count([{"role": "system", "content": note}, {"role": "user", "content": "Hi"}])
    assert with_block == with_message
    block["content"].append({"type": "text", "text": note})
    assert count([{"role": "user", "content": [block, {"type": "text", "text": "Hi"}]}]) > with_block


def test_models_list_and_retrieve(client):
    models = client.models.list()
    ids = [m.id for m in models.data]
    assert ids == ["smollm2-135m-instruct-q4_1"]
    one = client.models.retrieve(ids[0])
    assert one.id == ids[0] and one.type == "model"
    with pytest.raises(anthropic.NotFoundError):
        client.models.retrieve("no-such-model")


def test_greedy_stream_and_whole_reply_have_the_same_text(client):
    prompt = [{"role": "user", "content": "Write a story about a lighthouse keeper."}]
    whole = client.messages.create(model="m", max_tokens=24, messages=prompt,
                                   extra_body={"temperature": 0})
    with client.messages.stream(model="m", max_tokens=24, messages=prompt,
                                extra_body={"temperature": 0}) as stream:
        streamed = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert streamed == whole.content[0].text
    assert final.usage.output_tokens == whole.usage.output_tokens
