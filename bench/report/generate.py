"""Writes docs/PERFORMANCE.md and docs/performance/*.png from one results
file of `run.py`, and from nothing else: every number in the report is read
from that file, so the report cannot drift from the run that made it. The
soak (bench/server/soak.py, ten minutes of its own) is a separate run with
its own file: when docs/performance/soak.json exists (or --soak names one),
its section is added from it.

Usage: python bench/report/generate.py RESULTS.json [--out docs/PERFORMANCE.md] [--soak SOAK.json]
"""
import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import analysis  # noqa: E402
import sections  # noqa: E402
import verdict  # noqa: E402
from common import REPO  # noqa: E402
from fmt import table  # noqa: E402


def header(r):
    m = r["machine"]
    dirty = " (with uncommitted changes)" if m["git_dirty"] else ""
    return "\n".join([
        "# Pensieve Performance Report", "",
        "**Measured on this machine by the benchmark suite; every number below comes from one run.**", "",
        f"Generated {m['date_utc']} from commit `{m['git_commit_short']}`{dirty} by:", "",
        "```sh", r["commands"]["suite"], "```", "",
        f"Raw results: `{r['commands'].get('results', 'the run’s JSON file')}` "
        f"(the run took {r['total_seconds'] / 60:.1f} minutes). Regenerate with the same command; "
        "`bench/report/` holds the code that measures and writes this page.",
    ])


def executive_summary(r):
    return "\n".join([
        "## Executive Summary", "",
        f"Pensieve serving `{r['settings']['model']}` on a {r['machine']['cpu_count']}-CPU "
        f"{r['machine']['cpu_model']}, against the seed report's targets:", "",
        "### Key Performance Metrics", "",
        table(["Metric", "Target", "Achieved", "Status", "How measured"], verdict.rows(r)),
    ])


def hardware(r):
    m = r["machine"]
    kernels = next((line.split(":", 1)[1].strip() for line in m["pensieve_cpu"].splitlines()
                    if line.startswith("kernels:")), "—")
    la, lb = m["load_average_start"], m.get("load_average_end", ["?"] * 3)
    return "\n".join([
        "## Hardware Specifications", "", "### Test Environment", "",
        f"- **CPU**: {m['cpu_model']} — {m['cpu_count']} logical CPUs ({m['sockets']} socket(s), "
        f"{m['threads_per_core']} thread(s) per core), L3 {m['l3_cache']}",
        f"- **SIMD**: {', '.join(m['cpu_flags_simd'])}; Pensieve's kernels: {kernels}",
        f"- **Memory**: {m['mem_total_gib']:.1f} GiB",
        f"- **OS / kernel**: {m['os']}, Linux {m['kernel']}",
        "- **GPU**: none used (Pensieve runs on the CPU)",
        f"- **Model under test**: `{r['settings']['model']}`; other downloaded known models appear in the "
        "load and model tables",
        f"- **Load average** (1/5/15 min) at start {la[0]:.2f}/{la[1]:.2f}/{la[2]:.2f}, at end "
        f"{lb[0]:.2f}/{lb[1]:.2f}/{lb[2]:.2f} — a load above the CPU count means other work shared the "
        "machine and the figures are pessimistic.",
    ])


def methodology(r):
    rows = [[name, f"{sec:.0f} s"] for name, sec in r["section_seconds"].items()]
    st = r["settings"]
    return "\n".join([
        "## How This Was Measured", "",
        "`scripts/benchmark.sh` brings the Release build up to date, then runs `bench/report/run.py` "
        f"against `{st['binary']}` "
        f"with `--duration {st['duration_s']:g}` (the time budget of each load level and timed loop; "
        f"{st['repetitions']} repetitions for the sweeps), then `bench/report/generate.py` on the JSON it "
        "wrote. Servers are started on free ports by `bench/server/bench_server.py`; load clients are "
        "`bench/server/sse_load.py`'s.", "",
        table(["Benchmark", "Wall time"], rows),
    ])


def render(r, plot_dir, soak=None):
    parts = [header(r), executive_summary(r), hardware(r), "## Performance Benchmarks"]
    for fn in (sections.api_response, sections.memory, sections.threads, sections.models, sections.depth,
               sections.long_prompt, sections.shapes, sections.streaming, sections.errors):
        parts.append(fn(r, plot_dir))
    if soak is not None:
        parts.append(sections.soak(soak, plot_dir))
    parts += [analysis.bottlenecks(r), analysis.recommendations(r), methodology(r)]
    m = r["machine"]
    parts.append(f"---\n\n**Report generated**: {m['date_utc']}  \n**Commit**: `{m['git_commit']}`  \n"
                 f"**Test environment**: {m['cpu_model']}, {m['cpu_count']} CPUs, {m['mem_total_gib']:.1f} GiB, "
                 f"Linux {m['kernel']}")
    return "\n\n".join(parts) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results")
    ap.add_argument("--out", default=str(REPO / "docs" / "PERFORMANCE.md"))
    ap.add_argument("--soak", default=str(REPO / "docs" / "performance" / "soak.json"))
    a = ap.parse_args()
    r = json.loads(Path(a.results).read_text())
    soak = json.loads(Path(a.soak).read_text()) if Path(a.soak).exists() else None
    out = Path(a.out)
    plot_dir = out.parent / "performance"
    plot_dir.mkdir(parents=True, exist_ok=True)
    for old in plot_dir.glob("*.png"):  # plots of a section that failed this time must not linger
        old.unlink()
    out.write_text(render(r, plot_dir, soak))
    print(f"wrote {out} and {len(list(plot_dir.glob('*.png')))} plots in {plot_dir}", file=sys.stderr)


if __name__ == "__main__":
    main()
