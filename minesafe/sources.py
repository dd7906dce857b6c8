"""数据来源与版本: what a report or a Word 评估报告 rests on, in the words of a reader outside the
project — one wording for the HTML report's appendix (:func:`minesafe.report.render_provenance`) and
the Word document's last 附件 (:mod:`minesafe.documents`).

The lines come from the machine record of :func:`minesafe.provenance.read_provenance` (the
``provenance`` of ``result.json``, which keeps the keys and paths): the form by its title and
version, files shipped with minesafe as 内置评估表 / 内置参数方案, the unit's files by name, params
settings in the form's words, each file's SHA-256 and the program's version.
"""

from __future__ import annotations

import datetime as dt
import posixpath
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minesafe.evaluation import CountyResult, ProvinceResult, UnitResult
from minesafe.files import list_rubrics, read_rubric
from minesafe.rubric import Category, Rubric


@dataclass(frozen=True)
class SourceLine:
    """One line of 数据来源与版本: what it is (``item``, e.g. 提交文件（示例乙县，自评）), its text (a
    file's name, the form's title, a setting) and, for a file, its SHA-256; ``file`` for a line
    naming files (one with its SHA-256, or a key county's evidence files counted)."""

    item: str
    text: str
    sha256: str = ""
    file: bool = False

    @property
    def shown(self) -> str:
        """The text with its SHA-256, as one line reads: ``yi.yaml（SHA-256 …）``."""
        return f"{self.text}（SHA-256 {self.sha256}）" if self.sha256 else self.text


def list_sources(
    unit: UnitResult, provenance: Mapping[str, Any], generated: dt.datetime, county_evidence: bool = True
) -> list[SourceLine]:
    """Every line of a unit's 数据来源与版本, in order: the form (title and version), its basis, the
    params settings in the form's words, each file with its SHA-256 (:func:`describe_files`), the
    program's version and when the report was made (``generated``). Without ``county_evidence``, a
    province's key counties' evidence files are counted, not listed (:func:`describe_inputs`)."""
    rubric = unit.deciding.rubric
    lines = [SourceLine("评估表", f"{rubric.title}（版本 {rubric.version}）"), SourceLine("依据", rubric.source)]
    if rubric.overrides:
        lines.append(SourceLine("评估参数", describe_overrides(rubric.overrides, rubric)))
    lines += describe_files(provenance, list_rubrics_used(unit), county_evidence)
    lines.append(SourceLine("生成时间", generated.strftime("%Y-%m-%d %H:%M:%S %z")))
    return lines


def list_rubrics_used(unit: UnitResult) -> list[Rubric]:
    """The forms a unit's results were evaluated with: each stage's and, for a province, each of its
    key counties' stages'."""
    results: list[CountyResult | ProvinceResult] = list(unit.stages)
    for result in unit.stages:
        if isinstance(result, ProvinceResult):
            results += [stage for county in result.units for stage in county.stages]
    return [r.rubric for r in results]


#: A profile's settings as a report names them (their values: the profile, threshold names, row ids).
_PROFILE_LABELS = {"profile": "参数方案", "thresholds": "调整的阈值", "add_thresholds": "增补的阈值", "add_rows": "增补的评估行"}
#: A target's settings as a report names them.
_TARGET_LABELS = {"bound": "目标值", "mode": "计算方式", "years": "平均年数"}
_SHARE_MODES = {"relative": "按相对提高比例", "points": "按提高的百分点"}


def describe_overrides(overrides: Mapping[str, Any], rubric: Rubric) -> str:
    """A params file's overrides as readable text, not a Python mapping: one ``what：value`` per
    setting in the form's words (第 3-7a 行类别：否决项, 合格分数线：85 分, a reading by its meaning,
    thresholds by their Chinese label); a profile by its document and level (参数方案：乌能局发…（市级）；
    增补的阈值：…), never by its key."""
    parts = []

    def label(name: str) -> str:
        return rubric.thresholds[name].label if name in rubric.thresholds else name

    def walk(value: Any, path: tuple[str, ...]) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                walk(inner, (*path, str(key)))
            return
        if len(path) == 1 and path[0] in _PROFILE_LABELS and isinstance(value, str):
            parts.append(f"{_PROFILE_LABELS[path[0]]}：{_describe_profile_setting(path[0], value, rubric, label)}")
        elif len(path) == 2 and path[0] == "thresholds" and path[1] in rubric.thresholds:
            parts.append(f"{rubric.thresholds[path[1]].label} = {value}")
        else:
            parts.append(_describe_setting(path, value, rubric))

    walk(overrides, ())
    return "；".join(parts)


def _describe_profile_setting(key: str, value: str, rubric: Rubric, label: Callable[[str], str]) -> str:
    """A profile setting's value: the profile by its level and document (``市级：乌能局发〔2023〕17号…``),
    thresholds by their labels, added rows by their ids."""
    if key == "profile":  # "name（市级：document）" as minesafe.params describes it
        level, _, document = value.removeprefix(f"{rubric.profile}（").removesuffix("）").partition("：")
        return f"{document}（{level}）" if rubric.profile and document else value
    return value if key == "add_rows" else "、".join(map(label, value.split("、")))


def _describe_setting(path: tuple[str, ...], value: Any, rubric: Rubric) -> str:
    """One params setting in the form's words; a setting without such words as ``key = value``."""
    from minesafe.params import BASELINE_READINGS, FIELD_ROLES, NOT_APPLICABLE_SCORING

    head, rest = path[0], path[1:]
    categories = {c.key: c.value for c in Category}
    targets = {t.id: t for t in rubric.targets}
    rows = {r.id: r for r in rubric.rows}
    if head == "categories" and len(rest) == 1:
        return f"第 {rest[0]} 行类别：{categories.get(str(value), value)}"
    if head == "field_roles" and len(rest) == 2 and rest[0] in rows:
        field = rows[rest[0]].field_by_key(rest[1])
        return f"第 {rest[0]} 行填报项 {field.label if field else rest[1]}：{FIELD_ROLES.get(str(value), value)}"
    if head == "targets" and len(rest) == 2 and rest[0] in targets and rest[1] in _TARGET_LABELS:
        shown = _SHARE_MODES.get(str(value), value) if rest[1] == "mode" else value
        return f"工作目标 {rest[0]}（{targets[rest[0]].name}）{_TARGET_LABELS[rest[1]]}：{shown}"
    simple = {
        "baseline_year": ("基准年份", f"{value}年"),
        "pass_score": ("合格分数线", f"{value} 分"),
        "not_applicable_scoring": ("不涉及评分项的计分方式", NOT_APPLICABLE_SCORING.get(str(value), value)),
        "baseline_reading": ("基准年读法", BASELINE_READINGS.get(str(value), value)),
        "rubric_file": ("评估表文件", Path(str(value)).name),
        "national": ("评估口径", "国家评估表口径" if value else "非国家评估表口径"),
        "name": ("口径名称", value),
    }
    if not rest and head in simple:
        what, shown = simple[head]
        return f"{what}：{shown}"
    return f"{'.'.join(path)} = {value}"


def describe_files(
    provenance: Mapping[str, Any], rubrics: Sequence[Rubric] = (), county_evidence: bool = True
) -> list[SourceLine]:
    """The files of :func:`minesafe.provenance.read_provenance` as :class:`SourceLine` rows, in the
    words of a reader outside the project: each submitted file by its file name and each evidence
    file as its submission lists it (relative to the submission's folder); the form by its official
    title (from ``rubrics``, the forms used) and a file shipped with minesafe as ``minesafe 内置评估表``
    / ``minesafe 内置参数方案``, never a form key or a package path; the SHA-256 of every file (the
    audit value), as the JSON record holds them; then the program's version."""
    lines = describe_inputs(provenance["inputs"], county_evidence)
    forms = {r.source_sha256: r for r in rubrics}
    for r in provenance["rubrics"]:
        form = forms.get(r["sha256"])
        title = f"《{form.title}》" if form else "评估表"
        where = "minesafe 内置评估表" if _is_shipped_form(r) else f"评估表文件 {posixpath.basename(r['path'])}"
        lines.append(SourceLine("评估表数据", f"{title}{where}，版本 {r['version']}", r["sha256"], file=True))
    documents = {r.profile_sha256: r.profile_scope[0] for r in rubrics if r.profile_sha256}
    for p in provenance["profiles"]:
        lines.append(
            SourceLine("参数方案", f"{documents.get(p['sha256']) or '参数方案'}，minesafe 内置参数方案", p["sha256"], file=True)
        )
    if provenance["params"]:
        params = provenance["params"]
        lines.append(SourceLine("参数文件", posixpath.basename(params["path"]), params["sha256"], file=True))
    lines.append(SourceLine("程序版本", describe_program(provenance["minesafe_version"], provenance["code_revision"])))
    return lines


#: A key county's evidence files in a province's record when they are counted, not listed.
COUNTED_EVIDENCE = "佐证材料 {count} 份（文件名及 SHA-256 见该县评估报告的“数据来源与版本”）"


def describe_inputs(inputs: Sequence[Mapping[str, str]], county_evidence: bool = True) -> list[SourceLine]:
    """The input files of a provenance record, each with its SHA-256: a submission by its file name,
    an evidence file as its submission lists it (relative to the submission's folder: the record
    lists evidence right after its submission). Without ``county_evidence`` a key county's evidence
    files are one line per county and stage, :data:`COUNTED_EVIDENCE` (each county's own document
    lists them), so a province's record grows with its counties, not with their evidence."""
    lines: list[SourceLine] = []
    counts: Counter[str] = Counter()  # counted evidence: a line's item -> its files
    places: dict[str, int] = {}  # counted evidence: a line's item -> its place in lines
    folder, county = ".", False
    for i in inputs:
        item = f"{i['role']}（{i['unit']}，{i['stage']}）"
        if i["role"] != "佐证材料":
            folder, shown = posixpath.split(i["path"])
            folder, county = folder or ".", i["role"] == "重点县文件"
        elif county and not county_evidence:
            counts[item] += 1
            if item not in places:
                places[item] = len(lines)
                lines.append(SourceLine(item, "", file=True))
            continue
        else:
            shown = posixpath.relpath(i["path"], folder)
        lines.append(SourceLine(item, shown, i["sha256"], file=True))
    for item, at in places.items():
        lines[at] = SourceLine(item, COUNTED_EVIDENCE.format(count=counts[item]), file=True)
    return lines


def _is_shipped_form(record: Mapping[str, Any]) -> bool:
    """Whether a provenance record's form file is the one shipped with minesafe: its path says so
    (``minesafe/rubrics/…``) and its SHA-256 is the shipped form's. A county's own form kept in a
    folder it named ``minesafe`` has such a path too, never that hash."""
    shipped = record["id"] in list_rubrics() and record["path"] == f"minesafe/rubrics/{record['id']}.yaml"
    return shipped and read_rubric(record["id"]).source_sha256 == record["sha256"]


def describe_program(version: str, revision: str) -> str:
    """The program as the appendix names it: ``minesafe 0.2.0（源代码修订号 5dc1547aaabd）``; a
    revision with local changes says so, an unknown one is left out."""
    if revision in ("", "未知"):
        return f"minesafe {version}"
    changed = revision.endswith("-dirty")
    return f"minesafe {version}（源代码修订号 {revision.removesuffix('-dirty')}" + ("，含本地修改" if changed else "") + "）"
