"""The one engine: county and province evaluations from validated submissions.

Batch runs, reports and what-if widgets all call :func:`evaluate_county` and
:func:`evaluate_province`; no rule is implemented anywhere else. When a unit is given at several
stages (自评, 核查, 认定), :func:`decide_stages` (one unit) or :func:`group_stages` (many) make
the :class:`UnitResult` whose latest stage decides its verdict.

Every result's conclusion is a :class:`Verdict`: 合格, 不合格, or (a province only) 待定.
Its ``passed`` is ``True``, ``False`` or ``None`` (待定) accordingly.

Pass rules (矿安〔2023〕9号, 三(三) and the table's footnote):

* county 合格 iff every target is met (or 不涉及), no veto row is 未完成, and the score is at
  least the pass score (80, "以上" includes the bound); otherwise 不合格 — never 待定;
* province 不合格 as soon as one of its own targets fails or a key county's result (its latest
  stage, whatever it is) is 不合格; otherwise 待定 while any key county it names
  (``key_counties``) has no result or a result at 自评 only (the notice judges a province on its
  counties' 评估结果, i.e. after the provincial group's 核查 or the national 认定); otherwise 合格;
* a unit given at several stages has the verdict of its latest stage (三(三)/(四): the
  provincial review checks the self-assessment on site, the national determination reviews both).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import TYPE_CHECKING, cast

from minesafe.decimals import format_decimal, format_percent, format_typed
from minesafe.exceptions import InputError, Problem, locate_header
from minesafe.rubric import (
    EVALUATOR,
    STAGES,
    VERIFIED_STAGES,
    Category,
    FieldKind,
    FieldRole,
    FillField,
    Measure,
    MeasureRule,
    Outcome,
    Row,
    Rubric,
    ShareMode,
    TargetRule,
    Threshold,
)
from minesafe.submission import CountySubmission, Header, ItemEntry, ProvinceSubmission, TargetInput, Value
from minesafe.targets import TargetResult, evaluate_target
from minesafe.verification import RECORD_STAGES, EvidenceFile, VerificationRecord, describe_missing_on_site

if TYPE_CHECKING:
    import pandas as pd


class Verdict(enum.StrEnum):
    """A unit's conclusion (考核评估结论), in the form's words; a ``str``, so ``verdict == "合格"``
    and JSON both see the Chinese word.

    * ``PASSED`` 合格 and ``FAILED`` 不合格: what the notice's pass rules say (see the module).
    * ``PENDING`` 待定 (provinces only): nothing known fails, but not every key county has a
      result checked by the province on site (核查) or confirmed nationally (认定) — one is at
      自评 only, or has no file. A province is never 合格 on what nobody has checked.

    :attr:`passed` is ``True``, ``False`` or ``None`` (待定); every result's ``passed`` follows it.
    """

    PASSED = "合格"
    FAILED = "不合格"
    PENDING = "待定"

    @property
    def passed(self) -> bool | None:
        """``True`` for 合格, ``False`` for 不合格, ``None`` for 待定 (undecided)."""
        return None if self is Verdict.PENDING else self is Verdict.PASSED

    @classmethod
    def of(cls, passed: bool | None) -> Verdict:
        """The verdict of a ``passed`` value: ``True`` 合格, ``False`` 不合格, ``None`` 待定."""
        return cls.PENDING if passed is None else cls.PASSED if passed else cls.FAILED


PASSED, FAILED, PENDING = Verdict.PASSED, Verdict.FAILED, Verdict.PENDING


@dataclass(frozen=True)
class Reason:
    """One line of why a verdict is what it is.

    ``kind`` is ``target``, ``veto``, ``points``, ``score`` or ``county`` for what decided or cost
    something; ``pending`` for what keeps a province 待定 (a key county at 自评 only, or without a
    file: it would stop a 合格 even where something else already fails); ``flag`` for a caveat the
    evaluator should check (it never decides the verdict).
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
    values: Mapping[str, Value] = field(default_factory=dict)  # the submitted fill-in values (the filled form shows them)
    supporting: tuple[EvidenceFile, ...] = ()  # the row's 佐证材料 as listed (see minesafe.verification)

    @property
    def filled(self) -> tuple[str, ...]:
        """Every fill-in value of the row as typed, in the form's order: ``公布的媒体或网站：县政府网站``."""
        return tuple(show_value(f, self.values[f.key]) for f in self.row.fields if f.key in self.values)

    @property
    def typed_values(self) -> dict[str, int | float | bool | str]:
        """The fill-in values by key for JSON: counts and ratios (percent) as numbers, 是/否 as
        booleans, texts as typed."""
        return {
            key: (value if isinstance(value, (bool, str, int)) else _json_decimal(value)) for key, value in self.values.items()
        }


def _json_decimal(value: Fraction) -> int | float:
    """A typed decimal as a JSON number: the nearest float, whose shortest form is that decimal."""
    return value.numerator if value.denominator == 1 else float(value)


def show_value(f: FillField, value: Value) -> str:
    """One fill-in value as the person gave it: ``是否全面消除：是``, ``…比例：2.345%``."""
    if f.kind is FieldKind.FLAG:
        return f"{f.label}：{'是' if value else '否'}"
    if isinstance(value, str):
        return f"{f.label}：{value}"
    return f"{f.label}：{format_typed(Fraction(value))}{'%' if f.kind is FieldKind.RATIO else ''}"


@dataclass(frozen=True)
class VetoCounts:
    completed: int
    failed: int
    not_applicable: int


@dataclass
class ResultViews:
    """How results show themselves in a notebook, as the presentation layer gives it: the engine
    never imports presentation. :mod:`minesafe.rendering` sets ``html`` (the verdict banner) and
    :mod:`minesafe.frames` the tables when they are imported; :mod:`minesafe.results`, the public
    API, imports both, so every result it returns has its views."""

    html: Callable[[CountyResult | ProvinceResult | UnitResult], str] | None = None
    targets_frame: Callable[[Result], pd.DataFrame] | None = None
    items_frame: Callable[[CountyResult], pd.DataFrame] | None = None
    counties_frame: Callable[[ProvinceResult], pd.DataFrame] | None = None


#: The one set of views of every result (see :class:`ResultViews`).
RESULT_VIEWS = ResultViews()


def _missing_view(name: str) -> RuntimeError:
    return RuntimeError(f"{name}() is given by minesafe.frames: import it (or minesafe.results) first")


class _Shown:
    """What county and province results share in a notebook: the verdict banner as HTML and the
    targets as a DataFrame (see :class:`ResultViews`)."""

    passed: bool | None

    @property
    def verdict(self) -> Verdict:
        """合格, 不合格 or 待定 (see :class:`Verdict`), from ``passed``."""
        return Verdict.of(self.passed)

    def _repr_html_(self) -> str | None:
        """The verdict banner, once :mod:`minesafe.rendering` is imported (else Jupyter shows the repr)."""
        return None if RESULT_VIEWS.html is None else RESULT_VIEWS.html(cast("Result", self))

    def targets_frame(self) -> pd.DataFrame:
        """The targets as a pandas DataFrame (see :func:`minesafe.frames.targets_frame`)."""
        if RESULT_VIEWS.targets_frame is None:
            raise _missing_view("targets_frame")
        return RESULT_VIEWS.targets_frame(cast("Result", self))


@dataclass(frozen=True)
class CountyResult(_Shown):
    """A county's (or an enterprise's) evaluation at one stage. ``passed`` is always a ``bool``:
    a county is 合格 or 不合格 at every stage (待定 is for provinces)."""

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
    verification: VerificationRecord | None = None  # the 核查/认定 record, when the submission carries one

    @property
    def name(self) -> str:
        return self.county

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.header.province} {self.county} {self.header.year}年 {self.header.stage}：{self.verdict}，得分 {format_decimal(self.score)}>"

    def items_frame(self) -> pd.DataFrame:
        """The form's rows as a pandas DataFrame (see :func:`minesafe.frames.items_frame`)."""
        if RESULT_VIEWS.items_frame is None:
            raise _missing_view("items_frame")
        return RESULT_VIEWS.items_frame(self)


@dataclass(frozen=True)
class ProvinceResult(_Shown):
    """A key province's evaluation: its own targets and its key counties' results.

    ``passed`` is ``True`` (合格), ``False`` (不合格) or ``None`` (待定: nothing known fails, but
    ``missing`` or ``pending`` is not empty); ``verdict`` says the same as a :class:`Verdict`.
    """

    rubric: Rubric
    header: Header
    targets: tuple[TargetResult, ...]
    units: tuple[UnitResult, ...]  # the key counties with a result, each over its stages
    missing: tuple[str, ...]  # key counties named by the province without any result
    passed: bool | None
    reasons: tuple[Reason, ...]
    pending: tuple[str, ...] = ()  # key counties whose deciding result is a 自评 (not yet 核查 or 认定)

    @property
    def name(self) -> str:
        return self.header.province

    def __repr__(self) -> str:
        failed = sum(c.passed is False for c in self.counties)
        return f"<{type(self).__name__} {self.header.province} {self.header.year}年 {self.header.stage}：{self.verdict}，重点县 {len(self.counties)} 个（不合格 {failed} 个）>"

    def counties_frame(self) -> pd.DataFrame:
        """One line per key county (see :func:`minesafe.frames.counties_frame`)."""
        if RESULT_VIEWS.counties_frame is None:
            raise _missing_view("counties_frame")
        return RESULT_VIEWS.counties_frame(self)

    @property
    def counties(self) -> tuple[CountyResult, ...]:
        """Each key county's deciding (latest-stage) result."""
        return tuple(_as_county(u.deciding) for u in self.units)


Result = CountyResult | ProvinceResult


def _as_county(result: Result) -> CountyResult:
    """A province's key county's result (a province file never names a province among its counties)."""
    if not isinstance(result, CountyResult):
        raise TypeError(f"a key county's result is a province result: {result!r}")
    return result


@dataclass(frozen=True)
class UnitResult:
    """One unit's evaluation over the stages given for it; the latest stage decides.

    ``stages`` holds one result per stage, earliest first (自评, 核查, 认定: see
    :data:`minesafe.rubric.STAGES`). ``deciding`` is the latest; its verdict is the unit's verdict
    in every output (report banner, ``result.json``, batch summary, province roll-up, ``minesafe
    evaluate``). Build with :func:`decide_stages` or :func:`group_stages`.
    """

    stages: tuple[Result, ...]
    sources: tuple[str, ...] = ()  # the file of each stage, when read from files

    def _repr_html_(self) -> str | None:
        """The verdict banner of the deciding stage (see :class:`ResultViews`)."""
        return None if RESULT_VIEWS.html is None else RESULT_VIEWS.html(self)

    def __repr__(self) -> str:
        stages = "、".join(f"{r.header.stage} {r.verdict}" for r in self.stages)
        return (
            f"<{type(self).__name__} {self.name} {self.deciding.header.year}年：{self.verdict}（以{self.stage}为准；{stages}）>"
        )

    @property
    def deciding(self) -> Result:
        return self.stages[-1]

    @property
    def passed(self) -> bool | None:
        """The deciding stage's ``passed``: ``None`` when it is 待定 (a province)."""
        return self.deciding.passed

    @property
    def verdict(self) -> Verdict:
        """The deciding stage's :class:`Verdict`."""
        return self.deciding.verdict

    @property
    def verified(self) -> bool:
        """Whether the deciding stage was checked by someone other than the unit itself: 核查 (the
        province on site) or 认定 (national), not 自评 (see :data:`minesafe.rubric.VERIFIED_STAGES`)."""
        return self.stage in VERIFIED_STAGES

    @property
    def name(self) -> str:
        return self.deciding.name

    @property
    def stage(self) -> str:
        """The deciding stage's token (自评, 核查 or 认定)."""
        return self.deciding.header.stage

    @property
    def stage_change(self) -> str:
        """Says plainly when the deciding stage's verdict differs from an earlier stage's, e.g.
        ``核查结论不合格，与自评（合格）不同``; empty when all stages agree."""
        differing = [r for r in self.stages[:-1] if r.passed != self.passed]
        if not differing:
            return ""
        earlier = "、".join(f"{r.header.stage}（{r.verdict}）" for r in differing)
        return f"{self.stage}结论{self.verdict}，与{earlier}不同"


def _unit_identity(result: Result) -> tuple[str, str, str, int]:
    return (result.rubric.id, result.header.province, result.name, result.header.year)


def decide_stages(results: Sequence[Result], sources: Sequence[str] = ()) -> UnitResult:
    """The :class:`UnitResult` of one unit's results at different stages (any order).

    Raises :class:`InputError` when the results are not of one unit (form, province, unit name and
    year must agree), were judged under different params profiles, or when one stage is given twice; ``sources`` (file names, in the order of
    ``results``) name the files in the message.
    """
    if not results:
        raise ValueError("decide_stages needs at least one result")
    names = list(sources) or [f"第 {i + 1} 份结果" for i in range(len(results))]
    first = _unit_identity(results[0])
    problems = [
        Problem(
            ("stage",),
            f"{names[i]} 与 {names[0]} 不是同一单位同一年度的评估（评估表、省、单位名称、年度须一致）",
            " ".join(map(str, _unit_identity(r))),
            " ".join(map(str, first)),
        )
        for i, r in enumerate(results)
        if _unit_identity(r) != first
    ]
    # one unit's stages are judged by one form: a stage under another profile (other rows and
    # thresholds) would decide, or be compared, by rules its other stages were not held to
    problems += [
        Problem(
            ("profile",),
            f"{names[i]} 与 {names[0]} 所按的参数方案不同（同一单位各评估阶段须按同一参数方案评估）",
            r.rubric.profile or "（未按参数方案）",
            results[0].rubric.profile or "（未按参数方案）",
        )
        for i, r in enumerate(results)
        if r.rubric.profile != results[0].rubric.profile
    ]
    seen: dict[str, int] = {}
    for i, r in enumerate(results):
        stage = r.header.stage
        if stage in seen:
            problems.append(
                Problem(
                    ("stage",),
                    f"{r.name} 的“{stage}”阶段提交了两份：{names[seen[stage]]} 与 {names[i]}",
                    stage,
                    "每个单位每个评估阶段只提交一份（" + "、".join(STAGES) + "）",
                )
            )
        seen.setdefault(stage, i)
    if problems:
        raise InputError("、".join(dict.fromkeys(names)), problems, locate_header(names))
    order = sorted(range(len(results)), key=lambda i: STAGES.index(results[i].header.stage))
    return UnitResult(tuple(results[i] for i in order), tuple(names[i] for i in order) if sources else ())


def group_stages(results: Sequence[Result], sources: Sequence[str] = ()) -> list[UnitResult]:
    """Results of several units, possibly at several stages each, as one :class:`UnitResult`
    per unit, in the order units first appear."""
    groups: dict[tuple, list[int]] = {}
    for i, r in enumerate(results):
        groups.setdefault(_unit_identity(r), []).append(i)
    return [
        decide_stages([results[i] for i in indexes], [sources[i] for i in indexes] if sources else ())
        for indexes in groups.values()
    ]


def evaluate_targets(rubric: Rubric, inputs: Mapping[str, TargetInput], year: int) -> tuple[TargetResult, ...]:
    """Every target judged for ``year``, each named with the baseline year it is compared with."""
    return tuple(evaluate_target(rubric.name_target(t, year), inputs, rubric.baseline_for(year), year) for t in rubric.targets)


def _baseline_reasons(rubric: Rubric, targets: Sequence[TargetResult], year: int) -> list[Reason]:
    """The caveat of the default baseline reading, when a target compares with a baseline year;
    before it, one ``flag`` per change a non-national rule set makes to what the notice fixes."""
    reasons = [Reason("flag", "rule_set", f"非国家评估表口径：{rubric.rule_set}，{change}") for change in rubric.departures]
    if rubric.rule_set and not rubric.departures:
        reasons.append(Reason("flag", "rule_set", rubric.rule_set_notice))
    caveat = rubric.baseline_caveat(year)
    return reasons + ([Reason("flag", "baseline", caveat)] if caveat and any(t.baseline_year for t in targets) else [])


def derive_row_outcome(row: Row, values: Mapping[str, Value], rubric: Rubric | None = None) -> tuple[Outcome | None, str]:
    """What a row's fill-in values say, and which values said it.

    A measured row compares its numbers with its threshold (a share with a denominator of 0 is
    不涉及); a threshold without a number says nothing but why (the evaluator decides). Otherwise any non-compliant count or ratio above 0, or a required 是/否 answered 否,
    fails the row; compliant evidence (a count above 0 or a 是) completes it; with every decisive
    value at 0, a row that only counts problems is 完成 (no problem exists) and a row that also
    counts compliant cases is 不涉及 (nothing to judge). ``None`` when no decisive value was given.
    """
    if row.measure is not None:
        if rubric is None:
            return None, ""
        threshold = rubric.thresholds[row.measure.threshold]
        if threshold.value is None:
            return None, f"阈值“{threshold.label}”：{threshold.source}，{EVALUATOR}"
        if any(k not in values for k in row.measure.fields):
            return None, ""
        return _measure_outcome(row, row.measure, values, threshold, threshold.value)
    decisive = [(f, values[f.key]) for f in row.fields if f.decisive and f.key in values]
    if not decisive:
        return None, ""
    show = show_value
    bad = [
        show(f, v)
        for f, v in decisive
        if (f.kind is FieldKind.FLAG and v is False) or (f.role is FieldRole.NONCOMPLIANT and _number(v) > 0)
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


def _number(value: Value) -> Fraction:
    """A count, ratio or 是/否 fill-in value as an exact number (validation admits no text in these fields)."""
    if isinstance(value, str):
        raise TypeError(f"a fill-in value that should be a number is text: {value!r}")
    return Fraction(value)


def _measure_outcome(
    row: Row, m: Measure, values: Mapping[str, Value], threshold: Threshold, bound: Fraction
) -> tuple[Outcome, str]:
    labels = [f.label for k in m.fields if (f := row.field_by_key(k)) is not None]
    if m.rule is MeasureRule.SHARE_AT_LEAST:
        part, whole = (_number(values[k]) for k in m.fields)
        if not whole:
            return Outcome.NOT_APPLICABLE, f"{labels[1]}为0，不涉及"
        share = part / whole
        evidence = (
            f"{labels[0]} {part} ÷ {labels[1]} {whole} = {format_percent(share)}，"
            f"{threshold.label}下限 {threshold.text}（{threshold.origin}）"
        )
        return (Outcome.COMPLETED if share >= bound else Outcome.FAILED), evidence
    (count,) = (values[k] for k in m.fields)
    if m.rule is MeasureRule.COUNT_AT_LEAST:
        met, relation = _number(count) >= bound, "不少于"
    else:
        met, relation = _number(count) <= bound, "不超过"
    evidence = f"{labels[0]} {count}，{threshold.label}应{relation} {threshold.text}（{threshold.origin}）"
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
                entry.values,
                entry.evidence,
            )
        )
    return tuple(results)


def compute_score(rubric: Rubric, items: Sequence[ItemResult]) -> tuple[Fraction, str]:
    """The score out of the rubric's total points, and a caveat when it had to be rescaled."""
    scored = [i for i in items if i.row.category is Category.SCORED]
    earned = sum((i.earned or Fraction(0) for i in scored), Fraction(0))
    if rubric.not_applicable_scoring != "rescale":
        return earned, ""
    applicable = [i for i in scored if i.outcome is not Outcome.NOT_APPLICABLE]
    available = sum(i.row.points for i in applicable)
    if not available:
        return Fraction(rubric.total_points), "全部评分项均为不涉及，按满分计，请核实。"
    score = sum((i.earned or Fraction(0) for i in applicable), Fraction(0)) * rubric.total_points / available
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
            working = t.explanation + ("" if not t.explanation or t.explanation.endswith(("。", "）")) else "。")
            reasons.append(
                Reason(
                    "target",
                    t.target.id,
                    f"工作目标 {t.target.id}“{t.target.name}”未完成：目标 {t.bound_text}{shown}。{working}",
                )
            )
        if t.flag:
            reasons.append(Reason("flag", t.target.id, t.flag))
    return reasons


def _item_basis(item: ItemResult) -> str:
    if item.source == "explicit":
        basis = f"评估认定“{item.outcome.value}”" + (f"（{item.evidence}）" if item.evidence and item.derived is None else "")
    else:
        basis = f"由填报数量判定（{item.evidence}）"
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


def _decides(rubric: Rubric, targets: Sequence[TargetResult], items: Sequence[ItemResult], score: Fraction) -> Verdict:
    """A county's verdict from its parts: the one rule :func:`evaluate_county` applies."""
    return Verdict.of(all(t.met for t in targets) and veto_rows_passed(items) and score >= rubric.pass_score)


def _inferred_reasons(
    rubric: Rubric, targets: Sequence[TargetResult], items: Sequence[ItemResult], score: Fraction
) -> list[Reason]:
    """A flag when a row whose category marker was lost decides the verdict: another reading that
    keeps the footnote's totals (as many inferred rows veto as now) gives the other verdict."""
    inferred = [i for i in items if i.row.inferred and i.row.category in (Category.VETO, Category.REFERENCE)]
    failed = [i for i in inferred if i.outcome is Outcome.FAILED]
    rest = [i for i in items if not i.row.inferred]
    if not failed or _decides(rubric, targets, rest, score) is FAILED:
        return []  # nothing inferred failed, or the county fails whatever the inferred rows are
    if _decides(rubric, targets, items, score) is PASSED:
        deciding, other, now, then = failed, FAILED, Category.REFERENCE, Category.VETO  # any of them could be veto
    else:
        deciding = [i for i in failed if i.row.category is Category.VETO]
        reference_slots = sum(i.row.category is Category.REFERENCE for i in inferred)
        if len(failed) > reference_slots:
            return []  # more inferred rows failed than can be reference items: 不合格 under every reading
        other, now, then = PASSED, Category.VETO, Category.REFERENCE
    ids = "、".join(i.row.id for i in deciding)
    return [
        Reason(
            "flag",
            deciding[0].row.id,
            f"第 {ids} 行类别为推断（原文标记缺失），按另一读法结论为{other}，请核实"
            f"（本结论按{now.value}；按满足表注总数的另一读法，{'该行' if len(deciding) == 1 else '这些行'}为{then.value}）。",
        )
    ]


#: The words every flag of an uncertain reading carries (it names the other verdict).
READING_MARK = "按另一读法"

#: The documented readings' words (docs/rules.md): T3's two modes, a fill-in value's two roles, the
#: two ways of scoring 不涉及 rows.
_SHARE_MODES = {ShareMode.RELATIVE: "相对提高比例", ShareMode.POINTS: "提高的百分点"}
_OPEN_ROLES = {FieldRole.NONCOMPLIANT: "按未完成计", FieldRole.COMPLIANT: "按已完成计"}
_SCORINGS = {"full": "不涉及的评分项按满分计", "rescale": "不涉及的评分项不计入、按适用分值折算"}


def _reading_reasons(
    rubric: Rubric,
    submission: CountySubmission,
    targets: Sequence[TargetResult],
    items: Sequence[ItemResult],
    score: Fraction,
) -> list[Reason]:
    """A flag for each documented reading under whose other side the verdict would differ (T3's
    mode, an open fill-in role such as 1-1a 正在实施, the scoring of 不涉及 rows), naming the other
    verdict; none when the verdict is the same either way."""
    verdict = _decides(rubric, targets, items, score)
    reasons = []
    for n, t in enumerate(targets):
        if t.target.mode is None or t.target.rule is not TargetRule.SHARE_INCREASE:
            continue
        mode = ShareMode.POINTS if t.target.mode is ShareMode.RELATIVE else ShareMode.RELATIVE
        year = submission.header.year
        other = evaluate_target(replace(t.target, mode=mode), submission.targets, rubric.baseline_for(year), year)
        if (flipped := _decides(rubric, [*targets[:n], other, *targets[n + 1 :]], items, score)) is not verdict:
            reasons.append(
                Reason(
                    "flag",
                    t.target.id,
                    f"工作目标 {t.target.id} 按{_SHARE_MODES[t.target.mode]}计算为{t.outcome.value}；按另一读法"
                    f"（{_SHARE_MODES[mode]}，{other.value_text}）为{other.outcome.value}，结论为{flipped}，请核实"
                    f"（原文“提高15%以上”未说明按哪一种计算）。",
                )
            )
    for n, i in enumerate(items):
        keys = rubric.open_field_roles.get(i.row.id, ())
        if i.source != "derived" or not keys:
            continue  # an evaluator's explicit result is not read from the counts
        swap = {FieldRole.NONCOMPLIANT: FieldRole.COMPLIANT, FieldRole.COMPLIANT: FieldRole.NONCOMPLIANT}
        fields = tuple(replace(f, role=swap.get(f.role, f.role)) if f.key in keys else f for f in i.row.fields)
        row = replace(i.row, fields=fields)
        outcome, evidence = derive_row_outcome(row, i.values, rubric)
        if outcome is None or outcome is i.outcome:
            continue
        changed = replace(i, row=row, outcome=outcome, earned=earned_points(row, outcome))
        if (flipped := _decides(rubric, targets, [*items[:n], changed, *items[n + 1 :]], score)) is not verdict:
            labels = "、".join(f"“{f.label}”{_OPEN_ROLES.get(f.role, '')}" for f in i.row.fields if f.key in keys)
            reasons.append(
                Reason(
                    "flag",
                    i.row.id,
                    f"第 {i.row.id} 行{labels}，判定为{i.outcome.value}；按另一读法为{outcome.value}（{evidence}），"
                    f"结论为{flipped}，请核实（原文未说明如何计）。",
                )
            )
    other_scoring = "rescale" if rubric.not_applicable_scoring == "full" else "full"
    other_score, _ = compute_score(replace(rubric, not_applicable_scoring=other_scoring), items)
    if (flipped := _decides(rubric, targets, items, other_score)) is not verdict:
        reasons.append(
            Reason(
                "flag",
                "score",
                f"{_SCORINGS[rubric.not_applicable_scoring]}得 {format_decimal(score)} 分；按另一读法"
                f"（{_SCORINGS[other_scoring]}）得 {format_decimal(other_score)} 分，结论为{flipped}，请核实。",
            )
        )
    return reasons


def _note_reasons(stage: str, items: Sequence[ItemResult]) -> list[Reason]:
    """At 核查 and 认定, one 提示 naming the veto rows concluded without their 说明: "否决项评估结论分为
    “完成”“未完成”或“无该项”，并作说明" (reference line 245). A result derived from the counts has them
    as its explanation; a 自评 is the unit's own filling-in, checked by the later stages."""
    if stage not in VERIFIED_STAGES:
        return []
    bare = [i.row.id for i in items if i.row.category is Category.VETO and i.source == "explicit" and not i.note.strip()]
    if not bare:
        return []
    return [
        Reason(
            "flag",
            "notes",
            f"{stage}阶段否决项 {'、'.join(bare)} 的评估结论没有说明（方案：否决项评估结论分为“完成”“未完成”或“无该项”，"
            "并作说明），请在各该行的说明中补充。",
        )
    ]


def evaluate_county(submission: CountySubmission, rubric: Rubric) -> CountyResult:
    """Evaluate one key county against ``rubric`` (with any params already applied)."""
    targets = evaluate_targets(rubric, submission.targets, submission.header.year)
    items = judge_items(rubric, submission.items)
    score, score_note = compute_score(rubric, items)
    veto = count_veto(targets, items)
    reasons = _baseline_reasons(rubric, targets, submission.header.year) + _target_reasons(targets) + _item_reasons(items)
    reasons += _inferred_reasons(rubric, targets, items, score) + _reading_reasons(rubric, submission, targets, items, score)
    reasons += _note_reasons(submission.header.stage, items)
    if caveat := rubric.profile_caveat(submission.county, submission.header.year):
        reasons.insert(0, Reason("flag", "profile", caveat))
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
    reasons += record_flags(submission, items)
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
        submission.verification,
    )


def record_flags(submission: CountySubmission, items: Sequence[ItemResult]) -> list[Reason]:
    """The 提示 of a submission's verification record and evidence (they never decide a verdict):
    a 核查 without a mine checked on site (the notice: the group goes on site); at 核查 or 认定,
    veto rows judged 完成 or 不涉及 without any evidence listed; every listed evidence file that
    was looked for and not found."""
    flags = []
    on_site = describe_missing_on_site(submission.header.stage, submission.verification)
    if on_site:
        flags.append(Reason("flag", "verification", on_site))
    if submission.header.stage in RECORD_STAGES:
        bare = [
            i.row.id
            for i in items
            if i.row.category is Category.VETO and i.outcome in (Outcome.COMPLETED, Outcome.NOT_APPLICABLE) and not i.supporting
        ]
        if bare:
            flags.append(
                Reason(
                    "flag",
                    "evidence",
                    f"否决项 {'、'.join(bare)} 在{submission.header.stage}中评为完成或不涉及，但未列佐证材料，请列出各该行所依据的材料。",
                )
            )
    missing = [f"{i.row.id} 行的 {f.file}" for i in items for f in i.supporting if f.missing]
    if missing:
        flags.append(Reason("flag", "evidence", f"所列佐证材料找不到：{'、'.join(missing)}（相对于提交文件所在文件夹）。"))
    return flags


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


def evaluate_province(
    submission: ProvinceSubmission,
    rubric: Rubric,
    counties: Sequence[CountyResult | UnitResult],
    key_provinces: Sequence[str] | None = None,
) -> ProvinceResult:
    """Evaluate a key province from its own targets and its key counties' results.

    ``counties`` may hold a county's results at several stages side by side (or ready
    :class:`UnitResult` objects): the latest stage of each county counts. The verdict is
    :func:`decide_province`: 不合格 on any known failure, 待定 while a county named in
    ``submission.key_counties`` has no result or only its 自评 (``missing``, ``pending``, each with a
    ``pending`` reason), else 合格. A result for a county the province does not name is an
    :class:`InputError`. A province not on ``key_provinces``
    (the national list, when given) gets a notice to check, not an error: lists change.
    """
    flat: list[Result] = []
    sources: list[str] = []
    for c in counties:
        stages = c.stages if isinstance(c, UnitResult) else (c,)
        flat += stages
        sources += c.sources if isinstance(c, UnitResult) and c.sources else [""] * len(stages)
    units = group_stages(flat, sources if all(sources) else ())
    unnamed = [u.name for u in units if u.name not in submission.key_counties]
    if unnamed:
        raise InputError(
            f"{submission.header.province}的重点县结果",
            [
                Problem(
                    ("key_counties",), "有评估结果的县不在本省 key_counties 所列重点县之中", n, "、".join(submission.key_counties)
                )
                for n in unnamed
            ],
        )
    have = {u.name for u in units}
    missing = tuple(k for k in submission.key_counties if k not in have)
    targets = evaluate_targets(rubric, submission.targets, submission.header.year)
    reasons = _baseline_reasons(rubric, targets, submission.header.year) + _target_reasons(targets)
    for u in units:
        if u.passed is False:
            reasons.append(
                Reason(
                    "county",
                    u.name,
                    f"重点县 {u.name} 评估结果为不合格（{u.stage}）：{describe_failure(_as_county(u.deciding))}。",
                )
            )
        if u.stage_change:
            reasons.append(Reason("flag", u.name, f"重点县 {u.name}：{u.stage_change}，以{u.stage}结论为准。"))
        # a county whose verdict turns on an uncertain reading: the province's verdict may turn with it
        for flag in (r for r in u.deciding.reasons if r.kind == "flag" and READING_MARK in r.text):
            reasons.append(Reason("flag", u.name, f"重点县 {u.name}（{u.stage}）：{flag.text}"))
    # a county's own 自评 of 合格 is not yet its 评估结果: the province's group reviews it and checks
    # on site (核查), the nation confirms (认定); until then the province cannot be 合格
    pending = tuple(u.name for u in units if u.passed and not u.verified)
    for name in missing:
        reasons.append(Reason("pending", name, f"重点县 {name} 没有评估结果（未提交其评估文件），本省不能评为合格。"))
    for name in pending:
        reasons.append(
            Reason(
                "pending",
                name,
                f"重点县 {name} 只有自评结果（合格），尚未经省级评估小组审核和现场抽查核实（核查）或国家认定，本省不能评为合格。",
            )
        )
    province = submission.header.province
    if key_provinces is not None and not _on_list(province, key_provinces):
        reasons.append(
            Reason(
                "flag",
                "province",
                f"{province}不在2021年确定的非煤矿山重点省（区）名单（{'、'.join(key_provinces)}）中，请核实（名单可能已调整）。",
            )
        )
    passed = decide_province(targets, units, missing, pending)
    return ProvinceResult(rubric, submission.header, targets, tuple(units), missing, passed, tuple(reasons), pending)


def decide_province(
    targets: Sequence[TargetResult], units: Sequence[UnitResult], missing: Sequence[str], pending: Sequence[str]
) -> bool | None:
    """A province's ``passed``: ``False`` (不合格) when one of its targets or one key county's known
    result fails, else ``None`` (待定) while a key county is ``missing`` (no file) or ``pending`` (自评
    only), else ``True`` (合格)."""
    if not all(t.met for t in targets) or any(u.passed is False for u in units):
        return False
    if missing or pending:
        return None
    return True


_PROVINCE_SUFFIXES = ("壮族自治区", "回族自治区", "维吾尔自治区", "自治区", "省", "市")


def _on_list(province: str, names: Sequence[str]) -> bool:
    """Whether a province is on a list that names provinces briefly (河北 for 河北省)."""
    short = next((province.removesuffix(x) for x in _PROVINCE_SUFFIXES if province.endswith(x)), province)
    return province in names or short in names
