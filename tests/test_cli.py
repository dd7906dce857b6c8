"""The minesafe command: JSON contract, readable text, exit status, the installed console script."""

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from minesafe.cli import describe_batch, main

from .conftest import DEMO

COUNTIES = sorted((DEMO / "counties").glob("*.yaml"))


def _expected_verdict(path):
    """Each demo file's first line documents its verdict: “…：合格” or “…：不合格”."""
    first = path.read_text(encoding="utf-8").splitlines()[0]
    return re.search(r"：(不?合格)$", first).group(1)


@pytest.mark.parametrize("path", [*COUNTIES, DEMO / "province.yaml"], ids=lambda p: p.stem)
def test_demo_submissions_reach_their_documented_verdicts(path, capsys):
    assert main(["evaluate", "--json", str(path)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["verdict"] == _expected_verdict(path)
    assert result["passed"] is (result["verdict"] == "合格")
    assert result["demo"] is True


def test_demo_covers_every_verdict_branch(capsys):
    main(["evaluate", "--json", *map(str, COUNTIES)])
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    kinds = {r["kind"] for result in results for r in result["reasons"]}
    assert {"target", "veto", "score", "points", "flag"} <= kinds
    assert any(r["passed"] and r["score"] == r["pass_score"] for r in results)
    assert any(t["result"] == "不涉及" for r in results for t in r["targets"].values())


def test_county_json_contract(capsys):
    assert main(["evaluate", "--json", str(DEMO / "counties" / "ding.yaml")]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1  # one object, one line
    result = json.loads(out)
    for key in (
        "rubric",
        "province",
        "county",
        "year",
        "passed",
        "verdict",
        "score",
        "veto",
        "targets",
        "items",
        "summary",
        "reasons",
    ):
        assert key in result
    assert set(result["veto"]) == {"completed", "failed", "not_applicable"}
    assert set(result["targets"]) == {f"T{i}" for i in range(1, 8)}
    assert len(result["items"]) == 65
    assert {"category", "result", "points"} <= set(result["items"]["1-1c"])
    assert result["summary"].startswith("否决项完成的有 ")
    assert result["targets"]["T1"]["value"] == 0.2  # exactly at the bound in the demo


def test_province_json_lists_counties(capsys):
    assert main(["evaluate", "--json", str(DEMO / "province.yaml")]) == 0
    result = json.loads(capsys.readouterr().out)
    assert "county" not in result
    assert len(result["counties"]) == len(COUNTIES)
    assert set(next(iter(result["counties"].values()))) == {
        "passed",
        "verdict",
        "score",
        "stage",
        "verified",
        "stages",
        "stage_change",
    }
    assert result["missing_counties"] == []


def test_a_pending_province_is_null_in_json_and_said_in_text(capsys):
    """示例南省: 南甲县 checked (核查), 南乙县 at 自评 only: 待定, passed null, naming 南乙县."""
    path = DEMO / "south" / "province.yaml"
    assert main(["evaluate", "--json", str(path)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["passed"], result["verdict"]) == (None, "待定")
    assert result["pending_counties"] == ["示例南乙县"] and result["missing_counties"] == []
    assert {n: (c["stage"], c["verified"]) for n, c in result["counties"].items()} == {
        "示例南甲县": ("核查", True),
        "示例南乙县": ("自评", False),
    }
    assert [r["id"] for r in result["reasons"] if r["kind"] == "pending"] == ["示例南乙县"]
    assert main(["evaluate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "考核评估结论：待定" in out and "示例南乙县：合格（自评，未经核查或认定" in out


def test_readable_text_shows_verdict_summary_and_reasons(capsys):
    assert main(["evaluate", str(DEMO / "counties" / "yi.yaml")]) == 0
    out = capsys.readouterr().out
    assert "【示例数据】" in out
    assert "考核评估结论：不合格" in out
    assert "评估结果汇总：否决项完成的有" in out
    assert "否决项 4-2c" in out


def test_params_switch_the_reading(tmp_path, county_data, capsys):
    county_data["items"]["3-7a"] = {"result": "未完成"}
    county = tmp_path / "county.yaml"
    county.write_text(yaml.safe_dump(county_data, allow_unicode=True), encoding="utf-8")
    params = tmp_path / "alternative.yaml"
    params.write_text("evaluation:\n  categories: {2-3c: reference, 3-7a: veto}\n", encoding="utf-8")
    main(["evaluate", "--json", str(county)])
    main(["evaluate", "--json", "--params", str(params), str(county)])
    default, alternative = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert default["passed"] and not alternative["passed"]
    assert alternative["items"]["3-7a"]["category"] == "veto"


def test_console_script_runs_and_exits_2_on_bad_input(tmp_path):
    exe = shutil.which("minesafe", path=str(Path(sys.executable).parent))
    assert exe, "the minesafe console script is installed beside this Python"
    ok = subprocess.run([exe, "evaluate", str(DEMO / "counties" / "jia.yaml")], capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and "考核评估结论：合格" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("rubric: noncoal-county\nyear: 1999\n", encoding="utf-8")
    failed = subprocess.run([exe, "evaluate", str(bad)], capture_output=True, text=True, check=False)
    assert failed.returncode == 2 and "键 year" in failed.stderr and failed.stdout == ""


def test_help_and_usage_errors_are_in_chinese(capsys):
    with pytest.raises(SystemExit) as done:
        main(["evaluate", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("用法：minesafe evaluate")
    assert "位置参数：" in out and "选项：" in out and "显示本帮助并退出" in out
    for argv, fragment in [
        ([], "缺少必需的参数：命令"),
        (["evaluate"], "缺少必需的参数：文件"),
        (["evalute", "x.yaml"], "无效的选择：'evalute'"),
        (["evaluate", "--jsn", "x.yaml"], "无法识别的参数：--jsn"),
        (["app", "--port", "http"], "参数 --port：“http”不是整数"),
        (["app", "--port", "70000"], "70000 超出范围，应为1～65535 之间的整数"),
        (["batch", "--jobs", "0"], "参数 --jobs：0 超出范围"),
        (["template", "--out"], "参数 --out：需要一个取值"),
    ]:
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("用法：minesafe") and fragment in err, (argv, err)
        assert not re.search(r"usage|error|argument|invalid|expected|required", err), (argv, err)


@pytest.mark.parametrize("columns", ["57", "", "junk", "-3"])
def test_help_is_as_wide_as_argparse_would_make_it(monkeypatch, columns):
    """The help formatter finds the terminal's width without shutil, the same way shutil does."""
    from minesafe.cli import ChineseHelpFormatter

    monkeypatch.setenv("COLUMNS", columns)
    assert ChineseHelpFormatter("minesafe")._width == shutil.get_terminal_size().columns - 2


#: What `minesafe evaluate FILE` starts without: heavy libraries only other commands use, and the
#: standard modules only other commands (or other input kinds) need.
NOT_IMPORTED_BY_EVALUATE = (
    *("pandas", "numpy", "matplotlib", "jinja2", "openpyxl", "papermill", "nbformat", "nbclient", "nbconvert"),
    *("jupyter_client", "ipywidgets", "IPython", "psutil", "PIL", "fontTools", "voila"),
    *("minesafe.report", "minesafe.charts", "minesafe.batch", "minesafe.whatif", "minesafe.workbook", "minesafe.gap"),
    *("subprocess", "zipfile", "tempfile", "shutil", "json", "csv", "html", "importlib.resources", "importlib.metadata"),
)


def test_evaluate_starts_without_what_it_does_not_need():
    """`minesafe evaluate FILE` should start in a few times `python -c pass` (benchmarks/batch_speed.py
    measures it): a heavy import at the top of a module it loads would undo that."""
    code = "import sys\nfrom minesafe.cli import main\nmain(sys.argv[1:])\nprint(*sorted(sys.modules), file=sys.stderr)"
    done = subprocess.run(
        [sys.executable, "-c", code, "evaluate", str(DEMO / "counties" / "jia.yaml")], capture_output=True, text=True, check=True
    )
    imported = set(done.stderr.split())
    assert "考核评估结论：合格" in done.stdout and {"yaml", "minesafe.results", "minesafe.rendering"} <= imported
    assert sorted(imported.intersection(NOT_IMPORTED_BY_EVALUATE)) == []


def test_other_parsers_keep_argparse_english(capsys):
    """The Chinese catalogue is installed only while minesafe's own parser runs."""
    import argparse

    with pytest.raises(SystemExit):
        main(["--nope"])
    capsys.readouterr()
    with pytest.raises(SystemExit):
        argparse.ArgumentParser(prog="other").parse_args(["--nope"])
    assert "unrecognized arguments" in capsys.readouterr().err


def test_version(capsys):
    from minesafe import __version__

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"minesafe {__version__}\n"


def test_ctrl_c_gives_a_chinese_message_and_status_130(monkeypatch, capsys):
    def interrupted(path, params=None):
        raise KeyboardInterrupt

    monkeypatch.setattr("minesafe.results.evaluate", interrupted)
    assert main(["evaluate", str(DEMO / "counties" / "jia.yaml")]) == 130
    assert "已中断" in capsys.readouterr().err


def test_stdout_closed_early_is_no_traceback():
    """``minesafe evaluate … | head -1``: the reader is gone before the output is written."""
    read, write = os.pipe()
    os.close(read)
    exe = shutil.which("minesafe", path=str(Path(sys.executable).parent))
    with subprocess.Popen([exe, "evaluate", *map(str, COUNTIES)], stdout=write, stderr=subprocess.PIPE, text=True) as run:
        os.close(write)
        errors = run.stderr.read()
    assert run.returncode == 1
    assert "输出管道已被关闭" in errors and "Traceback" not in errors and "BrokenPipe" not in errors


@pytest.mark.parametrize(("command", "brief"), [("evaluate", True), ("compare", True), ("batch", False), ("app", False)])
def test_only_brief_commands_collect_garbage_less_often(command, brief):
    """The console script tunes the garbage collector for a brief command only: the batch and the
    app run for hours and keep Python's defaults."""
    code = "import gc, sys\nfrom minesafe import cli\ncli.main = lambda: print(gc.get_threshold()[0]) or 0\nsys.exit(cli.run())"
    done = subprocess.run([sys.executable, "-c", code, command], capture_output=True, text=True, check=True)
    assert (int(done.stdout) > 700) is brief


# --- what minesafe batch says when done ------------------------------------------------------------


def _outcome(unit, status="成功", kind="重点县", verdict="合格", score="100", error="", report="", reused=False, **more):
    from minesafe.summary import UnitOutcome

    return UnitOutcome("run.yaml", unit, kind, "示例省" if kind != "总览" else "", 2022 if kind != "总览" else None, verdict,
                       score, status, 1.0, error, report, reused, **more)  # fmt: skip


def test_batch_lines_name_unit_year_and_deciding_stage_and_say_when_a_stage_overturned(tmp_path):
    from minesafe.batch import OVERVIEW_FOLDER
    from minesafe.rendering import result_to_dict
    from minesafe.results import evaluate_unit

    out = tmp_path / "reports"
    result = out / "2022" / "示例省" / "示例甲县" / "result.json"
    result.parent.mkdir(parents=True)
    result.write_text(json.dumps(result_to_dict(evaluate_unit([DEMO / "counties" / "jia.yaml"])), ensure_ascii=False))
    units = [
        _outcome("示例甲县", report=str(result.with_name("report.html")), reused=True, stage="自评", stages=(("自评", "合格"),)),
        _outcome("示例乙县", verdict="不合格", score="90", stage="核查", stages=(("自评", "合格"), ("核查", "不合格"))),
        _outcome("示例丙县", verdict="合格", score="96", stage="认定", stages=(("自评", "合格"), ("核查", "不合格"), ("认定", "合格"))),
        _outcome("示例省", kind="重点省", verdict="待定", score="", stage="自评", report=str(out / "2022" / "示例省" / "省级评估" / "report.html")),
        _outcome("示例丁县", status="失败", kind="重点县", verdict="", score="", error="文件 丁.yaml 有 1 处问题：\n  - 键 year：评估年度写法有误", stage="自评"),
        _outcome("坏", status="失败", kind="", verdict="", score="", error="文件 坏.yaml 不是 YAML"),
    ]  # fmt: skip
    (out / OVERVIEW_FOLDER).mkdir()
    (out / OVERVIEW_FOLDER / "report.html").write_text("<html></html>", encoding="utf-8")
    made = _outcome("综合评估总览", kind=OVERVIEW_FOLDER, verdict="", score="", report=str(out / "总览" / "report.html"))
    lines = describe_batch([*units, made], out, True)
    assert lines[:7] == [
        "[成功] 示例省 示例甲县（重点县，2022年，自评）：合格，得分 100 分（沿用上次报告）",
        "[成功] 示例省 示例乙县（重点县，2022年，以核查为准）：不合格，得分 90 分；核查不合格，推翻自评合格",
        "[成功] 示例省 示例丙县（重点县，2022年，以认定为准）：合格，得分 96 分；认定合格，推翻核查不合格",
        "[成功] 示例省（重点省，2022年，自评）：待定",
        "[失败] run.yaml（示例省 示例丁县，重点县，2022年，自评）：文件 丁.yaml 有 1 处问题：\n  - 键 year：评估年度写法有误",
        "[失败] run.yaml（2022年）：文件 坏.yaml 不是 YAML",  # nothing readable but the file (and the year)
        "[成功] 综合评估总览：总览/report.html，2022年共 1 个单位·年度的评估结果：合格 1 个，不合格 0 个",
    ]
    counts = "单位报告共 6 份：合格 2 份，不合格 1 份，待定 1 份，失败 2 份（其中沿用上次报告 1 份）"
    assert lines[7:] == [
        "",
        f"{counts}；总览报告已重新生成。",
        "接下来可以打开：",
        f"  总览报告：{(out / '总览' / 'report.html').resolve()}",
        f"  汇总表：{(out / 'batch-summary.xlsx').resolve()}",
        f"  示例省 评估报告：{(out / '2022' / '示例省' / '省级评估' / 'report.html').resolve()}",
        f"报告位于：{out.resolve()}",
    ]
    # once the batch writes the province's 评估报告 as documents, those are what to open
    documents = out / "2022" / "示例省" / "省级评估"
    documents.mkdir(parents=True)
    (documents / "评估报告.docx").write_bytes(b"")
    (documents / "评估报告.pdf").write_bytes(b"")
    assert [line for line in describe_batch(units, out, True) if "评估报告：" in line] == [
        f"  示例省 评估报告：{(documents / '评估报告.docx').resolve()}",
        f"  示例省 评估报告：{(documents / '评估报告.pdf').resolve()}",
    ]


def test_batch_closing_line_counts_unit_reports_and_says_the_overview_apart(tmp_path):
    out = tmp_path / "reports"
    units = [_outcome("示例甲县", reused=True), _outcome("示例乙县", status="失败", verdict="", score="", error="错")]
    units.append(_outcome("煤矿安全生产重点县(市、区) 2026年名单建议", kind="名单管理", verdict="", score=""))
    counts = "单位报告共 3 份：合格 1 份，不合格 0 份，待定 0 份，失败 1 份，名单管理 1 份（其中沿用上次报告 1 份）"
    made = _outcome("综合评估总览", kind="总览", verdict="", score="", report=str(out / "总览" / "report.html"))
    failed = _outcome("综合评估总览", status="失败", kind="总览", verdict="", score="", error="笔记本 overview_report.ipynb 出错")
    with_failed = describe_batch([*units, failed], out, True)
    assert with_failed[3] == "[失败] 综合评估总览：笔记本 overview_report.ipynb 出错"
    assert f"{counts}；总览报告生成失败（见上）。" in with_failed
    assert not any("总览报告：" in line for line in with_failed)  # no overview page to open
    assert f"{counts}；各单位报告均无变化，总览报告沿用上次报告。" in describe_batch(units, out, True)
    assert f"{counts}。" in describe_batch(units, out, False)  # no overview notebook
    assert describe_batch([*units, made], out, True)[-1] == f"报告位于：{out.resolve()}"


def test_a_failed_unit_is_named_by_what_its_file_states_however_broken(tmp_path):
    from minesafe.batch import NAME_SHOWN, identify_submission

    path = tmp_path / "x.yaml"
    path.write_text(
        "rubric: noncoal-county\nprovince: 示例省\ncounty: 示例甲县\nyear: 2022\nstage: 核查\nitems: 3\n", encoding="utf-8"
    )
    assert identify_submission(path) == ("示例甲县", "重点县", "示例省", 2022, "核查")
    path.write_text(f"rubric: coal-enterprise\nprovince: [1]\nenterprise: {'长' * 500}\nyear: 20220\n", encoding="utf-8")
    assert identify_submission(path) == ("长" * NAME_SHOWN, "重点企业", "", None, "")
    path.write_text("rubric: noncoal-province\nprovince: 示例省\nyear: '2022'\n", encoding="utf-8")
    assert identify_submission(path) == ("示例省", "重点省", "示例省", 2022, "")
    path.write_text("rubric: nothing\ncounty: {a: 1}\n", encoding="utf-8")
    assert identify_submission(path) == ("", "", "", None, "")
    path.write_text("[unclosed", encoding="utf-8")
    assert identify_submission(path) == ("", "", "", None, "")
    assert identify_submission(tmp_path / "missing.yaml") == ("", "", "", None, "")


# --- minesafe report ------------------------------------------------------------------------


def test_report_writes_a_document_per_unit_and_refuses_to_overwrite(tmp_path, capsys):
    from docx import Document

    files = [str(DEMO / "counties" / "yi.yaml"), str(DEMO / "province.yaml")]
    assert main(["report", *files, "--docx", "--out", str(tmp_path)]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "示例省2022年度非煤矿山重点省(区)综合评估报告.docx",
        "示例省示例乙县2022年度非煤矿山重点地区安全生产攻坚克难工作自评估报告.docx",
    ]
    county = Document(str(tmp_path / names[1]))
    assert [p.text for p in county.paragraphs][2] == "自评估报告"
    assert "已写出：" in capsys.readouterr().out
    before = {p: p.read_bytes() for p in tmp_path.iterdir()}
    assert main(["report", *files, "--out", str(tmp_path)]) == 2
    assert "输出文件已存在，未写入" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert main(["report", *files, "--out", str(tmp_path), "--force"]) == 0


def test_report_checks_every_input_before_writing(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        (DEMO / "counties" / "yi.yaml").read_text(encoding="utf-8").replace("year: 2022", "year: 1999"), encoding="utf-8"
    )
    out = tmp_path / "out"
    assert main(["report", str(DEMO / "counties" / "jia.yaml"), str(bad), "--out", str(out)]) == 2
    assert "year" in capsys.readouterr().err
    assert not out.exists()


def test_report_without_libreoffice_keeps_the_docx_and_says_what_to_install(tmp_path, capsys, monkeypatch):
    from minesafe import office

    monkeypatch.setattr(office, "find_soffice", lambda: None)
    assert main(["report", str(DEMO / "counties" / "jia.yaml"), "--pdf", "--out", str(tmp_path)]) == 1
    assert "libreoffice-writer-nogui" in capsys.readouterr().err
    assert [p.suffix for p in tmp_path.iterdir()] == [".docx"]


def test_a_batch_line_under_a_non_national_rule_set_says_so():
    """A unit evaluated with params that declare national: false: its console line said a plain
    合格 (the summary and the report say 非国家评估表口径; the line a person reads first did not)."""
    from types import SimpleNamespace

    from minesafe.batch import job_outcome
    from minesafe.cli import describe_outcome
    from minesafe.runs import Job

    result = {"county": "示例甲县", "province": "示例省", "year": 2022, "verdict": "合格", "score": 62, "stage": "自评"}
    job = Job(SimpleNamespace(source="run.yaml"), Path("x"), "示例甲县", result | {"rule_set": "某省试行口径"}, {})
    line = describe_outcome(job_outcome(job, "成功", 1.0))
    assert line == "[成功] 示例省 示例甲县（重点县，2022年，自评）：合格，得分 62 分（非国家评估表口径：某省试行口径）", line
    assert "口径" not in describe_outcome(job_outcome(dataclasses.replace(job, result=result), "成功", 1.0))
