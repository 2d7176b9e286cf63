"""The benchmarks stay runnable: run_all imports every module, and the table helpers behave."""

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def test_run_all_loads_every_benchmark():
    done = subprocess.run(
        [sys.executable, str(BENCH / "run_all.py"), "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    for name in (
        "client",
        "client_instructions",
        "ingest",
        "fanout",
        "memory",
        "startup",
        "scale_out",
        "tui",
        "limits",
        "health",
        "redis_latency",
        "alerts",
        "history",
    ):
        assert name in done.stdout


def test_table_and_percentile(capsys):
    sys.path.insert(0, str(BENCH))
    try:
        from common import Row, percentile, print_table
    finally:
        sys.path.remove(str(BENCH))
    assert percentile([5, 1, 4, 2, 3], 0.99) == 5 and percentile([5, 1, 4, 2, 3], 0.5) == 3
    assert percentile(list(range(1, 101)), 0.99) == 99
    print_table([Row("a measure", "2 s", "1 s", 2.0, "<= 3x", True), Row("figure", "7")])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| measure") and "2.00x" in lines[2] and "yes" in lines[2]
    assert len({len(line) for line in lines}) == 1  # aligned
