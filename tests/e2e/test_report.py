"""The benchmark suite end to end, made short: a real run of bench/report on
the default model (seconds per level instead of tens), then the report
generator on its results. Checks that every section of the seed report is
there with numbers (no section failed), that the report's figures are the
run's, and that the plots are real PNGs. Takes about a minute."""
import json
import struct
import subprocess
import sys

import pytest

from paths import REPO

SECTIONS = [
    "## Executive Summary", "### Key Performance Metrics", "## Hardware Specifications",
    "### 1. API Response Performance", "#### Single Request Latency", "#### Concurrent Request Performance",
    "### 2. Memory Performance", "#### Model Loading Memory Usage", "#### Memory Scaling with Context",
    "### 3. CPU Threads", "### 4. Model Performance Comparison", "### 5. Streaming Latency",
    "### 6. Error Recovery", "## Bottleneck Analysis", "## Recommendations",
]
# Sections of our own beside the seed's: the long-context figures.
OWN_SECTIONS = ["#### Speed by Context Depth, Side by Side with llama.cpp", "#### Long Prompts"]
TARGETS = ["API response time", "Memory usage (base)", "Concurrent requests", "Model loading time",
           "Streaming latency", "Error recovery time"]


def png_size(path):
    """(width, height) from a PNG's signature and IHDR chunk; fails on anything else."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def report(tmp_path_factory, pensieve_bin, default_model):
    import matplotlib  # noqa: F401  (the report's plots; a missing package fails)
    out = tmp_path_factory.mktemp("report")
    results = out / "results.json"
    subprocess.run([sys.executable, REPO / "bench/report/run.py", "--binary", pensieve_bin,
                    "--model", default_model.stem, "--models", default_model.stem, "--duration", "2",
                    "--levels", "1,2", "--ctx-sizes", "256,512", "--requantize", "",
                    "--reply-tokens", "24", "--max-tokens", "16", "--out", results],
                   check=True, timeout=300)
    subprocess.run([sys.executable, REPO / "bench/report/generate.py", results,
                    "--out", out / "PERFORMANCE.md"], check=True, timeout=120)
    return json.loads(results.read_text()), (out / "PERFORMANCE.md").read_text(), out / "performance"


def test_every_benchmark_of_the_run_produced_results(report):
    results, _, _ = report
    failed = {k: v["error"] for k, v in results.items() if isinstance(v, dict) and "error" in v}
    assert not failed


def test_report_has_the_seed_reports_sections_and_all_six_targets(report):
    _, text, _ = report
    for heading in SECTIONS + OWN_SECTIONS:
        assert heading in text, heading
    for target in TARGETS:
        assert f"| {target} |" in text, target
    assert "Not measured in this run" not in text


def test_report_states_its_commit_machine_and_command(report):
    results, text, _ = report
    m = results["machine"]
    assert m["git_commit"] and m["git_commit"] in text
    assert m["cpu_model"] in text and m["kernel"] in text
    assert "bench/report/run.py" in text


def test_report_figures_are_the_runs_own(report):
    results, text, _ = report
    ttft = results["single"]["streaming"]["ttft_ms"]["p50"]
    assert f"{ttft:,.1f} ms" in text
    for size in results["context"]["ctx_sweep"]["sizes"]:
        assert f"| {size['ctx']} |" in text and f"{size['decode_tok_s']:,.1f}" in text
    (long,) = results["long_prompt"]["models"]  # the default model holds the smoke run's long prompt
    assert f"| {long['model']} | {long['long_tok_s']:,.1f} |" in text and f"{long['ratio']:.2f}×" in text
    (batched,) = results["shapes"]["batched"]["rows"]  # the smoke run's test shape
    agg = batched["aggregate_tok_s"]
    assert "**Batched decode.**" in text
    assert f"| {batched['shape']} | {batched['mix']} | {agg['1']:,.1f} | {agg['4']:,.1f} | {agg['16']:,.1f} |" in text


def test_plots_are_referenced_and_are_valid_pngs(report):
    _, text, plot_dir = report
    names = {"latency_vs_concurrency.png", "throughput_vs_concurrency.png", "memory_vs_context.png",
             "speed_vs_context.png", "speed_vs_threads.png"}
    for name in names:
        assert f"(performance/{name})" in text, name
        width, height = png_size(plot_dir / name)
        assert width >= 400 and height >= 300


def test_the_depth_table_has_a_q8_0_kv_cache_row_per_depth(report):
    results, text, _ = report
    q8 = results["depth"]["kv_q8_0"]
    assert [row["depth"] for row in q8["rows"]] == [0, 512]
    for row in q8["rows"]:
        assert row["pensieve"]["decode_tok_s"] > 0 and row["pensieve"]["prefill_tok_s"] > 0
    assert "The same with a Q8_0 KV cache" in text
