"""Evaluation parameters: the configurable readings of the rules.

A params document may hold an ``evaluation:`` mapping (or be that mapping itself)::

    evaluation:
      baseline_year: 2020
      pass_score: 80
      not_applicable_scoring: full      # or rescale
      targets:
        T1: {bound: 20%}
        T3: {mode: points, bound: 15%}
        T4: {years: 5}
      categories:                       # the alternative reading of the garbled markers
        2-3c: reference
        3-7a: veto
      baseline_reading: fixed-2020      # or two-years-before (the plan's "较2年前")
      field_roles:                      # how a fill-in count decides its row
        1-1a: {in_progress: compliant}  # mines "正在实施" count as realized

A **profile** (``params/profiles/``) carries a province's or a city's own measures as additions to a
form that holds only the national text::

    evaluation:
      profile: {name: wuhai-2023, level: 市, document: 乌能局发〔2023〕17号, applies_to: coal-county}
      thresholds:                       # numbers the national text leaves to the evaluator
        study_meetings_per_year: {value: 12, source: 工作任务1措施(3), citation: 每月至少研究1次煤矿安全生产}
      add_thresholds:                   # new numbers, for the rows the profile adds
        talks_per_year: {value: 1, label: 每年对话谈心活动次数, source: …, citation: …}
      add_rows:                         # new veto or reference rows, each citing the profile's text
        - {id: 1-1b, section: 1, task: 1, category: reference, requirement: …, citation: …, fill_in: …,
           fields: [{key: talk_sessions, label: …}], measure: {rule: count_at_least, count: talk_sessions,
           threshold: talks_per_year}}

**What the notice fixes** cannot be loosened silently: changing a ■/△/"/" marked row's category
(only the seven rows whose marker was lost, ``inferred``, may be read the other way), a fill-in
value's role (only the rubric's ``open_field_roles``), the pass score, a target's bound or years, or
the baseline year is refused — naming the key and the reference line — unless the params declare a
non-national rule set::

    evaluation:
      national: false
      name: 某省试行口径              # shown in every output: 非国家评估表口径：某省试行口径（…）
      pass_score: 85

The documented readings (``baseline_reading``, ``not_applicable_scoring``, T3's ``mode``, the
inferred categories, the open field roles) stay national.

A profile never changes a number the national text gives (that could turn a 不合格 into a 合格),
and never adds scored rows (they would change the 100-point scale the 80-point pass line is set on).
Every threshold it sets or adds records the profile's name and level, so a report can say where each
number comes from.

:func:`apply_params` returns a new rubric; the result is re-checked against the footnote totals.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, TypeGuard

from minesafe.decimals import format_decimal, format_rule_percent, parse_percent
from minesafe.exceptions import KeyPath, ProblemCollector, RubricError, locate_key_path
from minesafe.names import normalize_name
from minesafe.rubric import (
    BASELINE_RULES,
    LEVELS,
    Category,
    FieldRole,
    Row,
    Rubric,
    Section,
    ShareMode,
    Target,
    TargetRule,
    Threshold,
    build_row,
    category_label,
    check_row,
    check_rubric,
)

NOT_APPLICABLE_SCORING = {
    "full": "不涉及的评分项按满分计（表中“均…得N分”的字面读法）",
    "rescale": "不涉及的评分项不计入，得分按适用分值折算为百分制",
}

BASELINE_READINGS = {
    "fixed-2020": "基准年按评估表取固定年份（2020年，评估表“比2020年”）",
    "two-years-before": "基准年取评估年度的2年前（方案正文“较2年前”）",
}

FIELD_ROLES = {
    "noncompliant": "数量大于0即未完成",
    "compliant": "数量大于0即完成（符合要求的情形）",
    "info": "仅记录，不参与判定",
}

_TARGET_KEYS = {"bound", "mode", "years"}
_NON_NATIONAL_HINT = (
    "删去此项；确需按其他口径评估时，在参数文件中写明 national: false 和 name（口径名称），各输出都会注明“非国家评估表口径”"
)


@dataclass(frozen=True)
class Departure:
    """A change to what the notice fixes: where in the params, what it changes, the notice's place."""

    path: tuple[str | int, ...]
    change: str  # e.g. 第 4-2c 行类别 否决项→参考项
    place: str  # e.g. 原文第 362 行
    value: Any


_PROFILE_KEYS = ("thresholds", "add_thresholds", "add_rows")
_PROFILE_EXAMPLE = "profile: {name: wuhai-2023, level: 市, document: 乌能局发〔2023〕17号, applies_to: coal-county}"
_ROW_KEYS = {"id", "section", "task", "task_name", "category", "requirement", "citation", "fill_in", "fields", "measure"}


@dataclass(frozen=True)
class Profile:
    """Who a params profile speaks for: its name, level (省 or 市), document and the form it adds to."""

    name: str
    level: str
    document: str
    applies_to: str
    years: tuple[int, ...] = ()  # the evaluation years its document governs (empty: any)
    units: tuple[str, ...] = ()  # the units it governs, as the national list names them (empty: any)


def apply_params(
    rubric: Rubric,
    params: Mapping[str, Any] | None,
    source: str = "参数",
    locate: Callable[[KeyPath], str] = locate_key_path,
    national: Rubric | None = None,
) -> Rubric:
    """Return ``rubric`` with the overrides of ``params`` applied and validated.

    ``national`` is the shipped form ``rubric`` stands in for when the params swapped in another
    rubric file (``rubric_file``): what that file changes of the national form counts as the params'
    own change (refused unless the params declare a non-national rule set).

    Raises :class:`~minesafe.exceptions.InputError` for malformed params (all problems at once) and
    :class:`~minesafe.exceptions.RubricError` when the overrides break the table's totals.
    """
    if not params:
        return rubric
    base: tuple[str | int, ...] = ()
    problems = ProblemCollector()
    if "evaluation" in params:
        _check_beside_evaluation(params, problems)
        base = ("evaluation",)
        params = params["evaluation"]
    if not isinstance(params, Mapping):
        problems.add(base, "参数应为映射", params, "键值对，如 pass_score: 80")
        problems.raise_if_any(source, locate)
    changes: dict[str, Any] = {}
    departures: list[Departure] = []
    rule_set = _read_rule_set(params, base, problems)
    profile = _read_profile(rubric, params, base, problems)
    if profile is not None:
        changes |= _apply_profile(rubric, profile, params, base, problems)
    _apply_keys(rubric, params, base, changes, problems, departures)
    if national is not None:
        departures += compare_forms(national, rubric, (*base, "rubric_file"))
    _settle_departures(rubric, rule_set, departures, changes, problems)
    problems.raise_if_any(source, locate)
    changed = dataclasses.replace(rubric, **changes, overrides={**rubric.overrides, **_describe(params, profile)})
    structural = check_rubric(changed)
    if structural:
        raise RubricError(f"{rubric.id}（应用 {source} 之后）", structural)
    return changed


def _apply_keys(
    rubric: Rubric,
    params: Mapping[str, Any],
    base: KeyPath,
    changes: dict[str, Any],
    problems: ProblemCollector,
    departures: list[Departure],
) -> None:
    """Each key of ``params`` into ``changes``, checked; what departs from the national form into ``departures``."""
    for key, value in params.items():
        path = (*base, key)
        if key in _SETTINGS:
            setting = _SETTINGS[key](rubric, value, path, problems, departures)
            if setting is not None:
                changes[key] = setting
        elif key == "targets":
            changes["targets"] = _override_targets(rubric, value, path, problems, departures)
        elif key == "categories":
            changes["rows"] = _override_categories(changes.get("rows", rubric.rows), value, path, problems, departures)
        elif key == "field_roles":
            changes["rows"] = _override_field_roles(rubric, changes.get("rows", rubric.rows), value, path, problems, departures)
        elif key not in ("profile", *_PROFILE_KEYS, "rubric_file", "national", "name"):
            # profile and the rule set are read before; rubric_file is read by the file layer first
            problems.add(
                path,
                "未知的参数",
                key,
                "baseline_year、baseline_reading、pass_score、not_applicable_scoring、targets、categories、field_roles、"
                "rubric_file、profile、thresholds、add_thresholds、add_rows、national、name 之一",
            )


def _read_baseline_year(
    rubric: Rubric, value: Any, path: KeyPath, problems: ProblemCollector, departures: list[Departure]
) -> int | None:
    if not (_is_int(value) and 1990 <= value <= 2100):
        problems.add(path, "基准年份写法有误", value, "1990～2100 之间的年份，如 2020")
        return None
    if value != rubric.baseline_year:
        lines = "、".join(str(t.line) for t in rubric.targets if t.line and t.rule in BASELINE_RULES)
        place = f"原文第 {lines} 行“比{rubric.baseline_year}年”" if lines else "评估表"
        departures.append(Departure(path, f"基准年 {rubric.baseline_year}年→{value}年", place, value))
    return int(value)


def _read_pass_score(
    rubric: Rubric, value: Any, path: KeyPath, problems: ProblemCollector, departures: list[Departure]
) -> Fraction | None:
    if not (_is_number(value) and 0 < value <= rubric.total_points):
        problems.add(path, "合格分数线写法有误", value, f"0 到 {rubric.total_points} 之间的数，如 80")
        return None
    score = Fraction(str(value))
    if score != rubric.pass_score:
        place = f"原文第 {'、'.join(map(str, rubric.pass_score_lines))} 行" if rubric.pass_score_lines else "评估表"
        departures.append(Departure(path, f"合格分数线 {format_decimal(rubric.pass_score)}分→{value}分", place, value))
    return score


#: How a one-value setting is read: checked (a problem reported), its departure from the national form noted.
Setting = Callable[[Rubric, Any, KeyPath, ProblemCollector, list[Departure]], Any]


def _read_choice(choices: Mapping[str, str], message: str) -> Setting:
    """The reader of a setting that is one of ``choices`` (key: meaning)."""

    def read(rubric: Rubric, value: Any, path: KeyPath, problems: ProblemCollector, departures: list[Departure]) -> str | None:
        if value in choices:
            return str(value)
        problems.add(path, message, value, "；".join(f"{k}：{v}" for k, v in choices.items()))
        return None

    return read


#: The params keys that set one value of the rubric, each read (checked, its departure noted) by its function.
_SETTINGS: dict[str, Setting] = {
    "baseline_year": _read_baseline_year,
    "pass_score": _read_pass_score,
    "not_applicable_scoring": _read_choice(NOT_APPLICABLE_SCORING, "不涉及评分项的计分方式写法有误"),
    "baseline_reading": _read_choice(BASELINE_READINGS, "基准年读法写法有误"),
}


def _settle_departures(
    rubric: Rubric, rule_set: str, departures: list[Departure], changes: dict[str, Any], problems: ProblemCollector
) -> None:
    """A non-national rule set records what departs from the national form; national params may not depart."""
    if rule_set:
        changes["rule_set"] = rule_set
        changes["departures"] = (*rubric.departures, *(d.change for d in departures))
        return
    for d in departures:
        problems.add(d.path, f"{d.change}：这是国家评估表规定的内容（{d.place}），参数不能改动", d.value, _NON_NATIONAL_HINT)


def compare_forms(national: Rubric, other: Rubric, path: tuple[str | int, ...]) -> list[Departure]:
    """What ``other`` (a rubric file swapped in) changes of what the ``national`` form fixes: a marked
    row's category or a fill-in value's role (but the open ones), a row left out, the pass score,
    the totals, a target's bound or years, the baseline year. Empty for a provisional national form
    (the official one is to replace it)."""
    if national.provisional:
        return []
    found: list[Departure] = []

    def differ(change: str, place: str, value: Any) -> None:
        found.append(Departure(path, f"评估表文件{change}", place, value))

    for change, place, value in _row_changes(national, other):
        differ(change, place, value)
    lines = f"原文第 {'、'.join(map(str, national.pass_score_lines))} 行" if national.pass_score_lines else "评估表"
    if other.pass_score != national.pass_score:
        differ(
            f"合格分数线 {format_decimal(national.pass_score)}分→{format_decimal(other.pass_score)}分", lines, other.pass_score
        )
    if other.totals != national.totals and not other.profile:  # a profile's added rows grow the totals
        differ("表注规定的否决项、评分项、参考项数量或总分不同", "原文第 386 行", str(other.totals))
    targets = {t.id: t for t in other.targets}
    for t in national.targets:
        mine_t = targets.get(t.id)
        place = f"原文第 243、{t.line} 行" if t.line else "评估表"
        if mine_t is None or (mine_t.bound, mine_t.years) != (t.bound, t.years):
            differ(f"工作目标 {t.id} 缺失或阈值、年数不同", place, t.id)
    if other.baseline_year != national.baseline_year:
        differ(f"基准年 {national.baseline_year}年→{other.baseline_year}年", "原文第 289—291 行", other.baseline_year)
    return found


def _row_changes(national: Rubric, other: Rubric) -> Iterator[tuple[str, str, Any]]:
    """What ``other`` changes of the ``national`` form's rows (change, place, value): a row left out,
    a marked row's category, a fill-in value's role (but the open ones)."""
    for row in national.rows:
        mine = other.row_by_id(row.id)
        if mine is None:
            yield f"缺少第 {row.id} 行", row.place, row.id
            continue
        if not row.inferred and (mine.category, mine.points) != (row.category, row.points):
            was, now = category_label(row.category, row.points), category_label(mine.category, mine.points)
            yield f"第 {row.id} 行类别 {was}→{now}", row.place, row.id
        roles = {f.key: f.role for f in mine.fields}
        for f in row.fields:
            if f.key in roles and roles[f.key] is not f.role and f.key not in national.open_field_roles.get(row.id, ()):
                yield (
                    f"第 {row.id} 行填报项“{f.label}”的作用 {FIELD_ROLES[f.role.value]}→{FIELD_ROLES[roles[f.key].value]}",
                    row.place,
                    f.key,
                )


#: Top-level keys a params file may hold beside ``evaluation``: the season's calendar (minesafe status).
BESIDE_EVALUATION = ("evaluation", "season")


def _check_beside_evaluation(params: Mapping[str, Any], problems: ProblemCollector) -> None:
    """A key beside ``evaluation`` is never read: ``national: false`` or ``baseline_reading`` written
    there would be ignored without a word (the evaluation under other rules than the file says)."""
    for key in params:
        if key not in BESIDE_EVALUATION:
            problems.add(
                (str(key),),
                "参数写在了 evaluation 之外，不会生效",
                key,
                "写在 evaluation: 之下（缩进），如 evaluation: {national: false, name: …}；evaluation 之外只能有 season（评估日程）",
            )


def _read_rule_set(params: Mapping[str, Any], base: tuple, problems: ProblemCollector) -> str:
    """The name of the non-national rule set the params declare (``national: false`` with a
    ``name``), or empty for the national form."""
    national, name = params.get("national", True), params.get("name")
    if not isinstance(national, bool):
        problems.add((*base, "national"), "national 应为是否按国家评估表口径", national, "true 或 false")
        return ""
    if national:
        if name is not None:
            problems.add(
                (*base, "name"), "name 只用于非国家评估表口径（national: false）", name, "删去 name，或写明 national: false"
            )
        return ""
    if not isinstance(name, str) or not name.strip():
        problems.add((*base, "name"), "非国家评估表口径须写明名称，各输出据此注明", name, "文字，如 某省试行口径")
        return ""
    return name.strip()


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _override_targets(
    rubric: Rubric, raw: Any, path: tuple, problems: ProblemCollector, departures: list[Departure]
) -> tuple[Target, ...]:
    if not isinstance(raw, Mapping):
        problems.add(path, "targets 应为映射", raw, "如 T1: {bound: 20%}")
        return rubric.targets
    targets = {t.id: t for t in rubric.targets}
    for target_id, override in raw.items():
        where = (*path, target_id)
        target = targets.get(target_id)
        if target is None:
            problems.add(where, "没有这个工作目标", target_id, "、".join(targets))
            continue
        if not isinstance(override, Mapping):
            problems.add(where, "应为映射", override, "如 {bound: 20%}")
            continue
        changes = _target_changes(target, override, where, problems, departures)
        targets[target_id] = dataclasses.replace(target, **changes)
        _check_reachable(targets[target_id], override, where, problems)
    return tuple(targets.values())


def _target_changes(
    target: Target, override: Mapping[str, Any], where: KeyPath, problems: ProblemCollector, departures: list[Departure]
) -> dict[str, Any]:
    """What the params change of one target (its bound, share mode or averaging years), checked."""
    changes: dict[str, Any] = {}
    place = f"原文第 243、{target.line} 行" if target.line else "评估表"
    for key, value in override.items():
        if key == "bound" and target.bound is not None:
            bound = _read_target_bound(target, value, (*where, key), place, problems, departures)
            if bound is not None:
                changes["bound"] = bound
        elif key == "mode" and target.rule is TargetRule.SHARE_INCREASE:
            try:
                changes["mode"] = ShareMode(value)
            except ValueError:
                problems.add((*where, key), "计算方式写法有误", value, "relative（相对提高）或 points（百分点）")
        elif key == "years" and target.rule is TargetRule.AVERAGE_DECREASE:
            if _is_int(value) and 1 <= value <= 20:
                changes["years"] = value
                if value != target.years:
                    departures.append(
                        Departure((*where, key), f"工作目标 {target.id} 平均年数 {target.years}→{value}", place, value)
                    )
            else:
                problems.add((*where, key), "年数写法有误", value, "1～20 的整数，如 5")
        else:
            allowed = sorted(k for k in _TARGET_KEYS if getattr(target, k) is not None)
            problems.add((*where, key), f"工作目标 {target.id} 没有这个参数", key, "、".join(allowed) or "（无可调参数）")
    return changes


def _read_target_bound(
    target: Target, value: Any, where: KeyPath, place: str, problems: ProblemCollector, departures: list[Departure]
) -> Fraction | None:
    """A target's bound from the params (a percentage), or None when it is not one (reported).
    A bound of 0 or less is reported, and returned all the same (the params are refused with it)."""
    try:
        bound = parse_percent(value)
    except ValueError:
        problems.add(where, "阈值写法有误", value, "带百分号的数，如 “20%”")
        return None
    if bound <= 0:
        problems.add(where, "阈值必须大于0", value, "如 “20%”")
    elif target.bound is not None and bound != target.bound:
        departures.append(
            Departure(
                where, f"工作目标 {target.id} 阈值 {format_rule_percent(target.bound)}→{format_rule_percent(bound)}", place, value
            )
        )
    return bound


def _check_reachable(target: Target, override: Mapping[str, Any], where: tuple, problems: ProblemCollector) -> None:
    """A bound no unit can meet is refused: a count or a number of deaths falls by at most 100 %, and
    a share rises by at most 100 percentage points (a relative rise of a share has no such limit)."""
    bound = target.bound
    capped = target.rule is not TargetRule.SHARE_INCREASE or target.mode is ShareMode.POINTS
    if bound is not None and bound > 1 and capped and "bound" in override:
        what = "百分点" if target.rule is TargetRule.SHARE_INCREASE else "下降比例"
        problems.add((*where, "bound"), f"阈值超过100%，{what}不可能达到", override["bound"], "0%～100% 之间的百分数，如 “20%”")


def _describe(params: Mapping[str, Any], profile: Profile | None) -> dict[str, Any]:
    """The params as a report header lists them: a profile by its name, its additions by their ids."""
    shown = dict(params)
    if profile is not None:
        shown["profile"] = f"{profile.name}（{profile.level}级：{profile.document}）"
        for key in _PROFILE_KEYS:
            if isinstance(params.get(key), Mapping):
                shown[key] = "、".join(map(str, params[key]))
            elif isinstance(params.get(key), list):
                shown[key] = "、".join(str(r.get("id", "?")) if isinstance(r, Mapping) else "?" for r in params[key])
    return shown


def _read_profile(rubric: Rubric, params: Mapping[str, Any], base: tuple, problems: ProblemCollector) -> Profile | None:
    """The params' profile, or None; a profile's keys without a profile are a problem (their
    numbers would have no source to show)."""
    raw = params.get("profile")
    if raw is None:
        for key in [k for k in _PROFILE_KEYS if k in params]:
            problems.add(
                (*base, key),
                "设定阈值或增补行须写明参数方案的来源（profile），报告据此注明每个阈值出自哪一级",
                expected=_PROFILE_EXAMPLE,
            )
        return None
    path = (*base, "profile")
    if not isinstance(raw, Mapping):
        problems.add(path, "profile 应为映射", raw, _PROFILE_EXAMPLE)
        return None
    for key in [k for k in raw if k not in ("name", "level", "document", "applies_to", "years", "units")]:
        problems.add((*path, key), "未知的键", key, "name、level、document、applies_to、years、units")
    years, units = _read_profile_scope(raw, path, problems)
    text = _read_profile_source(rubric, raw, path, problems)
    return Profile(
        text["name"], str(raw.get("level")), text["document"], text["applies_to"], tuple(years), tuple(map(normalize_name, units))
    )


def _read_profile_scope(raw: Mapping[str, Any], path: tuple, problems: ProblemCollector) -> tuple[list[Any], list[Any]]:
    """The years and units a profile is limited to; a malformed list is a problem and read as
    empty, so that the rest of the profile is still checked and every problem shows at once."""
    years, units = raw.get("years", []), raw.get("units", [])
    if not isinstance(years, list) or not all(_is_int(y) and 1990 <= y <= 2100 for y in years):
        problems.add((*path, "years"), "适用年度应为年份的列表", years, "如 [2023]")
        years = []
    if not isinstance(units, list) or not all(isinstance(u, str) and normalize_name(u) for u in units):
        problems.add((*path, "units"), "适用单位应为单位名称的列表", units, "如 [乌海市海南区]")
        units = []
    return years, units


def _read_profile_source(rubric: Rubric, raw: Mapping[str, Any], path: tuple, problems: ProblemCollector) -> dict[str, str]:
    """A profile's name, document and rubric (stripped texts, "" when missing) with its level
    checked: what a report cites as the source of the profile's numbers. Even a faulty source lets
    the additions be checked, so every problem shows at once."""
    values = {}
    for key, label in (("name", "方案名称"), ("document", "依据文件"), ("applies_to", "适用的评估表编号")):
        value = values[key] = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            problems.add((*path, key), f"缺少{label}", value, "文字，如 " + _PROFILE_EXAMPLE)
    level = raw.get("level")
    if level not in LEVELS[1:]:
        problems.add((*path, "level"), "参数方案的层级写法有误（国家的要求在评估表本身中）", level, "、".join(LEVELS[1:]))
    if isinstance(values["applies_to"], str) and values["applies_to"] != rubric.id:
        problems.add(
            (*path, "applies_to"),
            f"本参数方案适用于 {values['applies_to']} 评估表，不能用于 {rubric.id}",
            values["applies_to"],
            rubric.id,
        )
    return {k: v.strip() if isinstance(v, str) else "" for k, v in values.items()}


def _apply_profile(
    rubric: Rubric, profile: Profile, params: Mapping[str, Any], base: tuple, problems: ProblemCollector
) -> dict[str, Any]:
    """The rubric changes a profile makes: thresholds set, thresholds added, rows added."""
    thresholds = dict(rubric.thresholds)
    if "thresholds" in params:
        _set_thresholds(thresholds, profile, params["thresholds"], (*base, "thresholds"), problems)
    if "add_thresholds" in params:
        _add_thresholds(thresholds, profile, params["add_thresholds"], (*base, "add_thresholds"), problems)
    changes: dict[str, Any] = {
        "thresholds": thresholds,
        "profile": profile.name,
        "profile_scope": (profile.document, profile.years, profile.units),
    }
    if "add_rows" in params:
        with_thresholds = dataclasses.replace(rubric, thresholds=thresholds)
        rows = _add_rows(with_thresholds, params["add_rows"], (*base, "add_rows"), problems)
        changes["rows"] = tuple(sorted(rubric.rows + rows, key=lambda r: (r.section, r.task, r.id)))  # table order
        if rubric.totals is not None:
            added = [r.category for r in rows]
            changes["totals"] = dataclasses.replace(
                rubric.totals,
                veto=rubric.totals.veto + added.count(Category.VETO),
                reference=rubric.totals.reference + added.count(Category.REFERENCE),
            )
    return changes


def _threshold_value(value: Any, percent: bool, label: str, where: tuple, problems: ProblemCollector) -> Fraction | None:
    if percent:
        try:
            share = parse_percent(value)
        except ValueError:
            problems.add(where, f"“{label}”应写成百分数", value, "如 “75%”")
            return None
        if not 0 <= share <= 1:
            problems.add(where, f"“{label}”是比例，应在 0%～100% 之间", value, "如 “75%”")
            return None
        return share
    if _is_int(value) and value >= 0:
        return Fraction(value)
    problems.add(where, f"“{label}”应为非负整数", value, "如 12")
    return None


def _threshold_spec(raw: Any, where: tuple, problems: ProblemCollector, keys: tuple[str, ...]) -> Mapping[str, Any] | None:
    """A threshold's mapping form, its keys checked; a bare value stands for ``{value: …}``."""
    spec = raw if isinstance(raw, Mapping) else {"value": raw}
    for key in spec:
        if key not in keys:
            problems.add((*where, key), "未知的键", key, "、".join(keys))
    for key in keys[1:]:
        if key in spec and (not isinstance(spec[key], str) or not spec[key].strip()):
            problems.add((*where, key), "应为文字", spec[key], "非空的文字")
    if spec.get("value") is None:
        problems.add(
            (*where, "value") if isinstance(raw, Mapping) else where, "缺少阈值的数值", spec.get("value"), "如 12 或 “75%”"
        )
        return None
    return spec


def _set_thresholds(
    thresholds: dict[str, Threshold], profile: Profile, raw: Any, path: tuple, problems: ProblemCollector
) -> None:
    """Give numbers to thresholds the national text leaves open (评估人员认定)."""
    if not isinstance(raw, Mapping):
        problems.add(path, "thresholds 应为映射", raw, "如 professional_staff_share: {value: 75%, source: …, citation: …}")
        return
    for name, value in raw.items():
        where = (*path, name)
        current = thresholds.get(name)
        if current is None:
            problems.add(where, "评估表中没有这个阈值（新的阈值写在 add_thresholds 中）", name, "、".join(thresholds) or "（无）")
            continue
        if current.value is not None:
            problems.add(
                where,
                f"“{current.label}”由国家方案规定为 {current.text}（{current.source}），参数方案只能补充国家方案未规定的阈值，不能改动",
                value,
                "、".join(n for n, t in thresholds.items() if t.value is None) or "（本评估表没有未规定的阈值）",
            )
            continue
        spec = _threshold_spec(value, where, problems, ("value", "source", "citation"))
        if spec is None:
            continue
        number = _threshold_value(spec["value"], current.percent, current.label, where, problems)
        if number is not None:
            thresholds[name] = _profile_threshold(current, number, spec, profile)


def _profile_threshold(threshold: Threshold, number: Fraction, spec: Mapping[str, Any], profile: Profile) -> Threshold:
    """``threshold`` holding the profile's number, with the profile as its source."""
    return dataclasses.replace(
        threshold,
        value=number,
        source=str(spec.get("source", profile.document)),
        level=profile.level,
        citation=str(spec.get("citation", "")),
        profile=profile.name,
        profile_document=profile.document,
    )


def _add_thresholds(
    thresholds: dict[str, Threshold], profile: Profile, raw: Any, path: tuple, problems: ProblemCollector
) -> None:
    if not isinstance(raw, Mapping):
        problems.add(path, "add_thresholds 应为映射", raw, "如 talks_per_year: {value: 1, label: …, source: …, citation: …}")
        return
    for name, value in raw.items():
        where = (*path, name)
        if name in thresholds:
            problems.add(where, "评估表中已有这个阈值（设定其数值写在 thresholds 中）", name, "新的阈值名称")
            continue
        spec = _threshold_spec(value, where, problems, ("value", "label", "source", "citation"))
        if spec is None:
            continue
        if not spec.get("label"):
            problems.add((*where, "label"), "新增的阈值须写明名称", expected="文字，如 每年对话谈心活动次数")
            continue
        percent = isinstance(spec["value"], str)
        number = _threshold_value(spec["value"], percent, spec["label"], (*where, "value"), problems)
        if number is not None:
            thresholds[str(name)] = _profile_threshold(Threshold(str(name), spec["label"], None, percent), number, spec, profile)


def _add_rows(rubric: Rubric, raw: Any, path: tuple, problems: ProblemCollector) -> tuple[Row, ...]:
    """The profile's extra rows, each checked like a row of the form itself."""
    if not isinstance(raw, list):
        problems.add(
            path, "add_rows 应为列表", raw, "每项一行，含 id、section、task、category、requirement、citation、fill_in、fields"
        )
        return ()
    sections = {s.number: s for s in rubric.sections}
    tasks = {(r.section, r.task): r.task_name for r in rubric.rows}
    taken = {r.id for r in rubric.rows}
    rows: list[Row] = []
    for i, spec in enumerate(raw):
        row = _read_added_row(rubric, spec, (*path, i), sections, tasks, taken, problems)
        if row is not None:
            taken.add(row.id)
            rows.append(row)
    return tuple(rows)


def _read_added_row(
    rubric: Rubric,
    spec: Any,
    where: tuple,
    sections: Mapping[int, Section],
    tasks: Mapping[tuple[int, int], str],
    taken: set[str],
    problems: ProblemCollector,
) -> Row | None:
    """One extra row of a profile, or None when it cannot be read; ``taken``: the row ids already
    used (by the form and the rows added before). Only veto and reference rows may be added: a
    scored row would change the 100-point total and the pass mark of 80."""
    if not isinstance(spec, Mapping):
        problems.add(where, "应为映射", spec, "含 id、section、task、category 等键")
        return None
    for key in [k for k in spec if k not in _ROW_KEYS]:
        problems.add((*where, key), "未知的键", key, "、".join(sorted(_ROW_KEYS)))
    placed = _place_added_row(spec, where, sections, tasks, problems)
    if placed is None:
        return None
    if spec.get("category") not in ("veto", "reference"):
        problems.add(
            (*where, "category"),
            "参数方案只能增补否决项或参考项：增补评分项会改变100分制总分和80分合格线",
            spec.get("category"),
            "veto（否决项）或 reference（参考项）",
        )
        return None
    if not spec.get("citation"):
        problems.add((*where, "citation"), "增补的行须注明依据的原文", expected="参数方案所依据文件中的原句")
    if str(spec.get("id")) in taken:
        problems.add((*where, "id"), "评估表中已有这一行", spec.get("id"), "新的行编号")
        return None
    try:
        row = build_row(spec, *placed)
    except (KeyError, ValueError, TypeError) as exc:
        problems.add(where, f"写法有误：缺少或写错了 {exc}", expected="同评估表中的行：id、requirement、fill_in、fields 等")
        return None
    for message in check_row(rubric, row):
        problems.add(where, message)
    return row


def _place_added_row(
    spec: Mapping[str, Any],
    where: tuple,
    sections: Mapping[int, Section],
    tasks: Mapping[tuple[int, int], str],
    problems: ProblemCollector,
) -> tuple[Section, int, str] | None:
    """Where an extra row goes: a section of the form, and a task of it (its name from the form)
    or a new task named by ``task_name``; None, with the problem noted, when either is wrong."""
    number = spec.get("section")
    section = sections.get(number) if _is_int(number) else None  # a list or mapping here is not even hashable
    if section is None:
        problems.add((*where, "section"), "评估表中没有这一部分", spec.get("section"), "、".join(map(str, sections)))
        return None
    task = spec.get("task")
    task_name = spec.get("task_name") or (tasks.get((section.number, task)) if _is_int(task) else None)
    if not _is_int(task) or not task_name:
        problems.add(
            (*where, "task"),
            "重点任务编号有误，或新的重点任务缺少 task_name",
            task,
            "本部分已有的任务编号，或新编号加 task_name",
        )
        return None
    return section, task, str(task_name)


def _named_rows(
    current: tuple[Row, ...], raw: Any, path: KeyPath, problems: ProblemCollector, what: str, example: str
) -> Iterator[tuple[Row, Any, KeyPath]]:
    """The rows a per-row override names, each with its value and place; the rest are problems."""
    if not isinstance(raw, Mapping):
        problems.add(path, f"{what} 应为映射", raw, f"如 {example}")
        return
    rows = {r.id: r for r in current}
    for row_id, value in raw.items():
        if row_id in rows:
            yield rows[row_id], value, (*path, row_id)
        else:
            problems.add((*path, row_id), "评估表中没有这一行", row_id, "如 1-1a 这样的行编号")


def _override_field_roles(
    rubric: Rubric, current: tuple[Row, ...], raw: Any, path: KeyPath, problems: ProblemCollector, departures: list[Departure]
) -> tuple[Row, ...]:
    """``field_roles: {1-1a: {in_progress: compliant}}``: how a fill-in value decides its row. Only
    the rubric's ``open_field_roles`` may change on the national form."""
    rows = {r.id: r for r in current}
    for row, roles, where in _named_rows(current, raw, path, problems, "field_roles", "1-1a: {in_progress: compliant}"):
        if not isinstance(roles, Mapping):
            problems.add(where, "应为映射", roles, "填报项键: 作用，如 {in_progress: compliant}")
            continue
        fields = {f.key: f for f in row.fields}
        for key, role in roles.items():
            if key not in fields:
                problems.add((*where, key), f"第 {row.id} 行没有这个填报项", key, "、".join(fields) or "（本行没有填报项）")
            elif role not in FIELD_ROLES:
                problems.add((*where, key), "填报项作用写法有误", role, "；".join(f"{k}：{v}" for k, v in FIELD_ROLES.items()))
            else:
                was = fields[key].role
                fields[key] = dataclasses.replace(fields[key], role=FieldRole(role))
                if was.value != role and key not in rubric.open_field_roles.get(row.id, ()):
                    change = f"第 {row.id} 行填报项“{fields[key].label}”的作用 {FIELD_ROLES[was.value]}→{FIELD_ROLES[role]}"
                    departures.append(Departure((*where, key), change, row.place, role))
        rows[row.id] = dataclasses.replace(row, fields=tuple(fields.values()))
    return tuple(rows.values())


def _override_categories(
    current: tuple[Row, ...], raw: Any, path: KeyPath, problems: ProblemCollector, departures: list[Departure]
) -> tuple[Row, ...]:
    """``categories: {2-3c: reference}``: only the rows whose marker the transcription lost
    (``inferred``) may be read the other way on the national form."""
    rows = {r.id: r for r in current}
    for row, value, where in _named_rows(current, raw, path, problems, "categories", "2-3c: reference"):
        points = 0
        if isinstance(value, Mapping):
            category_key, points = value.get("category"), value.get("points", 0)
        else:
            category_key = value
        try:
            category = Category.from_key(str(category_key))
        except KeyError:
            problems.add(where, "类别写法有误", category_key, "veto（否决项）、scored（评分项）或 reference（参考项）")
            continue
        if category is Category.SCORED and not (_is_int(points) and points > 0):
            problems.add(where, "改为评分项时须给出分值", value, "如 {category: scored, points: 3}")
            continue
        if not row.inferred and (category, points) != (row.category, row.points):
            was, now = category_label(row.category, row.points), category_label(category, points)
            departures.append(Departure(where, f"第 {row.id} 行类别 {was}→{now}", row.place, value))
        rows[row.id] = dataclasses.replace(row, category=category, points=points)
    return tuple(rows.values())
