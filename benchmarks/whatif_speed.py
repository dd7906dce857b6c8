"""What-if panel responsiveness, measured in one run.

    python benchmarks/whatif_speed.py [--changes 40]

Changes alternate rows and target counts on the demo county, the way an evaluator clicks, and
time each change end to end through the panel's own handler: the recompute alone (verdict,
summary, veto counts, gap to pass, changes list) and the recompute plus the chart redraw.
Targets: <= 50 ms and <= 300 ms per change.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from minesafe.whatif import Scenario, WhatIfPanel

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo" / "counties" / "ding.yaml"


def time_changes(panel: WhatIfPanel, changes: int) -> list[float]:
    rows = ["1-1a", "3-6b", "4-4a", "5-5b"]
    box = panel.target_inputs[("underground_mines", "current")]
    timings = []
    for i in range(changes):
        started = time.perf_counter()
        if i % 2:
            box.value = box.value + (1 if i % 4 == 1 else -1)
        else:
            menu = panel.row_inputs[rows[(i // 2) % len(rows)]]
            menu.value = "未完成" if menu.value == "完成" else "完成"
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def describe(name: str, timings: list[float], target: float) -> str:
    median, worst = statistics.median(timings), max(timings)
    return f"{name:<28} median {median:6.1f} ms  p90 {sorted(timings)[int(len(timings) * 0.9)]:6.1f} ms  max {worst:6.1f} ms  target <= {target:.0f} ms: {median / target:.2f}x of budget"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=40)
    args = parser.parse_args()
    recompute = WhatIfPanel(Scenario.from_file(DEMO), chart=False)
    with_chart = WhatIfPanel(Scenario.from_file(DEMO), chart=True)
    time_changes(with_chart, 4)  # warm-up: first chart loads matplotlib and the font
    print(f"{args.changes} changes on {DEMO.name}")
    print(describe("recompute", time_changes(recompute, args.changes), 50))
    print(describe("recompute + chart redraw", time_changes(with_chart, args.changes), 300))
    return 0


if __name__ == "__main__":
    sys.exit(main())
