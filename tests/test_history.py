"""Resubmissions keep history: the batch keeps a unit's earlier version and says what changed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
from pathlib import Path

import openpyxl
from docx import Document

from minesafe.history import HISTORY_FOLDER, describe_changes, describe_replacement, keep_history
from minesafe.provenance import read_provenance
from minesafe.rendering import result_to_dict
from minesafe.results import evaluate_unit
from minesafe.status import collect_status
from tests.conftest import DEMO


def _result(path: Path) -> dict:
    unit = evaluate_unit([path])
    return result_to_dict(unit, read_provenance(unit, None))


def test_changes_name_the_verdict_the_score_the_targets_and_the_rows(tmp_path):
    first = tmp_path / "丙县.yaml"
    shutil.copy(DEMO / "counties" / "bing.yaml", first)
    old = _result(first)
    text = first.read_text(encoding="utf-8")
    assert "  4-4b: {result: 完成}\n" in text
    first.write_text(text.replace("  4-4b: {result: 完成}\n", "  4-4b: {result: 未完成}\n"), encoding="utf-8")
    new = _result(first)
    changes = describe_changes(old, new)
    assert "第 4-4b 行：完成 → 未完成" in changes
    assert any(c.startswith("评分项得分：") for c in changes)
    assert describe_changes(old, old) == ["提交文件内容有变化，结论、得分、工作目标和各行结果均未变"]


def test_a_new_version_keeps_the_earlier_one_and_an_unchanged_one_is_not_new(tmp_path):
    submission = tmp_path / "丙县.yaml"
    shutil.copy(DEMO / "counties" / "bing.yaml", submission)
    folder = tmp_path / "报告"
    folder.mkdir()
    old = _result(submission)
    (folder / "result.json").write_text(json.dumps(old, ensure_ascii=False), encoding="utf-8")
    (folder / "report.html").write_text("旧报告", encoding="utf-8")
    same, kept = keep_history(folder, old, dt.datetime(2023, 3, 2, 9))
    assert kept == {} and "versions" not in same and "replaces" not in same and describe_replacement(same) == ""
    submission.write_text(
        submission.read_text(encoding="utf-8").replace("year: 2022", "year: 2022\n# 更正后重新提交"), encoding="utf-8"
    )
    new, kept = keep_history(folder, _result(submission), dt.datetime(2023, 3, 2, 9))
    assert set(kept) == {f"{HISTORY_FOLDER}/20230302-090000/result.json", f"{HISTORY_FOLDER}/20230302-090000/report.html"}
    assert new["versions"] == 2 and new["replaces"]["folder"] == f"{HISTORY_FOLDER}/20230302-090000"
    assert "【重新提交】本报告为第 2 版" in describe_replacement(new)
    for name, data in kept.items():  # the batch writes them, then the new version's outputs
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    (folder / "result.json").write_text(json.dumps(new, ensure_ascii=False), encoding="utf-8")
    submission.write_text(submission.read_text(encoding="utf-8") + "# 第三次提交\n", encoding="utf-8")
    third, kept = keep_history(folder, _result(submission), dt.datetime(2023, 3, 2, 9))  # in the same second
    assert third["versions"] == 3 and third["replaces"]["folder"] == f"{HISTORY_FOLDER}/20230302-090000-2"
    assert json.loads(kept[f"{HISTORY_FOLDER}/20230302-090000/result.json"]) == old  # the first version still kept
    assert json.loads(kept[f"{HISTORY_FOLDER}/20230302-090000-2/result.json"]) == new


def test_names_an_older_result_holds_as_written_are_one_unit(tmp_path):
    """An earlier result.json (written before names were normalised) holds a unit or county name
    with a zero-width space or a look-alike ideograph: it is the same unit, not a new version."""
    submission = tmp_path / "丙县.yaml"
    shutil.copy(DEMO / "counties" / "bing.yaml", submission)
    folder = tmp_path / "报告"
    folder.mkdir()
    new = _result(submission)
    old = json.loads(json.dumps(new, ensure_ascii=False))
    for entry in old["provenance"]["inputs"]:
        entry["unit"] = "\ufeff" + entry["unit"] + "\u200b"
    (folder / "result.json").write_text(json.dumps(old, ensure_ascii=False), encoding="utf-8")
    same, kept = keep_history(folder, new, dt.datetime(2023, 3, 2, 9))
    assert kept == {} and "versions" not in same
    counties = {"示例\uf90a县": {"verdict": "合格"}, "示例乙县": {"verdict": "合格"}}  # U+F90A: 金
    before = {"verdict": "不合格", "counties": {"示例\uf90a县\u200b": {"verdict": "合格"}, "示例乙县": {"verdict": "不合格"}}}
    changes = describe_changes(before, {"verdict": "不合格", "counties": counties})
    assert changes == ["重点县 示例乙县：不合格 → 合格"]


def _execute_without_kernel(job):
    """The batch's own execution but for the kernel: the unit's outputs from a notebook that was
    not run (the history, the notice, the result and the documents are the batch's, not the kernel's)."""
    import nbformat

    from minesafe.batch import job_outcome, report_files, write_report
    from minesafe.summary import STATUS_OK

    result, files = report_files(job, nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 报告")]))
    return dataclasses.replace(job_outcome(job, STATUS_OK, 0.0), versions=int(result.get("versions", 1))), write_report(
        job, files
    )


def test_a_batch_keeps_history_and_says_what_changed(tmp_path):
    from minesafe.batch import run_batch
    from minesafe.intake import load_batch_runs
    from minesafe.resources import package_folder

    inbox = tmp_path / "收件"
    inbox.mkdir()
    county = inbox / "丙县.yaml"
    shutil.copy(DEMO / "counties" / "bing.yaml", county)
    out = tmp_path / "报告"

    def run() -> list:
        runs, _ = load_batch_runs([inbox], out, package_folder("notebooks"))
        return run_batch(runs, out, 1, progress=False, execute=_execute_without_kernel)

    run()
    (unit,) = [p.parent for p in out.rglob("result.json")]
    (unit / "审核意见.txt").write_text("省级评估小组的批注", encoding="utf-8")  # the evaluator's own files
    (unit / "签字稿").mkdir()
    (unit / "签字稿" / "签字页.pdf").write_bytes(b"%PDF")
    (unit / "report.pdf").write_bytes(b"%PDF stale")  # a PDF an earlier batch made: not this run's
    text = county.read_text(encoding="utf-8")
    county.write_text(text.replace("  4-4b: {result: 完成}\n", "  4-4b: {result: 未完成}\n"), encoding="utf-8")
    (outcome,) = run()
    assert outcome.versions == 2 and not outcome.reused
    # the swap that re-made the report deleted what the batch did not make; it is carried over now
    assert (unit / "审核意见.txt").read_text(encoding="utf-8") == "省级评估小组的批注"
    assert (unit / "签字稿" / "签字页.pdf").read_bytes() == b"%PDF" and not (unit / "report.pdf").exists()
    result = json.loads((unit / "result.json").read_text(encoding="utf-8"))
    assert result["versions"] == 2 and "第 4-4b 行：完成 → 未完成" in result["replaces"]["changes"]
    (kept,) = (unit / HISTORY_FOLDER).iterdir()
    earlier = json.loads((kept / "result.json").read_text(encoding="utf-8"))
    assert earlier["items"]["4-4b"]["result"] == "完成" and (kept / "report.html").is_file() and (kept / "report.docx").is_file()
    assert "【重新提交】本报告为第 2 版" in (unit / "report.html").read_text(encoding="utf-8")
    words = [p.text for p in Document(str(unit / "report.docx")).paragraphs]
    opening = next(i for i, text in enumerate(words) if text.startswith("【重新提交】本报告为第 2 版"))
    changes = result["replaces"]["changes"]
    assert words[opening + 1 : opening + 1 + len(changes)] == changes
    assert words[opening + 1 + len(changes)].startswith("一、")  # before the first numbered section
    summary = openpyxl.load_workbook(out / "batch-summary.xlsx").active
    header = [c.value for c in summary[1]]
    assert summary.cell(2, header.index("版本数") + 1).value == 2
    (again,) = run()  # unchanged: reused, not a new version
    assert again.reused and again.versions == 2 and len(list((unit / HISTORY_FOLDER).iterdir())) == 1
    rows, _ = collect_status(out, today=dt.date(2023, 3, 10))
    assert [r.filed["自评"].versions for r in rows if r.unit == "示例丙县"] == [2]
