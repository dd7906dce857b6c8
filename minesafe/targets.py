"""The seven 工作目标: each target's value, its bound and whether it is met.

Rules are exact (``Fraction``); "以上" includes the bound (民法典 第1259条), so a decrease of
exactly 20 % meets a 20 % target. Every result carries a Chinese explanation with the input
values that decided it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from minesafe.numbers import format_decimal, format_percent
from minesafe.rubric import Outcome, ShareMode, Target, TargetRule
from minesafe.submission import CountPair, DeathHistory, Occurrences, TargetInput


@dataclass(frozen=True)
class TargetResult:
    target: Target
    outcome: Outcome
    value: Fraction | None  # the computed ratio (or event count); None when it cannot be computed
    explanation: str  # how the value was computed, with the inputs
    flag: str = ""  # a caveat for the reasons (baseline 0 and the like)

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
            return f"{format_decimal(self.value * 100)} 个百分点"
        return format_percent(self.value)

    @property
    def bound_text(self) -> str:
        """The bound as the form states it, in the current reading (e.g. ``≥ 20%``)."""
        t = self.target
        if t.rule is TargetRule.NONE_OCCURRED:
            return "未发生"
        if t.mode is ShareMode.POINTS:
            return f"≥ {format_decimal(t.bound * 100)} 个百分点"
        return f"≥ {format_percent(t.bound)}"


def evaluate_target(target: Target, inputs: Mapping[str, TargetInput], baseline_year: int, year: int) -> TargetResult:
    """Judge one target from the submission's target inputs."""
    if target.rule is TargetRule.DECREASE:
        (key,) = target.inputs
        return _judge_decrease(target, inputs[key], baseline_year, year)
    if target.rule is TargetRule.SHARE_INCREASE:
        part_key, whole_key = target.inputs
        return _judge_share(target, inputs[part_key], inputs[whole_key], baseline_year, year)
    if target.rule is TargetRule.AVERAGE_DECREASE:
        (key,) = target.inputs
        return _judge_average(target, inputs[key], year)
    return _judge_none(target, {label: inputs[key] for key, label in target.inputs.items()})


def _outcome(met: bool) -> Outcome:
    return Outcome.COMPLETED if met else Outcome.FAILED


def _judge_decrease(target: Target, pair: CountPair, baseline_year: int, year: int) -> TargetResult:
    (label,) = target.inputs.values()
    counts = f"{baseline_year}年{label} {pair.baseline} 座，{year}年末 {pair.current} 座"
    if pair.baseline == 0:
        return TargetResult(
            target,
            Outcome.NOT_APPLICABLE,
            None,
            counts,
            flag=f"{target.id} {target.name}：{baseline_year}年{label}为0，无法计算下降比例，本目标按不涉及处理，请核实。",
        )
    value = Fraction(pair.baseline - pair.current, pair.baseline)
    explanation = f"{counts}；下降比例 =（{pair.baseline} − {pair.current}）÷ {pair.baseline} = {format_percent(value)}"
    return TargetResult(target, _outcome(value >= target.bound), value, explanation)


def _judge_share(target: Target, part: CountPair, whole: CountPair, baseline_year: int, year: int) -> TargetResult:
    part_label, whole_label = target.inputs.values()
    # a year with no mines at all has a share of 0 (nothing large or medium-sized)
    s0 = Fraction(part.baseline, whole.baseline) if whole.baseline else Fraction(0)
    s1 = Fraction(part.current, whole.current) if whole.current else Fraction(0)
    counts = (
        f"{baseline_year}年{part_label} {part.baseline} 座／{whole_label} {whole.baseline} 座，占比 {format_percent(s0)}；"
        f"{year}年末 {part.current} 座／{whole.current} 座，占比 {format_percent(s1)}"
    )
    if target.mode is ShareMode.POINTS:
        value = s1 - s0
        explanation = (
            f"{counts}；提高 {format_percent(s1)} − {format_percent(s0)} = {format_percent(value).removesuffix('%')} 个百分点"
        )
        return TargetResult(target, _outcome(value >= target.bound), value, explanation)
    if s0 == 0:
        return TargetResult(
            target,
            _outcome(s1 > 0),
            None,
            counts,
            flag=f"{target.id} {target.name}：{baseline_year}年占比为0，无法计算相对提高比例；按“{year}年末占比大于0即完成”判定，请核实。",
        )
    value = (s1 - s0) / s0
    explanation = (
        f"{counts}；提高比例 =（{format_percent(s1)} − {format_percent(s0)}）÷ {format_percent(s0)} = {format_percent(value)}"
    )
    return TargetResult(target, _outcome(value >= target.bound), value, explanation)


def _judge_average(target: Target, history: DeathHistory, year: int) -> TargetResult:
    years = len(history.previous)
    average = Fraction(sum(history.previous), years)
    counts = (
        f"前{years}年（{year - years}～{year - 1}年）死亡人数 {'、'.join(map(str, history.previous))}，"
        f"平均 {format_decimal(average)} 人；{year}年 {history.current} 人"
    )
    if average == 0:
        return TargetResult(
            target,
            _outcome(history.current == 0),
            None,
            counts,
            flag=f"{target.id} {target.name}：前{years}年平均死亡人数为0，无法计算下降比例；按“{year}年死亡人数为0即完成”判定。",
        )
    value = (average - history.current) / average
    explanation = f"{counts}；下降比例 =（{format_decimal(average)} − {history.current}）÷ {format_decimal(average)} = {format_percent(value)}"
    return TargetResult(target, _outcome(value >= target.bound), value, explanation)


def _judge_none(target: Target, events: Mapping[str, Occurrences]) -> TargetResult:
    total = sum(e.count for e in events.values())
    explanation = "；".join(f"{label} {e.count} 起、死亡 {e.deaths} 人" for label, e in events.items())
    return TargetResult(target, _outcome(total == 0), Fraction(total), explanation)
