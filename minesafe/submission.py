"""Submissions: what a county or province reports, validated against its rubric.

The contract (documented in ``docs/submission.md``) is a mapping, read from YAML, JSON or an Excel
workbook by :mod:`minesafe.files`. :func:`build_county_submission` and
:func:`build_province_submission` check every value and report all problems at once, each with
its key path; the io layer turns key paths into file places (YAML keys or Excel cells).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import pairwise
from typing import Any

from minesafe.decimals import parse_decimal
from minesafe.exceptions import KeyPath, ProblemCollector, locate_key_path
from minesafe.names import INVISIBLE_NAME, normalize_name, read_names
from minesafe.rubric import STAGES, Category, FieldKind, Outcome, Row, Rubric, Target, TargetRule, parse_outcome
from minesafe.verification import EvidenceFile, VerificationRecord, build_evidence, build_submitted, build_verification

FLAG_TOKENS = {"是": True, "否": False, "true": True, "false": False, "yes": True, "no": False}

Value = int | bool | Fraction | str


@dataclass(frozen=True)
class CountPair:
    """A count at the baseline year and at the end of the evaluated year."""

    baseline: int
    current: int


@dataclass(frozen=True)
class DeathHistory:
    """Deaths in each of the years before the evaluated year (oldest first) and in it."""

    previous: tuple[int, ...]
    current: int


@dataclass(frozen=True)
class Occurrences:
    """How many events of a kind happened, and how many died in them."""

    count: int
    deaths: int


TargetInput = CountPair | DeathHistory | Occurrences


@dataclass(frozen=True)
class ItemEntry:
    """What a submission says about one table row."""

    row_id: str
    result: Outcome | None = None
    note: str = ""
    values: Mapping[str, Value] = field(default_factory=dict)
    evidence: tuple[EvidenceFile, ...] = ()  # the row's 佐证材料 (see minesafe.verification)


@dataclass(frozen=True)
class Header:
    rubric: str
    province: str
    year: int
    stage: str = STAGES[0]  # see minesafe.rubric.STAGES
    demo: bool = False
    scenario: Mapping[str, Any] | None = None  # set when the file is an exported what-if scenario
    narrative: Mapping[str, str] = field(default_factory=dict)  # NARRATIVE_KEYS -> the office's own text
    submitted: dt.date | None = None  # when the file was submitted (``submitted:``), if it says


@dataclass(frozen=True)
class CountySubmission:
    header: Header
    county: str
    targets: Mapping[str, TargetInput]
    items: Mapping[str, ItemEntry]
    verification: VerificationRecord | None = None  # the 核查/认定 record (see minesafe.verification)


@dataclass(frozen=True)
class ProvinceSubmission:
    header: Header
    targets: Mapping[str, TargetInput]
    counties: tuple[str, ...]  # paths as written, relative to the province file (empty: found by name)
    key_counties: tuple[str, ...] = ()  # the key counties the nation set for the province, by name


@dataclass(frozen=True)
class TargetField:
    """One number of the targets part of a submission: where it sits and what it is called."""

    path: tuple[str | int, ...]  # below ``targets``, e.g. ("deaths", "previous_5_years", 0)
    target: Target
    label: str


def target_fields(rubric: Rubric, year: int | None = None) -> list[TargetField]:
    """Every number a submission gives for the targets, in table order; labels and target names
    name the baseline year used for the evaluated ``year`` (see :meth:`Rubric.baseline_label`)."""
    fields = []
    for target in (rubric.name_target(t, year) for t in rubric.targets):
        for key, label in target.inputs.items():
            if target.rule is TargetRule.AVERAGE_DECREASE:
                years = target.years or 0
                fields += [
                    TargetField((key, "previous_5_years", i), target, f"前{years}年中第{i + 1}年{label}（由远及近，人）")
                    for i in range(years)
                ]
                fields.append(TargetField((key, "current"), target, f"评估年度{label}（人）"))
            elif target.rule is TargetRule.NONE_OCCURRED:
                fields.append(TargetField((key, "count"), target, f"{label}起数"))
                fields.append(TargetField((key, "deaths"), target, f"{label}死亡人数"))
            else:
                fields.append(TargetField((key, "baseline"), target, f"{rubric.baseline_label(year)}{label}（座）"))
                fields.append(TargetField((key, "current"), target, f"评估年度年末{label}（座）"))
    return fields


_REQUIRED = object()


def value_at(node: Any, path: tuple, default: Any = _REQUIRED) -> Any:
    """The value at a path of keys and list indexes, e.g. a :class:`TargetField`'s in ``targets``.

    Without ``default`` a missing step raises ``KeyError``; with it, ``default`` is returned.
    """
    for part in path:
        if (isinstance(node, Mapping) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            node = node[part]
        elif default is _REQUIRED:
            raise KeyError(part)
        else:
            return default
    return node


def put_value(tree: dict, path: tuple, value: Any) -> None:
    """Set the value at a path of keys and list indexes, creating mappings and lists on the way
    (a list is padded with None up to the index)."""
    node: Any = tree
    for here, after in pairwise(path):
        blank: Any = [] if isinstance(after, int) else {}
        if isinstance(node, list):
            node.extend([None] * (here + 1 - len(node)))
            node[here] = node[here] if node[here] is not None else blank
            node = node[here]
        else:
            node = node.setdefault(here, blank)
    if isinstance(node, list):
        node.extend([None] * (path[-1] + 1 - len(node)))
    node[path[-1]] = value


_HEADER_KEYS = {"rubric", "profile", "province", "year", "stage", "demo", "scenario", "narrative", "submitted", "baseline_label"}
#: The narrative an office writes itself for its 评估报告 (optional): key -> what it is.
NARRATIVE_KEYS = {"work": "工作开展情况", "problems": "存在的主要问题", "measures": "下一步整改措施"}


def build_county_submission(
    data: Any,
    rubric: Rubric,
    source: str = "（内存中的数据）",
    locate: Callable[[KeyPath], str] = locate_key_path,
) -> CountySubmission:
    """Validate a county submission mapping; raise :class:`InputError` listing every problem."""
    problems = ProblemCollector()
    data = _require_mapping(data, problems)
    header = _build_header(data, rubric, problems)
    county = _require_name(data, (rubric.unit_key,), f"{rubric.unit_label}名称", problems)
    extra = {"group"} if rubric.unit == "enterprise" else set()  # an enterprise may name its group
    _reject_unknown(data, (), _HEADER_KEYS | extra | {rubric.unit_key, "targets", "items", "verification"}, problems)
    targets = _build_targets(data.get("targets"), rubric, header.year or None, problems)
    items = _build_items(data.get("items"), rubric, problems)
    record = build_verification(data.get("verification"), header.stage, header.year, [r.id for r in rubric.rows], problems)
    problems.raise_if_any(source, locate)
    return CountySubmission(header, county, targets, items, record)


def build_province_submission(
    data: Any,
    rubric: Rubric,
    source: str = "（内存中的数据）",
    locate: Callable[[KeyPath], str] = locate_key_path,
) -> ProvinceSubmission:
    """Validate a province submission mapping; county files are read by the io layer."""
    problems = ProblemCollector()
    data = _require_mapping(data, problems)
    header = _build_header(data, rubric, problems)
    _reject_unknown(data, (), _HEADER_KEYS | {"targets", "counties", "key_counties"}, problems)
    targets = _build_targets(data.get("targets"), rubric, header.year or None, problems)
    key_counties = _build_names(data.get("key_counties"), ("key_counties",), problems)
    counties = data.get("counties")
    paths: list[str] = []
    if counties is None or counties == []:
        pass  # the key counties' files are found by the names declared in them (minesafe.results.evaluate)
    elif not isinstance(counties, list):
        problems.add(
            ("counties",), "重点县文件列表写法有误", counties, "重点县提交文件路径的列表（相对于本文件）；可省略，按县名查找"
        )
    else:
        for i, path in enumerate(counties):
            if isinstance(path, str) and path.strip():
                paths.append(path.strip())
            else:
                problems.add(("counties", i), "重点县文件路径写法有误", path, "文件路径文字，如 counties/甲县.yaml")
        for dup in sorted({p for p in paths if paths.count(p) > 1}):
            problems.add(("counties",), "同一个重点县文件列了两次", dup, "每个文件只列一次")
    problems.raise_if_any(source, locate)
    return ProvinceSubmission(header, targets, tuple(paths), key_counties)


def _build_names(raw: Any, path: KeyPath, problems: ProblemCollector) -> tuple[str, ...]:
    """The key counties a province names: a non-empty list of distinct names, each normalised
    (:func:`minesafe.names.normalize_name`): two entries that differ only by invisible characters
    or look-alike ideographs name one county twice."""
    if not isinstance(raw, list) or not raw:
        problems.add(
            path,
            "缺少本省重点县名单",
            raw,
            "国家确定的本省全部重点县名称（与重点县文件中的县名一致），至少1个",
            "列表，如 [宽城县, 平泉市]",
        )
        return ()
    names = read_names([((*path, i), name) for i, name in enumerate(raw)], "重点县名称", "县（市、区）名称文字", problems)
    return tuple(names.values())


def _require_mapping(data: Any, problems: ProblemCollector) -> Mapping[str, Any]:
    if isinstance(data, Mapping):
        return data
    problems.add(
        (),
        "文件内容应为键值映射",
        type(data).__name__ if data is not None else None,
        "提交文件的内容",
        "YAML/JSON 映射，见提交格式说明",
    )
    return {}


def _require_name(data: Mapping[Any, Any], path: KeyPath, what: str, problems: ProblemCollector) -> str:
    """A unit's or province's name, normalised (:func:`minesafe.names.normalize_name`); a problem
    when it is missing or has nothing visible."""
    value = data.get(path[-1])
    if not (isinstance(value, str) and value.strip()):
        problems.add(path, f"缺少{what}", value, f"{what}（文字）")
        return ""
    if not normalize_name(value):
        problems.add(path, INVISIBLE_NAME.format(what=what), value, f"{what}（文字）")
    return normalize_name(value)


def _build_header(data: Mapping[str, Any], rubric: Rubric, problems: ProblemCollector) -> Header:
    rubric_id = data.get("rubric")
    if rubric_id != rubric.id:
        problems.add(("rubric",), "评估表编号与所用评估表不符", rubric_id, rubric.id)
    profile = data.get("profile")
    if profile is not None and profile != rubric.profile:  # filled against one profile, judged by another
        problems.add(
            ("profile",),
            "提交文件所按的参数方案与评估所用的不符" if rubric.profile else "提交文件按参数方案填报，但评估未使用参数方案",
            profile,
            rubric.profile or "与评估所用参数文件一致的参数方案名称，或删去参数方案",
        )
    province = _require_name(data, ("province",), "省（区）名称", problems)
    year = data.get("year")
    earliest = rubric.baseline_year + 1
    if isinstance(year, str) and re.fullmatch(r"[0-9]{4}", year.strip()):
        year = int(year.strip())
    if not (isinstance(year, int) and not isinstance(year, bool) and earliest <= year <= 2100):
        problems.add(
            ("year",), "评估年度写法有误", year, f"{earliest}～2100 之间的四位整数年份（基准年为{rubric.baseline_label()}）"
        )
        year = 0
    stage = data.get("stage", STAGES[0])
    if stage not in rubric.stages:
        problems.add(("stage",), "评估阶段写法有误", stage, "、".join(rubric.stage_label(t) for t in rubric.stages) + " 之一")
    demo = data.get("demo", False)
    if not isinstance(demo, bool):
        problems.add(("demo",), "示例数据标记写法有误", demo, "是 或 否", "true 或 false")
        demo = False
    scenario = data.get("scenario")
    if scenario is not None and not (isinstance(scenario, Mapping) and isinstance(scenario.get("based_on_sha256"), str)):
        problems.add(("scenario",), "假设情景说明写法有误", scenario, "由假设分析面板导出的映射，含 based_on_sha256")
        scenario = None
    narrative = _build_narrative(data.get("narrative"), problems)
    submitted = build_submitted(data.get("submitted"), problems)
    _check_baseline_label(data.get("baseline_label"), rubric, year or None, problems)
    return Header(str(rubric_id), province, year, str(stage), demo, dict(scenario) if scenario else None, narrative, submitted)


def _check_baseline_label(shown: Any, rubric: Rubric, year: int | None, problems: ProblemCollector) -> None:
    """The baseline year a workbook's 工作目标 labels named when it was made (``2021年``, or
    ``评估年度前2年`` in a blank template) must be the one this evaluation uses: a workbook made under
    ``baseline_reading: two-years-before`` holds 2021's counts for a 2023 evaluation, which read under
    the table's 2020 would be compared with the wrong year (docs/submission.md, "Excel workbook")."""
    if shown is None:
        return
    expected = rubric.baseline_label(year)
    if isinstance(shown, str) and shown.strip() in (expected, rubric.baseline_label()):
        return
    problems.add(
        ("baseline_label",),
        f"本表的基准年数量按“{shown}”填写，本次评估的基准年为{expected}，数量不能混用",
        shown,
        f"用制作本表时的参数文件评估（--params），或按{expected}的数量重新填写",
    )


def _build_narrative(raw: Any, problems: ProblemCollector) -> dict[str, str]:
    """The optional ``narrative`` of a submission: text for any of :data:`NARRATIVE_KEYS`."""
    if raw is None:
        return {}
    expected = "工作开展情况、存在的主要问题、下一步整改措施，各为一段文字"
    if not isinstance(raw, Mapping):
        problems.add(
            ("narrative",), "报告文字部分写法有误", raw, expected, "映射，如 narrative: {work: …, problems: …, measures: …}"
        )
        return {}
    _reject_unknown(raw, ("narrative",), set(NARRATIVE_KEYS), problems)
    narrative = {}
    for key, what in NARRATIVE_KEYS.items():
        value = raw.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str):
            problems.add(("narrative", key), f"{what}应为一段文字", value, "文字（可分多行）")
        elif value.strip():
            narrative[key] = value.strip()
    return narrative


def _reject_unknown(data: Mapping[str, Any], path: KeyPath, allowed: set[str], problems: ProblemCollector) -> None:
    for key in data:
        if key not in allowed:
            problems.add(
                (*path, key), "未知的键", key, "模板或提交格式说明中的项目（工作簿的键列请勿修改）", "、".join(sorted(allowed))
            )


def parse_count(value: Any) -> int | None:
    """A whole number >= 0 from YAML, JSON or an Excel cell (``3``, ``3.0``, ``"3"``), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and re.fullmatch(r"\s*[0-9]{1,15}\s*", value):  # ASCII digits only: not ２ or ²
        return int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and 0 <= value < 10**15:
        return value
    return None


_COUNT_EXPECTED = "大于或等于0的整数"
#: The accepted result words, as messages list them (the English aliases stay accepted, unadvertised).
OUTCOME_WORDS = "完成、未完成或不涉及（无该项）"


def _count_at(data: Mapping[Any, Any], path: KeyPath, what: str, problems: ProblemCollector) -> int:
    key = path[-1]
    if key not in data or data[key] is None or data[key] == "":
        problems.add(path, f"缺少{what}", expected=_COUNT_EXPECTED)
        return 0
    count = parse_count(data[key])
    if count is None:
        problems.add(path, f"{what}应为非负整数", data[key], _COUNT_EXPECTED)
        return 0
    return count


def _build_targets(raw: Any, rubric: Rubric, year: int | None, problems: ProblemCollector) -> dict[str, TargetInput]:
    """The target inputs; messages name the baseline year used for ``year`` (None: not known)."""
    path: KeyPath = ("targets",)
    if not isinstance(raw, Mapping):
        problems.add(path, "缺少工作目标数据", raw, "各项工作目标的填报数量", "映射，含 " + "、".join(rubric.target_inputs))
        return {}
    _reject_unknown(raw, path, set(rubric.target_inputs), problems)
    inputs: dict[str, TargetInput] = {}
    for key, (target, label) in rubric.target_inputs.items():
        where = (*path, key)
        value = raw.get(key)
        if not isinstance(value, Mapping):
            problems.add(
                where,
                f"缺少工作目标 {target.id}（{rubric.name_target(target, year).name}）的填报数据：{label}",
                value,
                _TARGET_WORDS[target.rule].format(years=target.years or 0),
                _TARGET_SHAPES[target.rule],
            )
            continue
        inputs[key] = _build_target_input(value, target, label, where, rubric.baseline_label(year), problems)
    _check_share_parts(inputs, rubric, path, problems)
    return inputs


def _build_target_input(
    value: Mapping[str, Any], target: Target, label: str, where: KeyPath, baseline: str, problems: ProblemCollector
) -> TargetInput:
    """One input of ``target`` in the shape its rule reads: a death history, the accidents that
    occurred, or a count at the baseline (``baseline``: its year, in words) and now."""
    if target.rule is TargetRule.AVERAGE_DECREASE:
        return _build_history(value, where, label, target.years or 0, problems)
    if target.rule is TargetRule.NONE_OCCURRED:
        _reject_unknown(value, where, {"count", "deaths"}, problems)
        count = _count_at(value, (*where, "count"), f"{label}起数", problems)
        deaths = _count_at(value, (*where, "deaths"), f"{label}死亡人数", problems)
        if count == 0 and deaths > 0:
            problems.add((*where, "deaths"), f"{label}起数为0，死亡人数却大于0", deaths, "起数为0时死亡人数为0")
        return Occurrences(count, deaths)
    _reject_unknown(value, where, {"baseline", "current"}, problems)
    return CountPair(
        _count_at(value, (*where, "baseline"), f"{baseline}{label}", problems),
        _count_at(value, (*where, "current"), f"评估年度年末{label}", problems),
    )


def _check_share_parts(inputs: Mapping[str, TargetInput], rubric: Rubric, path: KeyPath, problems: ProblemCollector) -> None:
    """A share's part is never more than its whole in the same year: a share above 100 % is a
    mistake in the figures, never a result."""
    for target in rubric.targets:
        if target.rule is not TargetRule.SHARE_INCREASE:
            continue
        part_key, whole_key = target.inputs
        part, whole = inputs.get(part_key), inputs.get(whole_key)
        if not (isinstance(part, CountPair) and isinstance(whole, CountPair)):
            continue
        for when in ("baseline", "current"):
            if getattr(part, when) > getattr(whole, when):
                problems.add(
                    (*path, part_key, when),
                    f"{target.inputs[part_key]}超过了{target.inputs[whole_key]}",
                    getattr(part, when),
                    f"不大于 {getattr(whole, when)}（同年的{target.inputs[whole_key]}）",
                    f"targets.{whole_key}.{when}",
                )


#: What a target needs, in words (``{years}``: the years of its history).
_TARGET_WORDS = {
    TargetRule.DECREASE: "基准年数量和评估年度年末数量（大于或等于0的整数）",
    TargetRule.SHARE_INCREASE: "基准年数量和评估年度年末数量（大于或等于0的整数）",
    TargetRule.AVERAGE_DECREASE: "前{years}年逐年死亡人数和评估年度死亡人数（大于或等于0的整数）",
    TargetRule.NONE_OCCURRED: "起数和死亡人数（大于或等于0的整数）",
}
_TARGET_SHAPES = {
    TargetRule.DECREASE: "{baseline: 基准年数量, current: 评估年度年末数量}",
    TargetRule.SHARE_INCREASE: "{baseline: 基准年数量, current: 评估年度年末数量}",
    TargetRule.AVERAGE_DECREASE: "{previous_5_years: [前5年逐年死亡人数], current: 当年死亡人数}",
    TargetRule.NONE_OCCURRED: "{count: 起数, deaths: 死亡人数}",
}


def _build_history(value: Mapping[str, Any], where: KeyPath, label: str, years: int, problems: ProblemCollector) -> DeathHistory:
    _reject_unknown(value, where, {"previous_5_years", "current"}, problems)
    raw = value.get("previous_5_years")
    previous: list[int] = []
    if not isinstance(raw, list) or len(raw) != years:
        problems.add(
            (*where, "previous_5_years"),
            f"前{years}年{label}应逐年填写",
            raw,
            f"由远及近逐年填写 {years} 个非负整数",
            "列表，如 [3, 2, 4, 1, 2]",
        )
    else:
        for i, n in enumerate(raw):
            count = parse_count(n)
            if count is None:
                problems.add((*where, "previous_5_years", i), f"{label}应为非负整数", n, _COUNT_EXPECTED)
            previous.append(count or 0)
    current = _count_at(value, (*where, "current"), f"评估年度{label}", problems)
    return DeathHistory(tuple(previous), current)


def _build_items(raw: Any, rubric: Rubric, problems: ProblemCollector) -> dict[str, ItemEntry]:
    path: KeyPath = ("items",)
    if not isinstance(raw, Mapping):
        problems.add(path, "缺少重点任务评估结果", raw, f"全部 {len(rubric.rows)} 行的评估结果", "映射，如 1-1a: {result: 完成}")
        return {}
    for key in [k for k in raw if rubric.row_by_id(str(k)) is None]:
        problems.add((*path, str(key)), "评估表中没有这一行", key, "如 1-1a 这样的行编号，见评估表")
    items: dict[str, ItemEntry] = {}
    for row in rubric.rows:
        where = (*path, row.id)
        if row.id not in raw:
            problems.add(
                where,
                f"缺少第 {row.id} 行（{row.requirement}）的评估结果",  # the whole text: a cut one misleads
                expected=f"评估结果（{OUTCOME_WORDS}），或该行的填报数量",
                syntax="如 result: 完成",
            )
            continue
        entry = raw[row.id]
        if isinstance(entry, str):  # shorthand: "1-1a: 完成"
            entry = {"result": entry}
        if not isinstance(entry, Mapping):
            problems.add(where, "写法有误", entry, "评估结果和说明", "映射，如 {result: 完成, note: 说明}")
            continue
        _reject_unknown(entry, where, {"result", "note", "evidence"} | {f.key for f in row.fields}, problems)
        result = None
        given = entry.get("result") not in (None, "")
        if given:
            result = parse_outcome(entry["result"])
            if result is None:
                problems.add((*where, "result"), f"第 {row.id} 行的评估结果写法有误", entry["result"], OUTCOME_WORDS)
        values, invalid = _parse_values(row, entry, where, problems)
        if not given:
            _check_undecided(row, rubric, values, invalid, where, problems)
        note = _item_note(row, entry, result, where, problems)
        evidence = build_evidence(entry.get("evidence"), (*where, "evidence"), problems)
        items[row.id] = ItemEntry(row.id, result, note, values, evidence)
    return items


def _parse_values(
    row: Row, entry: Mapping[str, Any], where: KeyPath, problems: ProblemCollector
) -> tuple[dict[str, Value], bool]:
    """A row's fill-in values given in ``entry``, parsed by their kind, and whether any was invalid (reported)."""
    values: dict[str, Value] = {}
    invalid = False
    for f in row.fields:
        if entry.get(f.key) not in (None, ""):
            parsed = _parse_field(entry[f.key], f.kind)
            if parsed is None:
                problems.add((*where, f.key), f"“{f.label}”写法有误", entry[f.key], _FIELD_EXPECTED[f.kind])
                invalid = True
            else:
                values[f.key] = parsed
    return values, invalid


def _check_undecided(
    row: Row, rubric: Rubric, values: Mapping[str, Value], invalid: bool, where: KeyPath, problems: ProblemCollector
) -> None:
    """A row given without a result must be decidable from its fill-in values: a rule the form
    states, and every value it needs."""
    missing = [f for f in row.required_fields if f.key not in values]
    if row.measure is not None and not rubric.derivable(row):
        threshold = rubric.thresholds[row.measure.threshold]
        problems.add(
            (*where, "result"),
            f"第 {row.id} 行的阈值“{threshold.label}”国家方案未规定，不能由填报数量自动判定（{threshold.source}）",
            expected="评估人员填写评估结果（完成、未完成或不涉及），填报数量作为说明保留；或使用规定该阈值的参数方案（如 params/profiles/）",
        )
    elif not rubric.derivable(row):
        problems.add(
            (*where, "result"),
            f"第 {row.id} 行的填报数量不能自动判定结果，须填写评估结果",
            expected="完成、未完成或不涉及",
        )
    elif missing and not invalid:  # an invalid value is reported above, not again as missing
        problems.add(
            (*where, "result"),
            f"第 {row.id} 行未填写评估结果，填报数量也不全，无法判定：缺少" + "、".join(f"“{f.label}”" for f in missing),
            expected=f"填写评估结果（{OUTCOME_WORDS}），或补齐上列填报数量",
            syntax="result，或补齐 " + "、".join(f.key for f in missing),
        )


def _item_note(row: Row, entry: Mapping[str, Any], result: Outcome | None, where: KeyPath, problems: ProblemCollector) -> str:
    """A row's 说明, as text; a veto row judged 不涉及 (无该项) must have one."""
    given = entry.get("note", "")
    if isinstance(given, (Mapping, list)):
        problems.add((*where, "note"), "说明应为一段文字", given, "一段文字，如：已于6月完成整改", "如 note: 已于6月完成整改")
        given = ""
    note = "" if given is None else str(given).strip()
    if result is Outcome.NOT_APPLICABLE and row.category is Category.VETO and not note:
        # 矿安〔2023〕9号: 否决项评估结论分为“完成”“未完成”或“无该项”，并作说明
        problems.add(
            (*where, "note"),
            f"否决项 {row.id} 评为“{entry['result']}”时须写明说明（无该项的原因）",
            expected="在说明中写明为何无该项（依据：否决项评估结论分为“完成”“未完成”或“无该项”，并作说明）",
            syntax="note: 无该项的原因",
        )
    return note


_FIELD_EXPECTED = {
    FieldKind.COUNT: _COUNT_EXPECTED,
    FieldKind.FLAG: "是 或 否",
    FieldKind.RATIO: "0～100 的百分比数值，如 12.5 或 “12.5%”",
    FieldKind.TEXT: "文字",
}


def _parse_field(value: Any, kind: FieldKind) -> Value | None:
    if kind is FieldKind.COUNT:
        return parse_count(value)
    if kind is FieldKind.FLAG:
        if isinstance(value, bool):
            return value
        return FLAG_TOKENS.get(str(value).strip().lower()) if isinstance(value, str) else None
    if kind is FieldKind.RATIO:
        if isinstance(value, bool):
            return None
        if isinstance(value, str):
            ratio = parse_decimal(value.strip().removesuffix("%"))
        elif isinstance(value, (int, float)) and math.isfinite(value):
            ratio = Fraction(str(value))  # the decimal a person typed, not the float's binary value
        else:
            ratio = None
        return ratio if ratio is not None and 0 <= ratio <= 100 else None
    return str(value).strip()
