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

:func:`apply_params` returns a new rubric; the result is re-checked against the footnote totals.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from minesafe.decimals import parse_percent
from minesafe.exceptions import ProblemCollector, RubricError, locate_key_path
from minesafe.rubric import Category, Rubric, ShareMode, Target, TargetRule, check_rubric

NOT_APPLICABLE_SCORING = {
    "full": "不涉及的评分项按满分计（表中“均…得N分”的字面读法）",
    "rescale": "不涉及的评分项不计入，得分按适用分值折算为百分制",
}

_TARGET_KEYS = {"bound", "mode", "years"}


def apply_params(
    rubric: Rubric,
    params: Mapping[str, Any] | None,
    source: str = "参数",
    locate=locate_key_path,
) -> Rubric:
    """Return ``rubric`` with the overrides of ``params`` applied and validated.

    Raises :class:`~minesafe.exceptions.InputError` for malformed params (all problems at once) and
    :class:`~minesafe.exceptions.RubricError` when the overrides break the table's totals.
    """
    if not params:
        return rubric
    base: tuple[str | int, ...] = ()
    if "evaluation" in params:
        base = ("evaluation",)
        params = params["evaluation"]
    problems = ProblemCollector()
    if not isinstance(params, Mapping):
        problems.add(base, "参数应为映射", params, "键值对，如 pass_score: 80")
        problems.raise_if_any(source, locate)
    changes: dict[str, Any] = {}
    for key, value in params.items():
        path = (*base, key)
        if key == "baseline_year":
            if _is_int(value) and 1990 <= value <= 2100:
                changes["baseline_year"] = value
            else:
                problems.add(path, "基准年份写法有误", value, "1990～2100 之间的年份，如 2020")
        elif key == "pass_score":
            if _is_number(value) and 0 < value <= rubric.total_points:
                changes["pass_score"] = Fraction(str(value))
            else:
                problems.add(path, "合格分数线写法有误", value, f"0 到 {rubric.total_points} 之间的数，如 80")
        elif key == "not_applicable_scoring":
            if value in NOT_APPLICABLE_SCORING:
                changes["not_applicable_scoring"] = value
            else:
                problems.add(
                    path,
                    "不涉及评分项的计分方式写法有误",
                    value,
                    "；".join(f"{k}：{v}" for k, v in NOT_APPLICABLE_SCORING.items()),
                )
        elif key == "targets":
            changes["targets"] = _override_targets(rubric, value, path, problems)
        elif key == "categories":
            changes["rows"] = _override_categories(rubric, value, path, problems)
        elif key == "thresholds":
            changes["thresholds"] = _override_thresholds(rubric, value, path, problems)
        elif key == "rubric_file":
            pass  # which rubric file to load: read by the io layer before the overrides apply
        else:
            problems.add(
                path,
                "未知的参数",
                key,
                "baseline_year、pass_score、not_applicable_scoring、targets、categories、thresholds、rubric_file 之一",
            )
    problems.raise_if_any(source, locate)
    changed = dataclasses.replace(rubric, **changes, overrides={**rubric.overrides, **params})
    structural = check_rubric(changed)
    if structural:
        raise RubricError(f"{rubric.id}（应用 {source} 之后）", structural)
    return changed


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _override_targets(rubric: Rubric, raw: Any, path: tuple, problems: ProblemCollector) -> tuple[Target, ...]:
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
        changes: dict[str, Any] = {}
        for key, value in override.items():
            if key == "bound" and target.bound is not None:
                try:
                    changes["bound"] = parse_percent(value)
                except ValueError:
                    problems.add((*where, key), "阈值写法有误", value, "带百分号的数，如 “20%”")
                    continue
                if changes["bound"] <= 0:
                    problems.add((*where, key), "阈值必须大于0", value, "如 “20%”")
            elif key == "mode" and target.rule is TargetRule.SHARE_INCREASE:
                try:
                    changes["mode"] = ShareMode(value)
                except ValueError:
                    problems.add((*where, key), "计算方式写法有误", value, "relative（相对提高）或 points（百分点）")
            elif key == "years" and target.rule is TargetRule.AVERAGE_DECREASE:
                if _is_int(value) and 1 <= value <= 20:
                    changes["years"] = value
                else:
                    problems.add((*where, key), "年数写法有误", value, "1～20 的整数，如 5")
            else:
                allowed = sorted(k for k in _TARGET_KEYS if getattr(target, k) is not None)
                problems.add((*where, key), f"工作目标 {target_id} 没有这个参数", key, "、".join(allowed) or "（无可调参数）")
        targets[target_id] = dataclasses.replace(target, **changes)
    return tuple(targets.values())


def _override_thresholds(rubric: Rubric, raw: Any, path: tuple, problems: ProblemCollector):
    if not isinstance(raw, Mapping):
        problems.add(path, "thresholds 应为映射", raw, "如 professional_staff_share: 75%")
        return rubric.thresholds
    thresholds = dict(rubric.thresholds)
    for name, value in raw.items():
        where = (*path, name)
        current = thresholds.get(name)
        if current is None:
            problems.add(where, "评估表中没有这个阈值", name, "、".join(thresholds) or "（本评估表没有阈值）")
        elif current.percent:
            try:
                thresholds[name] = dataclasses.replace(current, value=parse_percent(value))
            except ValueError:
                problems.add(where, f"“{current.label}”应写成百分数", value, "如 “75%”")
        elif _is_int(value) and value >= 0:
            thresholds[name] = dataclasses.replace(current, value=Fraction(value))
        else:
            problems.add(where, f"“{current.label}”应为非负整数", value, "如 12")
    return thresholds


def _override_categories(rubric: Rubric, raw: Any, path: tuple, problems: ProblemCollector):
    if not isinstance(raw, Mapping):
        problems.add(path, "categories 应为映射", raw, "如 2-3c: reference")
        return rubric.rows
    rows = {r.id: r for r in rubric.rows}
    for row_id, value in raw.items():
        where = (*path, row_id)
        if row_id not in rows:
            problems.add(where, "评估表中没有这一行", row_id, "如 2-3c 这样的行编号")
            continue
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
        rows[row_id] = dataclasses.replace(rows[row_id], category=category, points=points)
    return tuple(rows.values())
