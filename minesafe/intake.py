"""What a batch is given: run files, and submissions straight from the evaluators.

A folder (or a list of files) may hold both. Each submission's rubric picks its report notebook
(``noncoal-county`` → ``noncoal_county_report``); the stages of one unit (自评, 核查, …) become one
report; a province file makes the province report, links its counties' reports and brings in the
county files it names. Each of these
becomes the same mapping a run file holds (``notebook`` and ``parameters``), so the batch validates
all of them alike. A file that is neither a submission nor a run file is refused here, before any
kernel starts.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from minesafe.exceptions import FileList, InputError, Problem, locate_header
from minesafe.files import list_rubrics, read_rubric
from minesafe.names import normalize_name
from minesafe.parsing import OTHER_WORKBOOKS, SUBMISSION_SUFFIXES, check_name_length, convert_workbook_problem
from minesafe.resources import demo_folder
from minesafe.results import FileKind, classify_files, find_input_files, raise_all
from minesafe.rubric import STAGES
from minesafe.runs import STAGE_PARAMETERS, Run, build_run, declared_parameters
from minesafe.summary import STATUS_FAILED, STATUS_IGNORED, UnitOutcome
from minesafe.verification import EVIDENCE_FOLDER

#: Where a province report finds its counties' reports in a batch's output (see minesafe.batch).
COUNTY_REPORT_LINK = "../{county}/report.html"

RunDocument = tuple[Path, Mapping[str, Any]]
#: The notebook of the overview across every unit of a batch.
OVERVIEW_NOTEBOOK = "overview_report"


def report_notebook(rubric_id: str) -> str:
    """The report notebook of a rubric: ``noncoal-county`` → ``noncoal_county_report``."""
    return rubric_id.replace("-", "_") + "_report"


def _unit_key(data: Mapping[str, Any]) -> tuple[str, ...] | None:
    """Which unit and year a submission is for, or None when its rubric is unknown (its own
    evaluation reports that). Names and year are read as the engine reads them (names normalised
    by :func:`minesafe.names.normalize_name`, 2023 and "2023" alike), so the stages it takes for
    one unit make one report."""
    rubric_id = data.get("rubric")
    if rubric_id not in list_rubrics():
        return None
    rubric = read_rubric(rubric_id)
    unit = "" if rubric.unit == "province" else _name(data.get(rubric.unit_key))
    return (rubric_id, _name(data.get("province")), unit, str(data.get("year", "")).strip())


def _name(value: Any) -> str:
    """A unit's or province's name as the engine compares it (a value that is no name: as text)."""
    return normalize_name(str(value if value is not None else ""))


def _stage_order(item: tuple[Path, Mapping[str, Any]]) -> int:
    stage = item[1].get("stage", STAGES[0])
    return STAGES.index(stage) if stage in STAGES else len(STAGES)


def _named_counties(path: Path, data: Mapping[str, Any]) -> list[Path]:
    # a name too long for the file system is the province's own evaluation's problem
    return [
        path.parent / name
        for name in _listed(data)
        if check_name_length(path.parent / name) is None and (path.parent / name).is_file()
    ]


def _county_stage_files(
    rubric_id: str, stages: Sequence[tuple[Path, Mapping[str, Any]]], units: Mapping[tuple[str, ...], Sequence[tuple[Path, Any]]]
) -> list[str]:
    """Every file of the batch for the province's key counties that the province does not list
    itself (a county's 核查 beside the listed 自评, say): the province report is given them, so it
    decides each key county by the same stage as that county's own report in the batch."""
    county_rubric = read_rubric(rubric_id).county_rubric
    listed = {(path.parent / name).resolve() for path, data in stages for name in _listed(data)}
    _, data = stages[0]
    province, year = _name(data.get("province")), str(data.get("year", "")).strip()
    names = data.get("key_counties")
    names = [_name(n) for n in names] if isinstance(names, list) else []
    return [
        str(path)
        for name in names
        for path, _ in units.get((county_rubric, province, name, year), ())
        if path.resolve() not in listed
    ]


def _listed(data: Mapping[str, Any]) -> list[str]:
    counties = data.get("counties")
    return [c for c in counties if isinstance(c, str)] if isinstance(counties, list) else []


def _unit_runs(submissions: Mapping[Path, Mapping[str, Any]]) -> list[RunDocument]:
    """One run per unit: its stages' files, earliest first, are the notebook's submission,
    verification and confirmation (a unit has at most the three stages 自评, 核查, 认定)."""
    units: dict[tuple[str, ...], list[tuple[Path, Mapping[str, Any]]]] = {}
    problems: list[InputError] = []
    for path, data in submissions.items():
        key = _unit_key(data)
        if key is None:
            known = "、".join(list_rubrics())
            problems.append(InputError(str(path), [Problem(("rubric",), "缺少或写错了评估表编号", data.get("rubric"), known)]))
        else:
            units.setdefault(key, []).append((path, data))
    runs: list[RunDocument] = []
    for (rubric_id, *_), stages in units.items():
        stages.sort(key=_stage_order)
        names = [str(d.get("stage", STAGES[0])) for _, d in stages]
        twice = sorted({s for s in names if names.count(s) > 1})
        if twice:
            files = FileList(str(p) for p, d in stages if str(d.get("stage", STAGES[0])) in twice)
            problems.append(
                InputError(
                    str(stages[0][0]),
                    [Problem(("stage",), "同一单位同一年度的同一阶段有多个提交文件", files, "每个阶段只交一个文件")],
                    locate_header([str(p) for p, _ in stages]),
                )
            )
            continue
        if len(stages) > len(STAGE_PARAMETERS):  # only a file whose stage is not 自评, 核查 or 认定 makes a fourth
            files = FileList(f"{p}（{d.get('stage', STAGES[0])}）" for p, d in stages)
            problems.append(
                InputError(
                    str(stages[-1][0]),
                    [
                        Problem(
                            ("stage",), "同一单位同一年度的提交文件多于评估阶段数", files, "、".join(STAGES) + " 每个阶段一个文件"
                        )
                    ],
                    locate_header([str(p) for p, _ in stages]),
                )
            )
            continue
        parameters: dict[str, Any] = {key: str(path) for key, (path, _) in zip(STAGE_PARAMETERS, stages, strict=False)}
        if read_rubric(rubric_id).unit == "province":  # its report links its counties' reports
            parameters["county_report_link"] = COUNTY_REPORT_LINK
            extra = _county_stage_files(rubric_id, stages, units)
            if extra:
                parameters["county_files"] = extra
        runs.append((stages[0][0], {"notebook": report_notebook(rubric_id), "parameters": parameters}))
    raise_all(problems)
    return runs


def collect_run_documents(paths: Sequence[Path], out: Path) -> list[RunDocument]:
    """Every unit run a batch of ``paths`` makes, as (source file, run mapping) pairs: run files as
    written and one run per unit of the submissions. ``out``, the batch's output folder, is not
    searched for inputs. Raises every problem of every file at once."""
    inside = [
        Problem(
            (),
            f"在输出文件夹 {out} 之内：批量评估不读取自己的输出文件夹",
            expected="输出文件夹之外的提交文件夹，或另选 --out",
            where=str(path),
        )
        for path in paths
        if path.resolve().is_relative_to(out.resolve())
    ]
    if inside:
        raise InputError("（批量评估的输入）", inside)
    files = [f for f in find_input_files(paths) if not f.resolve().is_relative_to(out.resolve())]
    if not files:  # each path given, and each file found that is not taken, with why
        none = "没有找到提交文件或运行参数文件"
        problems = [Problem((), none, expected="含 YAML、JSON 或 Excel 提交文件的文件夹", where=str(p)) for p in paths]
        problems += [Problem((), reason, where=str(path)) for path, reason in find_left_out_files(paths, out)]
        raise InputError("（批量评估的输入）", problems)
    kinds = classify_files(files, accepted=(FileKind.SUBMISSION, FileKind.RUN))
    runs = [(path, data) for path, (kind, data) in kinds.items() if kind is FileKind.RUN]
    submissions = {path: data for path, (kind, data) in kinds.items() if kind is FileKind.SUBMISSION}
    known = {p.resolve() for p in kinds}
    for path, data in list(submissions.items()):
        for county in _named_counties(path, data):
            if county.resolve() not in known:  # a province brings in the county files it names
                known.add(county.resolve())
                submissions |= {p: d for p, (k, d) in classify_files([county]).items() if k is FileKind.SUBMISSION}
    return runs + _unit_runs(submissions)


#: Files a folder may hold that are nobody's submission, passed over without a word (besides hidden
#: files, Office lock files ``~$…``, the batch's output folder and its summaries).
QUIET_NAMES = frozenset({"thumbs.db", "desktop.ini"})


def find_left_out_files(paths: Sequence[Path], out: Path) -> list[tuple[Path, str]]:
    """Every file below the folders of ``paths`` that a batch does not take, with the reason in
    Chinese: a workbook minesafe cannot read (how to convert it), or a file that is no submission.
    Evidence (files in a ``佐证材料`` folder, which submissions list) is passed over without a word."""
    left: list[tuple[Path, str]] = []
    for folder in paths:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            inside = path.relative_to(folder)
            if (
                path.suffix.lower() in SUBMISSION_SUFFIXES
                or path.name.lower() in QUIET_NAMES
                or any(part.startswith((".", "~$")) for part in inside.parts)
                or EVIDENCE_FOLDER in inside.parts[:-1]
                or not path.is_file()
                or path.resolve().is_relative_to(out.resolve())
            ):
                continue
            if path.suffix.lower() in OTHER_WORKBOOKS:
                problem = convert_workbook_problem(path)
                left.append((path, f"{problem.message}，未评估；请{problem.expected}"))
            else:
                kind = f"扩展名 {path.suffix}" if path.suffix else "没有扩展名"
                taken = "、".join(sorted(SUBMISSION_SUFFIXES))
                left.append((path, f"不是提交文件（{kind}；批量评估只读取 {taken} 文件）"))
    return left


def left_out_outcomes(paths: Sequence[Path], out: Path) -> list[UnitOutcome]:
    """The batch's line for each file it does not take (:func:`find_left_out_files`): a workbook
    it cannot read is a failed unit (the evaluator meant it as a submission), any other file is
    listed as ignored; both with the reason, in the console and the summary."""
    return [
        UnitOutcome(
            str(path),
            path.stem,
            "",
            "",
            None,
            "",
            "",
            STATUS_FAILED if path.suffix.lower() in OTHER_WORKBOOKS else STATUS_IGNORED,
            0.0,
            reason,
            "",
        )
        for path, reason in find_left_out_files(paths, out)
    ]


#: What ``minesafe batch`` makes when given nothing: the demo submissions shipped in the package
#: (the province brings in its counties; the list-history file is not a submission).
DEMO_INPUTS = ("province.yaml", "south", "coal")


def default_inputs() -> list[Path]:
    """The shipped demo submissions, wherever minesafe is installed."""
    return [demo_folder() / name for name in DEMO_INPUTS]


def overview_run_document(out: Path) -> RunDocument:
    """The overview report's run: every result in the batch's output folder, made after the units."""
    return out, {"notebook": OVERVIEW_NOTEBOOK, "parameters": {"results": str(out.resolve())}}


def load_batch_runs(paths: Sequence[Path], out: Path, notebooks: Path) -> tuple[list[Run], Run | None]:
    """The validated unit runs of a batch, and its overview's run (``None`` when ``notebooks`` has
    no overview notebook); every problem of every input at once."""
    declared = functools.cache(declared_parameters)
    runs: list[Run] = []
    errors: list[InputError] = []
    for source, data in collect_run_documents(paths, out):
        try:
            runs.append(build_run(data, source, notebooks, declared))
        except InputError as exc:
            errors.append(exc)
    overview = None
    if (notebooks / f"{OVERVIEW_NOTEBOOK}.ipynb").is_file():
        source, data = overview_run_document(out)
        try:
            overview = build_run(data, source, notebooks, declared, needs_unit=False)
        except InputError as exc:
            errors.append(exc)
    raise_all(errors)
    return runs, overview
