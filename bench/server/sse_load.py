"""SSE-aware load client: sweeps concurrency against a real `pensieve serve`
and prints the seed report's concurrency table.

For each level, `concurrency` clients each send streaming requests back to
back until `requests` have been made. Per request it records time to first
token, inter-token gaps, total latency, generated tokens and errors; per
level it prints avg / p50 / p95 / p99 latency, requests/s, aggregate
generated tokens/s, p50/p99 inter-token gap, errors, and the server's peak RSS.

Usage:
  .venv/bin/python bench/server/sse_load.py [--build build] [--levels 1,5,10,20,50]
      [--requests 50] [--max-tokens 64] [--json] [-- extra pensieve serve args]
"""
import argparse
import asyncio
import json
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_server import Server, percentile, rss_mib  # noqa: E402

PROMPT = "Hello, performance test!"


async def one_request(client, max_tokens):
    body = {"model": "claude-3-sonnet-20240229", "max_tokens": max_tokens, "stream": True,
            "messages": [{"role": "user", "content": PROMPT}]}
    t0 = time.perf_counter()
    arrivals, error = [], None
    try:
        async with client.stream("POST", "/v1/messages", json=body) as r:
            if r.status_code != 200:
                error = f"HTTP {r.status_code}"
                await r.aread()
            else:
                async for line in r.aiter_lines():
                    if line.startswith("event: "):
                        if line == "event: content_block_delta":
                            arrivals.append(time.perf_counter())
                        elif line == "event: error":
                            error = "stream error"
    except httpx.HTTPError as e:
        error = type(e).__name__
    total = time.perf_counter() - t0
    return {"total": total, "ttft": (arrivals[0] - t0) if arrivals else None,
            "gaps": [b - a for a, b in zip(arrivals, arrivals[1:])], "tokens": len(arrivals),
            "error": error}


async def level(url, concurrency, n_requests, max_tokens):
    results = []
    remaining = n_requests
    lock = asyncio.Lock()
    limits = httpx.Limits(max_connections=concurrency + 4, max_keepalive_connections=concurrency + 4)
    async with httpx.AsyncClient(base_url=url, timeout=600, limits=limits) as client:
        async def worker():
            nonlocal remaining
            while True:
                async with lock:
                    if remaining == 0:
                        return
                    remaining -= 1
                results.append(await one_request(client, max_tokens))

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    return results, wall


def summarize(concurrency, results, wall, peak_rss):
    ok = [r for r in results if r["error"] is None]
    totals = [r["total"] for r in ok] or [float("nan")]
    gaps = [g for r in ok for g in r["gaps"]] or [float("nan")]
    ttfts = [r["ttft"] for r in ok if r["ttft"] is not None] or [float("nan")]
    return {
        "concurrency": concurrency, "requests": len(results), "errors": len(results) - len(ok),
        "avg_s": statistics.mean(totals), "p50_s": percentile(totals, 50),
        "p95_s": percentile(totals, 95), "p99_s": percentile(totals, 99),
        "req_per_s": len(ok) / wall, "tok_per_s": sum(r["tokens"] for r in ok) / wall,
        "ttft_p50_ms": percentile(ttfts, 50) * 1e3,
        "gap_p50_ms": percentile(gaps, 50) * 1e3, "gap_p99_ms": percentile(gaps, 99) * 1e3,
        "peak_rss_mib": peak_rss,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--levels", default="1,5,10,20,50")
    ap.add_argument("--requests", type=int, default=50)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("serve_args", nargs="*")
    a = ap.parse_args()
    levels = [int(x) for x in a.levels.split(",")]
    server = Server(a.build, a.serve_args or ["--parallel", str(max(levels)), "--queue-timeout", "3600"])
    rows = []
    try:
        for c in levels:
            peak = [rss_mib(server.proc.pid)]
            done = threading.Event()

            def sample_rss():
                while not done.is_set():
                    peak[0] = max(peak[0], rss_mib(server.proc.pid))
                    time.sleep(0.05)

            t = threading.Thread(target=sample_rss, daemon=True)
            t.start()
            results, wall = asyncio.run(level(server.url, c, max(a.requests, c), a.max_tokens))
            done.set()
            t.join()
            rows.append(summarize(c, results, wall, peak[0]))
    finally:
        server.stop()
    if a.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'conc':>4} {'reqs':>5} {'err':>4} {'avg s':>7} {'p50 s':>7} {'p95 s':>7} {'p99 s':>7} "
          f"{'req/s':>7} {'tok/s':>7} {'ttft ms':>8} {'gap p50':>8} {'gap p99':>8} {'RSS MiB':>8}")
    for r in rows:
        print(f"{r['concurrency']:>4} {r['requests']:>5} {r['errors']:>4} {r['avg_s']:7.2f} "
              f"{r['p50_s']:7.2f} {r['p95_s']:7.2f} {r['p99_s']:7.2f} {r['req_per_s']:7.2f} "
              f"{r['tok_per_s']:7.1f} {r['ttft_p50_ms']:8.1f} {r['gap_p50_ms']:8.1f} "
              f"{r['gap_p99_ms']:8.1f} {r['peak_rss_mib']:8.1f}")


if __name__ == "__main__":
    main()
