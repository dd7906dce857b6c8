"""Batch report generation, measured side by side in one run.

    python benchmarks/batch_speed.py [--units 20]

Prints three wall times for the same N county reports and their ratios:
  * minesafe batch (papermill's Python API in a worker pool, HTML exported in-process);
  * a naive loop: the papermill CLI then `jupyter nbconvert --to html --no-input`, one county after another;
  * an empty notebook (parameters cell only) through the same pool: the floor of kernel start-up and export.
Targets: batch >= 4x faster than the naive loop; per-report cost <= 2x the empty-notebook floor.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from minesafe.batch import build_run, declared_parameters, run_batch

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "noncoal_county_report.ipynb"


def make_submissions(folder: Path, units: int) -> list[Path]:
    """N distinct fictional counties, cycling through the demo submissions."""
    demos = sorted((ROOT / "data" / "demo" / "counties").glob("*.yaml"))
    paths = []
    for i in range(units):
        text = demos[i % len(demos)].read_text(encoding="utf-8")
        county = next(line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("county: "))
        path = folder / f"county-{i:02d}.yaml"
        path.write_text(text.replace(f"county: {county}", f"county: 基准县{i:02d}"), encoding="utf-8")
        paths.append(path)
    return paths


def empty_notebook(folder: Path) -> Path:
    """A notebook with the same parameters cell and nothing else."""
    source = nbformat.read(NOTEBOOK, as_version=4)
    parameters = next(c for c in source.cells if "parameters" in c.metadata.get("tags", []))
    notebook = nbformat.v4.new_notebook(cells=[parameters], metadata=source.metadata)
    path = folder / "empty.ipynb"
    nbformat.write(notebook, path)
    return path


def time_batch(notebook: Path, submissions: list[Path], out: Path, jobs: int) -> float:
    # through build_run, as `minesafe batch` does, so the batch defaults (no live widgets) apply
    runs = [
        build_run({"notebook": notebook.stem, "parameters": {"submission": str(s)}}, s, notebook.parent, declared_parameters)
        for s in submissions
    ]
    started = time.perf_counter()
    outcomes = run_batch(runs, out, jobs, progress=False)
    elapsed = time.perf_counter() - started
    failed = [o for o in outcomes if not o.succeeded]
    if failed:
        raise SystemExit(f"benchmark run failed: {failed[0].error}")
    return elapsed


def time_naive_loop(submissions: list[Path], out: Path) -> float:
    bin_dir = Path(sys.executable).parent
    out.mkdir(parents=True)
    started = time.perf_counter()
    for s in submissions:
        executed = out / f"{s.stem}.ipynb"
        subprocess.run(
            [
                bin_dir / "papermill",
                str(NOTEBOOK),
                str(executed),
                "-p",
                "submission",
                str(s),
                "-p",  # the same static report as the batch makes: no live what-if panel
                "whatif_panel",
                "False",
                "--cwd",
                str(NOTEBOOK.parent),
                "--no-progress-bar",
            ],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [bin_dir / "jupyter", "nbconvert", "--to", "html", "--no-input", str(executed)], check=True, capture_output=True
        )
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="minesafe-bench-"))
    try:
        submissions = make_submissions(work, args.units)
        empty = empty_notebook(work)
        report = work / NOTEBOOK.name
        shutil.copy(NOTEBOOK, report)  # beside the empty one; submissions are absolute paths
        print(f"{args.units} county reports, {args.jobs} worker processes, {os.cpu_count()} CPUs")
        batch = time_batch(report, submissions, work / "batch", args.jobs)
        floor = time_batch(empty, submissions, work / "empty", args.jobs)
        naive = time_naive_loop(submissions, work / "naive")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"minesafe batch:           {batch:7.1f} s  ({batch / args.units:.2f} s per report)")
    print(f"naive papermill+nbconvert:{naive:7.1f} s  ({naive / args.units:.2f} s per report)")
    print(f"empty notebook, same pool:{floor:7.1f} s  ({floor / args.units:.2f} s per report)")
    print(f"speed-up over the naive loop: {naive / batch:.1f}x  (target >= 4x)")
    print(f"per-report cost / empty-notebook floor: {batch / floor:.2f}x  (target <= 2x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
