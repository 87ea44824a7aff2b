"""The real server with every layer on the GPU (`serve --gpu-layers -1`; Mesa's
lavapipe without a GPU): concurrent requests are batched and a repeated
prompt takes its full blocks from the prefix cache, both of which read the
device's KV cache through the CPU's block tables, and the replies equal
those of one request at a time, token for token. (On the GPU a row's
products do not depend on the other rows of its batch: each column of the
GEMV and of the GEMM is summed alone.)"""
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from conftest import Server
from test_metrics import log_record

PROMPTS = ["What is a cat?", "Name some fruits."]


@pytest.fixture(scope="module")
def gpu_server():
    s = Server("--gpu-layers", "-1", "--parallel", "4", "--log-format", "json")
    yield s
    s.stop()


def ask(server, prompt, max_tokens=6):
    body = {"model": "m", "max_tokens": max_tokens, "temperature": 0,
            "messages": [{"role": "user", "content": prompt}]}
    r = httpx.post(server.url + "/v1/messages", json=body, timeout=600)
    assert r.status_code == 200, r.text
    return r.json()["content"][0]["text"], log_record(server, r.headers["request-id"])


def test_batched_and_cached_replies_on_the_gpu_equal_one_at_a_time(gpu_server):
    alone = [ask(gpu_server, p) for p in PROMPTS]
    assert all(text.strip() for text, _ in alone), alone
    assert alone[0][1]["cached_tokens"] == 0
    with ThreadPoolExecutor(len(PROMPTS)) as pool:
        together = list(pool.map(lambda p: ask(gpu_server, p), PROMPTS))
    assert [text for text, _ in together] == [text for text, _ in alone]
    # The second time, each prompt started from blocks that an earlier
    # request wrote to the device's KV cache.
    assert all(record["cached_tokens"] > 0 for _, record in together), together
