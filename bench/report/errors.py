"""Error recovery: for each kind of failed request, the time from the moment
the failure is over for the client (the error response arrived, or the
client hung up) to the next successful 200 reply. A valid 1-token request is
sent at once, so the figure is that request's own latency plus whatever the
failure left behind (a sequence still decoding, a busy engine thread)."""
import time

import httpx

from common import log, summary
from server_benches import start

OK_BODY = {"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "Hi"}]}


def _ok(client):
    r = client.post("/v1/messages", json=OK_BODY)
    if r.status_code != 200:
        raise RuntimeError(f"recovery request failed: HTTP {r.status_code} {r.text[:200]}")


def _malformed(client):
    r = client.post("/v1/messages", content=b'{"model": "m", "messages": [', headers={"content-type": "application/json"})
    return r.status_code


def _too_long(client, ctx):
    words = " ".join(["lighthouse"] * (ctx + 500))  # one token each or more: over the context
    r = client.post("/v1/messages", json={"model": "m", "max_tokens": 10,
                                          "messages": [{"role": "user", "content": words}]})
    return r.status_code


def _over_body_limit(client, max_body_mb):
    r = client.post("/v1/messages", content=b"x" * ((max_body_mb << 20) + 1024),
                    headers={"content-type": "application/json"})
    return r.status_code


def _abort(client):
    """A streaming request for many tokens, dropped after the first token."""
    body = {"model": "m", "max_tokens": 400, "stream": True,
            "messages": [{"role": "user", "content": "Write a long story about a lighthouse keeper."}]}
    with client.stream("POST", "/v1/messages", json=body) as r:
        for line in r.iter_lines():
            if line.startswith("event: content_block_delta"):
                break
    # Leaving the block closes the unread response, and with it the connection.
    return "aborted"


def _wait_idle(client, since, timeout=30):
    """Seconds from `since` until /health shows nothing in flight (the aborted
    sequence cancelled and its KV freed)."""
    while time.perf_counter() - since < timeout:
        if client.get("/health").json()["in_flight"] == 0:
            return time.perf_counter() - since
        time.sleep(0.002)
    return float("nan")


def error_recovery(binary, model, repeats, ctx=1024, max_body_mb=1):
    """Each failure kind `repeats` times on one server (small --ctx and
    --max-body so the over-limit requests stay cheap to build)."""
    server, _ = start(binary, model, "--ctx", ctx, "--max-body", max_body_mb)
    kinds = {
        "malformed JSON body": lambda c: _malformed(c),
        "prompt longer than the context": lambda c: _too_long(c, ctx),
        "body over --max-body": lambda c: _over_body_limit(c, max_body_mb),
        "client abort mid-stream": lambda c: _abort(c),
    }
    out = {"server_args": f"--ctx {ctx} --max-body {max_body_mb}", "kinds": [],
           "supervisor": None}
    try:
        with httpx.Client(base_url=server.url, timeout=120) as c:
            _ok(c)  # warm-up
            baseline = []
            for _ in range(repeats):
                t = time.perf_counter()
                _ok(c)
                baseline.append((time.perf_counter() - t) * 1e3)
            out["baseline_ok_ms"] = summary(baseline)
            for name, fail in kinds.items():
                log(f"error recovery: {name}")
                times, statuses, idle = [], set(), []
                for _ in range(repeats):
                    statuses.add(str(fail(c)))
                    t = time.perf_counter()
                    _ok(c)
                    times.append((time.perf_counter() - t) * 1e3)
                    if name.startswith("client abort"):
                        idle.append(_wait_idle(c, t) * 1e3)
                row = {"kind": name, "status": ", ".join(sorted(statuses)),
                       "recovery_ms": summary(times)}
                if idle:
                    row["in_flight_zero_after_ms"] = summary(idle)
                out["kinds"].append(row)
    finally:
        server.stop()
    return out
