"""The benchmark suite behind docs/PERFORMANCE.md: `run.py` measures and
writes one JSON file, `generate.py` turns that file (and only that file) into
the report and its plots. `scripts/benchmark.sh` runs both."""
