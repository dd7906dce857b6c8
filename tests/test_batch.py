"""minesafe batch: run files checked before any kernel starts, reports written all or nothing,
one failing unit never stops the others."""

import hashlib
import json
import shutil
from pathlib import Path

import nbformat
import openpyxl
import pytest

from minesafe.batch import build_run, declared_parameters, find_run_files, load_runs
from minesafe.cli import main
from minesafe.exceptions import InputError
from minesafe.files import evaluate_file
from minesafe.rendering import result_to_dict

from .conftest import DEMO, ROOT
from .test_export import EXTERNAL_LOAD

NOTEBOOKS = ROOT / "notebooks"


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def _build(data, tmp_path):
    return build_run(data, tmp_path / "run.yaml", NOTEBOOKS, declared_parameters)


def test_demo_run_files_are_valid():
    runs = load_runs(find_run_files([ROOT / "params" / "runs"]), NOTEBOOKS)
    assert len(runs) == len(list((ROOT / "params" / "runs").rglob("*.yaml")))
    assert {r.notebook.stem for r in runs} == {
        "noncoal_county_report",
        "noncoal_province_report",
        "coal_county_report",
        "coal_enterprise_report",
    }
    assert all(r.parameters["submission"].startswith("/") for r in runs)  # resolved before the kernel sees them


def test_run_file_problems_are_all_reported(tmp_path):
    data = {
        "notebook": "noncoal_county_report",
        "parameters": {"params_file": 7, "colour": "red", "__import__('os')": 1},
        "extra": True,
    }
    with pytest.raises(InputError) as info:
        _build(data, tmp_path)
    text = str(info.value)
    assert "键 extra：未知的键" in text
    assert "键 parameters.params_file：参数类型不对（当前值：7；应为：文字）" in text
    assert "键 parameters.colour：笔记本 noncoal_county_report 没有这个参数" in text
    assert "没有这个参数（当前值：“__import__('os')”" in text  # names never reach papermill unchecked
    assert "键 parameters.submission：缺少必填参数 submission" in text


def test_values_keep_their_type(tmp_path):
    """A submission named 007.yaml stays the text "…/007.yaml"; nothing guesses types."""
    county = tmp_path / "007.yaml"
    shutil.copy(DEMO / "counties" / "jia.yaml", county)
    run = _build({"notebook": "noncoal_county_report", "parameters": {"submission": str(county)}}, tmp_path)
    assert run.parameters["submission"] == str(county.resolve())


def test_missing_files_and_notebooks(tmp_path):
    with pytest.raises(InputError, match="文件不存在"):
        _build({"notebook": "noncoal_county_report", "parameters": {"submission": "nowhere.yaml"}}, tmp_path)
    with pytest.raises(InputError, match="没有这个报告笔记本"):
        _build({"notebook": "coal_report", "parameters": {}}, tmp_path)


def test_bad_run_file_stops_the_batch_before_any_kernel(tmp_path, capsys):
    bad = _write(tmp_path / "bad.yaml", "notebook: noncoal_county_report\nparameters: {submission: 7}\n")
    out = tmp_path / "reports"
    assert main(["batch", str(bad), "--out", str(out)]) == 2
    assert "参数类型不对" in capsys.readouterr().err
    assert not out.exists()


@pytest.fixture(scope="module")
def broken_notebooks(tmp_path_factory):
    """The report notebooks plus one whose fourth cell fails, as a notebook of an evaluator might."""
    folder = tmp_path_factory.mktemp("notebooks")
    for path in NOTEBOOKS.glob("*.ipynb"):
        shutil.copy(path, folder / path.name)
    notebook = nbformat.read(NOTEBOOKS / "noncoal_county_report.ipynb", as_version=4)
    notebook.cells.insert(3, nbformat.v4.new_code_cell("raise RuntimeError('模拟的单元格错误')"))
    nbformat.write(notebook, folder / "broken_report.ipynb")
    return folder


@pytest.fixture(scope="module")
def batch(tmp_path_factory, broken_notebooks):
    """One batch: two good units, one invalid submission, one notebook that fails in a cell."""
    runs = tmp_path_factory.mktemp("runs")
    bad_county = tmp_path_factory.mktemp("submissions") / "bad-county.yaml"
    bad_county.write_text(
        (DEMO / "counties" / "yi.yaml").read_text(encoding="utf-8").replace("year: 2022", "year: 1999"), encoding="utf-8"
    )
    county = DEMO / "counties" / "ding.yaml"
    _write(runs / "a-county.yaml", f"notebook: noncoal_county_report\nparameters: {{submission: {county}}}\n")
    _write(
        runs / "b-province.yaml",
        f"notebook: noncoal_province_report\nparameters: {{submission: {DEMO / 'province.yaml'}, county_report_link: '../{{county}}/report.html'}}\n",
    )
    _write(runs / "c-invalid.yaml", f"notebook: noncoal_county_report\nparameters: {{submission: {bad_county}}}\n")
    _write(runs / "d-broken.yaml", f"notebook: broken_report\nparameters: {{submission: {DEMO / 'counties' / 'wu.yaml'}}}\n")
    out = tmp_path_factory.mktemp("reports")
    status = main(["batch", str(runs), "--out", str(out), "--jobs", "2", "--notebooks", str(broken_notebooks)])
    return status, out, runs


def test_batch_reports_failures_and_keeps_going(batch):
    status, out, _ = batch
    assert status == 1
    summary = json.loads((out / "batch-summary.json").read_text(encoding="utf-8"))
    units = {u["run_file"].rsplit("/", 1)[-1]: u for u in summary["units"]}
    assert [units[f]["status"] for f in ("a-county.yaml", "b-province.yaml", "c-invalid.yaml", "d-broken.yaml")] == [
        "成功",
        "成功",
        "失败",
        "失败",
    ]
    assert "键 year" in units["c-invalid.yaml"]["error"]
    assert "第 4 个单元格" in units["d-broken.yaml"]["error"] and "模拟的单元格错误" in units["d-broken.yaml"]["error"]
    assert units["a-county.yaml"]["verdict"] == "合格" and units["a-county.yaml"]["score"] == "80"
    assert (summary["succeeded"], summary["failed"]) == (2, 2)


def test_batch_writes_notebook_html_and_result_per_unit(batch):
    _, out, _ = batch
    folder = out / "2022" / "示例省" / "示例丁县"
    assert sorted(p.name for p in folder.iterdir()) == ["report.html", "report.ipynb", "result.json"]
    result = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    provenance = result.pop("provenance")
    assert result == result_to_dict(evaluate_file(DEMO / "counties" / "ding.yaml"))
    ((submission,),) = [[i for i in provenance["inputs"] if i["role"] == "提交文件"]]
    assert submission["sha256"] == hashlib.sha256((DEMO / "counties" / "ding.yaml").read_bytes()).hexdigest()
    assert not Path(submission["path"]).is_absolute()  # relative to the folder the batch started in
    assert (Path.cwd() / submission["path"]).resolve() == (DEMO / "counties" / "ding.yaml").resolve()
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "考核评估结论：合格" in page and not EXTERNAL_LOAD.findall(page)
    executed = nbformat.read(folder / "report.ipynb", as_version=4)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)
    province = (out / "2022" / "示例省" / "省级评估" / "report.html").read_text(encoding="utf-8")
    assert 'href="../示例丁县/report.html"' in province
    assert not (out / "2022" / "示例省" / "示例戊县").exists()  # the failed unit left nothing behind
    assert not [p for p in out.rglob("*") if p.name.startswith(".")]


def test_batch_summary_workbook(batch):
    _, out, _ = batch
    sheet = openpyxl.load_workbook(out / "batch-summary.xlsx").active
    header = [c.value for c in sheet[1]]
    assert header[:7] == ["单位", "类型", "省（区）", "年度", "结论", "得分", "运行状态"]
    assert sheet.max_row == 5
    assert {sheet.cell(r, 7).value for r in range(2, 6)} == {"成功", "失败"}


def test_a_failed_rerun_keeps_the_previous_good_report(batch, broken_notebooks):
    _, out, runs = batch
    folder = out / "2022" / "示例省" / "示例丁县"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    rerun = _write(
        runs.parent / "rerun-broken.yaml",
        f"notebook: broken_report\nparameters: {{submission: {DEMO / 'counties' / 'ding.yaml'}}}\n",
    )
    assert main(["batch", str(rerun), "--out", str(out), "--jobs", "1", "--notebooks", str(broken_notebooks)]) == 1
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_reports_use_this_interpreter_even_when_python3_points_elsewhere(tmp_path, monkeypatch):
    """An evaluator's machine may register another environment as the ``python3`` kernel."""
    broken = tmp_path / "jupyter" / "kernels" / "python3"
    broken.mkdir(parents=True)
    (broken / "kernel.json").write_text(
        '{"argv": ["/bin/false", "{connection_file}"], "display_name": "x", "language": "python"}'
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    run = _write(
        tmp_path / "run.yaml", f"notebook: noncoal_county_report\nparameters: {{submission: {DEMO / 'counties' / 'jia.yaml'}}}\n"
    )
    out = tmp_path / "reports"
    assert main(["batch", str(run), "--out", str(out), "--jobs", "1"]) == 0
    assert (out / "2022" / "示例省" / "示例甲县" / "report.html").exists()
