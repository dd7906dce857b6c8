"""Resubmissions keep history: when a unit's stage is submitted again with other content, the batch
keeps the earlier outputs (``历史版本/<时间>/``: its report, result and documents) and the new report
says what it replaces and what changed (verdict, score, targets, rows). An unchanged resubmission
(the same submission files, byte for byte) is not a new version.

Everything here works on ``result.json`` mappings and file contents; the batch does the writing
(in the same all-or-nothing swap as the report itself, :func:`minesafe.storage.replace_folder`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from minesafe.names import normalize_name

#: The folder of a unit's report folder that keeps its earlier versions (a batch never reads it as input).
HISTORY_FOLDER = "历史版本"
#: The roles of the provenance inputs that make a version: the unit's own files (and a province's counties').
VERSION_ROLES = ("提交文件", "重点县文件")


#: What a batch makes in a unit's report folder (with or without --pdf): anything else there is the
#: evaluator's own (notes, a signed copy) and is carried over when the report is re-made.
MADE_NAMES = frozenset({"report.ipynb", "report.html", "result.json", "report.docx", "report.pdf", HISTORY_FOLDER})


def carry_own_files(folder: Path) -> dict[str, bytes]:
    """The files in a unit's report folder that the batch did not make (by path relative to it),
    so that re-making the report, which swaps the whole folder, never deletes them."""
    if not folder.is_dir():
        return {}
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink() and p.relative_to(folder).parts[0] not in MADE_NAMES
    }


def submission_digests(result: Mapping[str, Any]) -> dict[str, str]:
    """The SHA-256 of every submission a result rests on, by role, unit and stage."""
    inputs = (result.get("provenance") or {}).get("inputs", [])
    return {
        f"{i.get('role')}|{_unit_name(i.get('unit'))}|{i.get('stage')}": str(i.get("sha256"))
        for i in inputs
        if i.get("role") in VERSION_ROLES
    }


def _unit_name(name: Any) -> str:
    """A unit name from a ``result.json`` as it is compared: normalised (an older result may hold it
    as written, with invisible or look-alike characters, :func:`minesafe.names.normalize_name`)."""
    return normalize_name(name) if isinstance(name, str) else str(name)


def describe_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What a new version changed against the earlier one: verdict, deciding stage, score, each
    target's value and each row's result (in Chinese, one line each)."""
    changes = []
    if old.get("verdict") != new.get("verdict"):
        changes.append(f"结论：{old.get('verdict')} → {new.get('verdict')}")
    if old.get("stage") != new.get("stage"):
        changes.append(f"决定结论的评估阶段：{old.get('stage')} → {new.get('stage')}")
    if old.get("score") != new.get("score") and "score" in new:
        changes.append(f"评分项得分：{old.get('score')} → {new.get('score')}")
    for key, target in (new.get("targets") or {}).items():
        before = (old.get("targets") or {}).get(key, {})
        if before.get("value_text") != target.get("value_text") or before.get("result") != target.get("result"):
            changes.append(
                f"工作目标 {key}：{before.get('value_text') or '—'}（{before.get('result')}）→ {target.get('value_text') or '—'}（{target.get('result')}）"
            )
    for key, item in (new.get("items") or {}).items():
        before = (old.get("items") or {}).get(key, {})
        if before.get("result") != item.get("result"):
            changes.append(f"第 {key} 行：{before.get('result')} → {item.get('result')}")
    earlier = {_unit_name(name): county for name, county in (old.get("counties") or {}).items()}
    for name, county in (new.get("counties") or {}).items():
        before = earlier.get(_unit_name(name), {})
        if before.get("verdict") != county.get("verdict"):
            changes.append(f"重点县 {name}：{before.get('verdict') or '无结果'} → {county.get('verdict')}")
    return changes or ["提交文件内容有变化，结论、得分、工作目标和各行结果均未变"]


def _free_stamp(stamp: str, taken: set[str]) -> str:
    """A version's folder name: its time, with -2, -3 … when a version of the same second is kept
    (two resubmissions within a second must not overwrite the earlier one's files)."""
    candidates = (stamp if n == 1 else f"{stamp}-{n}" for n in range(1, len(taken) + 2))
    return next(c for c in candidates if c not in taken)


def keep_history(folder: Path, result: Mapping[str, Any], now: dt.datetime) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The unit's result with its version facts, and the history files its folder must keep.

    ``result`` is the new ``result.json`` mapping; ``folder`` the unit's report folder as it is.
    When the folder holds a result resting on other submissions, its outputs are kept under
    ``历史版本/<now>/`` and the result gains ``replaces`` (the earlier version's folder, stage and
    verdict, and the changes) and ``versions`` (the versions kept plus this one; absent for a
    first version). An unchanged resubmission keeps what the last version said."""
    import json  # here: `minesafe evaluate` imports this module (for HISTORY_FOLDER) and starts without json

    kept: dict[str, bytes] = {}
    history = folder / HISTORY_FOLDER
    if history.is_dir():
        kept = {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(history.rglob("*")) if p.is_file()}
    try:
        old = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = None
    facts: dict[str, Any] = {}
    if isinstance(old, Mapping) and submission_digests(old) != submission_digests(result):
        stamp = _free_stamp(now.strftime("%Y%m%d-%H%M%S"), {name.split("/")[1] for name in kept})
        for p in sorted(folder.iterdir()):
            if p.is_file():
                kept[f"{HISTORY_FOLDER}/{stamp}/{p.name}"] = p.read_bytes()
        facts["replaces"] = {
            "folder": f"{HISTORY_FOLDER}/{stamp}",
            "verdict": old.get("verdict"),
            "stage": old.get("stage"),
            "changes": describe_changes(old, result),
        }
    elif isinstance(old, Mapping) and old.get("replaces"):
        facts["replaces"] = old["replaces"]
    versions = len({name.split("/")[1] for name in kept}) + 1
    if versions > 1:  # a first version's result.json is the plain result
        facts["versions"] = versions
    return dict(result) | facts, kept


def replacement_lines(result: Mapping[str, Any]) -> list[str]:
    """What a new version's report and 评估报告 open with: which submission it replaces, then each
    change; empty for a first version."""
    replaces = result.get("replaces")
    if not replaces:
        return []
    head = (
        f"【重新提交】本报告为第 {result.get('versions')} 版，替换此前的提交（原结论：{replaces.get('verdict')}，"
        f"以{replaces.get('stage')}为准；原报告、结果和文档存于本报告文件夹的 {replaces.get('folder')}/）。与上一版相比："
    )
    return [head, *replaces.get("changes", [])]


def describe_replacement(result: Mapping[str, Any]) -> str:
    """:func:`replacement_lines` as the Markdown cell a report opens with, or ``""``."""
    lines = replacement_lines(result)
    if not lines:
        return ""
    return "\n".join([f"**{lines[0]}**", "", *(f"- {change}" for change in lines[1:])])
