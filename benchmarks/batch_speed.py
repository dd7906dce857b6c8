"""Batch report generation and evaluation speed, measured side by side in one run.

    python benchmarks/batch_speed.py            # the full set (N = 20, 60, 200; about 10 minutes on 2 cores)
    python benchmarks/batch_speed.py --quick    # a small version for CI: prints the same ratios, asserts nothing

Prints, for the county report notebook:
  * unchanged rerun / first run of the same N reports (target <= 0.05);
  * per-report cost of `minesafe batch` / the bare kernel floor — an empty notebook (parameters cell only)
    through papermill with no export, in a pool of the same size (target <= 1.3);
  * a fair naive peer: the papermill CLI then `jupyter nbconvert --to html --no-input` per county, run
    as many at a time as the batch has workers, making the same outputs (executed notebook and HTML);
    naive / batch on 20 reports (target >= 4);
  * the CPU time of one county's report.docx, which every batch report includes, and its share of
    the per-report cost;
  * evaluations per second of `minesafe.evaluate` on a county file in one process (target >= 200), and
    the start-up of `minesafe evaluate FILE` / `python -c pass` (target <= 5);
  * per-report cost and peak memory of the whole process tree at N = 20, 60, 200, and the cost of each
    added report between those sizes (linear cost: about equal; flat memory).
Timings vary by about ±10 % on a shared machine; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import nbformat
import psutil

from minesafe.batch import run_batch
from minesafe.runs import build_run, declared_parameters

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "noncoal_county_report.ipynb"
COUNTY = ROOT / "data" / "demo" / "counties" / "jia.yaml"
BIN = Path(sys.executable).parent


def make_submissions(folder: Path, units: int) -> list[Path]:
    """N distinct fictional counties, cycling through the demo submissions."""
    demos = sorted((ROOT / "data" / "demo" / "counties").glob("*.yaml"))
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(units):
        text = demos[i % len(demos)].read_text(encoding="utf-8")
        county = next(line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("county: "))
        path = folder / f"county-{i:03d}.yaml"
        path.write_text(text.replace(f"county: {county}", f"county: 基准县{i:03d}"), encoding="utf-8")
        paths.append(path)
    return paths


def empty_notebook(folder: Path) -> Path:
    """A notebook with the report's parameters cell and nothing else."""
    source = nbformat.read(NOTEBOOK, as_version=4)
    parameters = next(c for c in source.cells if "parameters" in c.metadata.get("tags", []))
    path = folder / "empty.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[parameters], metadata=source.metadata), path)
    return path


class PeakMemory:
    """The largest total resident memory of this process and all its descendants while running."""

    def __init__(self) -> None:
        self.peak = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._done.wait(0.1):
            total = 0
            for process in [me, *me.children(recursive=True)]:
                try:
                    total += process.memory_info().rss
                except psutil.Error:
                    continue
            self.peak = max(self.peak, total)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()


def time_batch(submissions: list[Path], out: Path, jobs: int, notebook: Path = NOTEBOOK) -> tuple[float, int]:
    """Wall time and peak memory of `minesafe batch` (through build_run, so the batch defaults apply)."""
    runs = [
        build_run({"notebook": notebook.stem, "parameters": {"submission": str(s)}}, s, notebook.parent, declared_parameters)
        for s in submissions
    ]
    with PeakMemory() as memory:
        started = time.perf_counter()
        outcomes = run_batch(runs, out, jobs, progress=False)
        elapsed = time.perf_counter() - started
    failed = [o for o in outcomes if not o.succeeded]
    if failed:
        raise SystemExit(f"benchmark run failed: {failed[0].error}")
    return elapsed, memory.peak


def _bare_kernel(notebook: str, submission: str, cwd: str) -> None:
    import papermill

    papermill.execute_notebook(
        notebook, None, parameters={"submission": submission}, cwd=cwd, kernel_name="python3", progress_bar=False
    )


def _import_papermill() -> None:
    import papermill  # noqa: F401


def time_floor(empty: Path, submissions: list[Path], jobs: int) -> float:
    """The bare kernel floor: the empty notebook through papermill, no export, a pool of `jobs`
    workers that have already imported papermill (as the batch's workers have)."""
    with ProcessPoolExecutor(jobs, initializer=_import_papermill) as pool:
        list(pool.map(_import_papermill_noop, range(jobs)))  # workers up before the clock starts
        started = time.perf_counter()
        list(
            pool.map(_bare_kernel, [str(empty)] * len(submissions), map(str, submissions), [str(empty.parent)] * len(submissions))
        )
        return time.perf_counter() - started


def _import_papermill_noop(_: int) -> None:
    time.sleep(0.5)


def time_naive(submissions: list[Path], out: Path, jobs: int) -> float:
    """The papermill CLI then nbconvert per county, `jobs` counties at a time (like `xargs -P`)."""
    out.mkdir(parents=True)

    def one(submission: Path) -> None:
        executed = out / f"{submission.stem}.ipynb"
        command = [BIN / "papermill", str(NOTEBOOK), str(executed), "-p", "submission", str(submission)]
        command += ["-p", "whatif_panel", "False", "--cwd", str(NOTEBOOK.parent), "--no-progress-bar"]
        subprocess.run(command, check=True, capture_output=True)
        subprocess.run(
            [BIN / "jupyter", "nbconvert", "--to", "html", "--no-input", str(executed)], check=True, capture_output=True
        )

    started = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(one, submissions))
    return time.perf_counter() - started


def evaluations_per_second(seconds: float) -> float:
    import minesafe

    minesafe.evaluate(COUNTY)  # the rubric is loaded once per process
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        minesafe.evaluate(COUNTY)
        count += 1
    return count / (time.perf_counter() - started)


def document_seconds(repeats: int) -> float:
    """The median CPU time of one county's 评估报告 as Word (built and serialised, as the batch
    writes it beside each report), in this process."""
    from minesafe.documents import document_files
    from minesafe.provenance import read_provenance
    from minesafe.results import evaluate_unit

    unit = evaluate_unit([COUNTY])
    provenance = read_provenance(unit, None)
    document_files(unit, provenance)  # python-docx's template and the styles are loaded once per process
    times = []
    for _ in range(repeats):
        started = time.process_time()
        document_files(unit, provenance)
        times.append(time.process_time() - started)
    return statistics.median(times)


def startup_seconds(commands: list[list[str]], repeats: int, pycache: Path) -> list[float]:
    """The median wall time of each command, run in turn (so load on a shared machine falls on all
    alike), after a first run that is not timed.

    Timed as an installed minesafe starts: with its bytecode cached, as pip compiles it at install.
    Under PYTHONDONTWRITEBYTECODE an editable checkout would recompile minesafe at every start.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"PYTHONPYCACHEPREFIX": str(pycache)}
    times: list[list[float]] = [[] for _ in commands]
    for attempt in range(repeats + 1):
        for command, timed in zip(commands, times, strict=True):
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, cwd=ROOT, env=env)
            if attempt:  # the first run compiles and caches the bytecode
                timed.append(time.perf_counter() - started)
    return [statistics.median(t) for t in times]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small version (CI): N = 4 and 8, fair peer on 4")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--sizes", type=int, nargs="+", help="batch sizes to measure (default 20 60 200; the rerun and floor at 60 if given)"
    )
    args = parser.parse_args()
    jobs = args.jobs
    sizes = tuple(args.sizes or ((4, 8) if args.quick else (20, 60, 200)))
    main_size = 60 if 60 in sizes else sizes[-1]
    peer_size = 4 if args.quick else 20
    work = Path(tempfile.mkdtemp(prefix="minesafe-bench-"))
    rows: list[tuple[str, str, str]] = []
    try:
        print(f"{jobs} worker processes, {os.cpu_count()} CPUs; sizes {sizes}", flush=True)
        scale = {}
        for n in sizes:
            submissions = make_submissions(work / f"in-{n}", n)
            seconds, peak = time_batch(submissions, work / f"out-{n}", jobs)
            scale[n] = (seconds, peak)
            print(
                f"  batch N={n}: {seconds:.1f} s, {seconds / n:.2f} s per report, peak memory {peak / 2**20:.0f} MB", flush=True
            )
            if n == main_size:
                rerun, _ = time_batch(submissions, work / f"out-{n}", jobs)
                print(f"  unchanged rerun N={n}: {rerun:.2f} s", flush=True)
                empty = empty_notebook(work)
                floor = time_floor(empty, submissions, jobs)
                print(f"  bare kernel floor N={n}: {floor:.1f} s", flush=True)
                warm_floor, _ = time_batch(submissions, work / f"empty-{n}", jobs, empty)
                print(f"  empty notebook through minesafe batch N={n}: {warm_floor:.1f} s", flush=True)
                main_seconds = seconds
        peer = make_submissions(work / "in-peer", peer_size)
        batch_peer, _ = time_batch(peer, work / "out-peer", jobs)
        naive = time_naive(peer, work / "naive", jobs)
        print(f"  fair peer N={peer_size}: batch {batch_peer:.1f} s, naive {jobs}-way {naive:.1f} s", flush=True)
        rate = evaluations_per_second(2 if args.quick else 5)
        docx = document_seconds(5 if args.quick else 20)
        bare, cli = startup_seconds(
            [[sys.executable, "-c", "pass"], [str(BIN / "minesafe"), "evaluate", str(COUNTY)]],
            9 if args.quick else 21,
            work / "pycache",
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    n = main_size
    rows += [
        (f"unchanged rerun / first run (N={n})", f"{rerun / main_seconds:.3f}", "<= 0.05"),
        (f"per report / bare kernel floor (N={n})", f"{main_seconds / floor:.2f}", "<= 1.3"),
        (f"  (per report / empty notebook through the batch, N={n})", f"{main_seconds / warm_floor:.2f}", ""),
        (f"naive {jobs}-way / batch (N={peer_size})", f"{naive / batch_peer:.1f}", ">= 4"),
        ("minesafe.evaluate per second (one county file)", f"{rate:.0f}", ">= 200"),
        (f"report.docx per county (CPU s); / per report (N={n})", f"{docx:.2f}; {docx / (main_seconds / n):.2f}", "(included)"),
        ("`minesafe evaluate FILE` / `python -c pass` start-up", f"{cli / bare:.1f}", "<= 5"),
    ]
    rows += [
        (f"per report at N={k} (s); peak memory (MB)", f"{s / k:.2f}; {m / 2**20:.0f}", "linear; flat")
        for k, (s, m) in scale.items()
    ]
    # linear cost: each added report costs the same, whatever the batch's size (start-up aside)
    steps = sorted(scale)
    rows += [
        (f"each added report, N={a} -> {b} (s)", f"{(scale[b][0] - scale[a][0]) / (b - a):.2f}", "about equal")
        for a, b in itertools.pairwise(steps)
    ]
    width = max(len(r[0]) for r in rows)
    print()
    for label, value, target in rows:
        print(f"{label:<{width}}  {value:>10}  {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
