"""Small helpers every benchmark module shares: running the `pensieve` CLI,
percentiles, and a clock. Kept here so each benchmark file reads as the
measurement it makes, not as plumbing."""
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# The server helpers (Server, rss_mib, the SSE client) live in bench/server;
# the suite reuses them rather than keeping a second copy.
sys.path.insert(0, str(REPO / "bench" / "server"))


def log(msg):
    """Progress goes to stderr so a long run shows where it is."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def pensieve_json(binary, *args, timeout=900):
    """Runs `pensieve ARGS` and parses its stdout as one JSON document."""
    r = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True,
                       timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"pensieve {' '.join(map(str, args))} failed: {r.stderr.strip()}")
    return json.loads(r.stdout)


def pct(values, p):
    """Nearest-rank percentile (the same rule as bench/server and the C++ side)."""
    values = sorted(values)
    if not values:
        return None
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def summary(values):
    """p50/p95/p99/mean/n of a list of numbers, None-safe for empty lists."""
    if not values:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "mean": None}
    return {"n": len(values), "p50": pct(values, 50), "p95": pct(values, 95),
            "p99": pct(values, 99), "mean": statistics.mean(values)}


class Deadline:
    """A time budget: loops run `while budget.left()` and always do at least
    `minimum` iterations, so a tiny --duration still yields a number."""

    def __init__(self, seconds, minimum=1):
        self.end = time.monotonic() + seconds
        self.minimum = minimum
        self.count = 0

    def left(self):
        self.count += 1
        return self.count <= self.minimum or time.monotonic() < self.end
