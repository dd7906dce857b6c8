"""The benchmark scripts still run and print every ratio they promise (times are not asserted)."""

import subprocess
import sys

from .conftest import ROOT


def test_the_quick_batch_benchmark_prints_every_ratio():
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "batch_speed.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=900,
        check=True,
    )
    table = done.stdout.split("\n\n", 1)[1]
    for row in (
        "unchanged rerun / first run",
        "per report / bare kernel floor",
        "-way / batch",  # naive N-way, N the number of workers
        "minesafe.evaluate per second",
        "`minesafe evaluate FILE` / `python -c pass` start-up",
        "per report at N=4",
        "per report at N=8",
        "each added report, N=4 -> 8",
    ):
        assert row in table, table
