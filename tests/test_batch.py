"""minesafe batch: run files checked before any kernel starts, reports written all or nothing,
one failing unit never stops the others."""

import ast
import contextlib
import errno
import functools
import hashlib
import importlib
import json
import os
import shutil
import signal
import tempfile
from pathlib import Path

import nbformat
import openpyxl
import pytest
from docx import Document

from minesafe import batch as batch_module
from minesafe import cache as cache_module
from minesafe.batch import BudgetExceeded, evaluate_run, job_outcome, plan_unit, run_batch, unit_documents, write_report
from minesafe.cache import read_cache, reuse_unit
from minesafe.cli import main
from minesafe.exceptions import InputError, OutputBusy
from minesafe.rendering import result_to_dict
from minesafe.results import evaluate
from minesafe.runs import build_run, declared_parameters, find_run_files, load_runs
from minesafe.storage import OUT_LOCK, lock_out_folder, replace_folder
from minesafe.summary import STATUS_OK

from .conftest import DEMO, ROOT, bound_by_permissions
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


def test_a_list_runs_results_folder_is_resolved_like_its_files(tmp_path, monkeypatch):
    """A list run's reports folder, relative to the folder the batch runs in as every path of a run
    file: the kernel runs in the notebooks' folder, where the relative path names another folder."""
    monkeypatch.chdir(tmp_path)
    history = tmp_path / "名单数据.yaml"
    shutil.copy(DEMO / "lists" / "coal-county-history.yaml", history)
    (tmp_path / "reports").mkdir()
    run = _build({"notebook": "list_management", "parameters": {"history_file": "名单数据.yaml", "results": "reports"}}, tmp_path)
    assert run.parameters["results"] == str((tmp_path / "reports").resolve())
    assert run.parameters["history_file"] == str(history.resolve())


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
    units = {u["参数文件"].rsplit("/", 1)[-1]: u for u in summary["units"]}
    assert [units[f]["运行状态"] for f in ("a-county.yaml", "b-province.yaml", "c-invalid.yaml", "d-broken.yaml")] == [
        "成功",
        "成功",
        "失败",
        "失败",
    ]
    assert "键 year" in units["c-invalid.yaml"]["错误"]
    assert "第 4 个单元格" in units["d-broken.yaml"]["错误"] and "模拟的单元格错误" in units["d-broken.yaml"]["错误"]
    assert units["a-county.yaml"]["结论"] == "合格" and units["a-county.yaml"]["得分"] == 80
    assert (summary["succeeded"], summary["failed"]) == (2, 2)


def test_batch_writes_notebook_html_and_result_per_unit(batch):
    _, out, _ = batch
    folder = out / "2022" / "示例省" / "示例丁县"
    assert sorted(p.name for p in folder.iterdir()) == ["report.docx", "report.html", "report.ipynb", "result.json"]
    assert Document(str(folder / "report.docx")).paragraphs[0].text == "示例省示例丁县2022年度"
    # the province's 评估报告 in the province's folder, with every county's form as an annex
    report = Document(str(out / "2022" / "示例省" / "省级评估" / "report.docx"))
    assert [p.text for p in report.paragraphs][:3] == ["示例省2022年度", "非煤矿山重点省(区)综合评估", "报告"]
    result = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    provenance = result.pop("provenance")
    assert result == result_to_dict(evaluate(DEMO / "counties" / "ding.yaml"))
    ((submission,),) = [[i for i in provenance["inputs"] if i["role"] == "提交文件"]]
    assert submission["sha256"] == hashlib.sha256((DEMO / "counties" / "ding.yaml").read_bytes()).hexdigest()
    assert not Path(submission["path"]).is_absolute()  # relative to the folder the batch started in
    assert (Path.cwd() / submission["path"]).resolve() == (DEMO / "counties" / "ding.yaml").resolve()
    # the document's last 附件 (数据来源与版本) is this record: every file's SHA-256, in its order
    files = [*provenance["inputs"], *provenance["rubrics"], *provenance["profiles"], *filter(None, [provenance["params"]])]
    sources = Document(str(folder / "report.docx")).tables[-1]
    assert [row.cells[2].text.replace("\n", "") for row in sources.rows[1:]] == [f["sha256"] for f in files]
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
    assert header[:9] == ["年度", "省", "单位", "单位类型", "阶段", "以此阶段为准", "结论", "是否合格", "得分"]
    assert sheet.max_row == 5
    status = header.index("运行状态") + 1
    assert {sheet.cell(r, status).value for r in range(2, 6)} == {"成功", "失败"}


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


# --- reusing unchanged units ---------------------------------------------------------------------


def stub_execute(job):
    """Stands in for the notebook run (picklable, so pool workers can call it): the cache logic is
    the batch process's, and needs no kernel to be tested."""
    files = {"report.ipynb": b"{}", "report.html": job.title.encode("utf-8")}
    if job.result:  # the overview has no result of its own
        files["result.json"] = json.dumps(job.result, ensure_ascii=False).encode("utf-8")
        files |= unit_documents(job)  # the real documents: the cache must cover them
    return job_outcome(job, STATUS_OK, 0.0), write_report(job, files)


def _write_county_runs(folder, submissions, jia_parameters=""):
    """A ``runs`` folder in ``folder`` with the run files of two county units, 甲 and 乙, from
    ``submissions`` (its jia.yaml and yi.yaml); 甲's with ``jia_parameters`` added (``, params_file: …``)."""
    runs = folder / "runs"
    runs.mkdir()
    for name, extra in (("jia", jia_parameters), ("yi", "")):
        submission = submissions / f"{name}.yaml"
        _write(runs / f"{name}.yaml", f"notebook: noncoal_county_report\nparameters: {{submission: {submission}{extra}}}\n")
    return runs


@pytest.fixture(scope="module")
def cached_batch(tmp_path_factory):
    """Two county units with their own copies of every input, run once; returns a rerun helper
    and ``reusable``, which says which units the next run would reuse (without running it)."""
    tmp_path = tmp_path_factory.mktemp("cache")
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for name in ("jia", "yi"):
        shutil.copy(DEMO / "counties" / f"{name}.yaml", inputs / f"{name}.yaml")
    # jia lists two evidence files: one there, one not (yet)
    jia = (inputs / "jia.yaml").read_text(encoding="utf-8")
    listed = "  1-1a: {result: 完成, evidence: [佐证材料/台账.txt, 佐证材料/记录.txt]}\n"
    _write(inputs / "jia.yaml", jia.replace("  1-1a: {result: 完成}\n", listed))
    assert listed in (inputs / "jia.yaml").read_text(encoding="utf-8")
    (inputs / "佐证材料").mkdir()
    _write(inputs / "佐证材料" / "台账.txt", "矿权设置台账\n")
    shutil.copy(ROOT / "minesafe" / "rubrics" / "noncoal-county.yaml", inputs / "rubric.yaml")
    _write(inputs / "params.yaml", "evaluation:\n  rubric_file: rubric.yaml\n")
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    shutil.copy(NOTEBOOKS / "noncoal_county_report.ipynb", notebooks)
    runs = _write_county_runs(tmp_path, inputs, f", params_file: {inputs / 'params.yaml'}")
    out = tmp_path / "reports"

    def rerun(force=False):
        outcomes = run_batch(
            load_runs(find_run_files([runs]), notebooks), out, 1, progress=False, execute=stub_execute, force=force
        )
        assert all(o.succeeded for o in outcomes)
        return {Path(o.run_file).stem: o.reused for o in outcomes}

    def reusable():
        cache = read_cache(out)
        return {
            r.source.stem: reuse_unit(r, cache.get(str(r.source))) is not None
            for r in load_runs(find_run_files([runs]), notebooks)
        }

    assert rerun() == {"jia": False, "yi": False}
    return inputs, notebooks, out, rerun, reusable


def test_an_unchanged_batch_is_reused_and_the_summary_says_so(cached_batch):
    _, _, out, rerun, _ = cached_batch
    assert rerun() == {"jia": True, "yi": True}
    summary = json.loads((out / "batch-summary.json").read_text(encoding="utf-8"))
    assert summary["reused"] == 2 and [u["沿用上次报告"] for u in summary["units"]] == [True, True]
    sheet = openpyxl.load_workbook(out / "batch-summary.xlsx").active
    column = [c.value for c in sheet[1]].index("沿用上次报告") + 1
    assert [sheet.cell(r, column).value for r in (2, 3)] == ["是", "是"]
    assert rerun(force=True) == {"jia": False, "yi": False}


def _touch_text(path, extra):
    original = path.read_bytes()
    path.write_bytes(original + extra.encode("utf-8"))
    return lambda: path.write_bytes(original)


@pytest.mark.parametrize(
    "change",
    [
        "submission",
        "params",
        "rubric file",
        "notebook",
        "minesafe version",
        "damaged output",
        "damaged document",
        "missing output",
        "evidence changed",
        "evidence removed",
        "evidence added",
        "evidence a folder",
    ],
)
def test_a_changed_input_or_damaged_output_is_remade(cached_batch, change, monkeypatch):
    inputs, notebooks, out, _, reusable = cached_batch
    assert reusable() == {"jia": True, "yi": True}
    undo = _make_change(change, inputs, notebooks, out / "2022" / "示例省" / "示例甲县", monkeypatch)
    both = change in ("notebook", "minesafe version")
    assert reusable() == {"jia": change == "evidence a folder", "yi": not both}
    undo()
    assert reusable() == {"jia": True, "yi": True}


def _make_change(change, inputs, notebooks, jia, monkeypatch):
    """Make one change to the cached batch's inputs or to 甲's outputs (``jia``: its report
    folder); the function undoing it."""
    if change == "minesafe version":
        monkeypatch.setattr(cache_module, "code_fingerprint", lambda: "99.0+changed")
        return monkeypatch.undo
    evidence = inputs / "佐证材料"
    make = {
        "submission": lambda: _touch_text(inputs / "jia.yaml", "\n# 补充说明\n"),
        "params": lambda: _touch_text(inputs / "params.yaml", "  pass_score: 80\n"),
        # read only through the params file: the batch must know it was used
        "rubric file": lambda: _touch_text(inputs / "rubric.yaml", "\n"),
        "notebook": lambda: _touch_text(notebooks / "noncoal_county_report.ipynb", "\n"),
        "damaged output": lambda: _touch_text(jia / "report.html", "<p>被改动</p>"),
        "damaged document": lambda: _touch_text(jia / "report.docx", "x"),
        "missing output": lambda: _remove_file(jia / "result.json"),
        "evidence changed": lambda: _touch_text(evidence / "台账.txt", "补充\n"),
        "evidence removed": lambda: _remove_file(evidence / "台账.txt"),
        # listed but missing when the batch ran: its report said so
        "evidence added": lambda: _write(evidence / "记录.txt", "在线监测记录\n").unlink,
        # still not a file: still missing, reused
        "evidence a folder": lambda: _make_folder(evidence / "记录.txt"),
    }
    return make[change]()


def _remove_file(path):
    """Remove a file; the function putting it back as it was."""
    content = path.read_bytes()
    path.unlink()
    return functools.partial(path.write_bytes, content)


def _make_folder(path):
    """Make a folder where a file is expected; the function removing it."""
    path.mkdir()
    return path.rmdir


#: Hand edits of a unit's cache entry (or one written by another version): each means "re-make it".
_CACHE_EDITS = {
    "folder missing": lambda e: e.pop("folder"),
    "folder a number": lambda e: e.update(folder=7),
    "outcome a list": lambda e: e.update(outcome=[1, 2]),
    "outcome field unknown": lambda e: e["outcome"].update(colour="red"),
    "stages of three": lambda e: e["outcome"].update(stages=[["自评", "合格", "x"]]),
    "year as text": lambda e: e["outcome"].update(year="二〇二二"),
    "outputs a list": lambda e: e.update(outputs=["report.html"]),
    "inputs a list": lambda e: e.update(inputs=["jia.yaml"]),
    "entry a list": lambda e: e.clear(),
}


def test_a_cache_of_unexpected_shape_means_remake_never_a_traceback(cached_batch):
    """batch-cache.json hand-edited or from another version: the entry is re-made, the batch runs."""
    _, _, out, rerun, reusable = cached_batch
    path = out / "batch-cache.json"
    original = path.read_text(encoding="utf-8")
    try:
        for name, edit in _CACHE_EDITS.items():
            data = json.loads(original)
            (run,) = [r for r in data["units"] if Path(r).stem == "jia"]
            edit(data["units"][run])
            if name == "entry a list":
                data["units"][run] = []
            data["overview"] = {"code": 1, "outputs": ["report.html"]}
            path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
            assert reusable() == {"jia": False, "yi": True}, name
    except BaseException:
        path.write_text(original, encoding="utf-8")  # the other tests share this batch
        raise
    assert rerun() == {"jia": False, "yi": True}  # the last edit, through a real batch (it writes the cache anew)
    assert reusable() == {"jia": True, "yi": True}


def test_a_batch_asking_for_pdf_remakes_units_without_one(cached_batch):
    inputs, notebooks, out, _, _ = cached_batch
    cache = read_cache(out)
    runs = load_runs(find_run_files([inputs.parent / "runs"]), notebooks)
    assert all(reuse_unit(r, cache.get(str(r.source))) is not None for r in runs)
    assert all(reuse_unit(r, cache.get(str(r.source)), pdf=True) is None for r in runs)  # no report.pdf yet


def test_a_remade_unit_is_current_again(cached_batch):
    _, _, out, rerun, _ = cached_batch
    (out / "2022" / "示例省" / "示例甲县" / "report.html").write_text("被改动", encoding="utf-8")
    assert rerun() == {"jia": False, "yi": True}
    assert "示例甲县" in (out / "2022" / "示例省" / "示例甲县" / "report.html").read_text(encoding="utf-8")
    assert rerun() == {"jia": True, "yi": True}


# --- output folders ------------------------------------------------------------------------------


def test_two_units_for_one_report_folder_are_refused_before_any_kernel(tmp_path, capsys):
    runs = tmp_path / "runs"
    runs.mkdir()
    for name in ("a", "b"):
        _write(
            runs / f"{name}.yaml",
            f"notebook: noncoal_county_report\nparameters: {{submission: {DEMO / 'counties' / 'jia.yaml'}}}\n",
        )
    out = tmp_path / "reports"
    assert main(["batch", str(runs), "--out", str(out), "--jobs", "1"]) == 2
    err = capsys.readouterr().err
    assert f"与 {runs / 'a.yaml'} 的报告位置相同" in err and f"\n      {out / '2022' / '示例省' / '示例甲县'}\n" in err
    assert not out.exists()  # refused: no output folder, no batch-log.txt


def test_a_batch_into_an_out_another_batch_holds_is_refused_touching_nothing(tmp_path):
    """One batch per --out at a time (two could lose a history version): while another holds its
    lock, run_batch refuses at once; nothing in --out is read, made or changed."""
    out = tmp_path / "reports"
    earlier = out / "2022" / "示例省" / "示例甲县"
    replace_folder(earlier, {"report.html": b"earlier", "result.json": b"{}"})
    before = {p: (p.stat().st_mtime_ns, p.is_file() and p.read_bytes()) for p in out.rglob("*")}
    with lock_out_folder(out), pytest.raises(OutputBusy) as refused:
        run_batch([], out, 1, progress=False, execute=stub_execute)
    assert str(refused.value).startswith(
        f"输出文件夹 {out} 正在被另一批量评估（进程 {os.getpid()}）写入，本次运行未写入任何文件。"
    )
    assert {p: (p.stat().st_mtime_ns, p.is_file() and p.read_bytes()) for p in out.rglob("*")} == before
    run_batch([], out, 1, progress=False, execute=stub_execute)  # free again once the other ended
    assert (out / "batch-summary.json").is_file() and not (out / OUT_LOCK).exists()


@pytest.mark.parametrize("inside", [".", "2022/示例省/示例甲县"])
def test_a_report_into_a_folder_a_batch_writes_into_is_refused(tmp_path, capsys, inside):
    """`minesafe report` into a running batch's --out, or into a unit folder in it (a re-made
    report would swap that folder away under it): exit 1, the Chinese line, nothing written."""
    out = tmp_path / "reports"
    target = out / inside
    with lock_out_folder(out):
        assert main(["report", str(DEMO / "counties" / "jia.yaml"), "--out", str(target)]) == 1
    err = capsys.readouterr().err
    holder = f"另一批量评估（进程 {os.getpid()}）"
    where = f"正在被{holder}写入" if inside == "." else f"位于{holder}正在写入的文件夹 {out} 之内"
    assert f"输出文件夹 {target} {where}，本次运行未写入任何文件。请等待另一批量评估结束后再运行" in err
    assert list(out.iterdir()) == []  # the holder made the folder (and removed its lock): nothing else


def test_a_report_given_a_relative_path_inside_a_batchs_folder_is_refused(tmp_path, capsys, monkeypatch):
    """The folders above --out are those of its whole path, not only those a relative path names."""
    out = tmp_path / "reports"
    (out / "2022").mkdir(parents=True)
    monkeypatch.chdir(out / "2022")
    with lock_out_folder(out):
        assert main(["report", str(DEMO / "counties" / "jia.yaml"), "--out", "示例省/示例甲县"]) == 1
    holder = f"另一批量评估（进程 {os.getpid()}）"
    assert (
        f"输出文件夹 示例省/示例甲县 位于{holder}正在写入的文件夹 {out} 之内，本次运行未写入任何文件。" in capsys.readouterr().err
    )
    assert list((out / "2022").iterdir()) == []


def test_unit_names_cannot_leave_or_hide_in_the_report_folder(tmp_path):
    county = tmp_path / "evil.yaml"
    text = (DEMO / "counties" / "jia.yaml").read_text(encoding="utf-8")
    county.write_text(text.replace("county: 示例甲县", "county: ../../.隐藏/县"), encoding="utf-8")
    run = _build({"notebook": "noncoal_county_report", "parameters": {"submission": str(county)}}, tmp_path)
    out = tmp_path / "reports"
    folder, _, _ = evaluate_run(run, out)
    assert folder.parent.parent.parent == out
    assert folder.name == "_.._.隐藏_县" and not folder.name.startswith(".")


def test_a_folder_name_too_long_fails_its_unit_before_any_kernel(tmp_path):
    county = tmp_path / "long.yaml"
    text = (DEMO / "counties" / "jia.yaml").read_text(encoding="utf-8")
    county.write_text(text.replace("county: 示例甲县", "county: " + "长" * 90), encoding="utf-8")
    run = _build({"notebook": "noncoal_county_report", "parameters": {"submission": str(county)}}, tmp_path)
    unit = plan_unit(run, tmp_path / "reports")
    assert unit.status == "失败" and "报告文件夹名过长（270 字节）" in unit.error


# --- run files -----------------------------------------------------------------------------------


def test_every_shipped_notebook_runs_or_is_refused_before_the_batch(tmp_path):
    """A run file for any notebook in notebooks/ either names a unit the batch can evaluate (and
    file a report for) or is refused with the run file's problems, before any kernel starts."""
    history = DEMO / "lists" / "coal-county-history.yaml"
    run = _build({"notebook": "list_management", "parameters": {"history_file": str(history)}}, tmp_path)
    folder, title, result = evaluate_run(run, tmp_path / "reports")
    assert folder.parent.name == "名单管理" and "名单建议" in title and result["proposals"]
    for notebook in sorted(NOTEBOOKS.glob("*.ipynb")):
        spec = declared_parameters(notebook)
        given = {
            k: str(ROOT / "notebooks" / ast.literal_eval(v["default"]))
            for k, v in spec.items()
            if v["inferred_type_name"] == "str" and ast.literal_eval(v["default"])
        }
        try:
            run = _build({"notebook": notebook.stem, "parameters": given}, tmp_path)
        except InputError as exc:
            assert "这个笔记本不能批量运行" in str(exc), notebook.name
            continue
        assert evaluate_run(run, tmp_path / "reports")[0].is_relative_to(tmp_path / "reports"), notebook.name


def test_a_notebook_that_names_no_unit_is_refused(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("title: str = ''", metadata={"tags": ["parameters"]})])
    notebook.metadata = nbformat.read(NOTEBOOKS / "list_management.ipynb", as_version=4).metadata
    nbformat.write(notebook, folder / "free.ipynb")
    with pytest.raises(InputError, match="这个笔记本不能批量运行"):
        build_run({"notebook": "free", "parameters": {}}, tmp_path / "run.yaml", folder, declared_parameters)


@pytest.mark.parametrize("template", ["../{name}/report.html", "../{county/report.html", "{0}.html", "../{county.x}/r.html"])
def test_a_link_template_with_unknown_fields_is_refused(tmp_path, template):
    with pytest.raises(InputError, match="链接模板中有未知的占位符"):
        _build(
            {
                "notebook": "noncoal_province_report",
                "parameters": {"submission": str(DEMO / "province.yaml"), "county_report_link": template},
            },
            tmp_path,
        )


def test_missing_run_paths_are_refused_in_chinese(tmp_path, capsys):
    assert main(["batch", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r")]) == 2
    assert "路径不存在" in capsys.readouterr().err


#: --out folders that cannot be written: the path given, and the reason the message gives.
_UNWRITABLE_OUT = {
    "a file": ("报告.txt", "这是一个文件，不是文件夹"),
    "under a file": ("资料/reports", "上级路径 {base}/资料 是一个文件，不是文件夹"),
    "in a read-only folder": ("只读/reports", "没有写入文件夹 {base}/只读 的权限"),
    "a read-only folder": ("只读", "没有写入文件夹 {base}/只读 的权限"),
}


@pytest.mark.parametrize("command", ["batch", "report"])
@pytest.mark.parametrize("shape", _UNWRITABLE_OUT)
def test_an_out_that_cannot_be_written_is_exit_1_for_batch_and_report_alike(command, shape, capsys):
    """An --out that cannot be written is an output failure (exit 1, README "Exit status"), not a
    problem of the input: the same status and message from batch and report, before any work."""
    for module in ("minesafe.documents", "minesafe.word"):  # what `report` imports first, while root can read every file
        importlib.import_module(module)
    base = Path(tempfile.mkdtemp(prefix="minesafe-out-"))  # not under pytest's folder, which only root may enter
    try:
        base.chmod(0o755)
        (base / "报告.txt").write_text("", encoding="utf-8")
        (base / "资料").write_text("", encoding="utf-8")
        (base / "只读").mkdir(mode=0o555)
        given, reason = _UNWRITABLE_OUT[shape]
        before = sorted(base.rglob("*"))
        with bound_by_permissions():
            status = main([command, str(DEMO / "counties" / "jia.yaml"), "--out", str(base / given)])
        assert status == 1
        assert (
            f"无法写出 {base / given}：{reason.format(base=base)}。请换一个输出位置（--out）后重新运行。"
            in capsys.readouterr().err
        )
        assert sorted(base.rglob("*")) == before
    finally:
        shutil.rmtree(base)


def test_a_full_disk_while_writing_the_summary_is_a_chinese_message(cached_batch, monkeypatch, capsys):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(batch_module, "write_workbook", full)
    monkeypatch.setattr(batch_module, "run_batch", functools.partial(batch_module.run_batch, execute=stub_execute))
    _, notebooks, out, _, _ = cached_batch
    status = main(["batch", str(notebooks.parent / "runs"), "--out", str(out), "--notebooks", str(notebooks), "--force"])
    assert status == 1
    assert f"写入输出文件夹 {out} 失败：磁盘已满。" in capsys.readouterr().err  # the reason in Chinese too


def test_failed_units_print_every_problem_in_full(tmp_path, capsys):
    """Every problem of a failed unit is printed, and a row's text is never cut short."""
    county = tmp_path / "county.yaml"
    lines = (DEMO / "counties" / "jia.yaml").read_text(encoding="utf-8").splitlines()
    county.write_text("\n".join(line for line in lines if not line.strip().startswith("3-1a:")) + "\n", encoding="utf-8")
    county.write_text(county.read_text(encoding="utf-8").replace("year: 2022", "year: 1999"), encoding="utf-8")
    run = _write(tmp_path / "run.yaml", f"notebook: noncoal_county_report\nparameters: {{submission: {county}}}\n")
    assert main(["batch", str(run), "--out", str(tmp_path / "reports"), "--jobs", "1"]) == 1
    printed = capsys.readouterr().out
    assert "键 year" in printed
    assert "[成功] 综合评估总览：总览/report.html，没有找到评估结果" in printed  # the only unit failed
    assert (
        "\n单位报告共 1 份：合格 0 份，不合格 0 份，待定 0 份，失败 1 份（其中沿用上次报告 0 份）；总览报告已重新生成。"
        in printed
    )
    assert (
        f"[失败] {run}（示例省 示例甲县，重点县，1999年，自评）：文件 {county} 有 " in printed
    )  # named by its file, then its unit
    assert "缺少第 3-1a 行（实际控制人每月在生产现场履行安全生产职责时间不少于10个工作日）的评估结果" in printed


# --- signals ---------------------------------------------------------------------------------------


@pytest.fixture
def start_batch():
    """Start ``minesafe batch`` processes; any still running when the test ends (a hung batch, a
    failed assertion) are killed with their trees, so that one failure never spills into later tests."""
    import subprocess
    import sys

    import psutil

    started: list[subprocess.Popen] = []

    def start(runs, out):
        process = subprocess.Popen(
            [sys.executable, "-m", "minesafe", "batch", str(runs), "--out", str(out), "--jobs", "2"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            with contextlib.suppress(psutil.NoSuchProcess):
                tree = psutil.Process(process.pid).children(recursive=True)
                for victim in [*tree, psutil.Process(process.pid)]:
                    with contextlib.suppress(psutil.NoSuchProcess):
                        victim.kill()
        process.communicate()


def _wait_for_kernels(batch_process):
    """The batch's whole process tree once its report kernels are running."""
    import time

    import psutil

    def command(process: psutil.Process) -> str:
        try:
            return " ".join(process.cmdline())
        except psutil.Error:  # ended (or a zombie) between listing and asking
            return ""

    parent = psutil.Process(batch_process.pid)
    for _ in range(1200):
        tree = parent.children(recursive=True)
        if any("launcher.py" in command(p) for p in tree):
            return tree
        assert batch_process.poll() is None, batch_process.communicate()
        time.sleep(0.05)
    raise AssertionError("no report kernel started")


@pytest.mark.parametrize(("signum", "status"), [("SIGINT", 130), ("SIGTERM", 130)])
def test_a_signal_stops_the_batch_at_once_and_a_rerun_completes_it(tmp_path, start_batch, signum, status):
    import signal
    import time

    import psutil

    runs = tmp_path / "runs"
    runs.mkdir()
    names = ("jia", "yi", "bing", "ji")
    for name in names:
        _write(
            runs / f"{name}.yaml",
            f"notebook: noncoal_county_report\nparameters: {{submission: {DEMO / 'counties' / name}.yaml}}\n",
        )
    out = tmp_path / "reports"
    previous = out / "2022" / "示例省" / "示例己县"  # a good report from an earlier batch
    replace_folder(previous, {"report.html": b"earlier", "report.ipynb": b"{}", "result.json": b"{}"})

    process = start_batch(runs, out)
    tree = _wait_for_kernels(process)
    sent = time.time()
    process.send_signal(getattr(signal, signum))
    _, err = process.communicate(timeout=60)
    assert process.returncode == status
    assert "批量评估被中断" in err and "Traceback" not in err
    _, alive = psutil.wait_procs(tree, timeout=10)
    assert not alive, f"left behind: {[p.cmdline() for p in alive]}"

    summary = json.loads((out / "batch-summary.json").read_text(encoding="utf-8"))
    statuses = {Path(u["参数文件"]).stem: u["运行状态"] for u in summary["units"]}
    assert "中断" in statuses.values() and set(statuses.values()) <= {"成功", "中断"}
    assert summary["interrupted"] == list(statuses.values()).count("中断")
    for html in out.rglob("report.html"):
        assert html.stat().st_mtime <= sent + 1, f"{html} written after the signal"
    if statuses["ji"] == "中断":
        assert (previous / "report.html").read_bytes() == b"earlier"
    assert not [p for p in out.rglob(".*")]  # no staging or set-aside folder left

    if signum == "SIGINT":  # a rerun finishes the batch, reusing what was done
        process = start_batch(runs, out)
        process.communicate(timeout=600)
        assert process.returncode == 0
        summary = json.loads((out / "batch-summary.json").read_text(encoding="utf-8"))
        assert {u["运行状态"] for u in summary["units"]} == {"成功"}
        assert summary["reused"] == list(statuses.values()).count("成功")


# --- budgets -------------------------------------------------------------------------------------


def test_an_evaluation_past_its_time_budget_is_stopped():
    with pytest.raises(BudgetExceeded), batch_module._budget(0.2, 1 << 30):
        while True:
            pass


def test_an_evaluation_past_its_memory_budget_is_stopped_and_the_limit_lifted_after():
    with pytest.raises(MemoryError), batch_module._budget(60, 64 << 20):
        bytearray(1 << 30)
    assert len(bytearray(256 << 20)) == 256 << 20  # the worker's own work is not limited afterwards


def test_a_unit_past_its_memory_budget_fails_with_a_chinese_message(tmp_path, monkeypatch):
    def greedy(*args):
        return bytearray(1 << 30)  # a pathological file's evaluation, in short

    run = _build(
        {"notebook": "noncoal_county_report", "parameters": {"submission": str(DEMO / "counties" / "jia.yaml")}}, tmp_path
    )
    monkeypatch.setattr(batch_module, "evaluate_unit", greedy)
    monkeypatch.setattr(batch_module, "EVALUATION_MEMORY", 64 << 20)
    unit = plan_unit(run, tmp_path / "reports")
    assert unit.status == "失败" and "评估超过内存上限" in unit.error


def _two_counties_with_overview(tmp_path):
    """A folder of copies of the demo's 甲 and 乙, its reports folder, and the batch's runs and overview."""
    from minesafe.intake import load_batch_runs

    submissions = tmp_path / "in"
    submissions.mkdir()
    for name in ("jia", "yi"):
        shutil.copy(DEMO / "counties" / f"{name}.yaml", submissions / f"{name}.yaml")
    out = tmp_path / "reports"
    runs, overview = load_batch_runs([submissions], out, NOTEBOOKS)
    return submissions, out, runs, overview


def test_the_overview_comes_after_the_units_and_is_remade_only_when_needed(tmp_path):
    submissions, out, runs, overview = _two_counties_with_overview(tmp_path)
    assert overview is not None and overview.notebook.name == "overview_report.ipynb"
    assert overview.parameters["results"] == str(out.resolve())

    def made(force=False):
        outcomes = run_batch(runs, out, 1, progress=False, execute=stub_execute, force=force, overview=overview)
        assert all(o.succeeded for o in outcomes)
        return [o.unit for o in outcomes if not o.reused]

    assert made() == ["示例甲县", "示例乙县", "综合评估总览"]  # the overview last, after every unit
    assert sorted(p.name for p in (out / "总览").iterdir()) == ["report.html", "report.ipynb"]  # no result.json
    summary = json.loads((out / "batch-summary.json").read_text(encoding="utf-8"))
    assert len(summary["units"]) == 2  # the summary lists units only
    assert made() == []  # nothing changed: the overview is kept
    (out / "总览" / "report.html").unlink()
    assert made() == ["综合评估总览"]  # its output missing: re-made alone
    _write(submissions / "yi.yaml", (DEMO / "counties" / "yi.yaml").read_text(encoding="utf-8") + "\n# edited\n")
    assert made() == ["示例乙县", "综合评估总览"]  # a unit changed
    assert made(force=True) == ["示例甲县", "示例乙县", "综合评估总览"]


def test_a_notebooks_folder_without_the_overview_makes_none(tmp_path):
    from minesafe.intake import load_batch_runs

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    shutil.copy(NOTEBOOKS / "noncoal_county_report.ipynb", notebooks)
    runs, overview = load_batch_runs([DEMO / "counties" / "jia.yaml"], tmp_path / "out", notebooks)
    assert len(runs) == 1 and overview is None


# --- one unit's fault fails that unit alone ------------------------------------------------------


def _county_runs(tmp_path, extra_parameters=""):
    """The runs of the demo's own 甲 (``extra_parameters`` added) and 乙 files."""
    return load_runs(find_run_files([_write_county_runs(tmp_path, DEMO / "counties", extra_parameters)]), NOTEBOOKS)


def test_a_malformed_rubric_named_by_a_params_file_fails_its_unit_and_the_batch_goes_on(tmp_path):
    import yaml

    rubric = yaml.safe_load((ROOT / "minesafe" / "rubrics" / "noncoal-county.yaml").read_text(encoding="utf-8"))
    rubric["sections"][0].pop("number")
    rubric["thresholds"] = ["75%"]
    rubric["pass_score"] = "八十"
    _write(tmp_path / "rubric.yaml", yaml.safe_dump(rubric, allow_unicode=True))
    _write(tmp_path / "params.yaml", "evaluation:\n  rubric_file: rubric.yaml\n")
    runs = _county_runs(tmp_path, f", params_file: {tmp_path / 'params.yaml'}")
    out = tmp_path / "reports"
    jia, yi = run_batch(runs, out, 1, progress=False, execute=stub_execute)
    assert not jia.succeeded and yi.succeeded
    assert "评估表文件" in jia.error and "有 3 处问题" in jia.error
    assert all(part in jia.error for part in ("sections[0]", "thresholds 应为映射", "pass_score 应为"))
    summary = json.loads((out / "batch-summary.json").read_text(encoding="utf-8"))
    assert (summary["succeeded"], summary["failed"]) == (1, 1)
    assert list(read_cache(out)) == [str(runs[1].source)]  # the good unit is cached for the next run


def test_an_unforeseen_error_while_planning_fails_that_unit_with_its_name(tmp_path, monkeypatch):
    def crash(run, out):
        raise KeyError("thresholds")

    run = _county_runs(tmp_path)[0]
    monkeypatch.setattr(batch_module, "evaluate_run", crash)
    unit = plan_unit(run, tmp_path / "reports")
    assert unit.status == "失败" and unit.error == "评估时出现意外错误：KeyError: 'thresholds'"
    assert unit.run_file == str(run.source)


def crash_on_jia(job):
    """An execute step that fails unforeseen for 甲 (in the worker, outside the unit's own handling)."""
    if "甲" in job.title:
        raise RuntimeError("模拟的意外错误")
    return stub_execute(job)


def test_an_unforeseen_error_in_a_worker_fails_that_unit_and_the_summary_is_written(tmp_path):
    out = tmp_path / "reports"
    jia, yi = run_batch(_county_runs(tmp_path), out, 2, progress=False, execute=crash_on_jia)
    assert (jia.succeeded, yi.succeeded) == (False, True)
    assert jia.unit == "示例甲县" and jia.error == "意外错误：RuntimeError: 模拟的意外错误"
    assert json.loads((out / "batch-summary.json").read_text(encoding="utf-8"))["failed"] == 1


class _Standby:
    """A worker's kernel standby whose starts fail (``take`` and/or ``prepare``), recording its calls."""

    def __init__(self, take_fails: bool, prepare_fails: bool) -> None:
        self.take_fails, self.prepare_fails, self.prepared = take_fails, prepare_fails, 0

    def take(self, cwd):
        if self.take_fails:
            raise RuntimeError("内核无法启动")

    def prepare(self, cwd):
        self.prepared += 1
        if self.prepare_fails:
            raise RuntimeError("下一个内核无法启动")

    def retire(self, manager):
        pass


def test_a_kernel_that_cannot_start_fails_only_its_unit(tmp_path, monkeypatch):
    job = plan_unit(_county_runs(tmp_path)[0], tmp_path / "reports")
    monkeypatch.setattr(batch_module, "_standby", _Standby(take_fails=True, prepare_fails=False))
    outcome, digests = batch_module.execute_job(job)
    assert outcome.status == "失败" and outcome.error == "RuntimeError: 内核无法启动" and digests == {}
    assert not job.folder.exists()


@pytest.fixture
def batch_kernelspec(tmp_path, monkeypatch):
    """The batch's kernel spec on Jupyter's path, as a worker has it (plain kernels: no template)."""
    monkeypatch.setenv("JUPYTER_PATH", str(batch_module.write_kernelspec(tmp_path / "jupyter")))
    monkeypatch.delenv("MINESAFE_KERNEL_TEMPLATE", raising=False)


def test_the_next_kernel_failing_to_start_never_decides_the_current_unit(tmp_path, monkeypatch, batch_kernelspec):
    job = plan_unit(_county_runs(tmp_path)[0], tmp_path / "reports")
    standby = _Standby(take_fails=False, prepare_fails=True)
    monkeypatch.setattr(batch_module, "_standby", standby)
    outcome, digests = batch_module.execute_job(job)
    assert outcome.status == STATUS_OK and {"report.html", "report.ipynb", "result.json"} <= set(digests)
    assert standby.prepared == 1 and (job.folder / "report.html").is_file()


def test_no_next_kernel_after_the_last_job_or_once_the_batch_stops(monkeypatch):
    import multiprocessing

    standby = _Standby(take_fails=False, prepare_fails=False)
    waiting, stop = multiprocessing.Value("i", 2), multiprocessing.Event()
    monkeypatch.setattr(batch_module, "_standby", standby)
    monkeypatch.setattr(batch_module, "_waiting", waiting)
    monkeypatch.setattr(batch_module, "_stop", stop)
    batch_module._start_job()  # one of two started: the other still waits for a kernel
    batch_module.prepare_next_kernel("/tmp")
    assert standby.prepared == 1
    stop.set()  # interrupted: nothing more is started
    batch_module.prepare_next_kernel("/tmp")
    assert standby.prepared == 1
    stop.clear()
    batch_module._start_job()  # the last job has started: no kernel for a job that will not come
    batch_module.prepare_next_kernel("/tmp")
    assert standby.prepared == 1


def test_a_county_on_the_coal_and_the_non_coal_list_in_one_year_gets_two_reports(tmp_path):
    """Common in coal provinces: the coal unit's report folder and overview name carry the form; the
    non-coal report keeps the plain place the province report links to (../{county}/report.html)."""
    import minesafe
    from minesafe.overview import decide_units

    submissions = tmp_path / "in"
    submissions.mkdir()
    noncoal = (DEMO / "counties" / "jia.yaml").read_text(encoding="utf-8").replace("year: 2022", "year: 2023")
    coal = (DEMO / "coal" / "county-jia.yaml").read_text(encoding="utf-8").replace("county: 示例煤矿县甲", "county: 示例甲县")
    _write(submissions / "noncoal.yaml", noncoal)
    _write(submissions / "coal.yaml", coal)
    runs = tmp_path / "runs"
    runs.mkdir()
    for name, notebook in (("noncoal", "noncoal_county_report"), ("coal", "coal_county_report")):
        _write(runs / f"{name}.yaml", f"notebook: {notebook}\nparameters: {{submission: {submissions / f'{name}.yaml'}}}\n")
    out = tmp_path / "reports"
    outcomes = run_batch(load_runs(find_run_files([runs]), NOTEBOOKS), out, 1, progress=False, execute=stub_execute)
    assert all(o.succeeded for o in outcomes)
    place = out / "2023" / "示例省"
    assert json.loads((place / "示例甲县" / "result.json").read_text(encoding="utf-8"))["rubric"] == "noncoal-county"
    assert json.loads((place / "示例甲县（煤矿）" / "result.json").read_text(encoding="utf-8"))["rubric"] == "coal-county"
    units = decide_units(minesafe.load_results(out))
    assert sorted(units["单位名称"]) == ["示例省 示例甲县", "示例省 示例甲县（煤矿）"]


# --- what a report's key holds -------------------------------------------------------------------


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory):
    """A copy of the installed package's folders, to change as an upgrade or an edit would."""
    copy = tmp_path_factory.mktemp("package")
    roots = []
    for i, root in enumerate(cache_module.package_roots()):
        shutil.copytree(root, copy / str(i) / root.name, ignore=shutil.ignore_patterns("__pycache__"))
        roots.append(copy / str(i) / root.name)
    return roots


@pytest.mark.parametrize(
    "name", ["fonts/OFL.txt", "fonts/NotoSansSC-Regular.ttf", "noncoal-key-provinces-2021.csv", "py.typed", "new file"]
)
def test_any_change_to_any_package_file_changes_the_fingerprint(package_copy, name):
    """Every file of the package counts, whatever its kind (the font, the key-provinces list, …)."""
    versions = cache_module.output_library_versions()
    before = cache_module.fingerprint_code(package_copy, versions)
    if name == "new file":
        path = package_copy[0] / "templates" / "extra.html.j2"
        path.write_text("{{ x }}", encoding="utf-8")
        undo = path.unlink
    else:
        (path,) = [p for root in package_copy for p in root.rglob(Path(name).name) if str(p).endswith(name)]
        undo = _touch_text(path, "\n")
    changed = cache_module.fingerprint_code(package_copy, versions)
    undo()
    assert changed != before
    assert cache_module.fingerprint_code(package_copy, versions) == before


def test_the_fingerprint_holds_python_and_every_output_shaping_library_version(package_copy):
    versions = cache_module.output_library_versions()
    assert set(versions) == {
        "matplotlib",
        "Pillow",
        "nbconvert",
        "Jinja2",
        "fontTools",
        "pandas",
        "papermill",
        "nbformat",
        "Python",
    }
    before = cache_module.fingerprint_code(package_copy, versions)
    for name in versions:
        assert cache_module.fingerprint_code(package_copy, versions | {name: versions[name] + ".post1"}) != before


def test_the_key_provinces_list_is_part_of_the_package_fingerprint():
    from minesafe.resources import KEY_PROVINCES_FILE

    assert any(KEY_PROVINCES_FILE.resolve().is_relative_to(root.resolve()) for root in cache_module.package_roots())


def fail_overview(job):
    """The units as stub_execute makes them; the overview fails (a failing cell, say)."""
    if job.title == batch_module.OVERVIEW_TITLE:
        return job_outcome(job, "失败", 0.0, "模拟的总览错误"), {}
    return stub_execute(job)


def test_a_failed_overview_is_made_again_by_the_next_run_not_reused(tmp_path):
    submissions, out, runs, overview = _two_counties_with_overview(tmp_path)

    def made(execute=stub_execute):
        outcomes = run_batch(runs, out, 1, progress=False, execute=execute, overview=overview)
        return {o.unit: o.succeeded for o in outcomes if not o.reused}

    assert made() == {"示例甲县": True, "示例乙县": True, "综合评估总览": True}
    _write(submissions / "yi.yaml", (DEMO / "counties" / "yi.yaml").read_text(encoding="utf-8") + "\n# edited\n")
    assert made(fail_overview) == {"示例乙县": True, "综合评估总览": False}  # the old page stays, stale
    assert read_cache(out, "overview") == {}
    assert made() == {"综合评估总览": True}  # nothing else changed: the stale page is not reused
    assert made() == {}
    earlier = out / "2021" / "示例省" / "示例甲县"  # a result of an earlier batch into the same folder
    earlier.mkdir(parents=True)
    shutil.copy(out / "2022" / "示例省" / "示例甲县" / "result.json", earlier / "result.json")
    assert made() == {"综合评估总览": True}  # a result it reads is new


def test_killed_workers_are_left_for_the_pool_to_reap():
    """Waiting for a killed worker must not reap it: a worker reaped behind multiprocessing's back
    looks alive to it for ever, and the pool's shutdown then spins without end (a batch stopped by
    SIGTERM hung at exit in CI)."""
    import multiprocessing
    import time

    import psutil

    worker = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(60,))
    worker.start()
    process = psutil.Process(worker.pid)
    process.kill()
    batch_module._wait_ended([process], timeout=10)
    assert process.status() == psutil.STATUS_ZOMBIE  # ended, and not reaped
    worker.join(timeout=10)
    assert worker.exitcode == -9  # multiprocessing still sees how its child ended


def test_a_worker_refusing_to_write_after_the_stop_stops_the_batch_not_one_unit():
    """A worker that refuses to write its report once the batch is stopping raises BatchInterrupted
    through its future: that is the batch stopping, never a unit's unforeseen fault."""
    from concurrent.futures import ThreadPoolExecutor

    from minesafe.exceptions import BatchInterrupted

    def refuse(job):
        raise BatchInterrupted(2)

    failed = []
    bar = type("Bar", (), {"update": lambda self: None})()
    with ThreadPoolExecutor(1) as pool, pytest.raises(BatchInterrupted):
        batch_module._collect(pool, {0: (refuse, "job")}, bar, print, lambda i, exc: failed.append(i), lambda: None)
    assert failed == []


def test_a_stopped_batch_hands_out_no_task_and_collects_no_further_result():
    from concurrent.futures import ThreadPoolExecutor

    from minesafe.exceptions import BatchInterrupted

    received: list[int] = []

    def stopping() -> None:
        if received:
            raise BatchInterrupted(received[0])

    def first_result_then_signal(i, result):
        collected.append(i)
        received.append(15)  # as the signal handler does: it records, it never raises

    collected: list[int] = []
    bar = type("Bar", (), {"update": lambda self: None})()
    with ThreadPoolExecutor(1) as pool:
        with pytest.raises(BatchInterrupted):
            batch_module._collect(pool, {0: (str, 1), 1: (str, 2)}, bar, first_result_then_signal, print, stopping)
        assert len(collected) == 1
        called = []
        with pytest.raises(BatchInterrupted):
            batch_module._collect(pool, {0: (called.append, 1)}, bar, print, print, stopping)
        assert called == []


def die_on_jia(job):
    """An execute step whose worker is killed outright while making 甲 (the kernel's out-of-memory
    killer, say): the pool breaks, and every task handed to it afterwards fails at once."""
    if "甲" in job.title:
        os.kill(os.getpid(), signal.SIGKILL)
    return stub_execute(job)


def test_a_worker_killed_outright_fails_the_units_left_and_the_summary_is_written(tmp_path):
    """The pool broken by a killed worker fails 甲, the units queued behind it and the overview
    handed out after them, each with why; the batch ends with its summary, never a traceback."""
    _, out, runs, overview = _two_counties_with_overview(tmp_path)
    outcomes = run_batch(runs, out, 1, progress=False, execute=die_on_jia, overview=overview)
    assert [o.succeeded for o in outcomes] == [False, False, False]
    assert all(o.error.startswith("工作进程异常退出") for o in outcomes), [o.error for o in outcomes]
    summary = json.loads((out / "batch-summary.json").read_text(encoding="utf-8"))
    assert summary["failed"] == 2  # the two units; the overview is no unit of the summary
