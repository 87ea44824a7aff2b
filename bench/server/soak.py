"""Soak test for `pensieve serve` (run by hand, never by the test suite).

Starts the real server, then runs `--clients` streaming clients (default 50)
for `--minutes` (default 10). Each client sends requests back to back:
  * most are normal streaming Messages requests read to the end;
  * `--disconnect` of them (default 10%) are dropped abruptly after the first
    text delta (the socket is closed mid-stream);
  * `--hostile` of them (default 5%) are malformed or hostile requests drawn
    from HOSTILE below, each with the statuses it may get.
It samples the server's RSS and /health every `--sample` seconds and at the
end waits for the engine to drain, then reads the KV blocks still in use.

An *unexpected* error is: a normal request that did not end in message_stop
(HTTP error, stream `error` event other than overloaded, a dropped
connection), or a hostile request answered with a status not in its list, or
the server dying. `529 overloaded` on a normal request is counted apart
(load shedding is the server doing its job) and reported.

Verdict (exit code 0 only if all hold): 0 unexpected errors, 0 KV blocks in
use at the end, RSS at the end within 5% of RSS after the first minute.

Usage:
  .venv/bin/python bench/server/soak.py [--build build] [--minutes 10] [--clients 50]
      [--json out.json] [-- extra pensieve serve args]
With `--json docs/performance/soak.json`, `bench/report/generate.py` adds the
soak's table and RSS-over-time plot to docs/PERFORMANCE.md.
"""
import argparse
import asyncio
import collections
import gzip
import json
import functools
import random
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "report"))
from bench_server import Server, rss_mib  # noqa: E402
import machine  # noqa: E402

PROMPTS = [
    "Write a haiku about the sea.",
    "Explain what a hash table is in two sentences.",
    "List five fruits.",
    "What is 17 times 23? Show your work briefly.",
    "Give me a title for a story about a lighthouse keeper.",
]


def normal_body(rng, stream=True):
    return {"model": "claude-sonnet-4-6", "max_tokens": rng.choice([16, 32, 64]),
            "stream": stream, "temperature": 0.7,
            "messages": [{"role": "user", "content": rng.choice(PROMPTS)}]}


def nested_tool_results(depth):
    """tool_result blocks nested `depth` deep, spelled as text (Python's json
    module itself recurses per level)."""
    opener = '{"type": "tool_result", "tool_use_id": "t", "content": ['
    block = opener * depth + '{"type": "text", "text": "x"}' + "]}" * depth
    return ('{"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": ['
            + block + "]}]}").encode()


# name -> (method, path, headers, body bytes factory, statuses it may get)
JSON = {"content-type": "application/json"}
HOSTILE = {
    "malformed_json": ("POST", "/v1/messages", JSON, lambda: b'{"model": "m", "max_tok', {400}),
    "wrong_types": ("POST", "/v1/messages", JSON,
                    lambda: json.dumps({"model": 5, "max_tokens": "x", "messages": 3}).encode(),
                    {400}),
    "deep_nesting": ("POST", "/v1/messages", JSON,
                     functools.cache(lambda: nested_tool_results(50_000)), {400}),
    "huge_prompt": ("POST", "/v1/messages", JSON,
                    lambda: json.dumps({"model": "m", "max_tokens": 8, "messages": [
                        {"role": "user", "content": "word " * 200_000}]}).encode(), {400}),
    "over_max_body": ("POST", "/v1/messages", JSON, lambda: b" " * (40 << 20), {413}),
    "gzip_bomb": ("POST", "/v1/messages", {**JSON, "content-encoding": "gzip"},
                  functools.cache(lambda: gzip.compress(b" " * (64 << 20), 9)), {413, 415}),
    "text_plain": ("POST", "/v1/messages", {"content-type": "text/plain"},
                   lambda: json.dumps(normal_body(random.Random(0), False)).encode(), {415}),
    "foreign_host": ("GET", "/v1/models", {"host": "evil.example"}, lambda: b"", {403}),
    "foreign_origin": ("POST", "/v1/messages", {**JSON, "origin": "http://evil.example"},
                       lambda: json.dumps(normal_body(random.Random(0), False)).encode(), {403}),
    "unknown_route": ("GET", "/etc/passwd", {}, lambda: b"", {404}),
}


class Tally:
    def __init__(self):
        self.counts = collections.Counter()      # outcome kind -> count
        self.unexpected = collections.Counter()  # unexpected kind -> count
        self.examples = {}

    def ok(self, kind):
        self.counts[kind] += 1

    def bad(self, kind, detail):
        self.unexpected[kind] += 1
        self.examples.setdefault(kind, detail[:300])


async def normal_stream(client, rng, tally, disconnect):
    body = normal_body(rng)
    try:
        async with client.stream("POST", "/v1/messages", json=body) as r:
            if r.status_code == 529:
                await r.aread()
                tally.ok("overloaded_529")
                return
            if r.status_code != 200:
                tally.bad(f"normal_http_{r.status_code}", (await r.aread()).decode("utf-8", "replace"))
                return
            event = None
            async for line in r.aiter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                    if event == "content_block_delta" and disconnect:
                        tally.ok("disconnected_on_purpose")
                        return  # leaving the block closes the connection mid-stream
                elif line.startswith("data: ") and event == "error":
                    err = json.loads(line[6:])["error"]["type"]
                    if err == "overloaded_error":
                        tally.ok("overloaded_event")
                    else:
                        tally.bad(f"stream_error_{err}", line)
                    return
                elif line.startswith("data: ") and event == "message_stop":
                    tally.ok("completed")
                    return
            if disconnect:
                tally.ok("disconnected_on_purpose")  # ended before any text
            else:
                tally.bad("stream_ended_early", f"last event {event}")
    except httpx.HTTPError as e:
        tally.bad(f"normal_{type(e).__name__}", repr(e))


async def hostile(client, rng, tally):
    name = rng.choice(sorted(HOSTILE))
    method, path, headers, make_body, expected = HOSTILE[name]
    try:
        r = await client.request(method, path, headers=headers, content=make_body())
        if r.status_code in expected:
            tally.ok(f"hostile_{name}_{r.status_code}")
        else:
            tally.bad(f"hostile_{name}_{r.status_code}", r.text)
    except httpx.HTTPError as e:
        # A server may close the connection after an early 413 while the
        # client is still sending: that is the limit holding, not a failure.
        if name in ("over_max_body", "gzip_bomb") and isinstance(
                e, (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError)):
            tally.ok(f"hostile_{name}_closed_early")
        else:
            tally.bad(f"hostile_{name}_{type(e).__name__}", repr(e))


async def client_loop(url, seed, stop_at, args, tally):
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(180, connect=30)) as client:
        while time.time() < stop_at:
            x = rng.random()
            if x < args.hostile:
                await hostile(client, rng, tally)
            else:
                await normal_stream(client, rng, tally, disconnect=x < args.hostile + args.disconnect)


async def sampler(url, pid, start, stop_at, every, samples):
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        while time.time() < stop_at:
            health = (await client.get("/health")).json()
            samples.append({"t": time.time() - start, "rss_mib": rss_mib(pid),
                            "running": health["in_flight"], "queued": health["queued"],
                            "kv_blocks_used": health["kv_blocks_used"]})
            await asyncio.sleep(every)


async def soak(url, pid, args):
    tally, samples = Tally(), []
    start = time.time()
    stop_at = start + args.minutes * 60
    tasks = [client_loop(url, 1000 + i, stop_at, args, tally) for i in range(args.clients)]
    tasks.append(sampler(url, pid, start, stop_at, args.sample, samples))
    await asyncio.gather(*tasks)
    return tally, samples


def drained_kv(url, timeout=60):
    deadline = time.time() + timeout
    with httpx.Client(base_url=url, timeout=30) as c:
        while True:
            h = c.get("/health").json()
            if (h["in_flight"] == 0 and h["queued"] == 0) or time.time() > deadline:
                return h


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--disconnect", type=float, default=0.10)
    ap.add_argument("--hostile", type=float, default=0.05)
    ap.add_argument("--sample", type=float, default=5)
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("serve_args", nargs="*", help="extra `pensieve serve` arguments (after --)")
    args = ap.parse_args()

    serve_args = ["--max-queue", str(4 * args.clients), *args.serve_args]
    facts = machine.describe(Path(args.build) / "pensieve")
    facts["load_average_start"] = machine.load_average()
    server = Server(args.build, serve_args)
    pid = server.proc.pid
    try:
        tally, samples = asyncio.run(soak(server.url, pid, args))
        end = drained_kv(server.url)
        alive = server.proc.poll() is None
    finally:
        server.stop()

    rss_end = rss_after_1 = None
    after = [s for s in samples if s["t"] >= 60] or samples
    if after:
        rss_after_1, rss_end = after[0]["rss_mib"], samples[-1]["rss_mib"]
    drift = (rss_end - rss_after_1) / rss_after_1 if rss_after_1 else float("nan")
    verdict = {
        "unexpected_errors": sum(tally.unexpected.values()),
        "kv_blocks_used_at_end": end["kv_blocks_used"],
        "rss_after_first_minute_mib": rss_after_1,
        "rss_at_end_mib": rss_end,
        "rss_drift": drift,
        "server_alive": alive,
    }
    passed = (verdict["unexpected_errors"] == 0 and verdict["kv_blocks_used_at_end"] == 0
              and abs(drift) <= 0.05 and alive)
    facts["load_average_end"] = machine.load_average()
    result = {"args": {k: v for k, v in vars(args).items()}, "serve_args": serve_args,
              "machine": facts, "outcomes": dict(tally.counts),
              "unexpected": dict(tally.unexpected), "examples": tally.examples,
              "samples": samples, "verdict": verdict, "passed": passed}

    print(f"soak: {args.clients} clients, {args.minutes} min, "
          f"{args.disconnect:.0%} disconnects, {args.hostile:.0%} hostile")
    print("| outcome | count |\n| --- | --- |")
    for k, v in sorted(tally.counts.items()):
        print(f"| {k} | {v} |")
    for k, v in sorted(tally.unexpected.items()):
        print(f"| UNEXPECTED {k} | {v} |")
    print(f"\nRSS after 1 min {rss_after_1:.1f} MiB, at end {rss_end:.1f} MiB ({drift:+.2%}); "
          f"KV blocks in use at end {end['kv_blocks_used']}; server alive: {alive}")
    for k, v in tally.examples.items():
        print(f"  e.g. {k}: {v}")
    print("PASS" if passed else "FAIL")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
