"""Tool use benchmarks (run by hand, never by the tests).

decode       What constrained decoding costs: decode tok/s of a free reply
             against a forced tool call (tool_choice any) on the same prompt,
             at batch 1 on the default model. The prompt offers Claude Code's
             21 tools as captured (tests/data/claude_code/
             first_request_all_tools.json) with their descriptions dropped,
             so that it fits SmolLM2's 8k context; the schemas, which are
             what the grammar is built from, are kept whole. The free reply
             sets tool_choice none, so both prompts are the same tokens.
             `--only Read` offers one tool: a short prompt, where decode is
             fastest and the mask's share of a step the largest.
             Requests alternate (free, forced, free, ...); medians. Decode
             tok/s is (output tokens - 1) / decode time, both from the
             server's access log.

claude-code  The first request of a Claude Code session (tests/data/
             claude_code/first_request.json, Claude Code 2.1.332 with its
             default options) replayed against Gemma 3 270M at 32k context:
             its prompt size in tokens and the time to the first streamed
             token, cold (no prefix cache). Then the session's second request
             (the tool_result turn) right after the first, as Claude Code
             sends it: its time to first token with the prefix cache.

Usage: .venv/bin/python bench/server/tool_bench.py decode [--runs 7] [--json]
       .venv/bin/python bench/server/tool_bench.py claude-code [--runs 3] [--json]
"""
import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_server import REPO, Server  # noqa: E402

CAPTURES = REPO / "tests" / "data" / "claude_code"


def schemas_only(tools):
    """Tools with every description text removed (of tools and of schema
    nodes; a property that is itself named "description" stays)."""
    def strip(node, names=False):
        if isinstance(node, dict):
            return {k: strip(v, k == "properties" and not names) for k, v in node.items()
                    if names or not (k == "description" and isinstance(v, str))}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node
    return [strip(t) for t in tools]


def post(server, body):
    r = httpx.post(server.url + "/v1/messages", json=body, timeout=1200)
    r.raise_for_status()
    return server.done_line(r.headers["request-id"]) or {}


def decode_rate(done):
    out = int(done["output_tokens"])
    return (out - 1) / (float(done["decode_ms"]) / 1e3), out


def bench_decode(args):
    tools = schemas_only(json.loads((CAPTURES / "first_request_all_tools.json").read_text())["tools"])
    if args.only:
        tools = [t for t in tools if t["name"] in args.only.split(",")]
    base = {"model": "bench", "max_tokens": args.max_tokens, "tools": tools,
            "messages": [{"role": "user", "content":
                          "Look at the repository, then write a long report about it."}]}
    server = Server(args.build, ["--parallel", "1", *args.serve_args])
    try:
        rows = {"free": [], "forced": []}
        post(server, {**base, "tool_choice": {"type": "none"}})  # warm-up: caches and pages
        for _ in range(args.runs):
            for kind, choice in (("free", "none"), ("forced", "any")):
                done = post(server, {**base, "tool_choice": {"type": choice}})
                rate, n = decode_rate(done)
                rows[kind].append({"tok_s": rate, "output_tokens": n,
                                   "prompt_tokens": int(done["prompt_tokens"]),
                                   "stop_reason": done.get("stop_reason")})
    finally:
        server.stop()
    free = statistics.median(r["tok_s"] for r in rows["free"])
    forced = statistics.median(r["tok_s"] for r in rows["forced"])
    return {"tools": len(tools), "runs": args.runs, "max_tokens": args.max_tokens,
            "free_tok_s": free, "forced_tok_s": forced, "ratio": forced / free, "rows": rows}


def first_token_ms(server, body):
    """Milliseconds to the first content_block_delta, and the prompt tokens."""
    t0 = time.perf_counter()
    ttft, usage = None, {}
    with httpx.stream("POST", server.url + "/v1/messages", json=body, timeout=1200) as r:
        r.raise_for_status()
        for line in r.iter_lines():
            if not line.startswith("data: "):
                continue
            event = json.loads(line[6:])
            if event["type"] == "message_start":
                usage = event["message"]["usage"]
            elif event["type"] == "content_block_delta" and ttft is None:
                ttft = (time.perf_counter() - t0) * 1e3
            elif event["type"] == "error":
                raise SystemExit("error event: " + line)
    prompt = usage.get("input_tokens", 0) + usage.get("cache_read_input_tokens", 0)
    return ttft, prompt, usage.get("cache_read_input_tokens", 0)


def bench_claude_code(args):
    first = json.loads((CAPTURES / "first_request.json").read_text())
    second = json.loads((CAPTURES / "tool_result_request.json").read_text())
    for body in (first, second):
        body["max_tokens"] = 16  # the time to the first token is what is measured
    serve = ["-m", "gemma3-270m-q4_k_m", "--ctx", "32768", *args.serve_args]
    cold = []
    server = Server(args.build, serve + ["--prefix-cache-tokens", "0"])
    try:
        counted = httpx.post(server.url + "/v1/messages/count_tokens",
                             json={k: first[k] for k in ("model", "system", "messages", "tools")},
                             timeout=600).json()["input_tokens"]
        for _ in range(args.runs):
            ttft, prompt, _ = first_token_ms(server, first)
            cold.append({"ttft_ms": ttft, "prompt_tokens": prompt})
    finally:
        server.stop()
    server = Server(args.build, serve)
    try:
        first_token_ms(server, first)
        ttft, prompt, cached = first_token_ms(server, second)
        warm = {"ttft_ms": ttft, "prompt_tokens": prompt, "cached_tokens": cached}
    finally:
        server.stop()
    return {"request_bytes": len(json.dumps(first, separators=(",", ":"))),
            "tools": len(first["tools"]), "count_tokens": counted,
            "first_request_ttft_ms": statistics.median(r["ttft_ms"] for r in cold),
            "cold_runs": cold, "second_request": warm}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bench", choices=["decode", "claude-code"])
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=0, help="default: 7 (decode), 3 (claude-code)")
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--only", default="",
                    help="decode: offer only these tools (comma-separated), for a short prompt")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("serve_args", nargs="*", help="extra arguments for pensieve serve")
    args = ap.parse_args()
    if args.bench == "decode":
        args.runs = args.runs or 7
        result = bench_decode(args)
        text = (f"decode at batch 1, {result['tools']} tools: free {result['free_tok_s']:.1f} "
                f"tok/s, forced tool call {result['forced_tok_s']:.1f} tok/s "
                f"({result['ratio'] * 100:.1f}%)")
    else:
        args.runs = args.runs or 3
        result = bench_claude_code(args)
        text = (f"Claude Code first request: {result['request_bytes']} bytes, "
                f"{result['tools']} tools, {result['cold_runs'][0]['prompt_tokens']} prompt "
                f"tokens (count_tokens {result['count_tokens']}); time to first token "
                f"{result['first_request_ttft_ms'] / 1e3:.1f} s cold; second request "
                f"{result['second_request']['ttft_ms'] / 1e3:.2f} s with "
                f"{result['second_request']['cached_tokens']} of "
                f"{result['second_request']['prompt_tokens']} tokens from the prefix cache")
    print(json.dumps(result, indent=1) if args.json else text)


if __name__ == "__main__":
    main()
