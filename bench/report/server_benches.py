"""Benchmarks against a real `pensieve serve` over HTTP: model load time and
memory, single-request latency (generation, a full 100-token reply, API
overhead), streaming latency per token, and the server's peak RSS. The
server process, the overhead measurement and the SSE client are
bench/server's (Server, overhead, health_rtt, one_request); this file adds
the time budget and the per-token and load figures the report needs. The
engine's own per-token time comes from the Server-Timing header, not from the
server's log, whose format is not an interface."""
import asyncio
import re
import time
from pathlib import Path

import httpx

from bench_server import Server, health_rtt, overhead  # bench/server
from common import Deadline, log, summary
from sse_load import one_request  # bench/server

LONG_PROMPT = "Write a long story about a lighthouse keeper."


def proc_mib(pid, field):
    """VmRSS (resident now) or VmHWM (peak resident) of a process, in MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return None


def start(binary, model, *extra):
    """Starts `pensieve serve` on a free port; returns (server, seconds until
    it listens: process start, mmap, tokenizer, template, KV reservation)."""
    t = time.perf_counter()
    server = Server(str(Path(binary).parent), ["--model", model, *map(str, extra)])
    return server, time.perf_counter() - t


def timing(response):
    """The engine's prefill/decode and the handler's time from Server-Timing, in ms."""
    return {k: float(v) for k, v in re.findall(r"(\w+);dur=([\d.]+)", response.headers["server-timing"])}


def load_and_memory(binary, model):
    """Load time (start → listening, and → first reply, which pages the
    weights in) and memory: RSS when listening, peak and steady RSS after a
    short generation."""
    log(f"load and memory: {model}")
    server, ready_s = start(binary, model)
    try:
        pid = server.proc.pid
        rss_ready = proc_mib(pid, "VmRSS")
        t = time.perf_counter()
        body = {"model": "m", "max_tokens": 16, "messages": [{"role": "user", "content": "Hello!"}]}
        r = httpx.post(server.url + "/v1/messages", json=body, timeout=120)
        r.raise_for_status()
        first_reply_s = time.perf_counter() - t
        time.sleep(1.0)
        return {"model": model, "ready_s": ready_s, "first_reply_s": first_reply_s,
                "load_to_first_reply_s": ready_s + first_reply_s,
                "rss_mib_ready": rss_ready, "rss_mib_steady": proc_mib(pid, "VmRSS"),
                "rss_mib_peak": proc_mib(pid, "VmHWM")}
    finally:
        server.stop()


def full_responses(server, seconds, max_tokens=100):
    """Non-streaming replies of up to max_tokens (temperature 0.7 as in the
    seed), back to back for `seconds`: client latency, and per generated
    token the engine's decode time (Server-Timing decode / (tokens - 1),
    the first token comes from prefill)."""
    body = {"model": "m", "max_tokens": max_tokens, "temperature": 0.7,
            "messages": [{"role": "user", "content": LONG_PROMPT}]}
    latency, per_token, tokens = [], [], []
    with httpx.Client(base_url=server.url, timeout=300) as c:
        c.post("/v1/messages", json=body)  # warm-up
        budget = Deadline(seconds, minimum=3)
        while budget.left():
            t = time.perf_counter()
            r = c.post("/v1/messages", json=body)
            latency.append(time.perf_counter() - t)
            r.raise_for_status()
            n = r.json()["usage"]["output_tokens"]
            tokens.append(n)
            if n > 1:
                per_token.append(timing(r)["decode"] / (n - 1))
    return {"latency_s": summary(latency), "decode_ms_per_token": summary(per_token),
            "output_tokens": summary(tokens), "max_tokens": max_tokens}


def api_overhead(server, seconds):
    """max_tokens=1 requests: client latency minus engine time (bench/server's
    `overhead`), sized to fill `seconds`; plus the bare /health round trip."""
    t = time.perf_counter()
    overhead(server, 3)  # also warms up; 4 requests in all
    per_request_s = (time.perf_counter() - t) / 4
    runs = max(10, min(1000, int(seconds / per_request_s)))
    client_minus_engine, handler_minus_engine = overhead(server, runs)
    return {"client_minus_engine_ms": summary(client_minus_engine),
            "handler_minus_engine_ms": summary(handler_minus_engine),
            "health_rtt_ms": summary(health_rtt(server, 50))}


def streaming(server, seconds, max_tokens=100):
    """Streaming replies one at a time for `seconds`: time to first token and
    the gap between content_block_delta events as the client sees them
    (bench/server's SSE client). The engine's own step time to compare with
    is full_responses' decode_ms_per_token."""
    async def run():
        ttft, gaps, tokens = [], [], []
        async with httpx.AsyncClient(base_url=server.url, timeout=300) as client:
            await one_request(client, 4)  # warm-up
            budget = Deadline(seconds, minimum=3)
            while budget.left():
                r = await one_request(client, max_tokens)
                if r["error"] is None and r["ttft"] is not None:
                    ttft.append(r["ttft"] * 1e3)
                    gaps += [g * 1e3 for g in r["gaps"]]
                    tokens.append(r["tokens"])
        return ttft, gaps, tokens
    ttft, gaps, tokens = asyncio.run(run())
    return {"ttft_ms": summary(ttft), "gap_ms": summary(gaps), "tokens_per_reply": summary(tokens),
            "max_tokens": max_tokens, "prompt": "Hello, performance test!"}


def single_request_suite(binary, model, seconds, reply_tokens=100):
    """Everything measured with one client at a time, on one default server."""
    server, _ = start(binary, model)
    try:
        log("single request: full responses")
        full = full_responses(server, seconds, reply_tokens)
        log("single request: API overhead")
        over = api_overhead(server, seconds / 2)
        log("streaming latency")
        stream = streaming(server, seconds, reply_tokens)
        rss = proc_mib(server.proc.pid, "VmRSS")
    finally:
        server.stop()
    return {"full_response": full, "overhead": over, "streaming": stream, "rss_mib_after": rss}
