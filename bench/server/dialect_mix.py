"""Mixed dialects against one dialect (run by hand, never by the tests): 16
concurrent streams spread round-robin over /v1/messages (SSE),
/v1/chat/completions (SSE `data:` chunks) and /api/chat (NDJSON), against
16 concurrent streams on one dialect, same prompt and token budget. Prints
each load's aggregate generated tokens/s (the tokens each stream's own final
usage reports, over the wall time from the first request sent to the last
stream ended) and the ratio mixed / single. The rounds alternate so drift
on a shared machine hits both alike; medians are printed.

Usage:
  .venv/bin/python bench/server/dialect_mix.py [--build build] [--streams 16]
      [--max-tokens 64] [--rounds 3] [--single messages|openai|ollama] [--json]
      [-- extra pensieve serve args]   (default extra: --parallel 16)
"""
import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_server import Server  # noqa: E402

PROMPT = "Write a long poem about the sea."
DIALECTS = ("messages", "openai", "ollama")


def request(dialect, max_tokens):
    """(path, body) of one streamed greedy request in `dialect`."""
    messages = [{"role": "user", "content": PROMPT}]
    if dialect == "messages":
        return "/v1/messages", {"model": "m", "max_tokens": max_tokens, "stream": True,
                                "temperature": 0, "messages": messages}
    if dialect == "openai":
        return "/v1/chat/completions", {"model": "m", "max_tokens": max_tokens, "stream": True,
                                        "temperature": 0, "messages": messages,
                                        "stream_options": {"include_usage": True}}
    return "/api/chat", {"model": "m", "messages": messages,
                         "options": {"temperature": 0, "num_predict": max_tokens}}


def tokens_in(dialect, line):
    """The generated-token count if `line` is the stream's final usage, else None."""
    if dialect == "ollama":
        if line.strip():
            obj = json.loads(line)
            if obj.get("done"):
                return obj["eval_count"]
        return None
    if not line.startswith("data: ") or line == "data: [DONE]":
        return None
    obj = json.loads(line[6:])
    if dialect == "messages":
        return obj["usage"]["output_tokens"] if obj.get("type") == "message_delta" else None
    return obj["usage"]["completion_tokens"] if obj.get("usage") else None


async def one_stream(client, dialect, max_tokens):
    path, body = request(dialect, max_tokens)
    tokens = None
    async with client.stream("POST", path, json=body) as r:
        if r.status_code != 200:
            raise SystemExit(f"{path}: HTTP {r.status_code} {(await r.aread())[:300]!r}")
        async for line in r.aiter_lines():
            n = tokens_in(dialect, line)
            if n is not None:
                tokens = n
    if tokens is None:
        raise SystemExit(f"{path}: the stream reported no usage")
    return tokens


async def load(url, dialects, max_tokens):
    """Aggregate tok/s of one stream per entry of `dialects`, all at once."""
    limits = httpx.Limits(max_connections=len(dialects) + 4)
    async with httpx.AsyncClient(base_url=url, timeout=600, limits=limits) as client:
        t0 = time.perf_counter()
        counts = await asyncio.gather(*(one_stream(client, d, max_tokens) for d in dialects))
        seconds = time.perf_counter() - t0
    return sum(counts) / seconds, sum(counts), seconds


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--streams", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--single", choices=DIALECTS, default="messages")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("extra", nargs="*", help="extra pensieve serve args (after --)")
    a = ap.parse_args()
    server = Server(a.build, a.extra or ["--parallel", "16"])
    try:
        mixed_set = [DIALECTS[i % len(DIALECTS)] for i in range(a.streams)]
        single_set = [a.single] * a.streams
        asyncio.run(load(server.url, DIALECTS, 8))  # warm-up: pages in the model
        runs = {"mixed": [], "single": []}
        for _ in range(a.rounds):
            runs["mixed"].append(asyncio.run(load(server.url, mixed_set, a.max_tokens)))
            runs["single"].append(asyncio.run(load(server.url, single_set, a.max_tokens)))
    finally:
        server.stop()
    median = {k: statistics.median(r[0] for r in v) for k, v in runs.items()}
    result = {"streams": a.streams, "max_tokens": a.max_tokens, "rounds": a.rounds,
              "single_dialect": a.single,
              "mixed_split": {d: mixed_set.count(d) for d in DIALECTS},
              "mixed_tok_s": median["mixed"], "single_tok_s": median["single"],
              "ratio_mixed_over_single": median["mixed"] / median["single"],
              "runs": {k: [{"tok_s": r[0], "tokens": r[1], "seconds": r[2]} for r in v]
                       for k, v in runs.items()}}
    if a.json:
        print(json.dumps(result, indent=2))
        return
    split = ", ".join(f"{n} {d}" for d, n in result["mixed_split"].items())
    print(f"{a.streams} concurrent streams, {a.max_tokens} tokens each, median of {a.rounds} rounds")
    for k, label in (("mixed", f"mixed ({split})"), ("single", f"single ({a.single})")):
        each = " ".join(f"{r[0]:.1f}" for r in runs[k])
        print(f"  {label:<40} {median[k]:8.1f} tok/s   (rounds: {each})")
    print(f"  ratio mixed / single: {result['ratio_mixed_over_single']:.3f}")


if __name__ == "__main__":
    main()
