"""The public API's entry points: evaluate a submission file, and gather many results into one
table (``load_results``) from submissions or from the ``result.json`` files of a reports folder.

Files are read by the file layer (:mod:`minesafe.files`) and judged by the one engine
(:mod:`minesafe.evaluation`); tables are built by :mod:`minesafe.frames`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minesafe.evaluation import CountyResult, ProvinceResult
from minesafe.exceptions import InputError, InputErrors, Problem
from minesafe.files import SUBMISSION_SUFFIXES, evaluate_file, evaluate_files, read_document
from minesafe.frames import RESULT_FILE, SUMMARY_STEM, result_row, result_rows, rows_frame
from minesafe.rendering import result_to_dict

if TYPE_CHECKING:
    import pandas as pd


class FileKind(enum.Enum):
    """What an input file of a batch or of ``load_results`` is."""

    SUBMISSION = "提交文件"
    RESULT = "评估结果"
    RUN = "运行参数文件"


def evaluate(path: str | Path, params: str | Path | None = None) -> CountyResult | ProvinceResult:
    """Evaluate a county, enterprise or province submission (YAML, JSON or Excel), optionally with a
    params file; the same engine as ``minesafe evaluate``. Bad input raises
    :class:`~minesafe.exceptions.InputError` with every problem of the file, in Chinese."""
    return evaluate_file(path, params)


def classify_document(data: Any) -> FileKind | None:
    """What a parsed file is: a result (it has a verdict), a run file (it names a notebook), a
    submission (it names a rubric), or ``None`` for anything else."""
    if not isinstance(data, Mapping):
        return None
    if "verdict" in data and "rubric" in data:
        return FileKind.RESULT
    if "notebook" in data:
        return FileKind.RUN
    if "rubric" in data:
        return FileKind.SUBMISSION
    return None


def find_input_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files named directly, and below folders named every submission-like file (YAML, JSON,
    Excel), in a stable order. Hidden files, Office lock files (``~$…``) and batch summaries are
    skipped; every path that does not exist is refused at once."""
    found: list[Path] = []
    missing: list[InputError] = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in SUBMISSION_SUFFIXES
                and not any(part.startswith((".", "~$")) for part in p.relative_to(path).parts)
                and p.stem != SUMMARY_STEM
            )
        elif path.exists():
            found.append(path)
        else:
            missing.append(InputError(str(path), [Problem((), "路径不存在", str(path), "已存在的文件或文件夹")]))
    raise_all(missing)
    return found


def _neither(path: Path, data: Any) -> InputError:
    shown = "、".join(map(str, data)) or "空映射" if isinstance(data, Mapping) else type(data).__name__
    expected = "含 rubric 的提交文件、批量生成的 result.json，或含 notebook 的运行参数文件"
    return InputError(str(path), [Problem((), "既不是提交文件，也不是评估结果或运行参数文件", shown, expected)])


def raise_all(errors: list[InputError]) -> None:
    """Raise every error at once: the one error itself, or :class:`InputErrors`."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise InputErrors(errors)


def _read_kind(path: Path) -> tuple[FileKind | None, Any]:
    """What a file is (``None``: neither a submission, a result nor a run file) and its content."""
    data, _ = read_document(path)
    return classify_document(data), data


def classify_files(files: Iterable[Path], accepted: Iterable[FileKind] = tuple(FileKind)) -> dict[Path, tuple[FileKind, Any]]:
    """Read and classify every file; raise one error listing every file that cannot be read, is
    neither a submission, a result nor a run file, or is of a kind not ``accepted``."""
    accepted = set(accepted)
    kinds: dict[Path, tuple[FileKind, Any]] = {}
    errors: list[InputError] = []
    for path in files:
        try:
            kind, data = _read_kind(path)
        except InputError as exc:
            errors.append(exc)
            continue
        if kind is None:
            errors.append(_neither(path, data))
        elif kind not in accepted:
            expected = "、".join(k.value for k in FileKind if k in accepted)
            errors.append(InputError(str(path), [Problem((), f"这是{kind.value}，此处不能使用", str(path), expected)]))
        else:
            kinds[path] = (kind, data)
    raise_all(errors)
    return kinds


def _stage_rows(submissions: Sequence[Path], params: str | Path | None) -> list[dict[str, Any]]:
    """A line per stage file, its unit's stages decided by the engine (the latest decides)."""
    return [
        result_row(result_to_dict(result), source) | {"以此阶段为准": result is unit.deciding}
        for unit in evaluate_files(submissions, params)
        for result, source in zip(unit.stages, unit.sources, strict=True)
    ]


def load_results(paths_or_folder: str | Path | Iterable[str | Path], params: str | Path | None = None) -> pd.DataFrame:
    """One DataFrame line per unit and stage, from submissions (evaluated here) and ``result.json``
    files of a reports folder: 年度, 省, 单位, 单位类型, 阶段, 结论, 是否合格, 得分, … (see
    :data:`minesafe.frames.RESULT_COLUMNS`). In a folder, files that are neither (reports, batch
    summaries, run or params files) are passed over; a file named directly must be a submission or
    a result. Every problem of every file is raised at once.
    """
    if isinstance(paths_or_folder, str | Path):
        paths_or_folder = [paths_or_folder]
    paths = [Path(p) for p in paths_or_folder]
    named = {p for p in paths if not p.is_dir()}
    rows: list[dict[str, Any]] = []
    submissions: list[Path] = []
    errors: list[InputError] = []
    for path in find_input_files(paths):
        if path not in named and path.suffix.lower() == ".json" and path.name != RESULT_FILE:
            continue  # batch-summary.json and the like
        try:
            kind, data = _read_kind(path)
        except InputError as exc:
            errors.append(exc)
            continue
        if kind is FileKind.RESULT:
            rows += result_rows(data, str(path))
        elif kind is FileKind.SUBMISSION:
            submissions.append(path)
        elif path in named:
            errors.append(_neither(path, data))
    try:
        rows += _stage_rows(submissions, params)
    except InputError as exc:
        errors.append(exc)
    except InputErrors as exc:
        errors += exc.errors
    raise_all(errors)
    return rows_frame(rows)
