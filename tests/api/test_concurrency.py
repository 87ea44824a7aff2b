"""Continuous batching through the real server: batched results equal
one-at-a-time results, KV is freed when clients leave, overload is a 529
before any stream byte, and 50 concurrent streams all complete."""
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from conftest import Server

PROMPTS = ["Tell me about the moon.", "What is a cat?", "Describe the sea.", "Name some fruits.",
           "Why is the sky blue?", "Write about trees."]


@pytest.fixture(scope="module")
def parallel_server():
    s = Server("--parallel", "16", "--queue-timeout", "1200")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def one_slot_server():
    s = Server("--parallel", "1", "--max-queue", "1", "--queue-timeout", "1")
    yield s
    s.stop()


def stream_text(url, prompt, max_tokens=24, temperature=0.0):
    body = {"model": "m", "max_tokens": max_tokens, "stream": True, "temperature": temperature,
            "messages": [{"role": "user", "content": prompt}]}
    text, types = "", []
    with httpx.stream("POST", url + "/v1/messages", json=body, timeout=600) as r:
        assert r.status_code == 200, r.read()
        for line in r.iter_lines():
            if line.startswith("data: "):
                e = json.loads(line[6:])
                types.append(e["type"])
                if e["type"] == "content_block_delta":
                    text += e["delta"]["text"]
    return text, types


def health(url):
    return httpx.get(url + "/health").json()


def wait_for(predicate, seconds=10.0):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


@pytest.fixture(scope="module")
def one_variant_server():
    """Kernels pinned to AVX-512 (if the CPU has it): where AMX exists it
    serves batches of 8 rows or more and AVX-512 the smaller ones, so a
    prompt chunked differently under load would take a different mix of
    variants, whose ~0.5% logit differences (checked against NumPy in
    tests/reference) can flip a near-tie on the very first token. This test
    is about the scheduler keeping sequences apart, not about variants."""
    s = Server("--parallel", "16", "--queue-timeout", "1200", env={"PENSIEVE_CPU": "avx512"})
    yield s
    s.stop()


def test_batched_greedy_replies_equal_one_at_a_time(one_variant_server):
    url = one_variant_server.url
    alone = [stream_text(url, p)[0] for p in PROMPTS]
    with ThreadPoolExecutor(len(PROMPTS)) as pool:
        together = list(pool.map(lambda p: stream_text(url, p)[0], PROMPTS))
    # Batching changes which kernel path a row takes (GEMV alone, tiled GEMM
    # in a batch), so sums run in another order: float noise, checked
    # strictly on logits in tests/reference/model (test_batching). Greedy text
    # can only part where two candidates nearly tie. One prompt here ("Why is
    # the sky blue?") nearly ties on its very first token (" sky" against
    # " answer"), and any change of summation order (compiler flags, kernel
    # path) can flip it; so all replies but one must share a long prefix
    # with their one-at-a-time twin, and most must agree entirely. A mixed-up
    # sequence would garble several replies at once.
    common = [next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
              for a, b in zip(alone, together)]
    assert sum(c >= 40 for c in common) >= len(PROMPTS) - 1, list(zip(alone, together))
    assert sum(a == b for a, b in zip(alone, together)) * 2 >= len(PROMPTS)


def test_a_killed_stream_returns_its_kv_blocks(parallel_server):
    url = parallel_server.url
    assert wait_for(lambda: health(url)["kv_blocks_used"] == 0)
    body = {"model": "m", "max_tokens": 2000, "stream": True, "temperature": 0,
            "messages": [{"role": "user", "content": "Write a very long story."}]}
    with httpx.stream("POST", url + "/v1/messages", json=body, timeout=60) as r:
        for line in r.iter_lines():
            if "content_block_delta" in line:
                assert health(url)["kv_blocks_used"] > 0
                break
    assert wait_for(lambda: health(url)["kv_blocks_used"] == 0 and health(url)["in_flight"] == 0)


def long_stream(url, started, stop):
    body = {"model": "m", "max_tokens": 4000, "stream": True, "temperature": 0,
            "messages": [{"role": "user", "content": "Write a very long story."}]}
    try:
        with httpx.stream("POST", url + "/v1/messages", json=body, timeout=60) as r:
            for line in r.iter_lines():
                if "content_block_delta" in line:
                    started.set()
                if stop.is_set():
                    return
    except httpx.HTTPError:
        pass


def test_a_full_queue_and_a_timed_out_wait_are_529_before_any_stream_byte(one_slot_server):
    url = one_slot_server.url
    started, stop = threading.Event(), threading.Event()
    runner = threading.Thread(target=long_stream, args=(url, started, stop), daemon=True)
    runner.start()
    assert started.wait(60)
    body = {"model": "m", "max_tokens": 8, "stream": True,
            "messages": [{"role": "user", "content": "Hi"}]}
    results = {}

    def waiter():  # takes the one queue place, then times out after 1 s
        results["waiter"] = httpx.post(url + "/v1/messages", json=body, timeout=60)

    w = threading.Thread(target=waiter)
    w.start()
    assert wait_for(lambda: health(url)["queued"] == 1)
    full = httpx.post(url + "/v1/messages", json=body, timeout=60)
    w.join()
    stop.set()
    for r in (full, results["waiter"]):
        assert r.status_code == 529, r.text
        assert r.headers["content-type"].startswith("application/json")
        assert r.headers["retry-after"]
        assert r.json()["error"]["type"] == "overloaded_error"


def test_fifty_concurrent_streams_all_complete(parallel_server):
    url = parallel_server.url
    with ThreadPoolExecutor(50) as pool:
        results = list(pool.map(
            lambda i: stream_text(url, PROMPTS[i % len(PROMPTS)], max_tokens=64, temperature=0.8),
            range(50)))
    for text, types in results:
        assert types[0] == "message_start" and types[-1] == "message_stop"
        assert types.count("message_start") == 1 and "error" not in types
    assert wait_for(lambda: health(url)["kv_blocks_used"] == 0)
