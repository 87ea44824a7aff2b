"""The cross-request prefix cache on the real server: a prompt that starts
like an earlier one (a repeated request, or the next turn of a chat, which
resends the whole history) reuses that request's KV blocks instead of
running their prefill again, and answers as a server without the cache does."""
import json
import time

import httpx
import pytest

from conftest import Server
from test_metrics import log_record

SYSTEM = ("You are a helpful assistant who always answers in a friendly and concise way, "
          "using simple words that anyone can understand, and never makes things up.")
QUESTIONS = ["What is the capital of France?", "Name three colours of the rainbow.",
             "Why do cats purr?"]


@pytest.fixture(scope="module")
def cached():
    s = Server("--log-format", "json")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def uncached():
    s = Server("--log-format", "json", "--prefix-cache-tokens", "0")
    yield s
    s.stop()


def ask(server, messages, max_tokens=24):
    body = {"model": "m", "max_tokens": max_tokens, "temperature": 0, "system": SYSTEM,
            "messages": messages}
    r = httpx.post(server.url + "/v1/messages", json=body, timeout=120)
    assert r.status_code == 200, r.text
    record = log_record(server, r.headers["request-id"])
    return r.json()["content"][0]["text"], record


def idle_health(server):
    """/health once no sequence holds KV: the engine publishes its counts
    after the step that finished the reply, which can be just after it left."""
    deadline = time.time() + 5
    while True:
        health = httpx.get(server.url + "/health").json()
        if health["kv_blocks_used"] == 0 or time.time() > deadline:
            return health
        time.sleep(0.02)


def agree(a, b):
    """Equal, or parted only after a long common prefix: reused K/V were
    computed in another batch, so sums may run in another order (the same
    float noise test_concurrency allows for batching)."""
    common = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return a == b or common >= 40


def test_a_repeated_prompt_reuses_its_blocks(cached):
    first, r1 = ask(cached, [{"role": "user", "content": QUESTIONS[0]}])
    again, r2 = ask(cached, [{"role": "user", "content": QUESTIONS[0]}])
    assert r1["cached_tokens"] == 0
    # Every full block that leaves at least 8 prompt tokens to evaluate (the
    # scheduler's kMinEvaluated) comes from the cache.
    assert r2["cached_tokens"] == (r2["prompt_tokens"] - 8) // 16 * 16 > 0
    assert agree(first, again), (first, again)


def test_the_next_turn_reuses_the_history(cached, uncached):
    for question in QUESTIONS[1:]:
        turn1 = [{"role": "user", "content": question}]
        reply1, r1 = ask(cached, turn1)
        turn2 = turn1 + [{"role": "assistant", "content": reply1},
                         {"role": "user", "content": "Say that again in other words."}]
        reply2, r2 = ask(cached, turn2)
        assert r2["cached_tokens"] >= 16 * (r1["prompt_tokens"] // 16 - 1) > 0, (r1, r2)
        plain2, p2 = ask(uncached, turn2)
        assert p2["cached_tokens"] == 0
        assert agree(reply2, plain2), (reply2, plain2)


def test_cached_blocks_are_not_counted_as_in_use(cached):
    ask(cached, [{"role": "user", "content": QUESTIONS[0]}])
    health = idle_health(cached)
    assert health["kv_blocks_used"] == 0
    assert health["kv_blocks_cached"] > 0


def test_the_cache_keeps_no_more_than_its_cap():
    capped = Server("--log-format", "json", "--prefix-cache-tokens", "32")
    try:
        for question in QUESTIONS:
            ask(capped, [{"role": "user", "content": question}])
        health = idle_health(capped)
        assert 0 < health["kv_blocks_cached"] <= 2
    finally:
        capped.stop()


def test_usage_reports_reused_prompt_tokens_as_cache_reads(cached):
    """Prompt caching the Anthropic way: cache_read_input_tokens is the prompt
    tokens whose KV was reused, input_tokens the rest, and the two add up to
    the prompt's length (count_tokens), streamed or not."""
    messages = [{"role": "user", "content": "Tell me one fact about the moon, please."}]
    body = {"model": "m", "max_tokens": 8, "temperature": 0, "system": SYSTEM,
            "messages": messages}
    total = httpx.post(cached.url + "/v1/messages/count_tokens",
                       json={"model": "m", "system": SYSTEM, "messages": messages}).json()
    total = total["input_tokens"]
    first = httpx.post(cached.url + "/v1/messages", json=body, timeout=120).json()["usage"]
    assert first["input_tokens"] + first["cache_read_input_tokens"] == total
    second = httpx.post(cached.url + "/v1/messages", json=body, timeout=120).json()["usage"]
    assert second["cache_read_input_tokens"] > 0
    assert second["input_tokens"] + second["cache_read_input_tokens"] == total
    assert second["cache_creation_input_tokens"] == 0

    with httpx.stream("POST", cached.url + "/v1/messages", json={**body, "stream": True},
                      timeout=120) as r:
        start = next(json.loads(line[6:]) for line in r.iter_lines()
                     if line.startswith("data: ") and '"message_start"' in line)
    usage = start["message"]["usage"]
    assert usage["cache_read_input_tokens"] > 0
    assert usage["input_tokens"] + usage["cache_read_input_tokens"] == total
