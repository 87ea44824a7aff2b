"""Server-side benchmarks for `pensieve serve` (run by hand, never by the tests):

1. overhead: a max_tokens=1 request with a short prompt, total latency seen by
   the client minus the engine's own prefill+decode time (Server-Timing header);
2. streaming: the gap between content_block_delta events as a streaming client
   sees them, against the engine's decode step (decode_ms / tokens from the
   server's log line for the same request);
3. RSS of the serving process at rest (after start-up, and after the runs).

Usage: .venv/bin/python bench/server/bench_server.py [--build build] [--runs 50]
Prints medians (and p95) as text, or JSON with --json.
"""
import argparse
import json
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


class Server:
    def __init__(self, build, extra):
        self.proc = subprocess.Popen([str(REPO / build / "pensieve"), "serve", "--port", "0", *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while True:
            line = self.proc.stdout.readline()
            m = re.search(r"on (http://[\d.]+:\d+)", line)
            if m:
                self.url = m.group(1)
                break
            if not line:
                raise SystemExit("server failed: " + self.proc.stderr.read())
        self.log = []
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.proc.stderr:
            self.log.append(line)

    def done_line(self, request_id, timeout=5):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for line in self.log:
                if request_id in line and " done " in line:
                    return dict(kv.split("=") for kv in line.split() if "=" in kv)
            time.sleep(0.01)
        return None

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=15)


def health_rtt(server, runs):
    """Round trip of GET /health: the HTTP transport and this client's own cost."""
    out = []
    with httpx.Client(base_url=server.url, timeout=60) as c:
        c.get("/health")
        for _ in range(runs):
            t = time.perf_counter()
            c.get("/health")
            out.append((time.perf_counter() - t) * 1e3)
    return out


def overhead(server, runs):
    """Per request: (client latency - engine time, handler time - engine time)."""
    body = {"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "Hi"}]}
    out, inside = [], []
    with httpx.Client(base_url=server.url, timeout=60) as c:
        c.post("/v1/messages", json=body)  # warm-up
        for _ in range(runs):
            t = time.perf_counter()
            r = c.post("/v1/messages", json=body)
            total = (time.perf_counter() - t) * 1e3
            timing = dict(re.findall(r"(\w+);dur=([\d.]+)", r.headers["server-timing"]))
            engine = float(timing["prefill"]) + float(timing["decode"])
            out.append(total - engine)
            inside.append(float(timing["handler"]) - engine)
    return out, inside


def stream_gaps(server, runs, tokens):
    body = {"model": "m", "max_tokens": tokens, "stream": True,
            "messages": [{"role": "user", "content": "Write a long story about a lighthouse keeper."}],
            "temperature": 0}
    client_gaps, engine_steps = [], []
    with httpx.Client(base_url=server.url, timeout=120) as c:
        for _ in range(runs):
            arrivals = []
            with c.stream("POST", "/v1/messages", json=body) as r:
                rid = r.headers["request-id"]
                for line in r.iter_lines():
                    if line.startswith("data: ") and "content_block_delta" in line:
                        arrivals.append(time.perf_counter())
            done = server.done_line(rid)
            if done and int(done["output"]) > 1:
                engine_steps.append(float(done["decode_ms"]) / int(done["output"]))
            client_gaps += [(b - a) * 1e3 for a, b in zip(arrivals, arrivals[1:])]
    return client_gaps, engine_steps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--stream-runs", type=int, default=5)
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("serve_args", nargs="*", help="extra arguments for pensieve serve")
    a = ap.parse_args()
    server = Server(a.build, a.serve_args)
    try:
        time.sleep(0.5)
        rss_start = rss_mib(server.proc.pid)
        ov, handler_ov = overhead(server, a.runs)
        rtt = health_rtt(server, a.runs)
        gaps, steps = stream_gaps(server, a.stream_runs, a.tokens)
        time.sleep(0.5)
        rss_after = rss_mib(server.proc.pid)
    finally:
        server.stop()
    result = {
        "overhead_ms_p50": statistics.median(ov), "overhead_ms_p95": percentile(ov, 95),
        "health_rtt_ms_p50": statistics.median(rtt),
        # Measured inside the server: handler time minus engine time (parse,
        # template, tokenize, queue hand-off both ways, JSON).
        "handler_overhead_ms_p50": statistics.median(handler_ov),
        "handler_overhead_ms_p95": percentile(handler_ov, 95),
        # What the Messages route adds beyond any HTTP round trip: parse,
        # template, tokenize, hand-off to the engine thread, JSON reply.
        "route_overhead_ms_p50": statistics.median(ov) - statistics.median(rtt),
        "stream_gap_ms_p50": statistics.median(gaps), "stream_gap_ms_p95": percentile(gaps, 95),
        "stream_gap_ms_mean": statistics.mean(gaps),
        "engine_step_ms_mean": statistics.mean(steps),
        # Mean against mean: a token may yield no text (a held-back stop
        # prefix, part of a character), so gaps are irregular but their mean
        # is the step time plus whatever the server adds.
        "stream_overhead_per_token_ms": statistics.mean(gaps) - statistics.mean(steps),
        "rss_mib_at_start": rss_start, "rss_mib_after_runs": rss_after,
    }
    if a.json:
        print(json.dumps(result, indent=2))
    else:
        for k, v in result.items():
            print(f"{k:32s} {v:8.3f}")


if __name__ == "__main__":
    sys.exit(main())
