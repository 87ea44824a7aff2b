"""OpenAI's legacy Completions dialect (POST /v1/completions): a raw prompt,
no chat template, whole and streamed, through the official `openai` SDK and
raw HTTP against the real server."""
import json

import httpx
import openai
import pytest

PROMPT = "The capital of France is"


@pytest.fixture
def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key="anything", max_retries=0,
                         timeout=120)


def test_completion_continues_the_raw_prompt(client):
    r = client.completions.create(model="m", prompt=PROMPT, max_tokens=8, temperature=0)
    assert r.object == "text_completion" and r.id.startswith("cmpl-")
    assert r.choices[0].text and r.choices[0].finish_reason in ("stop", "length")
    # No chat template: the prompt's tokens are only the prompt's own.
    assert r.usage.prompt_tokens <= 8
    assert r.usage.completion_tokens <= 8


def test_max_tokens_defaults_to_16_and_ends_in_length(client):
    r = client.completions.create(model="m", prompt="Once upon a time", temperature=0)
    assert r.usage.completion_tokens <= 16
    r = client.completions.create(model="m", prompt="Once upon a time", temperature=0,
                                  max_tokens=3)
    assert r.choices[0].finish_reason == "length" and r.usage.completion_tokens == 3


def test_stream_matches_the_whole_completion(server, client):
    whole = client.completions.create(model="m", prompt=PROMPT, max_tokens=8, temperature=0)
    body = {"model": "m", "prompt": PROMPT, "max_tokens": 8, "temperature": 0, "stream": True}
    with httpx.stream("POST", server.url + "/v1/completions", json=body, timeout=120) as r:
        assert r.status_code == 200
        payloads = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    assert all(c["object"] == "text_completion" for c in chunks)
    assert "".join(c["choices"][0]["text"] for c in chunks) == whole.choices[0].text
    assert chunks[-1]["choices"][0]["finish_reason"] == whole.choices[0].finish_reason


def test_stop_ends_the_completion(client):
    free = client.completions.create(model="m", prompt=PROMPT, max_tokens=12, temperature=0)
    words = free.choices[0].text.split()
    assert len(words) >= 2, free.choices[0].text
    r = client.completions.create(model="m", prompt=PROMPT, max_tokens=12, temperature=0,
                                  stop=words[1])
    assert r.choices[0].finish_reason == "stop"
    assert words[1] not in r.choices[0].text


@pytest.mark.parametrize("extra", [{"echo": True}, {"n": 3}, {"logprobs": 2},
                                   {"prompt": ["a", "b"]}, {"prompt": [1, 2, 3]},
                                   {"suffix": "end"}])
def test_unsupported_options_are_400(http, extra):
    r = http.post("/v1/completions", json={"model": "m", "prompt": PROMPT, **extra})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["type"] == "invalid_request_error"


def test_control_token_text_in_the_prompt_stays_text(client):
    # The raw prompt is client text: "<|im_end|>" in it is not the control token.
    r = client.completions.create(model="m", prompt="<|im_end|>", max_tokens=1, temperature=0)
    assert r.usage.prompt_tokens > 2  # one control token (and a BOS) would be two at most
