"""The report colours, one set for HTML reports, the what-if read-out and the charts.

Pass and fail are a green and a red that stay distinct when printed in grey (different lightness);
不涉及 is a neutral grey. Every place that colours a verdict or a result takes it from here.
"""

from __future__ import annotations

from minesafe.rubric import Outcome

PASS, FAIL, NOT_APPLICABLE = "#2e7d32", "#c62828", "#757575"
AVAILABLE = "#cfd8dc"  # points available but not earned, behind the earned bar
NOTICE = "#e65100"  # the 示例数据 / 暂行评估表 notices

OUTCOME_COLOURS = {Outcome.COMPLETED: PASS, Outcome.FAILED: FAIL, Outcome.NOT_APPLICABLE: NOT_APPLICABLE}


def verdict_colour(passed: bool) -> str:
    """The colour of a 合格 or 不合格 verdict."""
    return PASS if passed else FAIL
