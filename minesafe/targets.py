"""The seven 工作目标: each target's value, its bound and whether it is met.

Rules are exact (``Fraction``); "以上" includes the bound (民法典 第1259条), so a decrease of
exactly 20 % meets a 20 % target. Every result carries a Chinese explanation with the input
values that decided it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import TypeVar

from minesafe.decimals import format_decimal, format_exact, format_percent, format_rule_percent
from minesafe.rubric import Outcome, ShareMode, Target, TargetRule
from minesafe.submission import CountPair, DeathHistory, Occurrences, TargetInput


@dataclass(frozen=True)
class TargetResult:
    target: Target
    outcome: Outcome
    value: Fraction | None  # the computed ratio (or event count); None when it cannot be computed
    explanation: str  # how the value was computed, with the inputs
    flag: str = ""  # a caveat for the reasons (baseline 0 and the like)
    inputs: Mapping[str, TargetInput] = field(default_factory=dict)  # the submission's numbers, by input key
    baseline_year: int | None = None  # the year the counts are compared with (T1–T3)
    # what the current value is measured against, computed once for judging and for the gap:
    # the baseline share (share targets) or the previous years' average (average targets)
    base: Fraction | None = None

    @property
    def met(self) -> bool:
        return self.outcome is not Outcome.FAILED

    @property
    def value_text(self) -> str:
        """The computed value in the form's units, rounded down; empty when not computable."""
        t = self.target
        if self.value is None:
            return ""
        if t.rule is TargetRule.NONE_OCCURRED:
            return f"{format_decimal(self.value)} 起"
        if t.mode is ShareMode.POINTS:
            return f"{format_percent(self.value).removesuffix('%')} 个百分点"
        return format_percent(self.value)

    @property
    def basis_text(self) -> str:
        """What the value is compared with, naming the baseline year used (``较2020年``); empty for
        targets with no baseline."""
        if self.baseline_year is not None:
            return f"较{self.baseline_year}年"
        if self.target.rule is TargetRule.AVERAGE_DECREASE:
            histories = _inputs_as(self.inputs, DeathHistory)
            years = len(histories[0][1].previous) if histories else self.target.years
            return f"较前{years}年平均"
        return ""

    @property
    def goal_text(self) -> str:
        """The bound with what it is compared against, as target lines print it: ``≥ 20%，较2020年``."""
        return self.bound_text + (f"，{self.basis_text}" if self.basis_text else "")

    @property
    def bound_text(self) -> str:
        """The bound as the form states it, in the current reading (e.g. ``≥ 20%``)."""
        t = self.target
        if t.rule is TargetRule.NONE_OCCURRED:
            return "未发生"
        if t.mode is ShareMode.POINTS:
            return f"≥ {format_decimal(t.ratio_bound * 100)} 个百分点"
        return f"≥ {format_rule_percent(t.ratio_bound)}"


def evaluate_target(target: Target, inputs: Mapping[str, TargetInput], baseline_year: int, year: int) -> TargetResult:
    """Judge one target from the submission's target inputs.

    ``baseline_year`` is the year the counts of T1–T3 are compared with (see
    :meth:`minesafe.rubric.Rubric.baseline_for`); ``year`` is the evaluated year.
    """
    own = {key: inputs[key] for key in target.inputs}
    if target.rule is TargetRule.DECREASE:
        ((_, pair),) = _inputs_as(own, CountPair)
        result = replace(_judge_decrease(target, pair, baseline_year, year), baseline_year=baseline_year)
    elif target.rule is TargetRule.SHARE_INCREASE:
        (_, part), (_, whole) = _inputs_as(own, CountPair)
        result = replace(_judge_share(target, part, whole, baseline_year, year), baseline_year=baseline_year)
    elif target.rule is TargetRule.AVERAGE_DECREASE:
        ((_, history),) = _inputs_as(own, DeathHistory)
        result = _judge_average(target, history, year)
    else:
        result = _judge_none(target, {target.inputs[key]: value for key, value in _inputs_as(own, Occurrences)})
    return replace(result, inputs=own)


_Input = TypeVar("_Input", CountPair, DeathHistory, Occurrences)


def _inputs_as(inputs: Mapping[str, TargetInput], kind: type[_Input]) -> list[tuple[str, _Input]]:
    """A target's inputs as the one kind its rule takes (submission validation builds them so)."""
    found = [(key, value) for key, value in inputs.items() if isinstance(value, kind)]
    if len(found) != len(inputs):
        raise TypeError(f"expected only {kind.__name__} inputs, got {inputs!r}")
    return found


def _base_of(result: TargetResult) -> Fraction:
    """The baseline share or previous average that a judged share or average target was measured against."""
    if result.base is None:
        raise ValueError(f"target {result.target.id} was judged without a base")
    return result.base


def _completed_if(met: bool) -> Outcome:
    return Outcome.COMPLETED if met else Outcome.FAILED


def _judge_decrease(target: Target, pair: CountPair, baseline_year: int, year: int) -> TargetResult:
    (label,) = target.inputs.values()
    counts = f"{baseline_year}年{label} {pair.baseline} 座，{year}年末 {pair.current} 座"
    if pair.baseline == 0 and pair.current == 0:
        return TargetResult(
            target,
            Outcome.NOT_APPLICABLE,
            None,
            counts,
            flag=f"{target.id} {target.name}：{baseline_year}年与{year}年末{label}均为0，无可下降的数量，本目标按不涉及处理，请核实。",
        )
    if pair.baseline == 0:
        # a count that rose from zero has not fallen by any share: the target is not met
        explanation = f"{counts}；{label}由0座增至 {pair.current} 座，数量不降反增，未实现下降"
        return TargetResult(target, Outcome.FAILED, None, explanation)
    value = Fraction(pair.baseline - pair.current, pair.baseline)
    explanation = f"{counts}；下降比例 =（{pair.baseline} − {pair.current}）÷ {pair.baseline} = {format_percent(value)}"
    return TargetResult(target, _completed_if(value >= target.ratio_bound), value, explanation)


def _judge_share(target: Target, part: CountPair, whole: CountPair, baseline_year: int, year: int) -> TargetResult:
    part_label, whole_label = target.inputs.values()
    # a year with no mines at all has a share of 0 (nothing large or medium-sized)
    s0 = Fraction(part.baseline, whole.baseline) if whole.baseline else Fraction(0)
    s1 = Fraction(part.current, whole.current) if whole.current else Fraction(0)
    counts = (
        f"{baseline_year}年{part_label} {part.baseline} 座／{whole_label} {whole.baseline} 座，占比 {format_percent(s0)}；"
        f"{year}年末 {part.current} 座／{whole.current} 座，占比 {format_percent(s1)}"
    )
    # The working uses the counts themselves, so it recomputes exactly to the value shown.
    q0, q1 = f"{part.baseline}/{whole.baseline}", f"{part.current}/{whole.current}"
    if whole.current == 0:
        # no mine left at the end of the year: there is no share to raise (line 243), the item does
        # not apply ("无该项", line 245) — not 未完成 with "0/0 = 0 %", nor a gap asking for mines
        when = (
            f"{baseline_year}年与{year}年末{whole_label}均为0"
            if whole.baseline == 0
            else f"{year}年末{whole_label}为0（已全部关闭）"
        )
        return TargetResult(
            target,
            Outcome.NOT_APPLICABLE,
            None,
            counts,
            flag=f"{target.id} {target.name}：{when}，无占比可言，本目标按不涉及处理，请核实。",
            base=s0,
        )
    if target.mode is ShareMode.POINTS:
        value = s1 - s0
        explanation = f"{counts}；提高 {q1} − {q0} = {format_percent(value).removesuffix('%')} 个百分点"
        return TargetResult(target, _completed_if(value >= target.ratio_bound), value, explanation, base=s0)
    if s0 == 0:
        return TargetResult(
            target,
            _completed_if(s1 > 0),
            None,
            counts,
            flag=f"{target.id} {target.name}：{baseline_year}年占比为0，无法计算相对提高比例；按“{year}年末占比大于0即完成”判定，请核实。",
            base=s0,
        )
    value = (s1 - s0) / s0
    explanation = f"{counts}；提高比例 =（{q1} − {q0}）÷（{q0}）= {format_percent(value)}"
    return TargetResult(target, _completed_if(value >= target.ratio_bound), value, explanation, base=s0)


def _judge_average(target: Target, history: DeathHistory, year: int) -> TargetResult:
    years = len(history.previous)
    average = Fraction(sum(history.previous), years)
    counts = (
        f"前{years}年（{year - years}～{year - 1}年）死亡人数 {'、'.join(map(str, history.previous))}，"
        f"平均 {format_exact(average)} 人；{year}年 {history.current} 人"
    )
    if average == 0 and history.current == 0:
        return TargetResult(
            target,
            Outcome.COMPLETED,
            None,
            counts,
            flag=f"{target.id} {target.name}：前{years}年与{year}年死亡人数均为0，无法计算下降比例；按“{year}年死亡人数为0即完成”判定。",
            base=average,
        )
    if average == 0:
        explanation = f"{counts}；死亡人数由前{years}年的0人增至 {history.current} 人，不降反增，未实现下降"
        return TargetResult(target, Outcome.FAILED, None, explanation, base=average)
    value = (average - history.current) / average
    explanation = (
        f"{counts}；下降比例 =（{format_exact(average)} − {history.current}）÷ {format_exact(average)} = {format_percent(value)}"
    )
    return TargetResult(target, _completed_if(value >= target.ratio_bound), value, explanation, base=average)


def _judge_none(target: Target, events: Mapping[str, Occurrences]) -> TargetResult:
    total = sum(e.count for e in events.values())
    explanation = "；".join(f"{label} {e.count} 起、死亡 {e.deaths} 人" for label, e in events.items())
    return TargetResult(target, _completed_if(total == 0), Fraction(total), explanation)


@dataclass(frozen=True)
class TargetGap:
    """What it takes for a target to be met, or how much room a met target has.

    ``change`` is a set of input values (path below ``targets`` -> value) that lands exactly on the
    bound; empty when no change of the numbers can help (or none is needed and there is no bound).
    """

    target: Target
    met: bool
    text: str
    change: Mapping[tuple[str, str], int] = field(default_factory=dict)


def target_gap(result: TargetResult) -> TargetGap:
    """The distance of a judged target from its bound, in the units of the form (座, 人, 起)."""
    t = result.target
    if result.outcome is Outcome.NOT_APPLICABLE:
        return TargetGap(t, True, f"{t.id} {t.name}：不涉及（{result.flag or '无法计算'}）")
    if t.rule is TargetRule.DECREASE:
        return _decrease_gap(result)
    if t.rule is TargetRule.SHARE_INCREASE:
        return _share_gap(result)
    if t.rule is TargetRule.AVERAGE_DECREASE:
        return _average_gap(result)
    return _events_gap(result)


def _decrease_gap(result: TargetResult) -> TargetGap:
    t = result.target
    ((key, pair),) = _inputs_as(result.inputs, CountPair)
    label = t.inputs[key]
    allowed = math.floor(pair.baseline * (1 - t.ratio_bound))  # (b − c) / b ≥ bound  ⇔  c ≤ b(1 − bound)
    change = {(key, "current"): allowed}
    if pair.current <= allowed:
        room = allowed - pair.current
        return TargetGap(
            t,
            True,
            f"{t.id} {t.name}：已达标，{label}还可多 {room} 座仍达标（当前 {pair.current} 座，上限 {allowed} 座）",
            change,
        )
    return TargetGap(
        t,
        False,
        f"{t.id} {t.name}：{label}须再减少 {pair.current - allowed} 座（当前 {pair.current} 座，需 ≤ {allowed} 座）",
        change,
    )


def _share_gap(result: TargetResult) -> TargetGap:
    t = result.target
    (part_key, part), (whole_key, whole) = _inputs_as(result.inputs, CountPair)
    part_label, whole_label = t.inputs[part_key], t.inputs[whole_key]
    s0 = _base_of(result)
    share = s0 + t.ratio_bound if t.mode is ShareMode.POINTS else s0 * (1 + t.ratio_bound)
    # the smallest current count of large and medium mines that meets the bound, all mines unchanged
    needed = max(math.ceil(share * whole.current), 1) if share else 1
    change = {(part_key, "current"): needed} if needed <= whole.current else {}
    if result.met:
        room = part.current - needed
        return TargetGap(
            t,
            True,
            f"{t.id} {t.name}：已达标，{part_label}还可少 {room} 座仍达标（{whole_label} {whole.current} 座时下限 {needed} 座）",
            change,
        )
    options = []
    if needed <= whole.current:
        options.append(
            f"{part_label}须再增加 {needed - part.current} 座（{whole_label}保持 {whole.current} 座时需 ≥ {needed} 座）"
        )
    if part.current and share:
        most = math.floor(part.current / share)  # the most mines in all that keep the share at the bound
        if part.current <= most < whole.current:
            options.append(
                f"{whole_label}须再减少 {whole.current - most} 座（{part_label}保持 {part.current} 座时需 ≤ {most} 座）"
            )
    text = "，或".join(options) if options else f"按现有{whole_label}无法达到目标占比"
    return TargetGap(t, False, f"{t.id} {t.name}：{text}", change)


def _average_gap(result: TargetResult) -> TargetGap:
    t = result.target
    ((key, history),) = _inputs_as(result.inputs, DeathHistory)
    label = t.inputs[key]
    average = _base_of(result)
    allowed = math.floor(average * (1 - t.ratio_bound))  # (avg − c) / avg ≥ bound  ⇔  c ≤ avg(1 − bound)
    change = {(key, "current"): allowed}
    if history.current <= allowed:
        return TargetGap(t, True, f"{t.id} {t.name}：已达标，评估年度{label} {history.current} 人，上限 {allowed} 人", change)
    return TargetGap(
        t,
        False,
        f"{t.id} {t.name}：评估年度{label}须不超过 {allowed} 人（实际 {history.current} 人，超出 {history.current - allowed} 人）",
        change,
    )


def _events_gap(result: TargetResult) -> TargetGap:
    t = result.target
    happened = {key: e for key, e in _inputs_as(result.inputs, Occurrences) if e.count}
    if not happened:
        return TargetGap(t, True, f"{t.id} {t.name}：未发生")
    events = "、".join(f"{t.inputs[key]} {e.count} 起（死亡 {e.deaths} 人）" for key, e in happened.items())
    change = {(key, part): 0 for key in happened for part in ("count", "deaths")}
    return TargetGap(t, False, f"{t.id} {t.name}：发生{events}，本目标要求未发生", change)
