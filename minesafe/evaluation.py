"""The one engine: county and province evaluations from validated submissions.

Batch runs, reports and what-if widgets all call :func:`evaluate_county` and
:func:`evaluate_province`; no rule is implemented anywhere else.

Pass rules (矿安〔2023〕9号, 三(三) and the table's footnote):

* county 合格 iff every target is met (or 不涉及), no veto row is 未完成, and the score is at
  least the pass score (80, "以上" includes the bound);
* province 合格 iff its own targets are met and every one of its key counties is 合格.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from minesafe.decimals import format_decimal, format_percent
from minesafe.rubric import Category, FieldKind, FieldRole, MeasureRule, Outcome, Row, Rubric, Threshold
from minesafe.submission import CountySubmission, Header, ItemEntry, ProvinceSubmission, TargetInput, Value
from minesafe.targets import TargetResult, evaluate_target

if TYPE_CHECKING:
    import pandas as pd

PASSED, FAILED = "合格", "不合格"


@dataclass(frozen=True)
class Reason:
    """One line of why a verdict is what it is.

    ``kind`` is ``target``, ``veto``, ``points``, ``score`` or ``county`` for what decided or cost
    something, ``flag`` for a caveat the evaluator should check.
    """

    kind: str
    id: str
    text: str


@dataclass(frozen=True)
class ItemResult:
    row: Row
    outcome: Outcome
    source: str  # "explicit" (the evaluator's result) or "derived" (from the fill-in counts)
    derived: Outcome | None  # what the counts say, when they say anything
    evidence: str  # the fill-in values that decided a derived result, in Chinese
    earned: Fraction | None  # points earned, scored rows only
    note: str


@dataclass(frozen=True)
class VetoCounts:
    completed: int
    failed: int
    not_applicable: int


class _Shown:
    """What county and province results share in a notebook: the verdict banner as HTML and the
    targets as a DataFrame (pandas is only imported when a frame is asked for)."""

    def _repr_html_(self) -> str:
        from minesafe.rendering import format_result_html

        return format_result_html(self)

    def targets_frame(self) -> pd.DataFrame:
        """The targets as a pandas DataFrame (see :func:`minesafe.frames.targets_frame`)."""
        from minesafe.frames import targets_frame

        return targets_frame(self)


@dataclass(frozen=True)
class CountyResult(_Shown):
    rubric: Rubric
    header: Header
    county: str
    targets: tuple[TargetResult, ...]
    items: tuple[ItemResult, ...]
    score: Fraction
    veto: VetoCounts
    summary: str
    passed: bool
    reasons: tuple[Reason, ...]

    @property
    def verdict(self) -> str:
        return PASSED if self.passed else FAILED

    @property
    def name(self) -> str:
        return self.county

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.header.province} {self.county} {self.header.year}年 {self.header.stage}：{self.verdict}，得分 {format_decimal(self.score)}>"

    def items_frame(self) -> pd.DataFrame:
        """The form's rows as a pandas DataFrame (see :func:`minesafe.frames.items_frame`)."""
        from minesafe.frames import items_frame

        return items_frame(self)


@dataclass(frozen=True)
class ProvinceResult(_Shown):
    rubric: Rubric
    header: Header
    targets: tuple[TargetResult, ...]
    counties: tuple[CountyResult, ...]
    passed: bool
    reasons: tuple[Reason, ...]

    @property
    def verdict(self) -> str:
        return PASSED if self.passed else FAILED

    @property
    def name(self) -> str:
        return self.header.province

    def __repr__(self) -> str:
        failed = sum(not c.passed for c in self.counties)
        return f"<{type(self).__name__} {self.header.province} {self.header.year}年 {self.header.stage}：{self.verdict}，重点县 {len(self.counties)} 个（不合格 {failed} 个）>"

    def counties_frame(self) -> pd.DataFrame:
        """One line per key county (see :func:`minesafe.frames.results_frame`)."""
        from minesafe.frames import results_frame
        from minesafe.rendering import result_to_dict

        return results_frame((result_to_dict(c), "") for c in self.counties)


def evaluate_targets(rubric: Rubric, inputs: Mapping[str, TargetInput], year: int) -> tuple[TargetResult, ...]:
    return tuple(evaluate_target(t, inputs, rubric.baseline_year, year) for t in rubric.targets)


def derive_row_outcome(row: Row, values: Mapping[str, Value], rubric: Rubric | None = None) -> tuple[Outcome | None, str]:
    """What a row's fill-in values say, and which values said it.

    A measured row compares its numbers with its threshold (a share with a denominator of 0 is
    不涉及). Otherwise any non-compliant count or ratio above 0, or a required 是/否 answered 否,
    fails the row; compliant evidence (a count above 0 or a 是) completes it; with every decisive
    value at 0, a row that only counts problems is 完成 (no problem exists) and a row that also
    counts compliant cases is 不涉及 (nothing to judge). ``None`` when no decisive value was given.
    """
    if row.measure is not None:
        if rubric is None or any(k not in values for k in row.measure.fields):
            return None, ""
        return _measure_outcome(row, values, rubric.thresholds[row.measure.threshold])
    decisive = [(f, values[f.key]) for f in row.fields if f.decisive and f.key in values]
    if not decisive:
        return None, ""

    def show(f, v) -> str:
        if f.kind is FieldKind.FLAG:
            return f"{f.label}：{'是' if v else '否'}"
        return f"{f.label}：{format_decimal(Fraction(v))}{'%' if f.kind is FieldKind.RATIO else ''}"

    bad = [
        show(f, v)
        for f, v in decisive
        if (f.kind is FieldKind.FLAG and v is False) or (f.role is FieldRole.NONCOMPLIANT and v > 0)
    ]
    if bad:
        return Outcome.FAILED, "；".join(bad)
    good = [show(f, v) for f, v in decisive if f.role is FieldRole.COMPLIANT and v]
    if good:
        return Outcome.COMPLETED, "；".join(good)
    evidence = "；".join(show(f, v) for f, v in decisive)
    if any(f.role is FieldRole.COMPLIANT for f in row.fields):
        return Outcome.NOT_APPLICABLE, evidence
    return Outcome.COMPLETED, evidence


def _measure_outcome(row: Row, values: Mapping[str, Value], threshold: Threshold) -> tuple[Outcome, str]:
    m = row.measure
    labels = [row.field_by_key(k).label for k in m.fields]
    if m.rule is MeasureRule.SHARE_AT_LEAST:
        part, whole = (values[k] for k in m.fields)
        if not whole:
            return Outcome.NOT_APPLICABLE, f"{labels[1]}为0，不涉及"
        share = Fraction(part, whole)
        evidence = f"{labels[0]} {part} ÷ {labels[1]} {whole} = {format_percent(share)}，{threshold.label}下限 {threshold.text}"
        return (Outcome.COMPLETED if share >= threshold.value else Outcome.FAILED), evidence
    (count,) = (values[k] for k in m.fields)
    if m.rule is MeasureRule.COUNT_AT_LEAST:
        met, bound = count >= threshold.value, "不少于"
    else:
        met, bound = count <= threshold.value, "不超过"
    evidence = f"{labels[0]} {count}，{threshold.label}应{bound} {threshold.text}"
    return (Outcome.COMPLETED if met else Outcome.FAILED), evidence


def earned_points(row: Row, outcome: Outcome) -> Fraction | None:
    """A scored row earns its points unless 未完成 (不涉及 earns them too: see compute_score for
    the rescaled reading); other rows earn none."""
    if row.category is not Category.SCORED:
        return None
    return Fraction(0) if outcome is Outcome.FAILED else Fraction(row.points)


def judge_items(rubric: Rubric, entries: Mapping[str, ItemEntry]) -> tuple[ItemResult, ...]:
    """Each row's outcome (explicit result wins over derived counts) and points earned."""
    results = []
    for row in rubric.rows:
        entry = entries[row.id]
        derived, evidence = derive_row_outcome(row, entry.values, rubric)
        outcome = entry.result or derived
        if outcome is None:  # submission validation guarantees one of the two
            raise ValueError(f"row {row.id} has neither a result nor decisive counts")
        results.append(
            ItemResult(
                row,
                outcome,
                "explicit" if entry.result else "derived",
                derived,
                evidence,
                earned_points(row, outcome),
                entry.note,
            )
        )
    return tuple(results)


def compute_score(rubric: Rubric, items: Sequence[ItemResult]) -> tuple[Fraction, str]:
    """The score out of the rubric's total points, and a caveat when it had to be rescaled."""
    scored = [i for i in items if i.row.category is Category.SCORED]
    earned = sum((i.earned for i in scored), Fraction(0))
    if rubric.not_applicable_scoring != "rescale":
        return earned, ""
    applicable = [i for i in scored if i.outcome is not Outcome.NOT_APPLICABLE]
    available = sum(i.row.points for i in applicable)
    if not available:
        return Fraction(rubric.total_points), "全部评分项均为不涉及，按满分计，请核实。"
    score = sum((i.earned for i in applicable), Fraction(0)) * rubric.total_points / available
    skipped = len(scored) - len(applicable)
    note = (
        f"按适用分值折算：{skipped} 项评分项不涉及，适用分值 {available} 分折算为 {rubric.total_points} 分制。" if skipped else ""
    )
    return score, note


def count_veto(targets: Sequence[TargetResult], items: Sequence[ItemResult]) -> VetoCounts:
    """Veto counts of the summary line; the seven targets are veto items."""
    outcomes = [t.outcome for t in targets] + [i.outcome for i in items if i.row.category is Category.VETO]
    return VetoCounts(outcomes.count(Outcome.COMPLETED), outcomes.count(Outcome.FAILED), outcomes.count(Outcome.NOT_APPLICABLE))


def format_summary(rubric: Rubric, veto: VetoCounts, score: Fraction) -> str:
    """The form's 评估结果汇总 line."""
    return rubric.summary_template.format(
        completed=veto.completed, failed=veto.failed, not_applicable=veto.not_applicable, score=format_decimal(score)
    )


def _target_reasons(targets: Sequence[TargetResult]) -> list[Reason]:
    reasons = []
    for t in targets:
        if t.outcome is Outcome.FAILED:
            shown = "" if t.value is None else f"，实际 {t.value_text}"
            reasons.append(
                Reason(
                    "target",
                    t.target.id,
                    f"工作目标 {t.target.id}“{t.target.name}”未完成：目标 {t.bound_text}{shown}。{t.explanation}",
                )
            )
        if t.flag:
            reasons.append(Reason("flag", t.target.id, t.flag))
    return reasons


def _item_basis(item: ItemResult) -> str:
    basis = f"评估认定“{item.outcome.value}”" if item.source == "explicit" else f"由填报数量判定（{item.evidence}）"
    return basis + (f"；说明：{item.note}" if item.note else "")


def _item_reasons(items: Sequence[ItemResult]) -> list[Reason]:
    reasons = []
    for i in items:
        row = i.row
        if i.outcome is Outcome.FAILED and row.category is Category.VETO:
            reasons.append(Reason("veto", row.id, f"否决项 {row.id}“{row.requirement}”未完成：{_item_basis(i)}。"))
        elif i.outcome is Outcome.FAILED and row.category is Category.SCORED:
            reasons.append(
                Reason("points", row.id, f"评分项 {row.id}“{row.requirement}”未完成，失 {row.points} 分：{_item_basis(i)}。")
            )
        if i.source == "explicit" and i.derived is not None and i.derived is not i.outcome:
            reasons.append(
                Reason(
                    "flag",
                    row.id,
                    f"第 {row.id} 行评估认定为“{i.outcome.value}”，但填报数量显示为“{i.derived.value}”（{i.evidence}），以评估认定为准，请核实。",
                )
            )
    return reasons


def evaluate_county(submission: CountySubmission, rubric: Rubric) -> CountyResult:
    """Evaluate one key county against ``rubric`` (with any params already applied)."""
    targets = evaluate_targets(rubric, submission.targets, submission.header.year)
    items = judge_items(rubric, submission.items)
    score, score_note = compute_score(rubric, items)
    veto = count_veto(targets, items)
    reasons = _target_reasons(targets) + _item_reasons(items)
    if score < rubric.pass_score:
        reasons.append(
            Reason(
                "score",
                "score",
                f"评分项共计得分 {format_decimal(score)} 分，低于合格分数线 {format_decimal(rubric.pass_score)} 分。",
            )
        )
    if score_note:
        reasons.append(Reason("flag", "score", score_note))
    passed = all(t.met for t in targets) and veto_rows_passed(items) and score >= rubric.pass_score
    return CountyResult(
        rubric,
        submission.header,
        submission.county,
        targets,
        items,
        score,
        veto,
        format_summary(rubric, veto, score),
        passed,
        tuple(reasons),
    )


def describe_failure(result: CountyResult) -> str:
    """What made a county fail, in one short Chinese phrase."""
    parts = []
    failed_targets = [t.target.id for t in result.targets if not t.met]
    failed_veto = [i.row.id for i in result.items if i.row.category is Category.VETO and i.outcome is Outcome.FAILED]
    if failed_targets:
        parts.append("工作目标 " + "、".join(failed_targets) + " 未完成")
    if failed_veto:
        parts.append("否决项 " + "、".join(failed_veto) + " 未完成")
    if result.score < result.rubric.pass_score:
        parts.append(f"得分 {format_decimal(result.score)} 分，低于 {format_decimal(result.rubric.pass_score)} 分")
    return "；".join(parts)


def veto_rows_passed(items: Sequence[ItemResult]) -> bool:
    return not any(i.row.category is Category.VETO and i.outcome is Outcome.FAILED for i in items)


def evaluate_province(submission: ProvinceSubmission, rubric: Rubric, counties: Sequence[CountyResult]) -> ProvinceResult:
    """Evaluate a key province from its own targets and its key counties' results."""
    targets = evaluate_targets(rubric, submission.targets, submission.header.year)
    reasons = _target_reasons(targets)
    for c in counties:
        if not c.passed:
            reasons.append(Reason("county", c.county, f"重点县 {c.county} 评估结果为不合格：{describe_failure(c)}。"))
    passed = all(t.met for t in targets) and all(c.passed for c in counties)
    return ProvinceResult(rubric, submission.header, targets, tuple(counties), passed, tuple(reasons))
