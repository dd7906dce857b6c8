"""Batch runs: each run file in ``params/`` becomes an executed notebook, an HTML report with the
code hidden and a result JSON under ``reports/<year>/<province>/<unit>/``, plus a batch summary.

Run files are checked against the notebooks' declared parameters before any kernel starts:
unknown names, missing required names and values of the wrong type are refused. Parameter values
go to papermill through its Python API, never through command-line type guessing, and names are
only ever ones the notebook itself declares. Units run in parallel worker processes; one failing
unit never stops the others.
"""

from __future__ import annotations

import json
import multiprocessing
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minesafe.evaluation import CountyResult
from minesafe.exceptions import InputError, InputErrors, MinesafeError, Problem, ProblemCollector
from minesafe.files import evaluate_unit, read_document, read_provenance, replace_folder, write_json, write_workbook
from minesafe.rendering import describe_unit, result_to_dict
from minesafe.summary import STATUS_FAILED, STATUS_OK, UnitOutcome, build_summary_workbook, summary_to_dict

#: Declared parameters that name input files: resolved against the working directory and checked.
FILE_PARAMETERS = ("submission", "params_file", "verification")
#: Batch reports are static pages nobody edits: declared parameters set so unless a run file says otherwise.
BATCH_DEFAULTS: Mapping[str, Any] = {"whatif_panel": False}
#: A declared parameter whose help comment starts with this word must be given by every run file.
REQUIRED_MARK = "required"
_TYPES: Mapping[str, tuple[type, ...]] = {
    "str": (str,),
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "dict": (dict,),
    "list": (list,),
}
_TYPE_NAMES = {"str": "文字", "int": "整数", "float": "数", "bool": "true 或 false", "dict": "映射", "list": "列表"}


@dataclass(frozen=True)
class Run:
    """A validated run file: which notebook, with which parameters."""

    source: Path
    notebook: Path
    parameters: Mapping[str, Any]


@dataclass(frozen=True)
class Job:
    """A run ready for a worker: where its outputs go and what its result is."""

    run: Run
    folder: Path
    title: str
    result: Mapping[str, Any]


def find_run_files(paths: Iterable[Path]) -> list[Path]:
    """Run files named directly, and every ``*.yaml`` below folders named, in a stable order."""
    found: list[Path] = []
    for path in paths:
        found += sorted(path.rglob("*.yaml")) if path.is_dir() else [path]
    return found


def declared_parameters(notebook: Path) -> dict[str, dict[str, Any]]:
    """The notebook's ``parameters`` cell as papermill reads it: name -> type, default, help."""
    import papermill

    return dict(papermill.inspect_notebook(str(notebook)))


def build_run(data: Any, source: Path, notebooks: Path, declared: Callable[[Path], Mapping[str, Mapping[str, Any]]]) -> Run:
    """Validate one run file's mapping; raise :class:`InputError` listing every problem."""
    problems = ProblemCollector()
    if not isinstance(data, Mapping):
        raise InputError(str(source), [Problem((), "参数文件内容应为映射", type(data).__name__, "notebook: …，parameters: {…}")])
    for key in data:
        if key not in ("notebook", "parameters"):
            problems.add((key,), "未知的键", key, "notebook、parameters")
    available = sorted(p.stem for p in notebooks.glob("*.ipynb"))
    name = data.get("notebook")
    notebook = notebooks / f"{name}.ipynb"
    if not isinstance(name, str) or name not in available:
        problems.add(("notebook",), "没有这个报告笔记本", name, "、".join(available))
        problems.raise_if_any(str(source))
    spec = declared(notebook)
    given = data.get("parameters") or {}
    if not isinstance(given, Mapping):
        problems.add(("parameters",), "parameters 应为映射", given, "如 submission: data/县.yaml")
        given = {}
    parameters: dict[str, Any] = {}
    for key, value in given.items():
        where = ("parameters", key)
        if key not in spec:
            problems.add(where, f"笔记本 {name} 没有这个参数", key, "、".join(spec))
            continue
        type_name = spec[key]["inferred_type_name"]
        allowed = _TYPES.get(type_name)
        if allowed is None:  # the notebook must annotate its parameters (name: str = …)
            problems.add(
                where,
                f"笔记本 {name} 没有声明这个参数的类型，无法检查",
                key,
                "在笔记本的 parameters 单元格中写明类型，如 submission: str = …",
            )
            continue
        if not isinstance(value, allowed) or (isinstance(value, bool) and bool not in allowed):
            problems.add(where, "参数类型不对", value, _TYPE_NAMES[type_name])
            continue
        if key in FILE_PARAMETERS and value:
            path = Path(value)
            if not path.is_file():
                problems.add(where, "文件不存在", value, f"相对于当前目录 {Path.cwd()} 的已存在文件路径")
                continue
            value = str(path.resolve())
        parameters[key] = value
    for key, info in spec.items():
        if str(info.get("help", "")).startswith(REQUIRED_MARK) and key not in given:
            problems.add(
                ("parameters", key),
                f"缺少必填参数 {key}",
                expected=str(info.get("help", "")).removeprefix(REQUIRED_MARK).strip(" :："),
            )
    problems.raise_if_any(str(source))
    defaults = {key: value for key, value in BATCH_DEFAULTS.items() if key in spec and key not in parameters}
    return Run(source, notebook, defaults | parameters)


def _folder_name(text: str) -> str:
    """A safe folder name: path separators and control characters removed."""
    return re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", text).strip(" .") or "_"


def plan_jobs(runs: Sequence[Run], out: Path) -> tuple[list[Job], list[UnitOutcome]]:
    """Evaluate every run's submission in this process (cheap, and the same engine the notebook
    calls) to name its output folder; units whose input is invalid fail here, before any kernel."""
    jobs: list[Job] = []
    failed: list[UnitOutcome] = []
    taken: dict[Path, Path] = {}
    for run in runs:
        started = time.perf_counter()
        submission = run.parameters.get("submission")
        params = run.parameters.get("params_file") or None
        stage_files = [submission] + ([run.parameters["verification"]] if run.parameters.get("verification") else [])
        try:
            unit = evaluate_unit(stage_files, params)  # the latest stage decides, as in the report
            provenance = read_provenance(unit, params)
        except MinesafeError as exc:
            failed.append(_failure(run, str(exc), time.perf_counter() - started))
            continue
        result = unit.deciding
        h = result.header
        leaf = result.county if isinstance(result, CountyResult) else "省级评估"
        folder = out / str(h.year) / _folder_name(h.province) / _folder_name(leaf)
        if folder in taken:
            raise InputError(
                str(run.source),
                [
                    Problem(
                        ("parameters", "submission"),
                        f"与 {taken[folder]} 的报告位置相同",
                        str(folder),
                        "每个单位每年只写一份报告",
                    )
                ],
            )
        taken[folder] = run.source
        title = f"{describe_unit(result)} {h.year}年度综合评估报告" + ("（示例数据）" if h.demo else "")
        jobs.append(Job(run, folder, title, result_to_dict(unit, provenance)))
    return jobs, failed


def _failure(run: Run, error: str, seconds: float) -> UnitOutcome:
    return UnitOutcome(
        str(run.source),
        Path(str(run.parameters.get("submission", ""))).stem,
        "",
        "",
        None,
        "",
        "",
        STATUS_FAILED,
        seconds,
        error,
        "",
    )


def _outcome(job: Job, status: str, seconds: float, error: str = "") -> UnitOutcome:
    r = job.result
    return UnitOutcome(
        run_file=str(job.run.source),
        unit=r.get("county") or r.get("enterprise") or r["province"],
        kind="重点县" if "county" in r else "重点企业" if "enterprise" in r else "重点省",
        province=r["province"],
        year=r["year"],
        verdict=r["verdict"],
        score=str(r["score"]) if "score" in r else "",
        status=status,
        seconds=seconds,
        error=error,
        report=str(job.folder / "report.html") if status == STATUS_OK else "",
    )


KERNEL_NAME = "minesafe-batch"


def write_kernelspec(folder: Path) -> Path:
    """A kernel spec that runs this very interpreter, so report kernels always see this minesafe —
    never whatever another environment registered as ``python3``. Returns the Jupyter data folder."""
    spec = folder / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "minesafe", "language": "python"}), encoding="utf-8"
    )
    return folder


def _start_worker(log: str, jupyter_data: str) -> None:
    """Send the kernels' console chatter to the batch log instead of the evaluator's terminal, find
    the batch's kernel spec, and import the heavy libraries once per worker rather than per report."""
    import os

    os.environ.setdefault("MINESAFE_RUN_FOLDER", os.getcwd())  # report kernels run elsewhere: paths stay relative to here
    os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (jupyter_data, os.environ.get("JUPYTER_PATH", "")) if p)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 2)
    os.close(fd)
    import nbconvert  # noqa: F401
    import papermill  # noqa: F401


def execute_job(job: Job) -> UnitOutcome:
    """Run one notebook with papermill and write its three outputs, all or nothing."""
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from minesafe.export import export_html

    started = time.perf_counter()
    try:
        notebook = papermill.execute_notebook(
            str(job.run.notebook),
            None,
            parameters=dict(job.run.parameters),
            cwd=str(job.run.notebook.parent),
            kernel_name=KERNEL_NAME,
            progress_bar=False,
            log_output=False,
            request_save_on_cell_execute=False,
            execution_timeout=600,
            shutdown_kernel="immediate",  # the outputs are in hand: no need to wait for a graceful exit
        )
        html = export_html(notebook, job.title)
        replace_folder(
            job.folder,
            {
                "report.ipynb": nbformat.writes(notebook).encode("utf-8"),
                "report.html": html.encode("utf-8"),
                "result.json": (json.dumps(job.result, ensure_ascii=False, indent=2) + "\n").encode("utf-8"),
            },
        )
    except PapermillExecutionError as exc:
        # number the cell as the evaluator sees it in the notebook, without papermill's injected cell
        cells = nbformat.read(job.run.notebook, as_version=4).cells
        number = next((i + 1 for i, c in enumerate(cells) if c.source == exc.source), exc.cell_index + 1)
        first_line = exc.source.strip().splitlines()[0] if exc.source.strip() else ""
        error = f"笔记本 {job.run.notebook.name} 第 {number} 个单元格（{first_line}）运行出错：{exc.ename}: {exc.evalue}"
        return _outcome(job, STATUS_FAILED, time.perf_counter() - started, error)
    except Exception as exc:  # one unit's failure must not stop the batch; it is reported in the summary
        return _outcome(job, STATUS_FAILED, time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
    return _outcome(job, STATUS_OK, time.perf_counter() - started)


def load_runs(run_files: Sequence[Path], notebooks: Path) -> list[Run]:
    """Validate every run file; raise all their problems together."""
    cache: dict[Path, Mapping[str, Mapping[str, Any]]] = {}

    def declared(notebook: Path):
        if notebook not in cache:
            cache[notebook] = declared_parameters(notebook)
        return cache[notebook]

    runs, errors = [], []
    if not run_files:
        raise InputError("（批量评估）", [Problem((), "没有找到参数文件", expected="params/runs/ 下的 *.yaml 运行参数文件")])
    for path in run_files:
        try:
            data, _ = read_document(path)
            runs.append(build_run(data, path, notebooks, declared))
        except InputError as exc:
            errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise InputErrors(errors)
    return runs


def run_batch(
    runs: Sequence[Run],
    out: Path,
    jobs: int,
    progress: bool = True,
    execute: Callable[[Job], UnitOutcome] = execute_job,
) -> list[UnitOutcome]:
    """Run every job in a pool of ``jobs`` worker processes and write the batch summary."""
    from tqdm import tqdm

    planned, outcomes = plan_jobs(runs, out)
    if planned:
        context = multiprocessing.get_context("spawn")  # kernels and zmq do not survive fork safely
        out.mkdir(parents=True, exist_ok=True)
        log = str((out / "batch-log.txt").resolve())
        with tempfile.TemporaryDirectory(prefix="minesafe-kernel-") as folder:
            jupyter_data = str(write_kernelspec(Path(folder)))
            pool = ProcessPoolExecutor(
                max_workers=min(jobs, len(planned)), mp_context=context, initializer=_start_worker, initargs=(log, jupyter_data)
            )
            with pool, tqdm(total=len(planned), desc="生成评估报告", unit="份", disable=not progress, file=sys.stderr) as bar:
                futures = {pool.submit(execute, job): job for job in planned}
                for future in as_completed(futures):
                    try:
                        outcomes.append(future.result())
                    except Exception as exc:  # a worker died (killed, out of memory): record it, go on
                        outcomes.append(
                            _outcome(futures[future], STATUS_FAILED, 0.0, f"工作进程异常退出：{type(exc).__name__}: {exc}")
                        )
                    bar.update()
    order = {str(r.source): i for i, r in enumerate(runs)}
    outcomes.sort(key=lambda o: order.get(o.run_file, len(order)))
    write_json(summary_to_dict(outcomes), out / "batch-summary.json")
    write_workbook(build_summary_workbook(outcomes), out / "batch-summary.xlsx")
    return outcomes
