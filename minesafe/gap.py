"""Gap to pass (整改清单): exactly what a failing county must change to pass, or how much room a
passing county has. Every number comes from the engine itself: targets from their rules at the
bound, scores from :func:`minesafe.evaluation.compute_score` on the changed rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from minesafe.decimals import format_decimal
from minesafe.evaluation import CountyResult, ItemResult, compute_score, earned_points
from minesafe.rubric import Category, Outcome
from minesafe.targets import TargetGap, target_gap


@dataclass(frozen=True)
class GapToPass:
    result: CountyResult
    targets: tuple[TargetGap, ...]
    veto_rows: tuple[ItemResult, ...]  # veto rows to complete
    scored_rows: tuple[ItemResult, ...]  # the fewest scored rows whose completion reaches the pass score
    score_after: Fraction  # the score once ``scored_rows`` are completed
    affordable_worst: int  # passing: scored rows that may still fail, the largest first
    affordable_best: int  # passing: scored rows that may still fail, the smallest first

    @property
    def margin(self) -> Fraction:
        """Points above the pass score (negative below it)."""
        return self.result.score - self.result.rubric.pass_score


def _score_with(result: CountyResult, completed: Sequence[ItemResult] = (), failed: Sequence[ItemResult] = ()) -> Fraction:
    """The score if the given rows were completed or failed, by the engine's own scoring."""
    changes = {id(i): Outcome.COMPLETED for i in completed} | {id(i): Outcome.FAILED for i in failed}
    items = [
        dataclasses.replace(i, outcome=changes[id(i)], earned=earned_points(i.row, changes[id(i)])) if id(i) in changes else i
        for i in result.items
    ]
    return compute_score(result.rubric, items)[0]


def _largest_first(items: Sequence[ItemResult]) -> list[ItemResult]:
    """Largest points first, ties in table order (``sorted`` is stable)."""
    return sorted(items, key=lambda i: -i.row.points)


def compute_gap(result: CountyResult) -> GapToPass:
    """The gap to pass of a county result."""
    pass_score = result.rubric.pass_score
    scored = [i for i in result.items if i.row.category is Category.SCORED]
    failed_scored = [i for i in scored if i.outcome is Outcome.FAILED]
    chosen: list[ItemResult] = []
    score_after = result.score
    # Taking the largest rows first reaches the pass score with the fewest rows.
    for item in _largest_first(failed_scored):
        if score_after >= pass_score:
            break
        chosen.append(item)
        score_after = _score_with(result, completed=chosen)
    worst = best = 0
    if result.score >= pass_score:
        completed = [i for i in scored if i.outcome is Outcome.COMPLETED]
        worst = _count_affordable(result, _largest_first(completed))
        best = _count_affordable(result, list(reversed(_largest_first(completed))))
    return GapToPass(
        result,
        tuple(target_gap(t) for t in result.targets),
        tuple(i for i in result.items if i.row.category is Category.VETO and i.outcome is Outcome.FAILED),
        tuple(chosen),
        score_after,
        worst,
        best,
    )


def _count_affordable(result: CountyResult, order: Sequence[ItemResult]) -> int:
    lost: list[ItemResult] = []
    for item in order:
        if _score_with(result, failed=[*lost, item]) < result.rubric.pass_score:
            break
        lost.append(item)
    return len(lost)


def describe_gap(gap: GapToPass) -> list[str]:
    """The gap as a Chinese checklist, one line per thing to do (or per margin)."""
    r = gap.result
    pass_score = format_decimal(r.rubric.pass_score)
    if not r.passed:
        lines = ["结论为不合格。要达到合格，须同时做到："]
        lines += [g.text for g in gap.targets if not g.met]
        lines += [f"完成否决项 {i.row.id}：{i.row.requirement}" for i in gap.veto_rows]
        if gap.scored_rows:
            rows = "、".join(f"{i.row.id}（{i.row.points}分）" for i in gap.scored_rows)
            lines.append(
                f"完成评分项 {rows}，得分由 {format_decimal(r.score)} 分提高到 {format_decimal(gap.score_after)} 分（合格分数线 {pass_score} 分）"
            )
        return lines
    if gap.margin:
        margin = (
            f"高于合格分数线 {format_decimal(gap.margin)} 分：若再有评分项未完成，按分值从大到小最多还可失去 "
            f"{gap.affordable_worst} 项，按从小到大最多 {gap.affordable_best} 项，仍为合格"
        )
    else:
        margin = "恰好等于合格分数线，再有任何一项评分项未完成即为不合格"
    lines = [
        f"结论为合格。评分项得分 {format_decimal(r.score)} 分，{margin}。",
        "任何一项工作目标或否决项未完成，都将导致不合格。",
    ]
    lines += [g.text for g in gap.targets]
    return lines
