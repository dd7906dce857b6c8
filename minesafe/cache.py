"""Reusing unchanged units: every unit's key (its input files, all package files, the versions of the
libraries that shape a report, Python's) and the batch's cache file beside the summary; the overview
has its own entry keyed on the results it reads."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from minesafe.provenance import lookup_digest
from minesafe.runs import Job, Run
from minesafe.summary import (
    UnitOutcome,
)

#: Where a batch keeps what it needs to reuse unchanged units (beside the summary).
CACHE_FILE = "batch-cache.json"


#: The libraries whose versions shape a report (its charts, fonts, tables and HTML); with Python's,
#: part of every unit's key: a new version re-makes the reports.
OUTPUT_LIBRARIES = ("matplotlib", "Pillow", "nbconvert", "Jinja2", "fontTools", "pandas", "papermill", "nbformat")


def output_library_versions() -> dict[str, str]:
    """The installed version of each of :data:`OUTPUT_LIBRARIES`, and Python's."""
    import importlib.metadata
    import platform

    return {name: importlib.metadata.version(name) for name in OUTPUT_LIBRARIES} | {"Python": platform.python_version()}


def package_roots() -> list[Path]:
    """The folders the installed package consists of: the package itself and what it ships from other
    folders of the source tree in a checkout (notebooks, demo data, lists such as the key provinces,
    params profiles and readings; inside the package once installed)."""
    from minesafe.resources import PACKAGE, package_folder, profile_folder

    readings = package_folder("data/readings")  # installed; in a checkout, params/readings
    readings = readings if readings.is_dir() else package_folder("params/readings")
    return [
        PACKAGE,
        package_folder("notebooks"),
        package_folder("data/demo"),
        package_folder("data/lists"),
        profile_folder(),
        readings,
    ]


def fingerprint_code(roots: Sequence[Path], versions: Mapping[str, str]) -> str:
    """The minesafe version plus a hash of every file under ``roots`` (whatever its kind: code,
    templates, rubrics, fonts, lists; not caches or hidden files) and of ``versions``, so that an
    edited installation or another library version counts as a new version and re-makes every report."""
    from minesafe import __version__

    digest = hashlib.sha256(json.dumps(dict(versions), sort_keys=True).encode())
    seen: set[Path] = set()
    for root in roots:
        for path in sorted(root.rglob("*")):
            inside = path.relative_to(root)
            if not path.is_file() or path.resolve() in seen or any(p == "__pycache__" or p.startswith(".") for p in inside.parts):
                continue
            seen.add(path.resolve())
            digest.update(f"{root.name}/{inside}".encode() + b"\0" + path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:16]}"


@functools.cache
def code_fingerprint() -> str:
    """:func:`fingerprint_code` of this installation, once per process."""
    return fingerprint_code(package_roots(), output_library_versions())


def unit_key(run: Run, inputs: Mapping[str, str]) -> str:
    """What a unit's report depends on, as one hash: the notebook and every input file read (by
    content), every evidence file listed (by content, or :data:`~minesafe.provenance.MISSING_FILE`),
    the parameters and the minesafe version."""
    facts = {"code": code_fingerprint(), "parameters": dict(run.parameters), "inputs": dict(sorted(inputs.items()))}
    text = json.dumps(facts, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()  # a file name that is not UTF-8: its bytes


def results_inputs(run: Run) -> dict[str, str]:
    """Every ``result.json`` now in a unit's ``results`` folder (a list run's reports folder), by its
    digest: a result added there since, or removed, changes the unit's key, as a changed one does."""
    from minesafe.frames import RESULT_FILE
    from minesafe.results import find_input_files

    named = str(run.parameters.get("results") or "").strip()
    if not named or not Path(named).is_dir():
        return {}
    folder = Path(named)
    return {str(p.resolve()): lookup_digest(p) for p in find_input_files([folder]) if p.name == RESULT_FILE}


#: What a unit with a verdict (not a list proposal) also gets: its 评估报告 as Word, and as PDF when asked.
DOCUMENT_NAME, PDF_NAME = "report.docx", "report.pdf"
OUTPUT_NAMES = ("report.ipynb", "report.html", "result.json")


def expected_outputs(verdict: str, pdf: bool) -> set[str]:
    """The files a unit's folder must hold to be reused."""
    documents = {DOCUMENT_NAME, *((PDF_NAME,) if pdf else ())} if verdict else set()
    return {*OUTPUT_NAMES, *documents}


def reuse_unit(run: Run, entry: Mapping[str, Any] | None, pdf: bool = False) -> UnitOutcome | None:
    """The recorded outcome of an unchanged unit whose outputs are intact (with its PDF when
    ``pdf`` asks for one), else ``None``."""
    if not isinstance(entry, Mapping) or entry.get("code") != code_fingerprint():
        return None
    # an input read then and gone now, or an evidence file missing then and there now, changes the key
    inputs = {path: lookup_digest(Path(path)) for path in entry.get("inputs", {})} | results_inputs(run)
    if unit_key(run, inputs) != entry.get("key"):
        return None
    folder = Path(entry["folder"])
    outputs = entry.get("outputs", {})
    outcome = _recorded_outcome(entry["outcome"])
    if outcome is None:
        return None
    if not expected_outputs(outcome.verdict, pdf) <= set(outputs):
        return None
    if any(lookup_digest(folder / n) != d for n, d in outputs.items()):
        return None
    return dataclasses.replace(outcome, run_file=str(run.source), seconds=0.0, reused=True)


def _recorded_outcome(data: Any) -> UnitOutcome | None:
    """The outcome an entry records, when each field has the type the batch writes; else ``None``."""
    try:
        outcome = UnitOutcome(**data)
    except TypeError:  # a field missing or unknown
        return None
    texts = [outcome.run_file, outcome.unit, outcome.kind, outcome.province, outcome.verdict, outcome.score]
    texts += [outcome.status, outcome.error, outcome.report, outcome.stage, outcome.rule_set]
    stages = outcome.stages
    if (
        not all(isinstance(t, str) for t in texts)
        or not (outcome.year is None or type(outcome.year) is int)
        or type(outcome.seconds) not in (int, float)
        or not isinstance(outcome.reused, bool)
        or not isinstance(stages, list | tuple)
        or not all(isinstance(s, list | tuple) and len(s) == 2 and all(isinstance(x, str) for x in s) for s in stages)
    ):
        return None
    return dataclasses.replace(outcome, stages=tuple((str(s), str(v)) for s, v in stages))


def _well_formed(entry: Any) -> bool:
    """Whether a cache entry has the shape :func:`cache_entry` writes (a hand-edited entry, or one
    written by another version, is not: its unit is re-made)."""

    def texts(mapping: Any) -> bool:
        return isinstance(mapping, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items())

    return (
        isinstance(entry, dict)
        and all(isinstance(entry.get(key), str) for key in ("code", "key", "folder"))
        and texts(entry.get("inputs"))
        and texts(entry.get("outputs"))
        and isinstance(entry.get("outcome"), dict)
    )


def read_cache(out: Path, section: str = "units") -> dict[str, Any]:
    """The batch's record of its last outputs: its ``units`` by run file, or the ``overview``'s entry
    (empty when missing or unreadable, and any entry of an unexpected shape left out: re-made)."""
    try:
        data = json.loads((out / CACHE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    found = data.get(section, {}) if isinstance(data, dict) and data.get("format") == 1 else {}
    if section == "overview":
        return found if _well_formed(found) else {}
    return {run: entry for run, entry in found.items() if _well_formed(entry)} if isinstance(found, dict) else {}


def cache_entry(job: Job, outcome: UnitOutcome, digests: Mapping[str, str]) -> dict[str, Any]:
    """What the cache records of a report made: its key, inputs, folder, outputs and outcome."""
    return {
        "code": code_fingerprint(),
        "key": unit_key(job.run, job.inputs),
        "inputs": job.inputs,
        "folder": str(job.folder),
        "outputs": dict(digests),
        "outcome": dataclasses.asdict(outcome),
    }


def reuse_overview(job: Job, entry: Mapping[str, Any]) -> bool:
    """Whether the overview made last time from the same results, notebook and installation is intact."""
    if entry.get("code") != code_fingerprint() or entry.get("key") != unit_key(job.run, job.inputs):
        return False
    outputs = entry.get("outputs", {})
    return bool(outputs) and all(lookup_digest(job.folder / n) == d for n, d in outputs.items())
