"""The evaluation table as frozen, validated objects.

A rubric file (YAML, see ``minesafe/rubrics/``) is the single source of every row, category,
point value, threshold and label. :func:`build_rubric` checks it against the footnote totals the
file declares, so a transcription slip or a bad params override fails loudly, naming the row.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import cached_property
from typing import Any

from minesafe.decimals import parse_percent
from minesafe.exceptions import RubricError


class Category(enum.Enum):
    """The table's three kinds of row. Values are the form's own words."""

    VETO = "否决项"
    SCORED = "评分项"
    REFERENCE = "参考项"

    @property
    def key(self) -> str:
        return self.name.lower()

    @classmethod
    def from_key(cls, key: str) -> Category:
        return cls[key.upper()]


class Outcome(enum.Enum):
    """A target's or a row's result. Values are the form's own words."""

    COMPLETED = "完成"
    FAILED = "未完成"
    NOT_APPLICABLE = "不涉及"


#: Every token accepted for an :class:`Outcome` (matched after stripping, case-insensitively).
OUTCOME_TOKENS: dict[str, Outcome] = {
    "完成": Outcome.COMPLETED,
    "pass": Outcome.COMPLETED,
    "未完成": Outcome.FAILED,
    "fail": Outcome.FAILED,
    "不涉及": Outcome.NOT_APPLICABLE,
    "无该项": Outcome.NOT_APPLICABLE,  # the wording of the plan's 重点任务评估 paragraph
    "na": Outcome.NOT_APPLICABLE,
}


def parse_outcome(token: object) -> Outcome | None:
    """The outcome a token names, or ``None`` when it names none."""
    if not isinstance(token, str):
        return None
    return OUTCOME_TOKENS.get(token.strip().lower())


def category_label(category: Category, points: int = 0) -> str:
    """The form's marker with its name: ``■ 否决项``, ``△/4 评分项``, ``/ 参考项``."""
    marker = {Category.VETO: "■", Category.SCORED: f"△/{points}", Category.REFERENCE: "/"}[category]
    return f"{marker} {category.value}"


#: What every output adds to the category of a row whose marker the transcription lost.
INFERRED_MARK = "（类别为推断）"


def row_category_label(row: Row) -> str:
    """A row's :func:`category_label`, marked :data:`INFERRED_MARK` when its category is inferred."""
    return category_label(row.category, row.points) + (INFERRED_MARK if row.inferred else "")


class FieldKind(enum.Enum):
    COUNT = "count"
    FLAG = "flag"
    RATIO = "ratio"
    TEXT = "text"


class FieldRole(enum.Enum):
    COMPLIANT = "compliant"
    NONCOMPLIANT = "noncompliant"
    INFO = "info"


class TargetRule(enum.Enum):
    """How a target's value is computed; see :mod:`minesafe.targets`."""

    DECREASE = "decrease"
    SHARE_INCREASE = "share_increase"
    AVERAGE_DECREASE = "average_decrease"
    NONE_OCCURRED = "none_occurred"


#: The rules of the targets that compare with a baseline year (T1–T3).
BASELINE_RULES = (TargetRule.DECREASE, TargetRule.SHARE_INCREASE)


class ShareMode(enum.Enum):
    RELATIVE = "relative"  # (s_current - s_baseline) / s_baseline
    POINTS = "points"  # s_current - s_baseline, in percentage points


@dataclass(frozen=True)
class FillField:
    """One blank of a row's 完成情况 text."""

    key: str
    label: str
    kind: FieldKind = FieldKind.COUNT
    role: FieldRole = FieldRole.INFO

    @property
    def decisive(self) -> bool:
        return self.role is not FieldRole.INFO and self.kind is not FieldKind.TEXT


class MeasureRule(enum.Enum):
    """How a measured row compares its fill-in numbers with a threshold of the params."""

    SHARE_AT_LEAST = "share_at_least"  # numerator / denominator ≥ threshold; a denominator of 0 is 不涉及
    COUNT_AT_LEAST = "count_at_least"  # count ≥ threshold
    COUNT_AT_MOST = "count_at_most"  # count ≤ threshold


@dataclass(frozen=True)
class Measure:
    rule: MeasureRule
    fields: tuple[str, ...]  # (numerator, denominator) or (count,)
    threshold: str  # a name in the rubric's thresholds


#: Who set a threshold's number: the national notice, or a province's or a city's params profile.
LEVELS = ("国家", "省", "市")
#: The origin of a threshold the national text leaves open and no profile sets.
EVALUATOR = "评估人员认定"


@dataclass(frozen=True)
class Threshold:
    """A number a measured row is held to, with where it comes from.

    ``value`` is ``None`` when the national text gives no number and no profile sets one: the row
    is then judged 完成/未完成 by the evaluator, never against an invented default.
    """

    name: str
    label: str
    value: Fraction | None
    percent: bool  # a share (written "75%") rather than a count
    source: str = ""  # the document and place the number (or its absence) comes from
    level: str = "国家"  # one of LEVELS
    citation: str = ""  # the reference's own words that give the number
    profile: str = ""  # the params profile that set it, if any
    profile_document: str = ""  # that profile's document: 乌能局发〔2023〕17号《…》

    @property
    def text(self) -> str:
        from minesafe.decimals import format_decimal, format_rule_percent

        if self.value is None:
            return "未规定"
        return format_rule_percent(self.value) if self.percent else format_decimal(self.value)

    @property
    def origin(self) -> str:
        """Who set the number: 国家方案, 省级/市级参数方案 by its document's number
        (市级参数方案 乌能局发〔2023〕17号, a reader's words, not the profile's key), or 评估人员认定."""
        if self.value is None:
            return EVALUATOR
        if not self.profile:
            return f"{self.level}方案"
        number = self.profile_document.split("《", 1)[0].strip() or self.profile_document
        return f"{self.level}级参数方案 {number or self.profile}"


@dataclass(frozen=True)
class Row:
    """One row of 二、重点工作任务完成情况."""

    id: str
    section: int
    section_name: str
    task: int
    task_name: str
    category: Category
    points: int
    requirement: str
    fill_in: str
    fields: tuple[FillField, ...]
    inferred: bool = False
    reconstructed: str = ""
    measure: Measure | None = None
    citation: str = ""  # the sentence of the reference a provisional row is derived from
    line: int = 0  # the row's line in the reference text (docs/reference), where the form has one

    @property
    def place(self) -> str:
        """Where the notice states the row: ``原文第 362 行``, or its citation (a provisional form)."""
        return f"原文第 {self.line} 行" if self.line else f"原文“{self.citation}”" if self.citation else "评估表"

    def field_by_key(self, key: str) -> FillField | None:
        return next((f for f in self.fields if f.key == key), None)

    @property
    def required_fields(self) -> tuple[FillField, ...]:
        """The fill-in values that must all be given for the row to be decided without a result."""
        if self.measure is not None:
            return tuple(f for f in self.fields if f.key in self.measure.fields)
        return tuple(f for f in self.fields if f.decisive)


@dataclass(frozen=True)
class Target:
    """One of the seven 工作目标 (all veto items)."""

    id: str
    name: str
    goal: str
    rule: TargetRule
    inputs: Mapping[str, str]  # submission key -> Chinese label
    fill_in: str
    bound: Fraction | None = None
    mode: ShareMode | None = None
    years: int | None = None
    line: int = 0  # the target's line in the reference text (docs/reference)

    @property
    def ratio_bound(self) -> Fraction:
        """The bound of a ratio target; every rule but "none occurred" has one (check_rubric ensures it)."""
        if self.bound is None:
            raise ValueError(f"target {self.id} ({self.rule.value}) has no bound")
        return self.bound


#: The stages of an evaluation, earliest first: 自评 (the unit's self-assessment), 核查 (the
#: province's review with on-site checks), 认定 (the national determination). A later stage's
#: verdict supersedes an earlier one's; each rubric names the stages its units go through, in the
#: reference's own words.
STAGES = ("自评", "核查", "认定")
#: The stages whose result is an 评估结果 someone other than the unit has checked: the province's
#: on-site 核查 and the national 认定. A province is judged, and list proposals made, on these only.
VERIFIED_STAGES = STAGES[1:]


@dataclass(frozen=True)
class Stage:
    """One stage of an evaluation as the reference words it for this form."""

    token: str  # one of STAGES: what a submission's ``stage:`` says
    label: str  # the reference's name for it, e.g. 自行评估
    citation: str = ""  # the reference sentence that sets the stage up


@dataclass(frozen=True)
class Section:
    number: int
    name: str


@dataclass(frozen=True)
class Totals:
    veto: int
    scored: int
    points: int
    reference: int


@dataclass(frozen=True)
class Rubric:
    """A validated evaluation table. Build with :func:`build_rubric`; never mutate."""

    id: str
    unit: str
    version: str
    title: str
    source: str
    pass_rule: str
    summary_template: str
    footnote: str = ""
    totals: Totals | None = None
    pass_score: Fraction = Fraction(0)
    baseline_year: int = 0  # the table's baseline year (比2020年)
    named_baseline_year: int = 0  # the year the form's target names say; params move baseline_year, not the words
    baseline_years_before: int = 0  # the plan text's "较N年前", where the form has one
    baseline_reading: str = "fixed-2020"  # or "two-years-before": see baseline_for
    targets: tuple[Target, ...] = ()
    sections: tuple[Section, ...] = ()
    rows: tuple[Row, ...] = ()
    inferred_note: str = ""
    county_rubric: str = ""
    not_applicable_scoring: str = "full"
    overrides: Mapping[str, Any] = field(default_factory=dict)
    thresholds: Mapping[str, Threshold] = field(default_factory=dict)
    provisional: str = ""  # why the form is provisional; empty for an official form
    source_file: str = ""  # where the rubric was read from: a package path or the file as given
    source_sha256: str = ""  # SHA-256 of the rubric file's bytes as read
    profile: str = ""  # the params profile applied (see minesafe.params), e.g. wuhai-2023
    profile_file: str = ""  # the profile's file, when a submission named it (``profile:``) and it was read by name
    profile_sha256: str = ""  # SHA-256 of that profile file's bytes as read
    #: what the profile governs: its document, the evaluation years and the units (empty: any)
    profile_scope: tuple[str, tuple[int, ...], tuple[str, ...]] = ("", (), ())
    stages: Mapping[str, Stage] = field(default_factory=lambda: {t: Stage(t, t) for t in STAGES})
    pass_score_lines: tuple[int, ...] = ()  # the reference lines that set the pass score
    #: fill-in values whose role the notice leaves open (row id -> field keys): params may read them
    #: the other way without leaving the national form (see minesafe.params)
    open_field_roles: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: the name of a non-national rule set (params ``national: false``); empty for the national form
    rule_set: str = ""
    #: each change a non-national rule set makes to what the notice fixes, in Chinese
    departures: tuple[str, ...] = ()

    @property
    def rule_set_notice(self) -> str:
        """``非国家评估表口径：<name>（…；…）`` listing each change, for every output; empty for the
        national form."""
        if not self.rule_set:
            return ""
        changes = "；".join(self.departures) or "未改动国家评估表规定的类别、填报项作用、合格分数线和目标阈值"
        return f"非国家评估表口径：{self.rule_set}（{changes}）"

    @property
    def notices(self) -> list[str]:
        """What a reader of any output must not miss about the form itself: a provisional form, a
        non-national rule set."""
        notices = [f"【暂行评估表】{self.provisional}"] if self.provisional else []
        return notices + ([f"【{self.rule_set_notice}】"] if self.rule_set else [])

    def stage_label(self, token: str) -> str:
        """A stage as the report names it: ``核查（实施评估）``."""
        stage = self.stages.get(token)
        return token if stage is None or stage.label == token else f"{token}（{stage.label}）"

    @property
    def unit_key(self) -> str:
        """The submission key naming the evaluated unit: ``county`` or ``enterprise``."""
        return "enterprise" if self.unit == "enterprise" else "county"

    @property
    def unit_label(self) -> str:
        return {"enterprise": "企业", "province": "省（区）"}.get(self.unit, "县（市、区）")

    def derivable(self, row: Row) -> bool:
        """Whether fill-in counts can decide ``row`` without an explicit result: it has decisive
        values, and a measured row's threshold has a number."""
        if row.measure is not None and self.thresholds[row.measure.threshold].value is None:
            return False
        return bool(row.required_fields)

    def baseline_for(self, year: int) -> int:
        """The year the counts of an evaluated year are compared with: the table's fixed year
        (``fixed-2020``, the default) or ``baseline_years_before`` years earlier (``two-years-before``)."""
        if self.baseline_reading == "two-years-before" and self.baseline_years_before:
            return year - self.baseline_years_before
        return self.baseline_year

    def baseline_label(self, year: int | None = None) -> str:
        """The baseline year as labels name it: ``2021年`` for an evaluated ``year``; without one
        (a blank template), the table's year, or ``评估年度前2年`` under ``two-years-before``."""
        if year is not None:
            return f"{self.baseline_for(year)}年"
        if self.baseline_reading == "two-years-before" and self.baseline_years_before:
            return f"评估年度前{self.baseline_years_before}年"
        return f"{self.baseline_year}年"

    def name_target(self, target: Target, year: int | None = None) -> Target:
        """``target`` with its name (the form's words, e.g. ``地下矿山数量比2020年下降比例``) naming the
        baseline year used for ``year`` instead of the table's (see :meth:`baseline_label`)."""
        if target.rule not in BASELINE_RULES:
            return target  # only these compare with the baseline year
        name = target.name.replace(f"{self.named_baseline_year or self.baseline_year}年", self.baseline_label(year))
        return target if name == target.name else replace(target, name=name)

    def baseline_caveat(self, year: int) -> str:
        """When the table's fixed baseline year and the text's "较N年前" disagree for ``year``: which
        reading is in force, the year the other compares with and the counts it needs, and how to
        switch; empty when they agree or the form has no such text."""
        if not self.baseline_years_before or year == self.baseline_year + self.baseline_years_before:
            return ""
        before = year - self.baseline_years_before
        counts = "、".join(label for t in self.targets if t.rule in BASELINE_RULES for label in t.inputs.values())
        table, text = f"评估表“比{self.baseline_year}年”", f"方案正文“较{self.baseline_years_before}年前”"
        if self.baseline_reading == "two-years-before":
            return (
                f"基准年按{text}取{before}年（现行读法 baseline_reading: two-years-before）；{table}。"
                f"按评估表读法须填报{self.baseline_year}年的{counts}，并去掉参数 baseline_reading 后重新评估，请核实。"
            )
        return (
            f"基准年按{table}取{self.baseline_year}年（现行读法 fixed-2020）；{text}即{before}年。"
            f"按正文读法须填报{before}年的{counts}（代替{self.baseline_year}年的数量），"
            f"并用参数文件 two-years-before.yaml（baseline_reading: two-years-before）重新评估，请核实。"
        )

    def profile_caveat(self, unit: str, year: int) -> str:
        """A caveat when the profile applied governs other years or units than ``unit`` in ``year``
        (a city's measures are that city's, for the year of its document); empty when it fits."""
        document, years, units = self.profile_scope
        in_year = not years or year in years
        in_units = not units or any(unit == u or u.endswith(unit) or unit.endswith(u) for u in units)
        if not self.profile or (in_year and in_units):
            return ""
        scope = "、".join(map(str, years)) + "年的" if years else ""
        scope += "、".join(units) if units else "各单位"
        return (
            f"参数方案（{document or self.profile}）适用于{scope}；本单位为 {unit} {year}年，不在其适用范围内："
            "该方案设定的阈值和增补的评估行不是本单位的评估依据，请核实或改用本地区的参数方案。"
        )

    def row_by_id(self, row_id: str) -> Row | None:
        return self._rows_by_id.get(row_id)

    @cached_property
    def _rows_by_id(self) -> dict[str, Row]:
        # Cached in the instance's __dict__, which a frozen dataclass leaves writable; a
        # dataclasses.replace makes a new instance and so a new index. The first row of an id wins.
        return {r.id: r for r in reversed(self.rows)}

    def rows_of(self, category: Category) -> Iterator[Row]:
        return (r for r in self.rows if r.category is category)

    @property
    def total_points(self) -> int:
        return sum(r.points for r in self.rows_of(Category.SCORED))

    @property
    def target_inputs(self) -> dict[str, tuple[Target, str]]:
        """Every target input key with its target and label, in table order."""
        return {key: (t, label) for t in self.targets for key, label in t.inputs.items()}


def build_rubric(data: Mapping[str, Any], source: str, targets_from: Rubric | None = None) -> Rubric:
    """Validate a parsed rubric document and freeze it.

    ``targets_from`` supplies the targets of a rubric that declares ``targets_from`` (a province
    form reuses its county form's targets). Raises :class:`RubricError` listing every problem.
    """
    if not isinstance(data, Mapping):
        raise RubricError(source, [f"文件内容应为评估表的键值映射（当前为 {type(data).__name__}）"])
    problems: list[str] = []

    def need(key: str, kind: type, where: Mapping[str, Any] = data, label: str = "") -> Any:
        value = where.get(key)
        if not isinstance(value, kind) or (isinstance(value, str) and not value.strip()):
            problems.append(f"{label}缺少或写错了 {key}（应为{_KIND_NAMES[kind]}，当前值：{value!r}）")
            return kind()
        return value

    rubric_id = need("id", str)
    unit = need("unit", str)
    if "targets_from" in data:
        if targets_from is None or targets_from.id != data["targets_from"]:
            problems.append(f"targets_from 指向的评估表 {data['targets_from']!r} 未能载入")
            targets: tuple[Target, ...] = ()
        else:
            targets = targets_from.targets
    else:
        targets = tuple(_build_targets(data.get("targets"), problems))
    thresholds = _build_thresholds(data.get("thresholds") or {}, problems)
    sections, rows = _build_rows(data.get("sections"), problems)
    inferred = data.get("inferred_categories") or {}
    if not isinstance(inferred, Mapping):
        problems.append(f"inferred_categories 应为映射，如 note: 说明（当前值：{inferred!r}）")
        inferred = {}
    base = targets_from
    totals = None
    if "totals" in data:
        t = need("totals", dict)
        totals = Totals(*(need(k, int, t, "totals 中") for k in ("veto", "scored", "points", "reference")))
    rubric = Rubric(
        id=rubric_id,
        unit=unit,
        version=str(data.get("version", "")),
        title=need("title", str),
        source=need("source", str),
        pass_rule=need("pass_rule", str),
        summary_template=str(data.get("summary_template", "")),
        footnote=str(data.get("footnote", "")),
        totals=totals,
        pass_score=_number(data, "pass_score", 0, problems, "合格分数线（数，如 80）"),
        baseline_year=int(
            _number(data, "baseline_year", base.baseline_year if base else 0, problems, "基准年份（整数）", whole=True)
        ),
        named_baseline_year=(
            base.named_baseline_year
            if base and "targets_from" in data
            else int(_number(data, "baseline_year", 0, [], "", whole=True))
        ),
        baseline_years_before=int(
            _number(
                data, "baseline_years_before", base.baseline_years_before if base else 0, problems, "年数（整数）", whole=True
            )
        ),
        baseline_reading=targets_from.baseline_reading if targets_from else "fixed-2020",
        # a province is judged on its counties' results: their rule set is the province's too
        rule_set=targets_from.rule_set if targets_from else "",
        departures=targets_from.departures if targets_from else (),
        targets=targets,
        sections=tuple(sections),
        rows=tuple(rows),
        inferred_note=str(inferred.get("note", "")),
        county_rubric=str(data.get("county_rubric", "")),
        thresholds=thresholds,
        provisional=str(data.get("provisional", "")).strip(),
        source_file=source,
        stages=_build_stages(data.get("stages"), problems),
        pass_score_lines=tuple(_lines(data.get("pass_score_lines", []), "pass_score_lines", problems)),
        open_field_roles=_build_open_roles(data.get("open_field_roles") or {}, problems),
    )
    if not problems:  # totals of a half-read table would only repeat the problems above
        problems.extend(check_rubric(rubric))
    if problems:
        raise RubricError(source, problems)
    return rubric


_KIND_NAMES = {str: "文字", int: "整数", dict: "映射", list: "列表"}


def _number(data: Mapping[str, Any], key: str, default: int, problems: list[str], expected: str, whole: bool = False) -> Fraction:
    """A number of the rubric's top level (a YAML number, never text); its ``default`` when absent."""
    value = data.get(key, default)
    kinds = (int,) if whole else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        problems.append(f"{key} 应为{expected}（当前值：{value!r}）")
        return Fraction(default)
    return Fraction(value)


def _lines(raw: Any, key: str, problems: list[str]) -> list[int]:
    if isinstance(raw, list) and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in raw):
        return raw
    problems.append(f"{key} 应为原文行号的列表，如 [253, 386]（当前值：{raw!r}）")
    return []


def _build_open_roles(raw: Any, problems: list[str]) -> dict[str, tuple[str, ...]]:
    """``open_field_roles: {1-1a: [in_progress]}``: the fill-in values the notice leaves open."""
    if isinstance(raw, Mapping) and all(isinstance(v, list) and all(isinstance(k, str) for k in v) for v in raw.values()):
        return {str(row): tuple(keys) for row, keys in raw.items()}
    problems.append(f"open_field_roles 应为映射：行编号 → 填报项键的列表，如 1-1a: [in_progress]（当前值：{raw!r}）")
    return {}


def _build_targets(raw: Any, problems: list[str]) -> Iterator[Target]:
    if not isinstance(raw, list) or not raw:
        problems.append("targets 应为工作目标的列表")
        return
    for i, t in enumerate(raw):
        where = f"targets[{i}]"
        try:
            rule = TargetRule(t["rule"])
            inputs = t["inputs"]
            if not isinstance(inputs, dict) or not inputs:
                raise ValueError("inputs 应为非空映射")
            yield Target(
                id=str(t["id"]),
                name=str(t["name"]),
                goal=str(t["goal"]),
                rule=rule,
                inputs={str(k): str(v) for k, v in inputs.items()},
                fill_in=str(t["fill_in"]),
                bound=parse_percent(t["bound"]) if "bound" in t else None,
                mode=ShareMode(t["mode"]) if "mode" in t else None,
                years=int(t["years"]) if "years" in t else None,
                line=int(t.get("line", 0)),
            )
        except (KeyError, ValueError, TypeError) as exc:
            problems.append(f"{where}（{t.get('id', '?') if isinstance(t, dict) else t}）写法有误：{exc}")


def _build_stages(raw: Any, problems: list[str]) -> dict[str, Stage]:
    """The stages a form's units go through (``stages:``), in the order of :data:`STAGES`."""
    if raw is None:
        return {t: Stage(t, t) for t in STAGES}
    if not isinstance(raw, Mapping) or not raw:
        problems.append(f"stages 应为映射，键为 {'、'.join(STAGES)} 之一，如 自评: {{label: 自行评估, citation: 原文}}")
        return {}
    stages = {}
    for token in STAGES:
        entry = raw.get(token)
        if entry is None:
            continue
        if not isinstance(entry, Mapping) or not isinstance(entry.get("label"), str):
            problems.append(f"stages.{token} 应为映射，含 label（原文中的名称）和 citation（依据原文）")
            continue
        stages[token] = Stage(token, entry["label"].strip(), str(entry.get("citation", "")).strip())
    for token in raw:
        if token not in STAGES:
            problems.append(f"stages 中的 {token} 不是评估阶段（应为 {'、'.join(STAGES)} 之一）")
    return stages


def _build_thresholds(raw: Any, problems: list[str]) -> dict[str, Threshold]:
    if not isinstance(raw, Mapping):
        problems.append(f"thresholds 应为映射：阈值名 → {{value, label, source}}（当前为 {type(raw).__name__}）")
        return {}
    thresholds = {}
    for name, spec in raw.items():
        try:
            if not isinstance(spec, Mapping):
                raise TypeError(f"应为映射，含 value、label（当前为 {type(spec).__name__}）")
            thresholds[name] = build_threshold(str(name), spec)
        except (KeyError, ValueError, TypeError) as exc:
            problems.append(f"阈值 {name} 写法有误：{exc}")
    return thresholds


def build_threshold(name: str, spec: Mapping[str, Any], level: str = "国家", profile: str = "") -> Threshold:
    """A threshold from its document form: ``value`` ("75%" a share, 12 a count, or null with
    ``kind: share|count`` when no number is given), ``label``, ``source``, ``citation``, ``level``."""
    value = spec["value"]
    if value is None:
        kind = spec["kind"]
        if kind not in ("share", "count"):
            raise ValueError(f"kind 应为 share 或 count（当前 {kind!r}）")
        percent, number = kind == "share", None
    else:
        percent = isinstance(value, str)
        number = parse_percent(value) if percent else Fraction(int(value))
    level = str(spec.get("level", level))
    if level not in LEVELS:
        raise ValueError(f"level 应为 {'、'.join(LEVELS)} 之一（当前 {level!r}）")
    return Threshold(
        name, str(spec["label"]), number, percent, str(spec.get("source", "")), level, str(spec.get("citation", "")), profile
    )


def _build_measure(raw: Any) -> Measure | None:
    if raw is None:
        return None
    rule = MeasureRule(raw["rule"])
    keys = (raw["numerator"], raw["denominator"]) if rule is MeasureRule.SHARE_AT_LEAST else (raw["count"],)
    return Measure(rule, tuple(str(k) for k in keys), str(raw["threshold"]))


def _build_rows(raw: Any, problems: list[str]) -> tuple[list[Section], list[Row]]:
    """Sections, their tasks and rows; every malformed part is a problem (where it is), the rest is read."""
    sections: list[Section] = []
    rows: list[Row] = []
    if raw is None:  # a form of targets only (the province's)
        return sections, rows
    if not isinstance(raw, list):
        problems.append(f"sections 应为部分的列表，每部分含 number、name、tasks（当前为 {type(raw).__name__}）")
        return sections, rows
    for i, s in enumerate(raw):
        where = f"sections[{i}]"
        if not _numbered(s):
            problems.append(f"{where} 应为映射，含整数 number、文字 name 和 tasks 列表（当前值：{_short(s)}）")
            continue
        section = Section(s["number"], str(s["name"]))
        sections.append(section)
        tasks = s.get("tasks", [])
        if not isinstance(tasks, list):
            problems.append(f"{where}（第 {section.number} 部分）的 tasks 应为任务的列表（当前为 {type(tasks).__name__}）")
            continue
        for j, t in enumerate(tasks):
            rows += _build_task_rows(t, section, f"{where}.tasks[{j}]", problems)
    return sections, rows


def _build_task_rows(task: Any, section: Section, where: str, problems: list[str]) -> list[Row]:
    """The rows of one task of ``section`` (``where``: the task's place, for the problems); a
    malformed task is a problem and gives none, a malformed row is a problem and the others are read."""
    task_rows = task.get("rows", []) if isinstance(task, Mapping) else None
    if not _numbered(task) or not isinstance(task_rows, list):
        problems.append(f"{where} 应为映射，含整数 number、文字 name 和 rows 列表（当前值：{_short(task)}）")
        return []
    rows: list[Row] = []
    for k, r in enumerate(task_rows):
        if not isinstance(r, Mapping):
            problems.append(f"{where}.rows[{k}] 应为一行的映射（当前值：{_short(r)}）")
            continue
        try:
            rows.append(build_row(r, section, task["number"], str(task["name"])))
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            problems.append(f"第 {r.get('id', '?')} 行写法有误：缺少或写错了 {exc}")
    return rows


def _numbered(part: Any) -> bool:
    """A section or task: a mapping with a whole ``number`` and a ``name``."""
    return (
        isinstance(part, Mapping)
        and isinstance(part.get("number"), int)
        and not isinstance(part.get("number"), bool)
        and isinstance(part.get("name"), str)
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def build_row(r: Mapping[str, Any], section: Section, task: int, task_name: str) -> Row:
    """One row from its document form (see ``minesafe/rubrics/``); raises KeyError, ValueError or
    TypeError naming what is missing or wrong."""
    return Row(
        id=str(r["id"]),
        section=section.number,
        section_name=section.name,
        task=task,
        task_name=task_name,
        category=Category.from_key(r["category"]),
        points=int(r.get("points", 0)),
        requirement=str(r["requirement"]),
        fill_in=str(r["fill_in"]),
        fields=tuple(
            FillField(
                key=str(f["key"]),
                label=str(f["label"]),
                kind=FieldKind(f.get("kind", "count")),
                role=FieldRole(f.get("role", "info")),
            )
            for f in r.get("fields", [])
        ),
        inferred=bool(r.get("inferred", False)),
        reconstructed=str(r.get("reconstructed", "")),
        measure=_build_measure(r.get("measure")),
        citation=str(r.get("citation", "")),
        line=int(r.get("line", 0)),
    )


def check_rubric(rubric: Rubric) -> list[str]:
    """Every structural problem of a rubric, in Chinese, naming the row. Empty when sound."""
    problems: list[str] = []
    seen: set[str] = set()
    for item_id in [t.id for t in rubric.targets] + [r.id for r in rubric.rows]:
        if item_id in seen:
            problems.append(f"编号 {item_id} 重复出现")
        seen.add(item_id)
    input_keys = [k for t in rubric.targets for k in t.inputs]
    for key in {k for k in input_keys if input_keys.count(k) > 1}:
        problems.append(f"工作目标的填报项 {key} 重复出现")
    for target in rubric.targets:
        problems.extend(_check_target(target))
    for row in rubric.rows:
        problems.extend(check_row(rubric, row))
    if rubric.totals is not None:
        problems.extend(_check_totals(rubric, rubric.totals))
    if rubric.rows and not rubric.pass_score:
        problems.append("缺少合格分数线 pass_score")
    if rubric.rows and "{score}" not in rubric.summary_template:
        problems.append("summary_template 须含 {score} 等占位符")
    return problems


def check_row(rubric: Rubric, row: Row) -> list[str]:
    """Every structural problem of one row of ``rubric``, in Chinese, naming the row."""
    problems: list[str] = []
    expected_prefix = f"{row.section}-{row.task}"
    if not row.id.startswith(expected_prefix) or len(row.id) != len(expected_prefix) + 1:
        problems.append(f"第 {row.id} 行：编号应为“{expected_prefix}”加一个字母")
    if row.category is Category.SCORED and row.points <= 0:
        problems.append(f"第 {row.id} 行：评分项必须有大于0的分值（当前 {row.points}）")
    if row.category is not Category.SCORED and row.points:
        problems.append(f"第 {row.id} 行：{row.category.value}不应有分值（当前 {row.points}）")
    keys = [f.key for f in row.fields]
    for key in {k for k in keys if keys.count(k) > 1 or k in ("result", "note")}:
        problems.append(f"第 {row.id} 行：填报项 {key} 重复或与保留字 result/note 冲突")
    if not row.requirement.strip() or not row.fill_in.strip():
        problems.append(f"第 {row.id} 行：任务分解和完成情况不能为空")
    if row.measure is not None:
        problems.extend(_check_measure(rubric, row))
    if rubric.provisional and not row.citation:
        problems.append(f"第 {row.id} 行：暂行评估表的每一行都须注明依据的原文（citation）")
    return problems


def _check_measure(rubric: Rubric, row: Row) -> list[str]:
    m = row.measure
    if m is None:
        return []
    problems = [f"第 {row.id} 行：计量项 {key} 不在填报项中" for key in m.fields if row.field_by_key(key) is None]
    threshold = rubric.thresholds.get(m.threshold)
    if threshold is None:
        problems.append(f"第 {row.id} 行：阈值 {m.threshold} 未定义")
    elif threshold.percent != (m.rule is MeasureRule.SHARE_AT_LEAST):
        problems.append(f"第 {row.id} 行：阈值 {m.threshold} 的类型与规则 {m.rule.value} 不符（比例用百分数，数量用整数）")
    return problems


def _check_target(target: Target) -> list[str]:
    where = f"工作目标 {target.id}"
    wants: dict[TargetRule, tuple[int, bool]] = {  # rule -> (number of inputs, needs a bound)
        TargetRule.DECREASE: (1, True),
        TargetRule.SHARE_INCREASE: (2, True),
        TargetRule.AVERAGE_DECREASE: (1, True),
        TargetRule.NONE_OCCURRED: (0, False),
    }
    count, needs_bound = wants[target.rule]
    problems = []
    if count and len(target.inputs) != count:
        problems.append(f"{where}：规则 {target.rule.value} 需要 {count} 个填报项（当前 {len(target.inputs)} 个）")
    if needs_bound and (target.bound is None or target.bound <= 0):
        problems.append(f"{where}：规则 {target.rule.value} 需要大于0的 bound（如 20%）")
    if target.rule is TargetRule.SHARE_INCREASE and target.mode is None:
        problems.append(f"{where}：占比规则需要 mode（relative 或 points）")
    if target.rule is TargetRule.AVERAGE_DECREASE and not (target.years and target.years > 0):
        problems.append(f"{where}：平均水平规则需要大于0的 years")
    return problems


def _check_totals(rubric: Rubric, totals: Totals) -> list[str]:
    """Compare with the footnote: targets count as veto items."""
    counted = {
        "veto": len(rubric.targets) + sum(1 for _ in rubric.rows_of(Category.VETO)),
        "scored": sum(1 for _ in rubric.rows_of(Category.SCORED)),
        "points": rubric.total_points,
        "reference": sum(1 for _ in rubric.rows_of(Category.REFERENCE)),
    }
    names = {"veto": "否决项（含7项工作目标）", "scored": "评分项", "points": "评分项总分", "reference": "参考项"}
    problems = []
    for key, name in names.items():
        if counted[key] != getattr(totals, key):
            ids = ""
            if key != "points":
                ids = "，涉及的行：" + " ".join(r.id for r in rubric.rows_of(Category.from_key(key)))
            problems.append(f"{name}合计为 {counted[key]}，与表注规定的 {getattr(totals, key)} 不符{ids}")
    return problems
