"""The concurrency table: for each level, that many clients stream requests
back to back for a fixed time (requests in flight at the deadline finish and
count). Requests and per-level figures are bench/server/sse_load's
(`one_request`, `summarize`); the time budget instead of a request count is
what this file adds, so a level costs about --duration seconds whatever the
machine's speed."""
import asyncio
import threading
import time

import httpx

from common import log
from server_benches import proc_mib, start
from sse_load import one_request, summarize  # bench/server


async def _timed_level(url, concurrency, seconds, max_tokens):
    results = []
    limits = httpx.Limits(max_connections=concurrency + 4, max_keepalive_connections=concurrency + 4)
    async with httpx.AsyncClient(base_url=url, timeout=900, limits=limits) as client:
        end = time.monotonic() + seconds

        async def worker():
            while True:
                results.append(await one_request(client, max_tokens))
                if time.monotonic() >= end:
                    return

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    return results, wall


def concurrency_table(binary, model, levels, seconds, max_tokens):
    """One server with room for the largest level (--parallel, no queue
    timeout), the levels in increasing order; peak RSS sampled every 50 ms."""
    server, _ = start(binary, model, "--parallel", max(levels), "--queue-timeout", 3600)
    rows = []
    try:
        asyncio.run(_timed_level(server.url, 1, 0, 4))  # warm-up
        for c in levels:
            log(f"concurrency {c} for {seconds:.0f} s")
            pid = server.proc.pid
            peak = [proc_mib(pid, "VmRSS")]
            done = threading.Event()

            def sample():
                while not done.wait(0.05):
                    peak[0] = max(peak[0], proc_mib(pid, "VmRSS"))

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            results, wall = asyncio.run(_timed_level(server.url, c, seconds, max_tokens))
            done.set()
            sampler.join()
            row = summarize(c, results, wall, peak[0])
            row["wall_s"] = wall
            row["tokens_per_request"] = (sum(r["tokens"] for r in results if r["error"] is None)
                                         / max(1, len(results) - row["errors"]))
            rows.append(row)
    finally:
        server.stop()
    return {"levels": rows, "max_tokens": max_tokens, "seconds_per_level": seconds,
            "server_args": f"--parallel {max(levels)} --queue-timeout 3600"}
