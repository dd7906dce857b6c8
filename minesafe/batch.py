"""Batch runs: each run (:mod:`minesafe.runs`) becomes an executed notebook, an HTML report with the
code hidden and a result JSON under ``reports/<year>/<province>/<unit>/``, plus a batch summary.

Units run in parallel worker processes within a time and memory budget; one failing unit never
stops the others; unchanged units are reused (:mod:`minesafe.cache`).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import multiprocessing
import re
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

from minesafe.cache import CACHE_FILE, cache_entry, read_cache, results_inputs, reuse_overview, reuse_unit
from minesafe.evaluation import CountyResult, UnitResult
from minesafe.exceptions import BatchInterrupted, FileList, InputError, InputErrors, MinesafeError, OutputError, Problem
from minesafe.files import list_rubrics, read_rubric
from minesafe.frames import PROVINCE_KIND, RESULT_FILE, SUMMARY_STEM, UNIT_KINDS, mark_form
from minesafe.history import carry_own_files, describe_replacement, keep_history, replacement_lines
from minesafe.names import escape_undecodable, normalize_name
from minesafe.parsing import NAME_MAX, check_name_length, read_document, recording_reads
from minesafe.provenance import file_sha256, lookup_digest, read_provenance
from minesafe.rendering import name_report, result_to_dict
from minesafe.results import evaluate_unit
from minesafe.runs import FILE_PARAMETERS, STAGE_PARAMETERS, Job, Run
from minesafe.storage import (
    OUT_LOCK,
    dump_json,
    escape_json_text,
    finish_interrupted_swaps,
    lock_out_folder,
    refuse_busy_folder,
    replace_folder,
    write_json,
    write_workbook,
)
from minesafe.summary import (
    STATUS_FAILED,
    STATUS_INTERRUPTED,
    STATUS_OK,
    UnitOutcome,
    build_summary_frame,
    build_summary_workbook,
    summary_to_dict,
)

if TYPE_CHECKING:
    import psutil
    from tqdm import tqdm

    from minesafe.kernels import KernelStandby

#: What making one report gives: its outcome and the SHA-256 of each output written.
Done = tuple[UnitOutcome, dict[str, str]]


def check_out_folder(out: Path) -> None:
    """Refuse, before any work, an output folder that is a file or cannot be written, or that a
    running batch writes into (it or a folder above it: :class:`OutputError`, :class:`OutputBusy`;
    exit 1, as every output that cannot be written); a name longer than the file system accepts is
    the command line's fault (:class:`InputError`). ``minesafe batch`` and ``minesafe report`` both
    check their ``--out`` so."""
    import os

    too_long = check_name_length(out)
    if too_long is not None:
        raise InputError(str(out), [too_long])
    existing = next((p for p in (out, *out.parents) if p.exists()), Path("."))
    if existing.exists() and not existing.is_dir():
        where = "这是一个文件，不是文件夹" if existing == out else f"上级路径 {existing} 是一个文件，不是文件夹"
        raise OutputError(str(out), where)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(str(out), f"没有写入文件夹 {existing} 的权限")
    refuse_busy_folder(out)


#: What one unit's evaluation may use in a worker: a pathological file fails alone, in bounded time
#: and memory, and the batch goes on.
EVALUATION_SECONDS = 60
EVALUATION_MEMORY = 2 << 30  # bytes of address space beyond what the worker already holds


def _folder_name(text: str) -> str:
    """A safe folder name: path separators, control characters and leading dots removed, so a
    unit name can never leave the report folder (``..``) nor hide its folder."""
    return re.sub(r'[\\/:*?"<>|\x00-\x1f\x7f]', "_", text).strip(" .") or "_"


def _check_name_length(folder: Path, out: Path) -> None:
    for part in folder.relative_to(out).parts:
        size = len(part.encode("utf-8"))
        if size > NAME_MAX:
            raise InputError(
                "（报告位置）",
                [
                    Problem(
                        (),
                        f"报告文件夹名过长（{size} 字节），文件系统不接受",
                        part,
                        f"不超过 {NAME_MAX} 字节（约 85 个汉字）的名称",
                    )
                ],
            )


def evaluate_run(run: Run, out: Path) -> tuple[Path, str, dict[str, Any]]:
    """Evaluate a run's input with the engine the notebook calls: its report folder, its title and
    the ``result.json`` contents. Raises :class:`MinesafeError` for invalid input."""
    if "history_file" in run.parameters:
        from minesafe.lists import KINDS, name_bases, name_list_proposal, propose_next_list
        from minesafe.results import read_list_history

        history, bases = read_list_history(run.parameters["history_file"], run.parameters.get("results") or "")
        label, _ = KINDS[history.kind]
        folder = out / str(history.year + 1) / "名单管理" / _folder_name(label)
        proposals = [dataclasses.asdict(p) for p in name_bases(propose_next_list(history), bases)]
        proposal = {"kind": history.kind, "year": history.year, "proposals": proposals}
        return folder, name_list_proposal(history), proposal
    params = run.parameters.get("params_file") or None
    unit = _evaluate_stages(run)  # the latest stage decides, as in the report
    result = unit.deciding
    h = result.header
    leaf = mark_form(result.county, result.rubric.id) if isinstance(result, CountyResult) else "省级评估"
    folder = out / str(h.year) / _folder_name(h.province) / _folder_name(leaf)
    return folder, name_report(result), result_to_dict(unit, read_provenance(unit, params))


class BudgetExceeded(Exception):
    """A unit's evaluation ran past its time budget (raised inside the worker)."""


@contextmanager
def _budget(seconds: float, memory: int) -> Iterator[None]:
    """Bound this process's time and address space for the block (POSIX; elsewhere unbounded)."""
    import resource

    def expire(signum: int, frame: FrameType | None) -> NoReturn:
        raise BudgetExceeded

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    used = _address_space()
    limit = used + memory if used else resource.RLIM_INFINITY
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _address_space() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def plan_unit(run: Run, out: Path) -> Job | UnitOutcome:
    """In a worker: evaluate one unit under its budget and find what its report depends on."""
    started = time.perf_counter()
    try:
        with _budget(EVALUATION_SECONDS, EVALUATION_MEMORY), recording_reads() as reads:
            folder, title, result = evaluate_run(run, out)
        _check_name_length(folder, out)
    except MinesafeError as exc:
        return _failure(run, str(exc), time.perf_counter() - started)
    except BudgetExceeded:
        return _failure(
            run, f"评估超过时间上限（{EVALUATION_SECONDS} 秒），已停止；请检查提交文件是否异常庞大", time.perf_counter() - started
        )
    except (MemoryError, RecursionError) as exc:
        what = "内存上限" if isinstance(exc, MemoryError) else "嵌套层数上限"
        return _failure(run, f"评估超过{what}，已停止；请检查提交文件是否异常庞大或嵌套过深", time.perf_counter() - started)
    except Exception as exc:  # one unit's unforeseen fault fails that unit alone; the batch goes on
        return _failure(run, f"评估时出现意外错误：{_describe(exc)}", time.perf_counter() - started)
    files = {run.notebook, *reads.files, *(Path(run.parameters[k]) for k in FILE_PARAMETERS if run.parameters.get(k))}
    try:
        inputs = {str(path.resolve()): file_sha256(path) for path in sorted(files)}
    except OSError as exc:  # an input removed or made unreadable meanwhile
        return _failure(run, f"读取输入文件时出错：{_describe(exc)}", time.perf_counter() - started)
    # a listed evidence file counts by its digest or its absence: one that appears later re-makes the unit
    looked_for = {str(path.resolve()): lookup_digest(path) for path in sorted(set(reads.looked_for) - files)}
    return Job(run, folder, title, result, looked_for | results_inputs(run) | inputs)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _failure(run: Run, error: str, seconds: float, status: str = STATUS_FAILED) -> UnitOutcome:
    """A unit that could not be made, named as far as its deciding file can be read (unit,
    province, kind, year, stage), whatever else is wrong with it; else by its file's name."""
    files = [run.parameters[k] for k in STAGE_PARAMETERS if run.parameters.get(k)]
    name = files[-1] if files else run.parameters.get("history_file") or ""
    unit, kind, province, year, stage = identify_submission(Path(str(name))) if name else ("", "", "", None, "")
    for path in files:  # the files as the command line named them, as `minesafe evaluate` prints them
        error = error.replace(f"文件 {path} ", f"文件 {shown_file(path)} ")
    return UnitOutcome(
        str(run.source), unit or Path(str(name)).stem, kind, province, year, "", "", status, seconds, error, "", stage=stage
    )


def identify_submission(path: Path) -> tuple[str, str, str, int | None, str]:
    """(unit, kind, province, year, stage) as a submission file states them, each left empty when
    the file cannot be read or the value is not plain text or a year: only to name a unit whose
    evaluation failed (the engine's own reading is the one that counts)."""
    try:
        data, _ = read_document(path)
    except (MinesafeError, OSError):
        return "", "", "", None, ""
    if not isinstance(data, Mapping):
        return "", "", "", None, ""

    def text(key: str) -> str:
        value = data.get(key)
        return normalize_name(value)[:NAME_SHOWN] if isinstance(value, str) else ""  # named as the engine names it

    province, rubric_id = text("province"), data.get("rubric")
    unit, kind = "", ""
    if isinstance(rubric_id, str) and rubric_id in list_rubrics():
        rubric = read_rubric(rubric_id)
        kind = UNIT_KINDS.get(rubric.unit, PROVINCE_KIND)
        unit = province if rubric.unit == "province" else text(rubric.unit_key)
    year = str(data.get("year", "")).strip() if isinstance(data.get("year"), int | str) else ""
    return unit, kind, province, int(year) if year.isdigit() and len(year) == 4 else None, text("stage")


def shown_file(path: str | Path) -> str:
    """A file as the batch's console names it: relative to the folder the batch runs in when it
    is inside it (as the command line gave it), else in full."""
    resolved = Path(path).resolve()
    return resolved.relative_to(Path.cwd()).as_posix() if resolved.is_relative_to(Path.cwd()) else str(path)


#: How much of a name from a file that failed is shown (a pasted essay is not repeated).
NAME_SHOWN = 40


#: The overview report's folder in a batch's output folder (it has no ``result.json``).
OVERVIEW_FOLDER = "总览"
OVERVIEW_TITLE = "综合评估总览"
#: How deep report folders lie in a batch's output folder: the overview at ``总览``, every unit at
#: ``<year>/<province>/<unit>`` (list proposals at ``<year>/名单管理/<list>``). Housekeeping looks
#: for unfinished swaps beside them, nowhere else.
REPORT_DEPTHS = (1, 3)


def overview_job(run: Run, out: Path) -> Job:
    """The overview report: no result of its own. It depends on its notebook and on the files
    ``minesafe.load_results`` reads in its ``results`` folder (every ``result.json`` there), as they
    are now: call it once the units' results are written."""
    from minesafe.results import find_input_files

    folder = Path(run.parameters.get("results") or out)
    read = find_input_files([folder]) if folder.is_dir() else []
    # load_results passes over other JSON files (summaries, the cache) without reading them
    files = [run.notebook, *(p for p in read if p.suffix.lower() != ".json" or p.name == RESULT_FILE)]
    inputs = {str(path.resolve()): file_sha256(path) for path in files}
    return Job(run, out / OVERVIEW_FOLDER, OVERVIEW_TITLE, {}, inputs)


def job_outcome(job: Job, status: str, seconds: float, error: str = "") -> UnitOutcome:
    r = job.result
    report = str(job.folder / "report.html") if status == STATUS_OK else ""
    if not r:
        return UnitOutcome(str(job.run.source), job.title, OVERVIEW_FOLDER, "", None, "", "", status, seconds, error, report)
    unit = r.get("county") or r.get("enterprise") or r.get("province") or job.title
    kind = "重点县" if "county" in r else "重点企业" if "enterprise" in r else "重点省" if "province" in r else "名单管理"
    return UnitOutcome(
        run_file=str(job.run.source),
        unit=unit,
        kind=kind,
        province=r.get("province", ""),
        year=r["year"],
        verdict=r.get("verdict", ""),
        score=str(r["score"]) if "score" in r else "",
        status=status,
        seconds=seconds,
        error=error,
        report=report,
        stage=str(r.get("stage", "")),
        stages=tuple((str(stage), str(v.get("verdict", ""))) for stage, v in (r.get("stages") or {}).items()),
        rule_set=str(r.get("rule_set") or ""),
    )


KERNEL_NAME = "minesafe-batch"


#: Set to ``0`` to run plain kernels (papermill's own way: a new ``ipykernel`` process per report,
#: jupyter_client's manager and client) instead of warm forked ones: slower, with nothing of
#: :mod:`minesafe.kernels` involved, should an upgrade of Jupyter's libraries break it.
WARM_KERNELS_VARIABLE = "MINESAFE_WARM_KERNELS"


def warm_kernels_enabled() -> bool:
    import os

    return os.environ.get(WARM_KERNELS_VARIABLE, "1").strip() != "0"


def write_kernelspec(folder: Path, warm: bool = True) -> Path:
    """A kernel spec that runs this very interpreter, so report kernels always see this minesafe —
    never whatever another environment registered as ``python3``. A ``warm`` spec's launcher asks
    the worker's warm template for a forked kernel (see :mod:`minesafe.kernels`); otherwise the spec
    starts a plain ipykernel. Returns the Jupyter data folder."""
    from minesafe.kernels import LAUNCHER

    spec = folder / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    if warm:
        (spec / "launcher.py").write_text(LAUNCHER, encoding="utf-8")
        argv = [sys.executable, "-I", "-S", str(spec / "launcher.py"), "{connection_file}"]
    else:
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "minesafe", "language": "python"}), encoding="utf-8"
    )
    return folder


_stop: Any = None  # the batch's stop event, in a worker
_waiting: Any = None  # how many of the batch's jobs have not started yet (shared by the workers)
_template: Any = None  # the worker's kernel template process
_standby: KernelStandby | None = None  # the worker's next report kernel


def _start_worker(log: str, jupyter_data: str, stop: Any, waiting: Any, warm_kernels: bool, batch: int) -> None:
    """End with the ``batch`` process however it ends (killed outright, its queued units are never
    made: nothing is written after it), leave Ctrl-C to the batch process (it stops the workers
    itself), send the kernels' console chatter to the batch log, find the batch's kernel spec and
    start this worker's warm kernel template (it imports in the background while the worker evaluates)."""
    import os
    import subprocess

    from minesafe.kernels import SOCKET_VARIABLE, KernelStandby, end_with_parent, start_report_kernel

    end_with_parent(batch)
    global _stop, _waiting
    _stop, _waiting = stop, waiting
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("MINESAFE_RUN_FOLDER", os.getcwd())  # report kernels run elsewhere: paths stay relative to here
    os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (jupyter_data, os.environ.get("JUPYTER_PATH", "")) if p)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
    os.dup2(fd, 2)
    os.close(fd)
    if warm_kernels:
        global _standby
        _standby = KernelStandby(functools.partial(start_report_kernel, KERNEL_NAME, jupyter_data))
        path = str(Path(jupyter_data) / f"template-{os.getpid()}.sock")
        # its standard input is this worker's pipe: when the worker ends, the template and its kernels end
        global _template
        _template = subprocess.Popen(  # kept: its stdin pipe must stay open while the worker lives
            [sys.executable, "-m", "minesafe.kernels", path], stdin=subprocess.PIPE, stdout=2, stderr=2, start_new_session=True
        )
        os.environ[SOCKET_VARIABLE] = path


def _start_job() -> None:
    """Count a job of the batch as started (see :func:`prepare_next_kernel`)."""
    if _waiting is not None:
        with _waiting.get_lock():
            _waiting.value -= 1


def prepare_next_kernel(cwd: str) -> None:
    """Start this worker's next report kernel, best-effort: a kernel that cannot be started now is
    logged and started again (or fails its own unit) when a report takes it; it never decides the
    report that is running. Nothing is started after the batch's last job has started, nor once the
    batch is stopping."""
    if _standby is None or (_stop is not None and _stop.is_set()) or (_waiting is not None and _waiting.value <= 0):
        return
    try:
        _standby.prepare(cwd)
    except Exception as exc:  # the next unit's kernel start is retried by take(); it fails that unit if it fails again
        print(f"minesafe: the next report kernel could not be started ahead: {_describe(exc)}", file=sys.stderr)


def _refuse_after_stop() -> None:
    if _stop is not None and _stop.is_set():
        raise BatchInterrupted(signal.SIGINT)


def write_report(job: Job, files: Mapping[str, bytes]) -> dict[str, str]:
    """Swap a unit's outputs into its folder, all or nothing, unless the batch was stopped
    meanwhile. Returns the SHA-256 of each file written (the batch records them to reuse the unit)."""
    replace_folder(job.folder, files, before_swap=_refuse_after_stop)
    return {name: hashlib.sha256(content).hexdigest() for name, content in files.items()}


def unit_documents(job: Job, notice: Sequence[str] = ()) -> dict[str, bytes]:
    """A unit's 评估报告 as Word (and PDF when the batch asks), from the same evaluation as its
    report: a province's report in its folder, a county's or enterprise's in theirs; ``notice``
    (a new version's, see minesafe.history) opens it; its 数据来源与版本 is the unit's provenance
    record as ``result.json`` holds it."""
    from minesafe.documents import document_files

    return document_files(_evaluate_stages(job.run), job.result["provenance"], job.pdf, notice=notice)


def _evaluate_stages(run: Run) -> UnitResult:
    """The unit a run reports on, over its stages (the latest decides)."""
    params = run.parameters.get("params_file") or None
    stages = [run.parameters[key] for key in STAGE_PARAMETERS if run.parameters.get(key)]
    return evaluate_unit(stages, params, run.parameters.get("county_files") or ())


def report_files(job: Job, notebook: Any) -> tuple[Mapping[str, Any], dict[str, bytes]]:
    """What a unit's folder will hold once its notebook has run: the notebook, its HTML, the
    result and the documents — and, when the unit's submissions changed since its last report,
    the earlier version kept under 历史版本 (minesafe.history), the new report opening with what it
    replaces. Returns the result as written and the files by name."""
    import nbformat

    from minesafe.export import export_html

    verdict = job.result.get("verdict")
    result, kept = keep_history(job.folder, job.result, datetime.now()) if verdict else (job.result, {})
    replaced = describe_replacement(result)
    if replaced:
        notebook.cells.insert(1, nbformat.v4.new_markdown_cell(replaced))
    html = export_html(notebook, job.title)
    documents = unit_documents(job, replacement_lines(result)) if verdict else {}
    files = {
        "report.ipynb": escape_json_text(nbformat.writes(notebook)).encode("utf-8"),
        "report.html": escape_undecodable(html).encode("utf-8"),  # a file name that is not UTF-8: escaped
    }
    if job.result:
        files["result.json"] = (dump_json(result, indent=2) + "\n").encode("utf-8")
    return result, carry_own_files(job.folder) | files | documents | kept


def execute_job(job: Job) -> Done:
    """Run one notebook with papermill and write its three outputs, all or nothing. Returns the
    outcome and the SHA-256 of each output written."""
    import nbformat
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from minesafe.kernels import ReportKernelManager

    started = time.perf_counter()
    cwd = str(job.run.notebook.parent)
    kernel = None
    _start_job()
    try:
        kernel = _standby.take(cwd) if _standby is not None else None  # else papermill starts one
        try:
            notebook = papermill.execute_notebook(
                str(job.run.notebook),
                None,
                parameters=dict(job.run.parameters),
                cwd=cwd,
                kernel_name=KERNEL_NAME,
                km=kernel,
                progress_bar=False,
                log_output=False,
                request_save_on_cell_execute=False,
                execution_timeout=600,
                shutdown_kernel="immediate",  # the outputs are in hand: no need to wait for a graceful exit
                # warm kernels' manager; with MINESAFE_WARM_KERNELS=0, papermill's own
                **({"kernel_manager_class": ReportKernelManager} if _standby is not None else {}),
            )
        finally:
            if _standby is not None and kernel is not None:
                _standby.retire(kernel)
            prepare_next_kernel(cwd)  # the next report's kernel starts while this one exports
        result, files = report_files(job, notebook)
        digests = write_report(job, files)
    except PapermillExecutionError as exc:
        # number the cell as the evaluator sees it in the notebook, without papermill's injected cell
        cells = nbformat.read(job.run.notebook, as_version=4).cells
        number = next((i + 1 for i, c in enumerate(cells) if c.source == exc.source), exc.cell_index + 1)
        first_line = exc.source.strip().splitlines()[0] if exc.source.strip() else ""
        error = f"笔记本 {job.run.notebook.name} 第 {number} 个单元格（{first_line}）运行出错：{exc.ename}: {exc.evalue}"
        return job_outcome(job, STATUS_FAILED, time.perf_counter() - started, error), {}
    except BatchInterrupted:
        return job_outcome(job, STATUS_INTERRUPTED, time.perf_counter() - started), {}
    except Exception as exc:  # one unit's failure (kernel start, run, export) must not stop the batch
        return job_outcome(job, STATUS_FAILED, time.perf_counter() - started, _describe(exc)), {}
    outcome = job_outcome(job, STATUS_OK, time.perf_counter() - started)
    return dataclasses.replace(outcome, versions=int(result.get("versions", 1))), digests


# --- reusing unchanged units ------------------------------------------------------------------


# --- the batch --------------------------------------------------------------------------------


def _kill_process_tree() -> None:
    """Stop every worker, kernel template and kernel of the batch at once (SIGKILL: a report in the
    middle of being written must not be finished after the signal). The workers are this process's
    multiprocessing children (in a batch process, only the pool's: a worker still starting is one
    too); psutil finds their descendants. Returns once they have all ended; the workers are left for
    the pool to reap (see :func:`_wait_ended`)."""
    import psutil

    victims = []
    for child in multiprocessing.active_children():
        with suppress(psutil.NoSuchProcess):  # a worker that has just ended
            worker = psutil.Process(child.pid)
            victims += [worker, *worker.children(recursive=True)]
    for process in victims:
        with suppress(psutil.NoSuchProcess):
            process.kill()
    _wait_ended(victims, timeout=5.0)


def _wait_ended(processes: Sequence[psutil.Process], timeout: float) -> None:
    """Wait until every process has ended, without reaping this process's own children: a killed
    worker counts as ended once it is a zombie. Reaping is the pool's: a worker reaped here looks
    alive to it for ever (its ``waitpid`` fails), and its shutdown then spins without end."""
    import psutil

    deadline = time.monotonic() + timeout
    pending = list(processes)
    while pending and time.monotonic() < deadline:
        still = []
        for process in pending:
            with suppress(psutil.NoSuchProcess):
                if process.status() != psutil.STATUS_ZOMBIE:
                    still.append(process)
        pending = still
        if pending:
            time.sleep(0.01)


def _collect(
    pool: Executor,
    tasks: Mapping[int, tuple[Callable[..., Any], Any]],
    bar: Any,
    on_result: Callable[[int, Any], None],
    on_error: Callable[[int, BaseException], None],
    stopping: Callable[[], None],
) -> None:
    """Run each task (a function and its argument) in the pool and hand its result to
    ``on_result`` (or its failure to ``on_error``) as it finishes. ``stopping`` raises
    :class:`BatchInterrupted` once the batch has been told to stop: before the tasks are handed out
    and after every one finishes (a stopped batch's tasks fail as its workers are killed). A pool
    broken before a task is handed out (a worker killed outright: by a signal, or the out-of-memory
    killer) fails that task at once, as it fails the tasks it held."""
    stopping()
    futures: dict[Future[Any], int] = {}
    for i, (function, argument) in tasks.items():
        try:
            futures[pool.submit(function, argument)] = i
        except BrokenProcessPool as exc:
            stopping()  # the batch's own stop: it ends here
            on_error(i, exc)
            bar.update()
    for future in as_completed(futures):
        stopping()
        try:
            on_result(futures[future], future.result())
        except BatchInterrupted:  # a worker that refused to write after the stop: the batch stops
            raise
        except Exception as exc:  # a worker died (killed, out of memory), or a unit's unforeseen fault
            on_error(futures[future], exc)
        bar.update()


def _worker_error(exc: BaseException) -> str:
    """How a unit's failure outside its own error handling reads in the summary."""
    if isinstance(exc, BrokenProcessPool):
        return f"工作进程异常退出（可能超出内存或时间上限）：{_describe(exc)}"
    return f"意外错误：{_describe(exc)}"


def run_batch(
    runs: Sequence[Run],
    out: Path,
    jobs: int,
    progress: bool = True,
    execute: Callable[[Job], Done] = execute_job,
    force: bool = False,
    overview: Run | None = None,
    pdf: bool = False,
    left_out: Sequence[UnitOutcome] = (),
) -> list[UnitOutcome]:
    """Run every unit in a pool of ``jobs`` worker processes, write the batch summary, then make
    the ``overview`` report (if given) of every result in ``out``: again when any unit was re-made
    or its report is missing. Returns the units' outcomes, the overview's last.

    ``left_out``: the files of the input folders not taken (see :func:`minesafe.intake.left_out_outcomes`),
    in the summary and the outcomes returned with the units'.

    Units whose inputs, notebook and minesafe version are unchanged since the last batch into
    ``out`` and whose three outputs are intact are reused (``force`` re-makes them). Raises
    :class:`BatchInterrupted` after writing the summary when SIGINT or SIGTERM stopped the batch,
    and :class:`OutputBusy` at once, with nothing touched, while another batch writes into ``out``
    (:func:`minesafe.storage.lock_out_folder`: two at once could lose a history version).
    """
    import os

    from tqdm import tqdm

    made_folders = [p for p in (out, *out.parents) if not p.exists()]  # removed again if the batch is refused
    log = out / "batch-log.txt"
    new_log = not log.exists()
    with lock_out_folder(out):  # makes out; another batch writing there: refused at once (OutputBusy)
        finish_interrupted_swaps(out, REPORT_DEPTHS)  # a batch killed mid-swap last time
        cache = {} if force else read_cache(out)
        overview_entry = {} if force else read_cache(out, "overview")
        outcomes, todo = _reuse_units(runs, cache, pdf)

        def later_jobs() -> list[Job]:
            """The overview, unless the one made from the same results is intact (decided once they are written)."""
            if overview is None:
                return []
            job = overview_job(overview, out)
            return [] if reuse_overview(job, overview_entry) else [job]

        later = [] if todo else later_jobs()
        signum = None
        made: list[UnitOutcome] = []
        try:
            if todo or later:
                context = multiprocessing.get_context("spawn")  # kernels and zmq do not survive fork safely
                stop = context.Event()
                waiting = context.Value("i", 0)  # set to the jobs to run once planning has said how many
                workers = max(1, min(jobs, len(todo)))
                batch_stop = _BatchStop(stop)
                with tempfile.TemporaryDirectory(prefix="minesafe-kernel-") as folder, batch_stop.installed():
                    warm = execute is execute_job and warm_kernels_enabled()
                    jupyter_data = str(write_kernelspec(Path(folder), warm))
                    pool = ProcessPoolExecutor(
                        max_workers=workers,
                        mp_context=context,
                        initializer=_start_worker,
                        initargs=(str(log.resolve()), jupyter_data, stop, waiting, warm, os.getpid()),
                    )
                    try:
                        total = 2 * len(todo) + (len(later) if not todo else int(overview is not None))
                        with tqdm(total=total, desc="生成评估报告", unit="步", disable=not progress, file=sys.stderr) as bar:
                            planned = {
                                i: dataclasses.replace(job, pdf=pdf)
                                for i, job in _plan(pool, runs, todo, out, outcomes, bar, batch_stop.check).items()
                            }
                            _check_duplicates(runs, planned, outcomes, cache)
                            bar.update(len(todo) - len(planned))
                            waiting.value = len(planned) + len(later)
                            _execute(pool, planned, execute, outcomes, cache, bar, batch_stop.check)
                            if todo:  # the overview reads the results just written
                                later = later_jobs()
                                bar.update(int(overview is not None and not later))
                            made = _make_later(pool, later, execute, bar, overview_entry, batch_stop.check)
                    except BatchInterrupted as exc:
                        signum = exc.signum
                        batch_stop.stop()
                    finally:
                        pool.shutdown(wait=signum is None, cancel_futures=True)
                    if batch_stop.received:  # also a signal that came as the last unit finished
                        signum = signum or batch_stop.received[0]
                if signum is not None:
                    finish_interrupted_swaps(out, REPORT_DEPTHS)
        except (InputError, InputErrors):  # refused before any report ran (two units, one folder): nothing is left
            _remove_made(log if new_log else None, made_folders)
            raise
        ordered = [
            outcomes.get(i) or _failure(run, "批量评估被中断，未完成", 0.0, STATUS_INTERRUPTED) for i, run in enumerate(runs)
        ]
        ordered += left_out
        _write_summary(out, ordered, cache, overview_entry)
        if signum is not None:
            raise BatchInterrupted(signum)
        return ordered + made


def _reuse_units(runs: Sequence[Run], cache: Mapping[str, Any], pdf: bool) -> tuple[dict[int, UnitOutcome], list[int]]:
    """The outcomes of the units the last batch's reports serve unchanged (by their index in
    ``runs``), and the indexes of the units to make: see :func:`minesafe.cache.reuse_unit`."""
    outcomes: dict[int, UnitOutcome] = {}
    todo: list[int] = []
    for i, run in enumerate(runs):
        reused = reuse_unit(run, cache.get(str(run.source)), pdf)
        if reused is None:
            todo.append(i)
        else:
            outcomes[i] = reused
    return outcomes, todo


def _write_summary(
    out: Path, ordered: Sequence[UnitOutcome], cache: Mapping[str, Any], overview_entry: Mapping[str, Any]
) -> None:
    """The batch's cache (what the next batch may reuse) and its summary, JSON and workbook, of
    every unit's outcome: written also when the batch was stopped."""
    write_json({"format": 1, "units": cache, "overview": overview_entry}, out / CACHE_FILE, exact=True)
    frame = build_summary_frame(ordered, read_unit_results(ordered))
    write_json(summary_to_dict(frame), out / f"{SUMMARY_STEM}.json")
    write_workbook(build_summary_workbook(frame, out), out / f"{SUMMARY_STEM}.xlsx")


def _remove_made(log: Path | None, folders: Sequence[Path]) -> None:
    """Remove what a refused batch made: its new log and the output folders it created (only
    while empty: nothing else is ever removed)."""
    if log is not None:
        log.unlink(missing_ok=True)
    if folders:  # the output folder this batch made holds its lock, still held: removing it is safe
        (folders[0] / OUT_LOCK).unlink(missing_ok=True)
    for folder in folders:  # the deepest first
        with suppress(OSError):
            folder.rmdir()


def read_unit_results(outcomes: Sequence[UnitOutcome]) -> dict[str, Mapping[str, Any]]:
    """The results the batch wrote or kept for its units (not list proposals), by report path:
    the summary's lines are what ``load_results`` reads from them."""
    results = {}
    for o in outcomes:
        if o.succeeded and o.kind in (*UNIT_KINDS.values(), PROVINCE_KIND):
            try:
                results[o.report] = json.loads(Path(o.report).with_name(RESULT_FILE).read_text(encoding="utf-8"))
            except (OSError, ValueError):  # removed meanwhile: the line says what the outcome knows
                continue
    return results


def _make_later(
    pool: ProcessPoolExecutor,
    later: Sequence[Job],
    execute: Callable[[Job], Done],
    bar: tqdm,
    entry: dict[str, Any],
    stopping: Callable[[], None],
) -> list[UnitOutcome]:
    """Reports made from the units' outputs (the overview), after every unit is done. ``entry``
    becomes the overview's cache entry: emptied when it is re-made, filled when that succeeds (a
    failed overview is never reused)."""
    made: dict[int, UnitOutcome] = {}
    if later:
        entry.clear()

    def record(i: int, done: Done) -> None:
        outcome, digests = done
        made[i] = outcome
        if outcome.succeeded:
            entry.update(cache_entry(later[i], outcome, digests))

    def died(i: int, exc: BaseException) -> None:
        made[i] = job_outcome(later[i], STATUS_FAILED, 0.0, _worker_error(exc))

    _collect(pool, {i: (execute, job) for i, job in enumerate(later)}, bar, record, died, stopping)
    return [made[i] for i in sorted(made)]


def _plan(
    pool: ProcessPoolExecutor,
    runs: Sequence[Run],
    todo: Sequence[int],
    out: Path,
    outcomes: dict[int, UnitOutcome],
    bar: tqdm,
    stopping: Callable[[], None],
) -> dict[int, Job]:
    planned: dict[int, Job] = {}

    def record(i: int, unit: Job | UnitOutcome) -> None:
        if isinstance(unit, Job):
            planned[i] = unit
        else:
            outcomes[i] = unit

    def died(i: int, exc: BaseException) -> None:
        outcomes[i] = _failure(runs[i], f"评估时{_worker_error(exc)}", 0.0)

    _collect(pool, {i: (functools.partial(plan_unit, out=out), runs[i]) for i in todo}, bar, record, died, stopping)
    return dict(sorted(planned.items()))


def _check_duplicates(
    runs: Sequence[Run], planned: Mapping[int, Job], outcomes: Mapping[int, UnitOutcome], cache: Mapping[str, Mapping[str, Any]]
) -> None:
    """Two units writing one report folder would overwrite each other: refuse before any kernel."""
    taken: dict[Path, Path] = {}
    folders = [(i, job.folder) for i, job in planned.items()]
    folders += [(i, Path(cache[str(runs[i].source)]["folder"])) for i, o in outcomes.items() if o.reused]
    problems = []
    for i, folder in sorted(folders):
        if folder in taken:
            problems.append(
                InputError(
                    str(runs[i].source),
                    [
                        Problem(
                            ("parameters",),
                            f"与 {taken[folder]} 的报告位置相同",
                            FileList([str(folder)]),
                            "每个单位每年只写一份报告",
                        )
                    ],
                )
            )
        taken.setdefault(folder, runs[i].source)
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise InputErrors(problems)


def _execute(
    pool: ProcessPoolExecutor,
    planned: Mapping[int, Job],
    execute: Callable[[Job], Done],
    outcomes: dict[int, UnitOutcome],
    cache: dict[str, Any],
    bar: tqdm,
    stopping: Callable[[], None],
) -> None:
    def record(i: int, done: Done) -> None:
        outcome, digests = done
        outcomes[i] = outcome
        job = planned[i]
        if outcome.succeeded:
            cache[str(job.run.source)] = cache_entry(job, outcome, digests)

    def died(i: int, exc: BaseException) -> None:
        outcomes[i] = job_outcome(planned[i], STATUS_FAILED, 0.0, _worker_error(exc))

    _collect(pool, {i: (execute, job) for i, job in planned.items()}, bar, record, died, stopping)


class _BatchStop:
    """SIGINT and SIGTERM stopping a running batch. The handler never raises into the batch
    process: an exception thrown wherever it happens to be (half-way through taking the futures'
    locks in concurrent.futures, say) could leave the pool unable to shut down and the process
    hanging at exit. It tells the workers to stop (:func:`write_report` then refuses to write) and
    kills them with their kernels; the pool fails their futures, and :meth:`check` raises
    :class:`BatchInterrupted` where the batch collects them."""

    def __init__(self, event: Any) -> None:
        self.received: list[int] = []  # the signals received, the first decides the exit
        self._event = event  # the workers' stop event
        self._stopped = False

    def stop(self) -> None:
        """Stop the workers, once (a worker killed while holding the event's lock would block a second ``set``)."""
        if not self._stopped:
            self._stopped = True  # first: a signal arriving inside this call finds the batch stopping
            self._event.set()
            _kill_process_tree()

    def handle(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        self.stop()

    def check(self) -> None:
        """Raise :class:`BatchInterrupted` once a signal has been received."""
        if self.received:
            raise BatchInterrupted(self.received[0])

    @contextmanager
    def installed(self) -> Iterator[None]:
        """The handler in place inside the block (in the main thread; elsewhere signals are left alone)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {s: signal.signal(s, self.handle) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, h in previous.items():
                signal.signal(s, h)
