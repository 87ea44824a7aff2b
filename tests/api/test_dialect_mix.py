"""The three dialects at once: the same conversation sent at the same moment
through /v1/messages (Anthropic SDK), /v1/chat/completions (OpenAI SDK) and
/api/chat (the ollama client), greedy, streamed and not, runs as three
sequences of one batch on the one generation path and comes back as the
same text with the same token count from each. (The speed of a mixed load
against a single-dialect one is measured by bench/server/dialect_mix.py,
never asserted here.)"""
import threading
from concurrent.futures import ThreadPoolExecutor

import anthropic
import ollama
import openai
import pytest

SYSTEM = "Be brief."
QUESTION = "What is the capital of France?"
MAX_TOKENS = 24


def via_messages(url, streamed):
    client = anthropic.Anthropic(base_url=url, api_key="x", max_retries=0, timeout=300)
    # This SDK version has no temperature argument: it goes in the body.
    args = dict(model="m", max_tokens=MAX_TOKENS, extra_body={"temperature": 0}, system=SYSTEM,
                messages=[{"role": "user", "content": QUESTION}])
    if streamed:
        with client.messages.stream(**args) as stream:
            text = "".join(stream.text_stream)
            return text, stream.get_final_message().usage.output_tokens
    reply = client.messages.create(**args)
    return reply.content[0].text, reply.usage.output_tokens


def chat_messages():
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}]


def via_chat_completions(url, streamed):
    client = openai.OpenAI(base_url=url + "/v1", api_key="x", max_retries=0, timeout=300)
    args = dict(model="m", max_tokens=MAX_TOKENS, temperature=0, messages=chat_messages())
    if streamed:
        text, tokens = "", 0
        for chunk in client.chat.completions.create(**args, stream=True,
                                                    stream_options={"include_usage": True}):
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
            if chunk.usage:
                tokens = chunk.usage.completion_tokens
        return text, tokens
    reply = client.chat.completions.create(**args)
    return reply.choices[0].message.content, reply.usage.completion_tokens


def via_ollama(url, streamed):
    client = ollama.Client(host=url, timeout=300)
    args = dict(model="m", messages=chat_messages(),
                options={"temperature": 0, "num_predict": MAX_TOKENS})
    if streamed:
        parts = list(client.chat(**args, stream=True))
        return "".join(p.message.content for p in parts), parts[-1].eval_count
    reply = client.chat(**args)
    return reply.message.content, reply.eval_count


@pytest.mark.parametrize("streamed", [False, True])
def test_same_prompt_through_three_dialects_at_once_gives_the_same_text(server, streamed):
    dialects = [via_messages, via_chat_completions, via_ollama]
    start = threading.Barrier(len(dialects))

    def run(ask):
        start.wait(timeout=60)  # all three in flight together
        return ask(server.url, streamed)

    with ThreadPoolExecutor(len(dialects)) as pool:
        replies = list(pool.map(run, dialects))
    texts = [text for text, _ in replies]
    assert texts[0], replies
    assert texts == [texts[0]] * len(dialects), replies
    assert [tokens for _, tokens in replies] == [replies[0][1]] * len(dialects), replies
