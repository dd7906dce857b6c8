"""Reading the evaluation's input files into typed objects: rubrics (shipped or a file), params and
profiles, submissions and prefills. Parsing and its limits are in :mod:`minesafe.parsing`; evaluating
a file — read, validate, judge, with a province's key-county files — is orchestrated by
:mod:`minesafe.results`, on top of this module.

Modules that only some commands need (json, csv, zipfile, tempfile, shutil, subprocess) are imported
where they are used, so that `minesafe evaluate` starts without them (tests/test_cli.py checks what it
imports).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from functools import cache, lru_cache
from pathlib import Path, PureWindowsPath
from typing import Any

from minesafe.exceptions import InputError, Problem, RubricError, locate_key_path
from minesafe.params import apply_params
from minesafe.parsing import Locator, parse_yaml, read_document, read_text, record_lookup, record_read
from minesafe.provenance import MISSING_FILE, file_sha256, lookup_digest
from minesafe.resources import PACKAGE, profile_folder
from minesafe.rubric import Rubric, build_rubric
from minesafe.submission import CountySubmission, build_county_submission
from minesafe.verification import EvidenceFile


def list_rubrics() -> list[str]:
    """Ids of the rubrics shipped inside the package."""
    return list(_shipped_rubric_ids())


@lru_cache(maxsize=1)
def _shipped_rubric_ids() -> tuple[str, ...]:
    folder = PACKAGE / "rubrics"
    return tuple(sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")))


def _shipped_rubric_bytes(name: str) -> bytes:
    return (PACKAGE / "rubrics" / f"{name}.yaml").read_bytes()


@cache
def _parse_shipped_rubric(name: str) -> Any:
    """A shipped rubric's YAML, parsed once per process (build_rubric only reads it)."""
    return parse_yaml(_shipped_rubric_bytes(name).decode("utf-8"), f"minesafe/rubrics/{name}.yaml")[0]


@cache
def _read_shipped_rubric(name: str) -> Rubric:
    """A shipped rubric, built once per process (rubrics are immutable; params make new ones)."""
    data = _parse_shipped_rubric(name)
    targets_from = _read_shipped_rubric(str(data["targets_from"])) if "targets_from" in data else None
    rubric = build_rubric(data, f"minesafe/rubrics/{name}.yaml", targets_from)
    return dataclasses.replace(rubric, source_sha256=hashlib.sha256(_shipped_rubric_bytes(name)).hexdigest())


def read_rubric(name: str, targets_from: Rubric | None = None) -> Rubric:
    """A shipped rubric by id (``noncoal-county``) or a rubric file by path.

    A rubric that declares ``targets_from`` gets them from ``targets_from`` if given (so params
    applied to a county rubric reach its province rubric), else from the shipped rubric named.
    """
    if name in list_rubrics():
        record_read(PACKAGE / "rubrics" / f"{name}.yaml")
        if targets_from is None:
            return _read_shipped_rubric(name)
        data, source = _parse_shipped_rubric(name), f"minesafe/rubrics/{name}.yaml"
        raw = _shipped_rubric_bytes(name)
    else:
        source = str(Path(name))
        if not Path(name).is_file():
            known = "、".join(list_rubrics())
            raise InputError(
                source,
                [Problem((), "不是已知的评估表编号，也不是已存在的评估表文件", name, f"{known}，或评估表 YAML 文件的路径")],
            )
        data, _ = parse_yaml(read_text(Path(name)), source)
        if not isinstance(data, Mapping):
            raise RubricError(source, [f"文件内容应为评估表的键值映射（当前为 {type(data).__name__}）"])
        raw = Path(name).read_bytes()
    if isinstance(data, Mapping) and "targets_from" in data and targets_from is None:
        targets_from = read_rubric(str(data["targets_from"]))
    return dataclasses.replace(build_rubric(data, source, targets_from), source_sha256=hashlib.sha256(raw).hexdigest())


def read_params(path: str | Path | None) -> tuple[Mapping[str, Any] | None, str, Locator]:
    """A params document (or None: no path, or an empty one), its name for messages and its locator."""
    if path is None or not str(path).strip():
        return None, "", locate_key_path
    data, locate = read_document(Path(path))
    if data is not None and not isinstance(data, Mapping):
        raise InputError(
            str(path), [Problem((), "参数文件内容应为键值映射", type(data).__name__, "如 evaluation: {pass_score: 80}")]
        )
    return data, str(path), locate


def read_county_rubric(name: str, params_path: str | Path | None = None, profile: str = "", submission: str = "") -> Rubric:
    """A county (or enterprise) rubric with the params file's overrides applied.

    ``evaluation.rubric_file`` in the params swaps in another rubric file (the official coal form
    when it arrives, say): a params change, no code change. Its id must be the one asked for.
    ``profile`` (a submission's own ``profile:``) applies the shipped profile of that name first,
    unless the params file is itself a profile. Only a shipped profile's name is accepted (never a
    path): anything else is refused as the ``profile`` key of the file ``submission``.
    """
    params, source, locate = read_params(params_path)
    settings = params.get("evaluation", params) if isinstance(params, Mapping) else {}
    rubric = _read_swapped_rubric(name, params, settings, source, locate)
    if profile and not (isinstance(settings, Mapping) and "profile" in settings):
        shipped_names = {p.stem: p for p in profile_folder().glob("*.yaml") if p.is_file()}
        shipped = shipped_names.get(profile)
        if shipped is None:  # a name, never a path: nothing outside the shipped profiles is read
            known = "、".join(sorted(shipped_names)) or "（无）"
            raise InputError(
                submission or str(profile_folder()),
                [Problem(("profile",), "提交文件的 profile 不是 minesafe 自带的参数方案名称", profile, known)],
            )
        profile_params, profile_source, profile_locate = read_params(shipped)
        rubric = apply_params(rubric, profile_params, profile_source, profile_locate)
        rubric = dataclasses.replace(rubric, profile_file=str(shipped), profile_sha256=file_sha256(shipped))
    swapped = isinstance(settings, Mapping) and bool(settings.get("rubric_file")) and name in list_rubrics()
    return apply_params(rubric, params, source, locate, read_rubric(name) if swapped else None)


def profile_name(data: Any) -> str:
    """The profile a submission says it was filled against (checked again by the validation)."""
    profile = data.get("profile") if isinstance(data, Mapping) else None
    return profile if isinstance(profile, str) else ""


def _read_swapped_rubric(name: str, params: Any, settings: Any, source: str, locate: Locator) -> Rubric:
    rubric_file = settings.get("rubric_file") if isinstance(settings, Mapping) else None
    if rubric_file:
        path = Path(str(rubric_file))
        path = path if path.is_absolute() else Path(source).parent / path
        rubric = read_rubric(str(path))
        if rubric.id != name:
            where = ("evaluation", "rubric_file") if "evaluation" in params else ("rubric_file",)
            raise InputError(
                source,
                [
                    Problem(
                        where,
                        f"评估表文件的编号是 {rubric.id}，与提交文件要求的 {name} 不符",
                        str(rubric_file),
                        f"编号为 {name} 的评估表文件",
                    )
                ],
                locate,
            )
    else:
        rubric = read_rubric(name)
    return rubric


def check_rubric_id(data: Any, source: str, locate: Locator) -> str:
    """The id of the shipped rubric a parsed submission names (its ``rubric:`` key), or an
    :class:`InputError` naming the known ones."""
    rubric_id = data.get("rubric") if isinstance(data, Mapping) else None
    known = list_rubrics()
    if not isinstance(rubric_id, str) or rubric_id not in known:
        raise InputError(source, [Problem(("rubric",), "缺少或写错了评估表编号", rubric_id, "、".join(known))], locate)
    return rubric_id


def read_prefill(path: Path, params_path: str | Path | None = None) -> tuple[Mapping[str, Any], Rubric]:
    """A submission to pre-fill a workbook from (``template --from``) and its rubric (with the
    params' readings, e.g. the baseline year's); values of the wrong shape are refused, missing
    ones are left blank."""
    from minesafe.workbook import check_prefill

    data, locate = read_document(path)
    rubric = read_county_rubric(
        check_rubric_id(data, str(path), locate), params_path, profile_name(data), str(path)
    )  # with a profile's rows
    problems = check_prefill(data, rubric)
    if problems:
        raise InputError(str(path), problems, locate)
    return data, rubric


def read_county_submission(
    path: Path, rubric: Rubric | None = None, params_path: str | Path | None = None
) -> tuple[CountySubmission, Rubric]:
    """A validated county submission and the rubric it is judged by."""
    data, locate = read_document(path)
    if rubric is None:
        rubric = read_county_rubric(check_rubric_id(data, str(path), locate), params_path, profile_name(data), str(path))
    return find_evidence(build_county_submission(data, rubric, str(path), locate), path.parent), rubric


def _stays_inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` (in ``folder``, as written) still is once its links are followed: a link in
    the evidence folder to a file elsewhere (/etc/passwd, another county's folder) is not evidence
    of this submission, as a path written with ``..`` is not (minesafe.verification)."""
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError):  # a loop of links
        return False


def find_evidence(submission: CountySubmission, folder: Path) -> CountySubmission:
    """The submission with each row's evidence files looked for in ``folder`` (the submission's
    own): a regular file found there (links followed, still inside it) is hashed (SHA-256);
    anything else is marked missing
    (``sha256 == ""``). Every listed file, found or not, is recorded as looked for: a batch's reuse
    depends on its digest or its absence (:func:`minesafe.provenance.lookup_digest`)."""

    def look(file: EvidenceFile) -> EvidenceFile:
        path = folder / file.file
        if "\\" in file.file and not path.exists():  # 佐证材料\台账.pdf as typed on Windows
            path = folder / PureWindowsPath(file.file).as_posix()
        record_lookup(path)
        digest = lookup_digest(path) if _stays_inside(path, folder) else MISSING_FILE
        return dataclasses.replace(file, sha256="" if digest == MISSING_FILE else digest)

    if not any(entry.evidence for entry in submission.items.values()):
        return submission
    items = {
        key: dataclasses.replace(entry, evidence=tuple(look(f) for f in entry.evidence))
        for key, entry in submission.items.items()
    }
    return dataclasses.replace(submission, items=items)
