"""Provenance: what a result rests on (file hashes, code revision, paths as a reader sees them)."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path
from typing import Any

import minesafe
from minesafe.evaluation import CountyResult, ProvinceResult, UnitResult
from minesafe.resources import PACKAGE
from minesafe.rubric import Rubric
from minesafe.verification import EvidenceFile


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


#: What a file looked for but not there (or not a regular file, or unreadable) counts as in a digest's place.
MISSING_FILE = "missing"


def lookup_digest(path: Path) -> str:
    """The SHA-256 of a regular file, else :data:`MISSING_FILE` (a folder, a pipe that would block,
    a file that is not there or cannot be read)."""
    if not path.is_file():
        return MISSING_FILE
    try:
        return file_sha256(path)
    except OSError:
        return MISSING_FILE


def read_code_revision() -> str:
    """The git revision of the minesafe source in use, or 未知 when it is not a git checkout."""
    import subprocess

    try:
        done = subprocess.run(
            ["git", "-C", str(PACKAGE), "describe", "--always", "--dirty", "--abbrev=12"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "未知"
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else "未知"


def run_folder() -> Path:
    """The folder a run started in, which every path shown to a reader is relative to.

    A batch's report kernels run elsewhere; the batch passes its folder in ``MINESAFE_RUN_FOLDER``.
    """
    return Path(os.environ.get("MINESAFE_RUN_FOLDER") or Path.cwd())


def shown_path(path: str | Path) -> str:
    """A path as reports show it: relative to :func:`run_folder`, never absolute."""
    path = Path(path)
    if not path.is_absolute():
        return path.as_posix()
    try:
        return Path(os.path.relpath(path, run_folder().resolve())).as_posix()
    except ValueError:  # another drive: no relative path exists
        return path.name


def _file_facts(path: str | Path) -> dict[str, str]:
    return {"path": shown_path(path), "sha256": file_sha256(Path(path))}


def _shipped_path(path: str | Path) -> str:
    """A file shipped with minesafe as provenance names it, relative to the folder holding the
    package (``minesafe/data/profiles/…`` installed, ``params/profiles/…`` in a checkout); any
    other file relative to the run's folder."""
    root = Path(__file__).resolve().parent.parent
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except ValueError:
        return shown_path(path)


def read_provenance(unit: UnitResult, params: str | Path | None) -> dict[str, Any]:
    """Where a unit's result came from (the ``provenance`` key of the JSON outputs): every input
    file with its SHA-256 — each stage's submission and, for a province, each key county's files —
    the rubric files actually used (after any ``rubric_file`` swap), the profiles submissions named
    (``profile:``), the params file and the code.
    Paths are relative to the folder the run started in."""
    inputs: list[dict[str, str]] = []
    rubrics: dict[str, Rubric] = {}
    profiles: dict[str, Rubric] = {}  # a profile named by a submission (``profile:``), by its file

    def note_rubric(rubric: Rubric) -> None:
        rubrics.setdefault(rubric.source_file, rubric)
        if rubric.profile_file:
            profiles.setdefault(rubric.profile_file, rubric)

    def note_stage(role: str, result: CountyResult | ProvinceResult, source: str | Path) -> None:
        inputs.append(
            {"role": role, "unit": result.name, "stage": result.header.stage}
            | _file_facts(source)
            | filed_on(source, result.header.submitted)
        )
        inputs.extend(evidence_facts(result, source))
        note_rubric(result.rubric)

    for result, source in zip(unit.stages, unit.sources, strict=True):
        note_stage("提交文件", result, source)
        if isinstance(result, ProvinceResult):
            for county in result.units:
                for r, county_source in zip(county.stages, county.sources, strict=True):
                    note_stage("重点县文件", r, county_source)
    return {
        "inputs": inputs,
        "rubrics": [
            {
                "id": r.id,
                "version": r.version,
                "path": r.source_file if r.source_file.startswith("minesafe/") else shown_path(r.source_file),
                "sha256": r.source_sha256,
            }
            for r in rubrics.values()
        ],
        "profiles": [
            {"name": r.profile, "path": _shipped_path(r.profile_file), "sha256": r.profile_sha256} for r in profiles.values()
        ],
        "params": None if params is None else _file_facts(params),
        "minesafe_version": minesafe.__version__,
        "code_revision": read_code_revision(),
    }


def evidence_facts(result: CountyResult | ProvinceResult, source: str | Path) -> list[dict[str, str]]:
    """The provenance entries (role 佐证材料) of the evidence files a result lists and that were found."""
    return [
        {"role": "佐证材料", "unit": result.name, "stage": result.header.stage}
        | {"path": shown_path(Path(source).parent / f.file), "sha256": f.sha256}
        for f in evidence_files(result)
        if f.sha256
    ]


def evidence_files(result: CountyResult | ProvinceResult) -> list[EvidenceFile]:
    """Every evidence file a county result lists, each once, in row order."""
    if not isinstance(result, CountyResult):
        return []
    return list({f.file: f for i in result.items for f in i.supporting}.values())


def filed_on(path: str | Path, submitted: dt.date | None) -> dict[str, str]:
    """When a submission was filed: its ``submitted:`` date, else the file's own (modification)
    date, with which of the two it is (``filed_by``: ``submitted`` or ``file``)."""
    if submitted is not None:
        return {"filed": submitted.isoformat(), "filed_by": "submitted"}
    day = dt.date.fromtimestamp(Path(path).stat().st_mtime)
    return {"filed": day.isoformat(), "filed_by": "file"}
