"""Warm report kernels: forked from a clean template, so no unit's state reaches the next report."""

import json
import shutil

import nbformat

from minesafe.cli import main

from .conftest import DEMO, ROOT

PROBE = """import os
import minesafe.report as probe
print("module:", getattr(probe, "left_by_previous_unit", "clean"), "| env:", os.environ.get("LEFT_BY_PREVIOUS_UNIT", "clean"))
probe.left_by_previous_unit = submission
os.environ["LEFT_BY_PREVIOUS_UNIT"] = submission
import matplotlib
print("rc:", matplotlib.rcParams["lines.linewidth"])
matplotlib.rcParams["lines.linewidth"] = 9.0
"""


def test_no_unit_state_reaches_the_next_report(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    source = nbformat.read(ROOT / "notebooks" / "noncoal_county_report.ipynb", as_version=4)
    parameters = next(c for c in source.cells if "parameters" in c.metadata.get("tags", []))
    probe = nbformat.v4.new_notebook(cells=[parameters, nbformat.v4.new_code_cell(PROBE)], metadata=source.metadata)
    nbformat.write(probe, notebooks / "probe.ipynb")
    runs = tmp_path / "runs"
    runs.mkdir()
    names = ("jia", "yi", "bing")
    for name in names:
        (runs / f"{name}.yaml").write_text(
            f"notebook: probe\nparameters: {{submission: {DEMO / 'counties' / name}.yaml}}\n", encoding="utf-8"
        )
    out = tmp_path / "reports"
    # one worker: every unit's kernel comes from the same template, one after another
    assert main(["batch", str(runs), "--out", str(out), "--jobs", "1", "--notebooks", str(notebooks)]) == 0
    reports = sorted(out.rglob("report.ipynb"))
    assert len(reports) == len(names)
    for path in reports:
        printed = "".join(o.get("text", "") for o in nbformat.read(path, as_version=4).cells[-1].outputs)
        assert "module: clean | env: clean" in printed, printed
        assert "rc: 9.0" not in printed
    summary = json.loads((out / "batch-summary.json").read_text(encoding="utf-8"))
    assert summary["succeeded"] == len(names)
    shutil.rmtree(out)
