"""The cross-request prefix cache on the real server: a prompt that starts
like an earlier one (a repeated request, or the next turn of a chat, which
resends the whole history) reuses that request's KV blocks instead of
running their prefill again, and answers as a server without the cache does."""
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
