"""Stages: a unit's self-assessment (自评) beside the province's on-site verification (核查).

Every target number and row result where the two differ is listed, with whether that difference
alone changes the verdict of the self-assessment (judged by the engine, one difference at a time).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from minesafe.evaluation import CountyResult, evaluate_county
from minesafe.exceptions import InputError, Problem
from minesafe.rubric import Rubric
from minesafe.submission import CountySubmission, ItemEntry, build_county_submission, put_value, target_fields


@dataclass(frozen=True)
class Difference:
    place: str
    self_assessed: str
    verified: str
    changes_verdict: bool
    opinion: str = ""  # why the later stage differs: its group's 核查意见 on the row, else its note


@dataclass(frozen=True)
class StageComparison:
    self_assessed: CountyResult
    verified: CountyResult
    differences: tuple[Difference, ...]

    @property
    def verdicts_differ(self) -> bool:
        return self.self_assessed.passed != self.verified.passed


def _read(data: Mapping[str, Any], rubric: Rubric, source: str) -> tuple[CountySubmission, CountyResult]:
    submission = build_county_submission(data, rubric, source)
    return submission, evaluate_county(submission, rubric)


def _evaluate(data: Mapping[str, Any], rubric: Rubric, source: str) -> CountyResult:
    return _read(data, rubric, source)[1]


def _target_number(submission: CountySubmission, path: tuple) -> Any:
    """The validated number at a :class:`TargetField` path (``60`` and ``"60"`` are both 60)."""
    node: Any = submission.targets[path[0]]
    node = getattr(node, "previous" if path[1] == "previous_5_years" else path[1])
    return node[path[2]] if len(path) > 2 else node


def _meaning(entry: ItemEntry) -> tuple:
    """What a row's entry means for the evaluation: ``完成`` and ``{result: 完成}`` are the same;
    a note is an explanation, not a difference."""
    return entry.result, dict(entry.values)


def compare_stages(
    self_data: Mapping[str, Any], verified_data: Mapping[str, Any], rubric: Rubric, sources: tuple[str, str] = ("自评", "核查")
) -> StageComparison:
    """Compare the two stages of one unit's submission; both must name the same unit and year.

    Values are compared by what they mean once validated, not by how they were written.
    """
    if rubric.unit == "province":
        raise InputError(
            sources[0],
            [
                Problem(
                    ("rubric",),
                    "自评与核查的比较只适用于重点县或重点企业的提交文件，这是重点省（区）的文件",
                    rubric.id,
                    "重点县或重点企业的提交文件；省的结论由各重点县得出，请逐县比较",
                )
            ],
        )
    if isinstance(verified_data, Mapping) and verified_data.get("rubric") != rubric.id:
        raise InputError(
            sources[1], [Problem(("rubric",), "核查文件与自评文件所用的评估表不同", verified_data.get("rubric"), rubric.id)]
        )
    own, mine = _read(self_data, rubric, sources[0])
    other, theirs = _read(verified_data, rubric, sources[1])
    problems = [
        Problem(
            (key,),
            f"自评与核查的{label}不一致",
            getattr(theirs.header, key, theirs.county),
            str(getattr(mine.header, key, mine.county)),
        )
        for key, label in (("province", "省（区）"), ("year", "评估年度"))
        if getattr(mine.header, key) != getattr(theirs.header, key)
    ]
    if mine.county != theirs.county:
        problems.append(Problem((rubric.unit_key,), "自评与核查不是同一单位", theirs.county, mine.county))
    if problems:
        raise InputError(sources[1], problems)
    differences = []
    for field in target_fields(rubric, mine.header.year):
        a, b = _target_number(own, field.path), _target_number(other, field.path)
        if a != b:
            changed = copy.deepcopy(dict(self_data))
            put_value(changed["targets"], field.path, b)
            flips = _evaluate(changed, rubric, sources[0]).passed != mine.passed
            differences.append(Difference(f"{field.target.id} {field.label}", str(a), str(b), flips))
    results = {i.row.id: i for i in mine.items}
    for item in theirs.items:
        before = results[item.row.id]
        if before.outcome is not item.outcome or _meaning(own.items[item.row.id]) != _meaning(other.items[item.row.id]):
            changed = copy.deepcopy(dict(self_data))
            changed["items"][item.row.id] = copy.deepcopy(verified_data["items"][item.row.id])
            flips = _evaluate(changed, rubric, sources[0]).passed != mine.passed
            a = before.outcome.value + (f"（{before.evidence}）" if before.evidence else "")
            b = item.outcome.value + (f"（{item.evidence}）" if item.evidence else "")
            opinions = theirs.verification.opinions if theirs.verification else {}
            opinion = opinions.get(item.row.id) or item.note
            differences.append(Difference(f"第 {item.row.id} 行 {item.row.requirement}", a, b, flips, opinion))
    return StageComparison(mine, theirs, tuple(differences))
