"""The public API's entry points and the orchestration of an evaluation: evaluate a submission
file (a province with the key-county files it lists), one unit's stage files, or files of many
units; and gather many results into one table (``load_results``) from submissions or from the
``result.json`` files of a reports folder. The CLI, the batch, the reports and the app evaluate
through these.

Files are read by the file layer (:mod:`minesafe.files`, :mod:`minesafe.parsing`) and judged by the one engine
(:mod:`minesafe.evaluation`); tables are built by :mod:`minesafe.frames`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minesafe.evaluation import (
    CountyResult,
    ProvinceResult,
    UnitResult,
    decide_stages,
    evaluate_county,
    evaluate_province,
    group_stages,
)
from minesafe.exceptions import InputError, InputErrors, KeyPath, Problem, ProblemCollector
from minesafe.files import (
    check_rubric_id,
    find_evidence,
    profile_name,
    read_county_rubric,
    read_county_submission,
    read_rubric,
)
from minesafe.frames import RESULT_FILE, SUMMARY_STEM, result_row, result_rows, rows_frame
from minesafe.history import HISTORY_FOLDER
from minesafe.names import normalize_name, reveal_characters
from minesafe.parsing import SUBMISSION_SUFFIXES, check_name_length, read_document, read_text
from minesafe.provenance import shown_path
from minesafe.rendering import result_to_dict
from minesafe.resources import package_folder, read_key_provinces
from minesafe.submission import CountySubmission, ProvinceSubmission, build_county_submission, build_province_submission
from minesafe.verification import EVIDENCE_FOLDER

#: Folders never read for inputs: a county's evidence, and the earlier versions a batch keeps.
SKIPPED_FOLDERS = (EVIDENCE_FOLDER, HISTORY_FOLDER)

if TYPE_CHECKING:
    import pandas as pd

    from minesafe.lists import ListHistory


class FileKind(enum.Enum):
    """What an input file of a batch or of ``load_results`` is."""

    SUBMISSION = "提交文件"
    RESULT = "评估结果"
    RUN = "运行参数文件"


def evaluate(
    path: str | Path, params: str | Path | None = None, county_files: Sequence[str | Path] = ()
) -> CountyResult | ProvinceResult:
    """Read, validate and evaluate one county, enterprise or province submission file (YAML, JSON
    or Excel; one stage), optionally with a params file; the same engine as ``minesafe evaluate``.
    Bad input raises :class:`~minesafe.exceptions.InputError` with every problem of the file, in
    Chinese.

    A province's key counties are read from the files it lists (``counties:``) and from
    ``county_files``: more of its key counties' files, e.g. the 核查 files a batch holds beside the
    listed 自评 (a batch passes them, so the province and each county's own report decide by the
    same stage). A county given with several stages counts with its latest stage; the province is
    合格, 不合格 or 待定 (see :class:`minesafe.evaluation.Verdict`). See :func:`evaluate_unit` for
    one unit given at several stages.
    """
    path = Path(path)
    data, locate = read_document(path)
    rubric_id = check_rubric_id(data, str(path), locate)
    stub = read_rubric(rubric_id)
    if stub.unit != "province":
        rubric = read_county_rubric(rubric_id, params, profile_name(data), str(path))
        return evaluate_county(find_evidence(build_county_submission(data, rubric, str(path), locate), path.parent), rubric)
    county_rubric = read_county_rubric(stub.county_rubric, params)
    rubric = read_rubric(rubric_id, targets_from=county_rubric)
    province = build_province_submission(data, rubric, str(path), locate)
    errors: list[InputError] = []
    counties: list[UnitResult] = []
    membership = ProblemCollector()
    files: dict[Path, tuple[str, int]] = {}  # each county file by its real path: the same file twice is refused
    stages: dict[tuple[str, str], tuple[str, int]] = {}  # (county, stage) -> where it was given
    given = _list_county_files(path, province, stub.county_rubric, county_files)
    shown = {place: name for place, name, _ in given}

    for place, name, county_path in given:
        if place[0] == "county_files" and county_path.resolve() in files:
            continue  # a batch's addition the province lists itself
        missing = _missing_county_file(county_path, path.parent)
        if missing is not None:
            membership.add(place, missing.message, name, missing.expected)
            continue
        if _listed_before(
            files,
            county_path.resolve(),
            place,
            shown,
            membership,
            "是同一个文件（路径写法不同或为符号链接）",
            "每个重点县文件只列一次",
        ):
            continue
        try:
            county, _ = read_county_submission(county_path, county_rubric)
        except InputError as exc:
            errors.append(exc)
            continue
        if not _check_membership(province, county, place, name, membership):
            continue
        if _listed_before(
            stages,
            (county.county, county.header.stage),
            place,
            shown,
            membership,
            f"是同一重点县“{county.county}”的同一评估阶段（{county.header.stage}）",
            "每个重点县每个评估阶段只列一个文件",
        ):
            continue
        counties.append(UnitResult((evaluate_county(county, county_rubric),), (str(county_path),)))
    if membership.problems:
        errors.insert(0, InputError(str(path), membership.problems, locate))
    raise_all(errors)
    return evaluate_province(province, rubric, counties, read_key_provinces())


def _list_county_files(
    path: Path, province: ProvinceSubmission, county_rubric: str, county_files: Sequence[str | Path]
) -> list[tuple[tuple[str, int], str, Path]]:
    """Every key county file of the province file at ``path``, with where it was given and as what:
    the province's list, then the batch's additions; when the province lists none, the files found
    by the county names inside them."""
    given = [(("counties", i), name, path.parent / name) for i, name in enumerate(province.counties)]
    given += [(("county_files", j), str(f), Path(f)) for j, f in enumerate(county_files)]
    if not province.counties:
        known = {p.resolve() for _, _, p in given}
        found = find_county_files(path, province.header.province, province.header.year, county_rubric, province.key_counties)
        given += [
            (("found", k), str(f.relative_to(path.parent)), f) for k, f in enumerate(f for f in found if f.resolve() not in known)
        ]
    return given


def _listed_before(
    seen: dict[Any, tuple[str, int]],
    key: Any,
    place: tuple[str, int],
    shown: Mapping[tuple[str, int], str],
    membership: ProblemCollector,
    same: str,
    expected: str,
) -> bool:
    """Whether the key county's file at ``place`` repeats an earlier one under ``key`` (recorded as a
    problem); records it if not. ``shown``: each place's file as it was given."""
    if key not in seen:
        seen[key] = place
        return False
    first = seen[key]
    where = {"counties": f"第 {first[1] + 1} 项", "found": "按县名找到的文件"}.get(str(first[0]), "批量评估中的文件")
    if place[0] == "found":  # not a key of the province file: named by the file itself
        membership.add(
            ("counties",),
            f"按县名找到的文件 {shown[place]} 与{where}（{shown[first]}）{same}",
            shown[place],
            expected + "；或在 counties 中列出所用的文件",
        )
    else:
        membership.add(place, f"与{where}（{shown[first]}）{same}", shown[place], expected)
    return True


def _missing_county_file(county_path: Path, folder: Path) -> Problem | None:
    """Why a key county's file named in a province's evaluation cannot be read: a name too long, no such file."""
    too_long = check_name_length(county_path)
    if too_long is not None:
        return too_long
    if not county_path.is_file():
        return Problem((), "找不到重点县文件", expected=f"相对于 {folder} 的已存在文件路径")
    return None


def _check_membership(
    province: ProvinceSubmission, county: CountySubmission, place: KeyPath, name: str, membership: ProblemCollector
) -> bool:
    """Whether a key county's file belongs to ``province``: the same province and year (else a
    problem, the county still counted) and a county of its key_counties (else it is left out)."""
    for key, label in (("province", "省（区）"), ("year", "评估年度")):
        mine, theirs = getattr(province.header, key), getattr(county.header, key)
        if mine != theirs:
            membership.add(place, f"重点县文件的{label}与本省文件不一致", theirs, str(mine))
    if county.county in province.key_counties:
        return True
    membership.add(
        place,
        f"文件中的重点县“{reveal_characters(county.county)}”不在本省 key_counties 所列重点县之中",
        name,
        "key_counties 所列县之一：" + "、".join(province.key_counties),
    )
    return False


def find_county_files(province_file: Path, province: str, year: int, county_rubric: str, names: Sequence[str]) -> list[Path]:
    """The key counties' files beside a province file (in its folder and below, evidence folders
    aside) that name the county form, the province, the year and one of ``names`` — read as the
    engine reads names. A file there that cannot be read at all is raised with its problems (it
    may be a key county's: never taken for one not submitted)."""
    found = []
    unreadable: list[InputError] = []
    for candidate in find_input_files([province_file.parent]):
        if candidate.resolve() == province_file.resolve():
            continue
        try:
            data, _ = read_document(candidate)
        except InputError as exc:
            unreadable.append(exc)
            continue
        if not (isinstance(data, Mapping) and data.get("rubric") == county_rubric and "verdict" not in data):
            continue
        unit = data.get("county")
        if (
            isinstance(unit, str)
            and normalize_name(unit) in names
            and normalize_name(str(data.get("province", ""))) == province
            and str(data.get("year", "")).strip() == str(year)
        ):
            found.append(candidate)
    raise_all(unreadable)
    return found


#: The national lists shipped with minesafe that are a list history by default: kind -> (file, column, year).
SHIPPED_LIST_HISTORIES = {
    "coal-county": ("coal-key-counties-2023.csv", "county", 2023),
    "coal-enterprise": ("coal-key-enterprises-2023.csv", "enterprise", 2023),
}


def read_list_history(history_file: str | Path = "", results_folder: str | Path = "") -> tuple[ListHistory, dict[str, str]]:
    """A list history (``minesafe lists``) and, with ``results_folder`` (a reports folder), each
    unit's result taken from its ``result.json`` files (:func:`minesafe.lists.apply_results`) and
    the result each rests on. Without ``history_file`` the national list shipped for the results'
    form is the history (煤矿重点县 and 重点企业, 2023)."""
    import csv

    from minesafe.lists import apply_results, build_history, history_from_list

    results: list[tuple[str, Mapping[str, Any]]] = []
    if str(results_folder).strip():
        folder = Path(results_folder)
        if not folder.is_dir():
            raise InputError(str(folder), [Problem((), "评估结果文件夹不存在", str(folder), "minesafe batch 的输出文件夹")])
        files = [p for p in find_input_files([folder]) if p.name == RESULT_FILE]  # a batch's result.json files only
        found = classify_files(files, accepted=(FileKind.RESULT,))
        results = [(shown_path(path), data) for path, (_, data) in found.items()]
    if str(history_file).strip():
        data, locate = read_document(Path(history_file))
        history = build_history(data, str(history_file), locate)
    else:
        kinds = {str(r.get("rubric")) for _, r in results} & set(SHIPPED_LIST_HISTORIES)
        if len(kinds) != 1:
            expected = "名单数据文件（YAML）；不给出时，评估结果须为煤矿重点县或煤矿重点企业之一种，以随程序提供的2023年国家名单为名单历史"
            raise InputError(
                str(results_folder) or "（未给出）",
                [Problem((), "无法确定名单历史", "、".join(sorted(kinds)) or "（无）", expected)],
            )
        kind = kinds.pop()
        name, column, year = SHIPPED_LIST_HISTORIES[kind]
        rows = csv.DictReader(read_text(package_folder("data/lists") / name).lstrip("\ufeff").splitlines())
        history = history_from_list(kind, year, [row[column] for row in rows])
    return apply_results(history, results) if results else (history, {})


def evaluate_unit(
    paths: Sequence[str | Path], params: str | Path | None = None, county_files: Sequence[str | Path] = ()
) -> UnitResult:
    """One unit's submission files at different stages (自评, 核查, 认定), evaluated and combined:
    the latest stage decides. Raises :class:`InputError` when the files are not of one unit or
    give one stage twice. ``county_files``: a province's further key-county files (see :func:`evaluate`)."""
    results = [evaluate(p, params, county_files) for p in paths]
    return decide_stages(results, [str(p) for p in paths])


def evaluate_files(paths: Sequence[str | Path], params: str | Path | None = None) -> list[UnitResult]:
    """Submission files of any units, each unit's stages side by side: one :class:`UnitResult` per
    unit, in the order units first appear. Every file's problems are raised together."""
    results: list[CountyResult | ProvinceResult] = []
    errors: list[InputError] = []
    for p in paths:
        try:
            results.append(evaluate(p, params))
        except InputError as exc:
            errors.append(exc)
        except InputErrors as exc:
            errors.extend(exc.errors)
    raise_all(errors)
    return group_stages(results, [str(p) for p in paths])


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
    Excel), in a stable order. Hidden files, Office lock files (``~$…``), batch summaries and
    everything in an evidence folder (``佐证材料``: a county folder is handed over as it is) or in
    a report folder's earlier versions (``历史版本``, see minesafe.history) are
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
                and not any(part.startswith((".", "~$")) or part in SKIPPED_FOLDERS for part in p.relative_to(path).parts[:-1])
                and not p.name.startswith((".", "~$"))
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


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_year(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))


def _is_table(value: Any) -> bool:
    return isinstance(value, Mapping) and all(isinstance(v, Mapping) for v in value.values())


def _is_names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _is_provenance(value: Any) -> bool:
    inputs = value.get("inputs", []) if isinstance(value, Mapping) else None
    return isinstance(inputs, list) and all(
        isinstance(e, Mapping) and (e.get("role") != "提交文件" or (_is_text(e.get("stage")) and _is_text(e.get("path"))))
        for e in inputs
    )


#: What the tables of results (``load_results``, the batch summary, ``minesafe status`` and
#: ``lists --results``) read from a ``result.json``: key -> (required, what it is, its test).
_RESULT_SHAPE: dict[str, tuple[bool, str, Any]] = {
    "rubric": (True, "评估表编号（文字）", _is_text),
    "year": (True, "评估年度（整数）", _is_year),
    "province": (True, "省（区）名称（文字）", _is_text),
    "verdict": (True, "结论（文字）", _is_text),
    "passed": (True, "true、false 或 null", lambda v: v is None or isinstance(v, bool)),
    "county": (False, "县名（文字）", _is_text),
    "enterprise": (False, "企业名称（文字）", _is_text),
    "stage": (False, "评估阶段（文字）", _is_text),
    "score": (False, "数字或 null", _is_number),
    "pass_score": (False, "数字或 null", _is_number),
    "versions": (False, "版本数（整数）", _is_year),
    "targets": (False, "各项目标的映射", _is_table),
    "items": (False, "各项任务的映射", _is_table),
    "counties": (False, "各重点县的映射", _is_table),
    "pending_counties": (False, "县名列表", _is_names),
    "missing_counties": (False, "县名列表", _is_names),
    "reasons": (False, "原因列表", lambda v: isinstance(v, list) and all(isinstance(r, Mapping) for r in v)),
    "provenance": (False, "来源记录（inputs 为映射列表，提交文件有 stage 和 path）", _is_provenance),
}


def check_result_shape(data: Mapping[str, Any]) -> list[Problem]:
    """What is wrong with a ``result.json`` as minesafe wrote it (one edited by hand, damaged, or
    of another program): each key the tables read that is missing or of another kind."""
    problems = []
    for key, (required, what, test) in _RESULT_SHAPE.items():
        if key not in data:
            if required:
                problems.append(Problem((key,), "评估结果文件缺少此项（文件可能已被改动，请重新运行批量评估）", expected=what))
        elif not test(data[key]):
            problems.append(Problem((key,), "评估结果文件此项写法有误（文件可能已被改动，请重新运行批量评估）", data[key], what))
    return problems


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
        elif kind is FileKind.RESULT and check_result_shape(data):  # the tables read a result as it is
            errors.append(InputError(str(path), check_result_shape(data)))
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


def _sort_input_files(paths: Sequence[Path]) -> tuple[list[dict[str, Any]], list[Path], list[InputError]]:
    """The files found in ``paths``, sorted: the lines of the results, the submissions (to be
    evaluated together, a unit's stages at once) and every file's problems. A file named directly
    must be one or the other; in a folder, other files are passed over."""
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
        if kind is FileKind.RESULT and check_result_shape(data):  # the tables read a result as it is
            errors.append(InputError(str(path), check_result_shape(data)))
        elif kind is FileKind.RESULT:
            rows += result_rows(data, str(path))
        elif kind is FileKind.SUBMISSION:
            submissions.append(path)
        elif path in named:
            errors.append(_neither(path, data))
    return rows, submissions, errors


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
    rows, submissions, errors = _sort_input_files(paths)
    try:
        rows += _stage_rows(submissions, params)
    except InputError as exc:
        errors.append(exc)
    except InputErrors as exc:
        errors += exc.errors
    raise_all(errors)
    return rows_frame(rows)
