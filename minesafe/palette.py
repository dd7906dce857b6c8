"""The report colours, one set for HTML reports, the what-if read-out and the charts.

Pass and fail are a green and a red that stay distinct when printed in grey (different lightness);
不涉及 is a neutral grey; 待定 (a province not yet decidable) an amber, with white text readable on it. Every place that colours a verdict or a result takes it from here.
"""

from __future__ import annotations

from minesafe.rubric import Outcome

PASS, FAIL, NOT_APPLICABLE = "#2e7d32", "#c62828", "#757575"
PENDING = "#a85d00"
AVAILABLE = "#cfd8dc"  # points available but not earned, behind the earned bar
NOTICE = "#e65100"  # the 示例数据 / 暂行评估表 notices

OUTCOME_COLOURS = {Outcome.COMPLETED: PASS, Outcome.FAILED: FAIL, Outcome.NOT_APPLICABLE: NOT_APPLICABLE}


def verdict_colour(passed: bool | None) -> str:
    """The colour of a verdict by its ``passed``: 合格 (True), 不合格 (False), 待定 (None)."""
    if passed is None:
        return PENDING
    return PASS if passed else FAIL
