"""Bad input: a clear Chinese message naming file, place, value and what is expected; exit 2."""

import json
import os
from pathlib import Path

import pytest
import yaml

from minesafe import files
from minesafe.cli import main
from minesafe.exceptions import InputError
from minesafe.files import read_rubric
from minesafe.results import evaluate
from minesafe.rubric import Category, Outcome
from minesafe.storage import lock_out_folder
from minesafe.submission import build_county_submission

from .conftest import DATA, DEMO, ROOT, minesafe_exe
from .hostile_files import SITUATIONS, SITUATIONS_KILLED, Situation, write_hostile_files

INVALID = DATA / "invalid"

# file -> fragments its message must contain (place, bad value, expectation). The prefix of the
# name says which command reads it (see _command); every one must exit with status 2, print the
# file's name and no traceback, and write nothing to standard output.
CATALOGUE = {
    "county_negative_count.yaml": ["键 targets.underground_mines.current", "当前值：-3", "大于或等于0的整数"],
    "county_non_integer_count.yaml": [
        "键 targets.tailings_ponds.baseline",
        "当前值：2.5",
        "键 items.4-4a.monitored",
        "当前值：“三”",
    ],
    "county_missing_row.yaml": ["键 items.3-6b", "缺少第 3-6b 行"],
    "county_unknown_row.yaml": ["键 items.9-9z", "评估表中没有这一行"],
    "county_bad_token.yaml": ["键 items.1-1a.result", "当前值：“已完成”", "应为：完成、未完成或不涉及（无该项））"],
    "county_missing_target.yaml": ["键 targets.deaths", "T4", "previous_5_years"],
    "county_wrong_year.yaml": ["键 year", "当前值：2019", "2021～2100"],
    "county_duplicate_key.yaml": ["第 20 行第 3 列：键 1-1a 重复出现（第 18 行已有）"],
    "county_yaml_syntax.yaml": ["第 9 行", "YAML 格式错误", "花括号 { } 内的内容没有正确结束"],
    "county_half_filled_counts.yaml": ["键 items.4-4a.result", "缺少“未建成在线监测系统的尾矿库数量”", "补齐 not_monitored"],
    "county_large_exceeds_all.yaml": ["键 targets.large_medium_mines.current", "当前值：95", "不大于 90"],
    "county_deaths_without_accident.yaml": ["键 targets.larger_accidents.deaths", "当前值：3"],
    "county_counts_cannot_decide.yaml": ["键 items.2-4b.result", "不能自动判定"],
    "county_unknown_key.yaml": ["键 score", "未知的键"],
    "county_short_death_history.yaml": ["键 targets.deaths.previous_5_years", "5 个非负整数"],
    "county_not_utf8.yaml": ["不是 UTF-8 编码"],
    "county_not_excel.xlsx": ["不是有效的 Excel 工作簿"],
    "county_old_format.xls": ["旧版 .xls", "另存为 .xlsx"],
    "county_empty.yaml": ["缺少或写错了评估表编号"],
    "county_list_not_mapping.yaml": ["缺少或写错了评估表编号"],
    "no_such_file.yaml": ["文件不存在"],
    # resource bombs: refused at once, in bounded memory
    "county_yaml_billion_laughs.yaml": ["第 18 行第 6 列", "不支持 YAML 锚点", "“&a”", "不用 & 与 *"],
    "county_yaml_alias.yaml": ["第 22 行第 9 列", "不支持 YAML 别名", "“*done”"],
    "county_yaml_merge_key.yaml": ["键 targets.underground_mines.<<", "不支持 YAML 合并键"],
    "county_yaml_nesting_20000_levels.yaml": ["第 18 行", "嵌套超过 32 层"],
    "county_yaml_nesting_40_levels.yaml": ["键 items.1-1a.note[0][0]", "嵌套超过 32 层"],
    "county_yaml_5000_digit_count.yaml": [
        "键 targets.underground_mines.current",
        "数字位数过多",
        "共 5000 位数字",
        "不超过 15 位",
    ],
    "county_yaml_16_digit_negative_count.yaml": ["键 targets.underground_mines.current", "数字位数过多", "共 16 位数字"],
    "county_yaml_too_large.yaml": ["整个文件", "文件过大", "不超过 5 MB"],
    "county_yaml_ratio_1e999999999.yaml": ["键 items.1-1a.not_realized_share", "当前值：“1e999999999”", "0～100 的百分比"],
    "county_yaml_ratio_1e-999999999.yaml": ["键 items.1-1a.not_realized_share", "“1e-999999999%”", "0～100 的百分比"],
    "county_yaml_ratio_5000_digits.yaml": ["键 items.1-1a.not_realized_share", "共 5002 个字符", "0～100 的百分比"],
    "county_json_nesting_100000_levels.json": ["嵌套超过 32 层"],
    "county_json_5000_digit_number.json": ["键 targets.underground_mines.current", "数字位数过多"],
    "county_json_ratio_1e999999999.json": ["键 items.1-1a.not_realized_share", "“1e999999999”"],
    "county_xlsx_stray_cell_in_last_row.xlsx": ["工作表「重点任务」单元格 A1048576", "数据超出可读取的范围", "“1-1a”"],
    "county_xlsx_zip_bomb.xlsx": ["整个文件", "解压后过大", "解压后不超过 100 MB"],
    "county_xlsx_too_large.xlsx": ["整个文件", "文件过大", "不超过 20 MB"],
    "county_xlsx_list_index_300000000.xlsx": ["工作表「工作目标」单元格 A24", "键列写法有误", "300000000", "序号不超过 99"],
    "county_xlsx_conflicting_keys.xlsx": ["工作表「工作目标」单元格 A24", "单元格 A10 的键相互冲突", "deaths.previous_5_years.x"],
    "county_xlsx_value_and_group_same_key.xlsx": ["工作表「工作目标」单元格 A24", "相互冲突", "当前值：“deaths”"],
    "county_xlsx_5000_digit_number.xlsx": ["工作表「工作目标」", "无法读取的单元格", "数字不超过 15 位"],
    "county_xlsx_broken_sheet_xml.xlsx": ["无法读取的单元格"],
    "county_xlsx_bad_key_text.xlsx": ["工作表「工作目标」单元格 A24", "键列写法有误", "“死亡.当年”"],
    "county_xlsx_formula_without_result.xlsx": [
        "工作表「重点任务」单元格 G14",
        "公式没有计算结果，请在 Excel/WPS 中打开并保存后重新提交",
    ],
    "county_xlsx_error_value.xlsx": ["工作表「填报数量」单元格 E40", "错误值", "“#DIV/0!”"],
    "county_xlsx_percent_cell_235.xlsx": ["工作表「填报数量」单元格 E5", "当前值：235", "0～100 的百分比"],
    "county_xlsx_sorted_without_key_column.xlsx": [
        "工作表「工作目标」单元格 E2",
        "工作表「工作目标」单元格 E3",
        "本行显示的项目与本行的隐藏键不一致",
    ],
    # silent changes: errors, or the YAML 1.2 meaning
    "county_yaml_sexagesimal_count.yaml": ["键 targets.underground_mines.current", "当前值：“1:30”", "大于或等于0的整数"],
    "county_yaml_yes_as_demo.yaml": ["键 demo", "当前值：“yes”", "true 或 false"],
    "county_yaml_on_as_flag.yaml": ["键 items.1-1b.eliminated", "当前值：“on”", "是 或 否"],
    "county_yaml_date_as_year.yaml": ["键 year", "当前值：“2022-12-31”", "四位整数年份"],
    "county_yaml_superscript_year.yaml": ["键 year", "当前值：“202²”", "四位整数年份"],
    "county_yaml_full_width_count.yaml": ["键 targets.underground_mines.current", "当前值：“４５”"],
    "county_yaml_count_1e300.yaml": ["键 targets.underground_mines.current", "当前值：1e+300"],
    "county_yaml_count_infinite.yaml": ["键 targets.underground_mines.current", "当前值：inf"],
    "county_yaml_count_nan.yaml": ["键 targets.underground_mines.current", "当前值：nan"],
    "county_yaml_note_mapping.yaml": ["键 items.1-1a.note", "说明应为一段文字", "{'说明': '已完成'}"],
    "county_yaml_note_list.yaml": ["键 items.1-1a.note", "说明应为一段文字", "['已完成', '已验收']"],
    "county_json_note_mapping.json": ["键 items.1-1a.note", "说明应为一段文字"],
    "county_json_duplicate_key.json": ["键 year", "键 year 重复出现", "每个键只写一次"],
    "county_json_nan_count.json": ["键 targets.underground_mines.current", "当前值：nan"],
    "county_json_count_1e999.json": ["键 targets.underground_mines.current", "当前值：inf"],
    "county_xlsx_duplicate_row_id.xlsx": [
        "工作表「重点任务」单元格 A67",
        "行编号重复出现，与工作表「重点任务」单元格 A2 相同",
        "“1-1a”",
    ],
    "county_xlsx_duplicate_target_key.xlsx": [
        "工作表「工作目标」单元格 A24",
        "与工作表「工作目标」单元格 A15 相同",
        "deaths.current",
    ],
    "county_xlsx_duplicate_info_key.xlsx": ["工作表「基本信息」单元格 A14", "与工作表「基本信息」单元格 A5 相同", "“year”"],
    "county_xlsx_duplicate_field.xlsx": ["工作表「填报数量」单元格 A145", "单元格 A10 相同", "1-1c single_system_licences"],
    "county_xlsx_superscript_year.xlsx": ["工作表「基本信息」单元格 C5", "当前值：“202²”"],
    "county_xlsx_full_width_count.xlsx": ["工作表「工作目标」单元格 F15", "当前值：“２”"],
    "county_xlsx_ratio_1e999999999.xlsx": ["工作表「填报数量」", "“1e999999999”", "0～100 的百分比"],
    "county_xlsx_bad_result.xlsx": ["工作表「重点任务」单元格 G2", "当前值：“完成了”"],
    "county_xlsx_missing_sheet.xlsx": ["缺少工作表「填报数量」"],
    "county_xlsx_blank_template.xlsx": ["工作簿尚未填写"],
    # syntax the parsers reject, explained in Chinese
    "county_yaml_list_as_key.yaml": ["第 18 行第 3 列", "键不能是列表或映射"],
    "county_yaml_python_tag.yaml": ["第 3 行第 11 列", "不支持的 YAML 标签"],
    "county_yaml_int_tag_on_text.yaml": ["第 9 行", "标签 !!int 与内容“四十五”不符", "去掉标签"],
    "county_yaml_two_documents.yaml": ["第 84 行第 1 列", "只能有一个 YAML 文档"],
    "county_yaml_tab_indent.yaml": ["第 9 行第 1 列", "Tab 缩进"],
    "county_yaml_control_character.yaml": ["第 124 个字符处", "控制字符 U+0007"],
    "county_yaml_rubric_is_list.yaml": ["键 rubric", "缺少或写错了评估表编号", "['noncoal-county']"],
    "county_yaml_items_is_list.yaml": ["键 items", "缺少重点任务评估结果", "['完成', '完成']"],
    "county_json_trailing_comma.json": ["第 5 行第 15 列", "JSON 格式错误", "多余的逗号"],
    "county_json_top_level_list.json": ["键 rubric", "缺少或写错了评估表编号"],
    # names: one unit, one name (docs/submission.md "Names")
    "county_yaml_name_only_invisible.yaml": ["键 county", "县（市、区）名称只含不可见字符", "当前值：“<U+200B><U+FEFF>”"],
    # province files
    "province_yaml_counties_not_list.yaml": ["键 counties", "重点县文件列表写法有误", "“counties/jia.yaml”"],
    "province_yaml_duplicate_county.yaml": ["键 counties", "同一个重点县文件列了两次"],
    "province_yaml_alias_in_counties.yaml": ["第 19 行第 5 列", "不支持 YAML 别名", "“*jia”"],
    "province_yaml_lists_itself_as_county.yaml": ["键 rubric", "当前值：“noncoal-province”", "应为：noncoal-county"],
    "province_yaml_county_path_is_number.yaml": ["键 counties[0]", "当前值：12", "文件路径文字"],
    "province_yaml_nesting_20000_levels.yaml": ["第 17 行", "嵌套超过 32 层"],
    "province_yaml_key_county_twice_invisible.yaml": [
        "键 key_counties[1]",
        "重点县名称重复",
        "当前值：“示例甲县<U+200B>”",
        "与“示例甲县”是同一名称",
    ],
    # params files (evaluate --params)
    "params_yaml_pass_score_1e999999999.yaml": ["键 evaluation.pass_score", "“1e999999999”", "0 到 100 之间的数"],
    "params_yaml_bound_1e999999999_percent.yaml": ["键 evaluation.targets.T1.bound", "“1e999999999%”", "带百分号的数"],
    "params_yaml_alias.yaml": ["第 2 行第 13 列", "不支持 YAML 别名"],
    "params_yaml_not_mapping.yaml": ["参数文件内容应为键值映射"],
    # list-management files (minesafe lists)
    "lists_yaml_year_minus_5.yaml": ["键 units.示例县甲.listed", "当前值：[-5, 2025]", "2000～2025 年之间"],
    "lists_yaml_year_0.yaml": ["键 units.示例县甲.listed", "当前值：[0, 2025]", "2000～2025 年之间"],
    "lists_yaml_year_1.yaml": ["键 units.示例县甲.listed", "当前值：[1, 2025]", "2000～2025 年之间"],
    "lists_yaml_kind_is_list.yaml": ["键 kind", "名单类型写法有误", "['coal-county']", "coal-county、coal-enterprise"],
    "lists_yaml_kind_is_number.yaml": ["键 kind", "名单类型写法有误", "当前值：2025"],
    "lists_yaml_flag_is_mapping.yaml": ["键 units.示例县乙.nomination", "应为一段文字", "{'理由': '事故多'}"],
    "lists_yaml_principle_is_list.yaml": ["键 units.示例县乙.principles", "当前值：[[1]]"],
    "lists_yaml_unit_twice_look_alike.yaml": [
        "键 units.示例县<U+F90A>",
        "单位名称重复",
        "当前值：“示例县<U+F90A>”",
        "与“示例县金”是同一名称",
    ],
    # run files (minesafe batch): refused before any kernel starts
    "run_yaml_alias.yaml": ["第 1 行第 11 列", "不支持 YAML 锚点", "“&n”"],
    "run_yaml_unknown_notebook.yaml": ["键 notebook", "没有这个报告笔记本", "noncoal_county_report"],
    "run_yaml_parameters_is_list.yaml": ["键 parameters", "parameters 应为映射"],
    "run_yaml_missing_submission.yaml": ["键 parameters.submission", "文件不存在", "no_such_county.yaml"],
    "run_yaml_nesting_20000_levels.yaml": ["第 2 行", "嵌套超过 32 层"],
    "run_yaml_duplicate_key.yaml": ["第 2 行第 1 列", "键 notebook 重复出现（第 1 行已有）"],
    # template --from: a submission of the wrong shape cannot pre-fill a workbook
    "template_yaml_rubric_is_list.yaml": ["键 rubric", "缺少或写错了评估表编号"],
    "template_yaml_items_is_list.yaml": ["键 items", "重点任务评估结果应为映射", "['完成', '完成']"],
    "template_yaml_province_is_mapping.yaml": ["键 province", "应为单个值", "{'name': '示例省'}"],
    "template_yaml_unknown_row.yaml": ["键 items.9-9z", "评估表中没有这一行"],
    "template_yaml_note_is_list.yaml": ["键 items.1-1a.note", "应为单个值"],
    # template --rubric PATH: only a file that validates as a rubric
    "rubric_yaml_is_a_submission.yaml": ["评估表文件", "缺少或写错了 id"],
    "rubric_yaml_is_a_list.yaml": ["评估表文件", "文件内容应为评估表的键值映射"],
}


def _command(path, tmp_path) -> list[str]:
    """The command line that reads a catalogue file, chosen by the prefix of its name."""
    kind = path.name.split("_")[0]
    out = str(tmp_path / "out.xlsx")
    return {
        "params": ["evaluate", "--params", str(path), str(DEMO / "counties" / "jia.yaml")],
        "lists": ["lists", str(path), "--out", out],
        "run": ["batch", str(path), "--out", str(tmp_path / "reports")],
        "template": ["template", "--from", str(path), "--out", out],
        "rubric": ["template", "--rubric", str(path), "--out", out],
    }.get(kind, ["evaluate", str(path)])


@pytest.fixture(scope="session")
def generated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    write_hostile_files(folder)
    return folder


def test_the_catalogue_covers_every_hostile_file(generated):
    committed = {p.name for p in INVALID.iterdir()} - {
        "README.md",
        "county_many_problems.yaml",
        "province_bad_counties.yaml",
        "county_other_year.yaml",
    }
    assert committed | {p.name for p in generated.iterdir()} == set(CATALOGUE) - {"no_such_file.yaml"}
    assert len(CATALOGUE) >= 60


@pytest.mark.parametrize(("name", "fragments"), CATALOGUE.items())
def test_bad_input_is_explained(name, fragments, generated, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)  # run files name their submissions relative to the repository
    path = generated / name if (generated / name).exists() else INVALID / name
    assert main(_command(path, tmp_path)) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert str(path) in err
    for fragment in fragments:
        assert fragment in err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # nothing written


#: Runs ``minesafe`` (the console script's ``run``) after making one function send the process
#: SIGTERM when it is called: the signal arrives in the middle of the command, at a known step.
_TERMINATE_IN = """
import importlib, os, signal, sys
module, name = sys.argv.pop(1).split(":")
owner = importlib.import_module(module)
real = getattr(owner, name)
def terminated(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGTERM)
    return real(*args, **kwargs)
setattr(owner, name, terminated)
from minesafe.cli import run
sys.argv[0] = "minesafe"
sys.exit(run())
"""


def run_situation(situation: Situation, folder: Path) -> tuple[int, str]:
    """Run a situation's command in ``folder`` as a real process: its exit status and everything it printed."""
    import subprocess
    import sys

    argv = situation.prepare(folder)
    command = [minesafe_exe(), *argv]
    if situation.terminate_in:
        command = [sys.executable, "-c", _TERMINATE_IN, situation.terminate_in, *argv]
    if situation.stdout == "closed":  # as the shell does for `minesafe … >&-`
        command = ["sh", "-c", 'exec "$@" >&-', "sh", *command]
    with open(os.devnull if situation.stdout != "full" else "/dev/full", "w") as sink:
        stdout = subprocess.PIPE if situation.stdout == "pipe" else sink
        done = subprocess.run(command, cwd=folder, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=600, check=False)
    return done.returncode, (done.stdout or "") + done.stderr


@pytest.mark.parametrize("name", SITUATIONS)
def test_hostile_situation_is_handled(name, tmp_path):
    """Every hostile situation of the catalogue: its exit status, its Chinese message, no
    traceback, and what must hold after it."""
    situation = SITUATIONS[name]
    status, printed = run_situation(situation, tmp_path)
    assert status == situation.status, printed
    for fragment in situation.fragments:
        assert fragment in printed, printed
    assert "Traceback" not in printed and "Error:" not in printed, printed
    if situation.after is not None:
        situation.after(tmp_path)


def _descendants(pid: int) -> list:
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def test_a_batch_killed_outright_leaves_no_process_and_writes_nothing_after(tmp_path):
    """kill -9 of `minesafe batch` while a report runs: its worker, the worker's kernel template and
    kernels and the resource tracker end at once (they used to finish the queued units, writing
    reports after the kill, then block forever), no report is written after the kill, and its
    --out is not left locked."""
    import signal
    import subprocess
    import time

    import psutil

    prepare = SITUATIONS_KILLED["batch_killed_outright_while_a_report_runs"].prepare
    argv = prepare(tmp_path)
    batch = subprocess.Popen([minesafe_exe(), *argv], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen: list = []
    try:
        deadline = time.monotonic() + 180
        while not any("launcher.py" in " ".join(_cmdline(p)) for p in _alive(seen)):  # a report's kernel runs
            assert batch.poll() is None and time.monotonic() < deadline, "the batch ended before a report ran"
            seen = _descendants(batch.pid)
            time.sleep(0.2)
        seen = _descendants(batch.pid)
        started = " ".join(" ".join(_cmdline(p)) for p in seen)
        assert "resource_tracker" in started and "minesafe.kernels" in started  # the tracker, a template
        batch.send_signal(signal.SIGKILL)
        batch.wait(timeout=10)
        written = sorted(tmp_path.rglob("report.html"))
        _, alive = psutil.wait_procs(seen, timeout=30)
        assert [p.pid for p in alive] == [], [" ".join(_cmdline(p)) for p in alive]
        assert sorted(tmp_path.rglob("report.html")) == written  # nothing written after the kill
        with lock_out_folder(tmp_path / "reports"):  # the kill released its --out for the next batch
            pass
    finally:
        for process in _alive(seen):
            process.kill()
        if batch.poll() is None:
            batch.kill()
            batch.wait(timeout=10)


def _alive(processes: list) -> list:
    import psutil

    alive = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
        except psutil.NoSuchProcess:
            continue
    return alive


def _cmdline(process) -> list[str]:
    import psutil

    try:
        return process.cmdline()
    except psutil.Error:
        return []


def test_every_problem_in_a_file_is_reported_at_once():
    with pytest.raises(InputError) as info:
        evaluate(INVALID / "county_many_problems.yaml")
    places = [p.path for p in info.value.problems]
    assert ("year",) in places
    assert ("targets", "underground_mines", "current") in places
    assert ("items", "1-1a", "result") in places
    assert ("items", "5-5b") in places
    assert len(info.value.problems) == 4


def test_several_files_evaluate_the_good_and_report_the_bad(capsys):
    status = main(["evaluate", "--json", str(DEMO / "counties" / "jia.yaml"), str(INVALID / "county_wrong_year.yaml")])
    out, err = capsys.readouterr()
    assert status == 2
    assert json.loads(out)["county"] == "示例甲县"
    assert "county_wrong_year.yaml" in err


def test_params_file_errors_name_the_key(tmp_path, capsys):
    params = tmp_path / "params.yaml"
    params.write_text("evaluation:\n  pass_score: 八十\n  targets: {T1: {bound: 20}}\n  colour: red\n", encoding="utf-8")
    assert main(["evaluate", "--params", str(params), str(DEMO / "counties" / "jia.yaml")]) == 2
    err = capsys.readouterr().err
    assert "键 evaluation.pass_score" in err and "当前值：“八十”" in err
    assert "键 evaluation.targets.T1.bound" in err and "“20%”" in err
    assert "键 evaluation.colour" in err


def test_params_loosening_the_national_form_are_exit_2_naming_each_key_and_line(tmp_path, capsys):
    """A ■ row re-categorised (totals kept) and the 80-point line lowered: both refused at once, with
    the line of the notice; nothing is evaluated. Declared non-national, the same file is evaluated
    and the terminal says so."""
    params = tmp_path / "params.yaml"
    body = "  categories: {4-2c: reference, 3-7b: veto}\n  pass_score: 60\n"
    params.write_text("evaluation:\n" + body, encoding="utf-8")
    assert main(["evaluate", "--params", str(params), str(DEMO / "counties" / "jia.yaml")]) == 2
    out, err = capsys.readouterr()
    assert not out
    assert "键 evaluation.categories.4-2c：第 4-2c 行类别 ■ 否决项→/ 参考项" in err
    assert "原文第 362 行" in err and "键 evaluation.pass_score" in err and "原文第 253、386 行" in err
    params.write_text("evaluation:\n  national: false\n  name: 某省试行口径\n" + body, encoding="utf-8")
    assert main(["evaluate", "--params", str(params), str(DEMO / "counties" / "jia.yaml")]) == 0
    out = capsys.readouterr().out
    assert "【非国家评估表口径：某省试行口径（第 4-2c 行类别 ■ 否决项→/ 参考项；合格分数线 80分→60分）】" in out


def test_a_rubric_file_cannot_loosen_the_national_form_either(tmp_path, capsys):
    """``rubric_file`` swapped in with 4-2c made a reference item (3-7b veto: the totals hold) and
    the pass line at 60: refused like the same change in the params, unless declared non-national."""
    text = (ROOT / "minesafe" / "rubrics" / "noncoal-county.yaml").read_text(encoding="utf-8")
    text = text.replace("pass_score: 80\n", "pass_score: 60\n")
    head, rest = text.split("- id: 4-2c\n", 1)
    text = head + "- id: 4-2c\n" + rest.replace("category: veto", "category: reference", 1)
    head, rest = text.split("- id: 3-7b\n", 1)
    text = head + "- id: 3-7b\n" + rest.replace("category: reference", "category: veto", 1)
    (tmp_path / "mine.yaml").write_text(text, encoding="utf-8")
    params = tmp_path / "params.yaml"
    params.write_text("evaluation:\n  rubric_file: mine.yaml\n", encoding="utf-8")
    jia = str(DEMO / "counties" / "jia.yaml")
    assert main(["evaluate", "--params", str(params), jia]) == 2
    err = capsys.readouterr().err
    assert "键 evaluation.rubric_file：评估表文件第 4-2c 行类别 ■ 否决项→/ 参考项" in err and "原文第 362 行" in err
    assert "评估表文件合格分数线 80分→60分" in err and "3-7b" not in err  # an inferred row may differ
    params.write_text("evaluation:\n  national: false\n  name: 本地口径\n  rubric_file: mine.yaml\n", encoding="utf-8")
    assert main(["evaluate", "--params", str(params), jia]) == 0
    assert (
        "【非国家评估表口径：本地口径（评估表文件第 4-2c 行类别 ■ 否决项→/ 参考项；评估表文件合格分数线 80分→60分）】"
        in capsys.readouterr().out
    )


def test_params_that_break_the_totals_are_refused(tmp_path, capsys):
    params = tmp_path / "params.yaml"
    params.write_text("evaluation:\n  categories: {3-7a: veto}\n", encoding="utf-8")
    assert main(["evaluate", "--params", str(params), str(DEMO / "counties" / "jia.yaml")]) == 2
    assert "与表注规定的 29 不符" in capsys.readouterr().err


def test_shipped_rubrics_are_parsed_once_per_process():
    assert read_rubric("noncoal-county") is read_rubric("noncoal-county")
    province = read_rubric("noncoal-province")
    assert province.targets == read_rubric("noncoal-county").targets


def test_an_unknown_rubric_id_names_the_known_ones(tmp_path, capsys):
    assert main(["template", "--rubric", "noncoal-countyy", "--out", str(tmp_path / "x.xlsx")]) == 2
    err = capsys.readouterr().err
    assert "不是已知的评估表编号" in err and "noncoal-county" in err and "“noncoal-countyy”" in err
    assert list(tmp_path.iterdir()) == []


# --- writing: modes, durability, all-or-nothing folder swaps ------------------------------------


# --- a veto row marked 不涉及 needs its note (否决项评估结论分为…“无该项”，并作说明) ---------------------


@pytest.mark.parametrize("token", ["不涉及", "无该项"])
def test_a_veto_row_not_applicable_without_a_note_is_an_input_error(tmp_path, county_data, county_rubric, token, capsys):
    veto = next(r.id for r in county_rubric.rows if r.category is Category.VETO)
    county_data["items"][veto] = {"result": token}
    path = tmp_path / "county.yaml"
    path.write_text(yaml.safe_dump(county_data, allow_unicode=True), encoding="utf-8")
    assert main(["evaluate", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert f"键 items.{veto}.note：否决项 {veto} 评为“{token}”时须写明说明（无该项的原因）" in err
    county_data["items"][veto]["note"] = "辖区内无此类矿山"
    path.write_text(yaml.safe_dump(county_data, allow_unicode=True), encoding="utf-8")
    assert main(["evaluate", str(path)]) == 0


def test_a_scored_row_not_applicable_needs_no_note(tmp_path, county_data, county_rubric):
    scored = next(r.id for r in county_rubric.rows if r.category is Category.SCORED)
    county_data["items"][scored] = "不涉及"
    assert build_county_submission(county_data, county_rubric).items[scored].result is Outcome.NOT_APPLICABLE


# --- provenance: the files really used, relative paths -------------------------------------------


@pytest.mark.parametrize("name", ["../outside", "{tmp}/outside", "no-such-profile", "sub/../wuhai-2023"])
def test_a_profile_name_outside_the_shipped_profiles_is_refused_before_any_file_is_read(tmp_path, capsys, monkeypatch, name):
    """``profile:`` names a shipped profile: a path (relative or absolute) or an unknown name is
    refused naming the submission and its key, even when a valid profile lies at that path."""
    shipped = files.profile_folder() / "wuhai-2023.yaml"
    folder = tmp_path / "package" / "profiles"
    (folder / "sub").mkdir(parents=True)
    (folder / "wuhai-2023.yaml").write_bytes(shipped.read_bytes())
    monkeypatch.setattr(files, "profile_folder", lambda: folder)
    name = name.format(tmp=tmp_path)
    for planted in (tmp_path / "package" / "outside.yaml", tmp_path / "outside.yaml"):  # valid profiles, wrongly placed
        planted.write_text(shipped.read_text(encoding="utf-8").replace("name: wuhai-2023", f"name: {name}"), encoding="utf-8")
    data = yaml.safe_load((DATA / "three_stages" / "1_self_assessed_pass_100.yaml").read_text(encoding="utf-8"))
    submission = tmp_path / "county.yaml"
    submission.write_text(yaml.safe_dump(data | {"profile": name}, allow_unicode=True), encoding="utf-8")
    assert main(["evaluate", str(submission)]) == 2
    err = capsys.readouterr().err
    assert f"文件 {submission} " in err and "键 profile：" in err and f"“{name}”" in err and "wuhai-2023" in err
