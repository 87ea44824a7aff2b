"""GET /metrics and the access log, on the real server: the exposition text
passes `promtool check metrics`, counters move by exactly what known requests
did, and every request (failed ones included) leaves one JSON log line that
carries its error type."""
import json
import os
import re
import shutil
import subprocess
import time

import httpx
import pytest

from conftest import Server

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@pytest.fixture(scope="module")
def json_server():
    s = Server("--log-format", "json")
    yield s
    s.stop()


@pytest.fixture
def client(json_server):
    with httpx.Client(base_url=json_server.url, timeout=120) as c:
        yield c


def scrape(client):
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return r.text


def parse(text):
    """{(name, ((label, value), ...)): float} for every sample line."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = tuple(sorted(LABEL.findall(m.group(3) or "")))
        samples[(m.group(1), labels)] = float(m.group(4))
    return samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def create(client, **extra):
    body = {"model": "claude-test", "max_tokens": 8, "temperature": 0,
            "messages": [{"role": "user", "content": "Say hello."}], **extra}
    return client.post("/v1/messages", json=body)


def log_record(server, request_id, timeout=10):
    """The JSON access-log line of one request (it is written after the reply)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for line in server.log_lines():
            if request_id in line:
                record = json.loads(line)
                if record.get("msg") == "done":
                    return record
        time.sleep(0.02)
    raise AssertionError(f"no access-log line for {request_id}")


def test_metrics_pass_promtool(client):
    create(client)
    client.post("/v1/messages", content=b"{not json")
    client.get("/no/such/route")
    text = scrape(client)
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool is missing (Debian package prometheus)"
    r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_family_has_help_and_type(client):
    text = scrape(client)
    for name in ["pensieve_http_requests_total", "pensieve_http_request_duration_seconds",
                 "pensieve_time_to_first_token_seconds", "pensieve_inter_token_latency_seconds",
                 "pensieve_queue_wait_seconds", "pensieve_prompt_tokens_total",
                 "pensieve_generated_tokens_total", "pensieve_sequences_running",
                 "pensieve_sequences_queued", "pensieve_kv_blocks_used",
                 "pensieve_kv_blocks_capacity", "pensieve_prefill_tokens_per_second",
                 "pensieve_decode_tokens_per_second", "process_resident_memory_bytes",
                 "pensieve_model_bytes", "pensieve_model_load_seconds", "pensieve_build_info"]:
        assert f"# TYPE {name} " in text, name
        assert f"# HELP {name} " in text, name


def test_counters_move_by_known_amounts(client):
    before = parse(scrape(client))
    ok = create(client)
    assert ok.status_code == 200
    usage = ok.json()["usage"]
    bad = client.post("/v1/messages", json={"model": "m", "messages": []})  # no max_tokens
    assert bad.status_code == 400
    after, scrapes_after = parse(scrape(client)), 1
    # The engine publishes its gauges and token totals after the step that
    # finished the request, which can be just after the reply left: poll.
    deadline = time.time() + 5
    while time.time() < deadline and (value(after, "pensieve_kv_blocks_used") != 0 or
                                      value(after, "pensieve_sequences_running") != 0):
        time.sleep(0.02)
        after, scrapes_after = parse(scrape(client)), scrapes_after + 1

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("pensieve_http_requests_total", route="/v1/messages", status="200") == 1
    assert delta("pensieve_http_requests_total", route="/v1/messages", status="400") == 1
    prompt = usage["input_tokens"] + usage["cache_read_input_tokens"]
    assert delta("pensieve_prompt_tokens_total") == prompt
    assert delta("pensieve_generated_tokens_total") == usage["output_tokens"]
    assert delta("pensieve_time_to_first_token_seconds_count") == 1
    assert delta("pensieve_queue_wait_seconds_count") == 1
    assert delta("pensieve_http_request_duration_seconds_count", route="/v1/messages") == 2
    assert delta("pensieve_engine_decode_tokens_total") >= usage["output_tokens"] - 1
    # Every prompt token was either evaluated or taken from the prefix cache
    # (this prompt was sent before, so most of it is cached).
    assert delta("pensieve_engine_prefill_tokens_total") + \
        delta("pensieve_prefix_cache_reused_tokens_total") == prompt
    assert delta("pensieve_prefix_cache_reused_tokens_total") == usage["cache_read_input_tokens"]
    # Each scrape is counted once it is answered: the first one and all but
    # the last of the later ones.
    assert delta("pensieve_http_requests_total", route="/metrics", status="200") == scrapes_after
    assert value(after, "pensieve_kv_blocks_used") == 0  # the finished request's KV came back
    assert value(after, "pensieve_sequences_running") == 0
    assert value(after, "process_resident_memory_bytes") > 50e6  # the model's pages
    assert value(after, "pensieve_model_bytes") > 50e6


def test_log_line_of_a_success(json_server, client):
    r = create(client)
    record = log_record(json_server, r.headers["request-id"])
    usage = r.json()["usage"]
    assert record["status"] == 200 and record["route"] == "/v1/messages"
    # The model that served it, and the name the client sent.
    served = client.get("/v1/models").json()["data"][0]["id"]
    assert record["model"] == served and record["requested_model"] == "claude-test"
    assert record["stream"] is False
    assert record["prompt_tokens"] == usage["input_tokens"] + usage["cache_read_input_tokens"]
    assert record["cached_tokens"] == usage["cache_read_input_tokens"]
    assert record["output_tokens"] == usage["output_tokens"]
    assert record["stop_reason"] == r.json()["stop_reason"]
    assert 0 < record["ttft_ms"] <= record["duration_ms"]
    assert "error_type" not in record


@pytest.mark.parametrize("kind,expected_status,expected_type", [
    ("malformed", 400, "invalid_request_error"),
    ("no_route", 404, "not_found_error"),
    ("bad_method", 405, "invalid_request_error"),
])
def test_log_line_of_a_failure_carries_its_error_type(json_server, client, kind,
                                                      expected_status, expected_type):
    if kind == "malformed":
        r = client.post("/v1/messages", content=b"{not json")
    elif kind == "no_route":
        r = client.get("/v2/nothing")
    else:
        r = client.delete("/v1/messages")
    assert r.status_code == expected_status
    record = log_record(json_server, r.headers["request-id"])
    assert record["status"] == expected_status
    assert record["error_type"] == expected_type


def test_log_line_of_a_client_that_left_mid_stream(json_server):
    body = {"model": "m", "max_tokens": 400, "stream": True,
            "messages": [{"role": "user", "content": "Write a long story."}]}
    with httpx.stream("POST", json_server.url + "/v1/messages", json=body, timeout=60) as r:
        request_id = r.headers["request-id"]
        for line in r.iter_lines():
            if "content_block_delta" in line:
                break  # leave after the first token
    record = log_record(json_server, request_id)
    assert record["status"] == 200
    assert record["error_type"] == "client_disconnected"


def test_log_line_of_a_body_the_http_layer_could_not_frame(json_server):
    """A chunked body with a chunk size that is not hexadecimal: the HTTP
    library answers 400 itself, after the headers reached a handler. The
    log says so (connection_error), not that the client left."""
    import socket
    from urllib.parse import urlparse
    u = urlparse(json_server.url)
    with socket.create_connection((u.hostname, u.port), timeout=10) as sock:
        sock.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 400")
    deadline = time.time() + 10
    while time.time() < deadline:
        records = [json.loads(line) for line in json_server.log_lines()
                   if '"connection_error"' in line]
        if records:
            break
        time.sleep(0.05)
    assert len(records) == 1, records
    assert records[0]["route"] == "/v1/messages" and records[0]["status"] == 499
