"""What the report must state about where and when it was measured: date,
git commit, CPU, cores, memory, kernel, OS, and how busy the machine was
(the load average before and after, since a shared machine skews numbers)."""
import os
import platform
import subprocess
import time

from common import REPO


def _run(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _lscpu():
    fields = {}
    for line in _run("lscpu").splitlines():
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def _mem_total_gib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    return None


def _os_name():
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.system()


def load_average():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def describe(binary):
    """Everything about the machine and the code under test, as a dict."""
    cpu = _lscpu()
    dirty = _run("git", "status", "--porcelain", "--untracked-files=no")
    return {
        "date_utc": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "git_commit": _run("git", "rev-parse", "HEAD"),
        "git_commit_short": _run("git", "rev-parse", "--short", "HEAD"),
        "git_dirty": bool(dirty),
        "cpu_model": cpu.get("Model name", platform.processor()),
        "cpu_count": os.cpu_count(),
        "threads_per_core": cpu.get("Thread(s) per core"),
        "sockets": cpu.get("Socket(s)"),
        "cpu_flags_simd": sorted(f for f in cpu.get("Flags", "").split()
                                 if f.startswith(("avx", "fma", "f16c"))),
        "l3_cache": cpu.get("L3 cache"),
        "mem_total_gib": _mem_total_gib(),
        "kernel": platform.release(),
        "os": _os_name(),
        "pensieve_cpu": _run(str(binary), "cpu"),
        "load_average_start": load_average(),
    }
