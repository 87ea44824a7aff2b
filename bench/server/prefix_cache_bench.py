"""What the prefix cache saves on a Claude-Code-shaped conversation (run by
hand, never by the tests): a long system prompt, then several turns, each
resending the whole history as Anthropic clients do. For each turn it
records the time to the first streamed token and the prompt tokens the
server reused (its access log), once with the cache and once without
(--prefix-cache-tokens 0), and prints both side by side.

Usage: .venv/bin/python bench/server/prefix_cache_bench.py [--build build]
           [--system-tokens 1500] [--turns 6] [--json] [-- extra serve args]
"""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_server import Server  # noqa: E402

RULES = ("Follow the user's instructions exactly. Prefer short answers. Use plain words. "
         "When you are unsure, say so instead of guessing. Never invent file names, "
         "functions or facts. Keep code blocks small and explain each change. ")
QUESTIONS = ["How do I list files in a directory?", "And how do I count them?",
             "What about hidden files?", "How can I sort them by size?",
             "Show me the largest one only.", "Thanks. Summarise what we did."]


def system_prompt(tokens):
    """About `tokens` tokens of instructions (roughly four characters each)."""
    text = ""
    while len(text) < tokens * 4:
        text += RULES
    return text


def turn(url, system, messages, server):
    body = {"model": "claude-sonnet-4-6", "max_tokens": 32, "temperature": 0, "stream": True,
            "system": system, "messages": messages}
    t0 = time.perf_counter()
    ttft, text = None, ""
    with httpx.stream("POST", url + "/v1/messages", json=body, timeout=600) as r:
        request_id = r.headers["request-id"]
        for line in r.iter_lines():
            if line.startswith("data: ") and "content_block_delta" in line:
                if ttft is None:
                    ttft = time.perf_counter() - t0
                text += json.loads(line[6:])["delta"]["text"]
    done = server.done_line(request_id) or {}
    return ttft, text, int(done.get("prompt_tokens", 0)), int(done.get("cached_tokens", 0))


def conversation(build, extra, system, turns):
    server = Server(build, extra)
    try:
        messages, rows = [], []
        for q in QUESTIONS[:turns]:
            messages.append({"role": "user", "content": q})
            ttft, reply, prompt, cached = turn(server.url, system, messages, server)
            rows.append({"ttft_ms": ttft * 1e3, "prompt_tokens": prompt, "cached_tokens": cached})
            messages.append({"role": "assistant", "content": reply or "."})
        return rows
    finally:
        server.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--system-tokens", type=int, default=1500)
    ap.add_argument("--turns", type=int, default=6)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("serve_args", nargs="*", help="extra arguments for pensieve serve")
    args = ap.parse_args()
    system = system_prompt(args.system_tokens)
    with_cache = conversation(args.build, args.serve_args, system, args.turns)
    without = conversation(args.build, args.serve_args + ["--prefix-cache-tokens", "0"], system,
                           args.turns)
    if args.json:
        print(json.dumps({"with_cache": with_cache, "without_cache": without}, indent=1))
        return
    print("| turn | prompt tokens | reused | TTFT with cache ms | TTFT without ms |")
    print("|---|---|---|---|---|")
    for i, (a, b) in enumerate(zip(with_cache, without), 1):
        print(f"| {i} | {a['prompt_tokens']} | {a['cached_tokens']} | {a['ttft_ms']:.0f} | "
              f"{b['ttft_ms']:.0f} |")
    later = slice(1, None)
    print(f"median TTFT after the first turn: "
          f"{statistics.median(r['ttft_ms'] for r in with_cache[later]):.0f} ms with the cache, "
          f"{statistics.median(r['ttft_ms'] for r in without[later]):.0f} ms without")


if __name__ == "__main__":
    main()
