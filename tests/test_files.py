"""Bad input: a clear Chinese message naming file, place, value and what is expected; exit 2."""

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
import yaml

from minesafe import files, report
from minesafe.cli import main
from minesafe.exceptions import InputError
from minesafe.files import (
    PythonYamlLoader,
    YamlLoader,
    atomic_write,
    parse_yaml,
    read_document,
    read_key_provinces,
    read_provenance,
    read_rubric,
    replace_folder,
    write_json,
    write_yaml,
)
from minesafe.results import evaluate, evaluate_unit
from minesafe.rubric import Category, Outcome
from minesafe.submission import build_county_submission

from .conftest import DATA, DEMO, ROOT, minesafe_exe
from .hostile_files import SITUATIONS, Situation, write_hostile_files

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
    "county_bad_token.yaml": ["键 items.1-1a.result", "当前值：“已完成”", "完成、pass、未完成"],
    "county_missing_target.yaml": ["键 targets.deaths", "T4", "previous_5_years"],
    "county_wrong_year.yaml": ["键 year", "当前值：2019", "2021～2100"],
    "county_duplicate_key.yaml": ["第 20 行第 3 列：键 1-1a 重复出现（第 18 行已有）"],
    "county_yaml_syntax.yaml": ["第 9 行", "YAML 格式错误", "花括号 { } 内的内容没有正确结束"],
    "county_half_filled_counts.yaml": ["键 items.4-4a.result", "缺少 not_monitored"],
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
    "county_xlsx_duplicate_info_key.xlsx": ["工作表「基本信息」单元格 A11", "与工作表「基本信息」单元格 A5 相同", "“year”"],
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
    # province files
    "province_yaml_counties_not_list.yaml": ["键 counties", "缺少重点县文件列表", "“counties/jia.yaml”"],
    "province_yaml_duplicate_county.yaml": ["键 counties", "同一个重点县文件列了两次"],
    "province_yaml_alias_in_counties.yaml": ["第 19 行第 5 列", "不支持 YAML 别名", "“*jia”"],
    "province_yaml_lists_itself_as_county.yaml": ["键 rubric", "当前值：“noncoal-province”", "应为：noncoal-county"],
    "province_yaml_county_path_is_number.yaml": ["键 counties[0]", "当前值：12", "文件路径文字"],
    "province_yaml_nesting_20000_levels.yaml": ["第 17 行", "嵌套超过 32 层"],
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


def test_json_input_is_accepted(tmp_path, county_data):
    path = tmp_path / "county.json"
    path.write_text(json.dumps(county_data, ensure_ascii=False), encoding="utf-8")
    assert evaluate(path).passed


def test_broken_json_names_the_line(tmp_path):
    path = tmp_path / "county.json"
    path.write_text('{"rubric": "noncoal-county",\n "year": }', encoding="utf-8")
    with pytest.raises(InputError, match="第 2 行"):
        evaluate(path)


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "report.txt"
    target.write_text("旧内容", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_write(target, "w") as handle:
        handle.write("半截")
        raise RuntimeError("interrupted")
    assert target.read_text(encoding="utf-8") == "旧内容"
    assert [p.name for p in tmp_path.iterdir()] == ["report.txt"]


def test_params_file_errors_name_the_key(tmp_path, capsys):
    params = tmp_path / "params.yaml"
    params.write_text("evaluation:\n  pass_score: 八十\n  targets: {T1: {bound: 20}}\n  colour: red\n", encoding="utf-8")
    assert main(["evaluate", "--params", str(params), str(DEMO / "counties" / "jia.yaml")]) == 2
    err = capsys.readouterr().err
    assert "键 evaluation.pass_score" in err and "当前值：“八十”" in err
    assert "键 evaluation.targets.T1.bound" in err and "“20%”" in err
    assert "键 evaluation.colour" in err


def test_params_that_break_the_totals_are_refused(tmp_path, capsys):
    params = tmp_path / "params.yaml"
    params.write_text("evaluation:\n  categories: {3-7a: veto}\n", encoding="utf-8")
    assert main(["evaluate", "--params", str(params), str(DEMO / "counties" / "jia.yaml")]) == 2
    assert "与表注规定的 29 不符" in capsys.readouterr().err


YAML_FILES = sorted(
    p
    for folder in (INVALID, ROOT / "data", ROOT / "params", ROOT / "minesafe" / "rubrics")
    for p in folder.rglob("*")
    if p.suffix in (".yaml", ".yml")
)


def _parse_with(loader, path):
    """What a loader makes of a file: its data, or the problems it reports."""
    try:
        return parse_yaml(path.read_bytes().decode("utf-8-sig", errors="replace"), str(path), loader)[0]
    except InputError as exc:
        return [(p.path, p.message, p.expected) for p in exc.problems]


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_libyaml_and_python_loaders_agree(path):
    assert _parse_with(YamlLoader, path) == _parse_with(PythonYamlLoader, path)


class _PyYamlConstructionLoader(YamlLoader):
    """The libyaml loader with PyYAML's general construction only (the fallback of the direct one)."""

    construct_document = yaml.constructor.BaseConstructor.construct_document


TRICKY_YAML = [
    "a: 1\nb: true\nc: ~\nd: 1.5\ne: .inf\nf: -.inf\ng: .nan\nh: 0o17\ni: 0x1f\nj: '010'\nk: []\nl: {}\n",
    "a: 1\na: 2\n",
    "1: x\nTrue: y\n",
    "? [a, b]\n: 1\n",
    "? {a: 1}\n: 1\n",
    "a: !!int abc\n",
    "a: !!str 5\nb: !!float 1\nc: !!bool true\nd: !!null ''\n",
    "a: !!binary aGk=\n",
    "a: !custom x\n",
    "!!int 5\n",
    "!!map {a: 1}\n",
    "!!str {a: 1}\n",
    "a: 12345678901234567890\n",
    "<<: {a: 1}\n",
    "- [1, [2, [3]]]\n- {a: {b: {c: null}}}\n",
    "a: " + "[" * 40 + "]" * 40 + "\n",
    "x: " + "{a: " * 70 + "1" + "}" * 70 + "\n",
    "",
    "plain text\n",
]


@pytest.mark.parametrize("text", TRICKY_YAML, ids=range(len(TRICKY_YAML)))
def test_direct_construction_agrees_with_pyyamls(text, tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    assert repr(_parse_with(YamlLoader, path)) == repr(_parse_with(_PyYamlConstructionLoader, path))


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_direct_construction_agrees_with_pyyamls_on_every_yaml_file(path):
    # repr, not ==: 1 == True == 1.0 would hide a wrong type
    assert repr(_parse_with(YamlLoader, path)) == repr(_parse_with(_PyYamlConstructionLoader, path))


def test_the_libyaml_loader_is_used():
    assert yaml.__with_libyaml__ and YamlLoader is not PythonYamlLoader


@pytest.mark.parametrize("loader", [YamlLoader, PythonYamlLoader], ids=["libyaml", "python"])
def test_yaml_1_2_meaning_never_yaml_1_1(loader):
    text = "a: 010\nb: 0o10\nc: 1:30\nd: yes\ne: on\nf: true\ng: ~\nh: 2022-12-31\ni: 1e3\nj: 0x1F\nk: 1_000\nl: .5\n"
    data, _ = parse_yaml(text, "x.yaml", loader)
    assert data == {
        "a": 10, "b": 8, "c": "1:30", "d": "yes", "e": "on", "f": True, "g": None,
        "h": "2022-12-31", "i": 1000.0, "j": 31, "k": "1_000", "l": 0.5,
    }  # fmt: skip


@pytest.mark.parametrize("loader", [YamlLoader, PythonYamlLoader], ids=["libyaml", "python"])
def test_anchors_are_refused_before_anything_is_expanded(loader):
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{k}: &{k} [{', '.join([f'*{p}'] * 10)}]\n" for p, k in zip("abcdefgh", "bcdefghi", strict=True)
    )  # 10**9 strings if expanded
    with pytest.raises(InputError, match="不支持 YAML 锚点") as info:
        parse_yaml(laughs, "laughs.yaml", loader)
    assert len(info.value.problems) == 10  # the first places, not one per alias


def test_shipped_rubrics_are_parsed_once_per_process():
    assert read_rubric("noncoal-county") is read_rubric("noncoal-county")
    province = read_rubric("noncoal-province")
    assert province.targets == read_rubric("noncoal-county").targets


def test_an_unknown_rubric_id_names_the_known_ones(tmp_path, capsys):
    assert main(["template", "--rubric", "noncoal-countyy", "--out", str(tmp_path / "x.xlsx")]) == 2
    err = capsys.readouterr().err
    assert "不是已知的评估表编号" in err and "noncoal-county" in err and "“noncoal-countyy”" in err
    assert list(tmp_path.iterdir()) == []


def test_written_yaml_reads_back_as_written(tmp_path):
    data = {"a": "0o10", "b": "1e3", "c": "yes", "d": "010", "e": "1:30", "f": "~", "g": "null", "h": ".5", "i": 7, "j": True}
    write_yaml(data, tmp_path / "x.yaml")
    assert read_document(tmp_path / "x.yaml")[0] == data
    assert yaml.safe_load((tmp_path / "x.yaml").read_text(encoding="utf-8")) == data  # YAML 1.1 readers too


def test_a_pipe_or_device_is_refused_without_blocking(tmp_path, capsys):
    for name in ("county.yaml", "county.xlsx"):
        fifo = tmp_path / name
        os.mkfifo(fifo)
        assert main(["evaluate", str(fifo)]) == 2
        assert "不是普通文件" in capsys.readouterr().err


# --- writing: modes, durability, all-or-nothing folder swaps ------------------------------------


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_written_files_respect_the_umask(tmp_path, umask_022):
    write_json({"a": 1}, tmp_path / "new.json")
    replace_folder(tmp_path / "report", {"report.html": b"<p>x</p>"})
    assert stat.S_IMODE((tmp_path / "new.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "report" / "report.html").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "report").stat().st_mode) == 0o755


def test_overwriting_keeps_the_existing_files_mode(tmp_path, umask_022):
    target = tmp_path / "summary.json"
    target.write_text("{}")
    target.chmod(0o640)
    write_json({"a": 1}, target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert json.loads(target.read_text()) == {"a": 1}


def test_data_is_synced_before_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append(("replace", Path(b).name)), real_replace(a, b))[1])
    write_json({"a": 1}, tmp_path / "x.json")
    assert events[:2] == ["fsync", ("replace", "x.json")]
    events.clear()
    replace_folder(tmp_path / "report", {"a": b"1", "b": b"2"})
    marked, swapped = events.index(("replace", files.STAGING_MARKER)), events.index(("replace", "report"))
    assert events[marked + 1 : marked + 3] == ["fsync", "fsync"] and swapped > marked + 2  # both files, then the swap


def test_a_failure_between_writing_and_swapping_keeps_the_old_folder(tmp_path):
    folder = tmp_path / "report"
    replace_folder(folder, {"report.html": b"old", "result.json": b"{}"})

    def fail():
        raise RuntimeError("injected between writing and swapping")

    with pytest.raises(RuntimeError):
        replace_folder(folder, {"report.html": b"new"}, before_swap=fail)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == {"report.html": b"old", "result.json": b"{}"}
    assert [p.name for p in tmp_path.iterdir()] == ["report"]  # no staging folder left behind


_KILLED_SWAP = """
import os, shutil, signal, sys
from pathlib import Path
from minesafe.files import replace_folder
module, name, at = sys.argv[2], sys.argv[3], int(sys.argv[4])
real, calls = getattr(sys.modules[module], name), []
def killing(*args, **kwargs):
    calls.append(args)
    if len(calls) == at:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(*args, **kwargs)
setattr(sys.modules[module], name, killing)
replace_folder(Path(sys.argv[1]), {"report.html": b"new"})
"""


@pytest.mark.parametrize(
    ("killed_in", "kept"),
    [
        (("os", "replace", 2), b"old"),  # before the old report goes aside
        (("os", "replace", 3), b"old"),  # after it went aside, before the new one took its place
        (("shutil", "rmtree", 1), b"new"),  # after the swap, before the staging folder is removed
    ],
)
def test_a_swap_killed_half_way_is_undone(tmp_path, killed_in, kept):
    """A process killed (a real SIGKILL) at each step of a swap: the next housekeeping leaves one
    report folder, never none, and nothing beside it."""
    import subprocess
    import sys

    folder = tmp_path / "2022" / "省" / "县"
    replace_folder(folder, {"report.html": b"old"})
    argv = [sys.executable, "-c", _KILLED_SWAP, str(folder), *map(str, killed_in)]
    done = subprocess.run(argv, capture_output=True, check=False)
    assert done.returncode == -9, done.stderr
    assert [p.name for p in folder.parent.iterdir() if p.name.startswith(files.STAGING_PREFIX)]  # left behind
    files.finish_interrupted_swaps(tmp_path, (3,))
    assert (folder / "report.html").read_bytes() == kept
    assert [p.name for p in folder.parent.iterdir()] == ["县"]


def test_housekeeping_never_touches_what_minesafe_did_not_make(tmp_path):
    """The evaluator's own hidden folders, anywhere under --out, survive housekeeping; so do staging
    folders without a marker, at other depths, or in use by another process (its marker locked)."""
    import fcntl

    folder = tmp_path / "2022" / "省" / "县"
    replace_folder(folder, {"report.html": b"report"})
    own = [
        tmp_path / ".相册.old",
        tmp_path / ".草稿.tmp",
        folder.parent / ".县.4242.old",  # what minesafe 0.x made, or the evaluator
        folder.parent / ".县.abcd.tmp",
        folder / ".草稿.tmp",
        folder.parent / f"{files.STAGING_PREFIX}nomarker",
        tmp_path / "2022" / f"{files.STAGING_PREFIX}wrongdepth",
    ]
    for path in own:
        path.mkdir()
        (path / "照片.jpg").write_bytes(b"photo")
    (own[-1] / files.STAGING_MARKER).write_text('{"folder": "x"}')
    busy = folder.parent / f"{files.STAGING_PREFIX}busy"
    busy.mkdir()
    (busy / "old").mkdir()
    (busy / files.STAGING_MARKER).write_text('{"folder": "乙县"}')
    with open(busy / files.STAGING_MARKER) as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another batch is writing this report
        files.finish_interrupted_swaps(tmp_path, (1, 3))
    assert all((path / "照片.jpg").read_bytes() == b"photo" for path in own)
    assert (busy / "old").is_dir() and not (folder.parent / "乙县").exists()
    files.finish_interrupted_swaps(tmp_path, (1, 3))  # the lock is gone: the swap is finished
    assert (folder.parent / "乙县").is_dir() and not busy.exists()
    assert (folder / "report.html").read_bytes() == b"report"


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


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_provenance_names_the_swapped_rubric_file_and_its_hash(tmp_path, capsys, monkeypatch):
    shipped = ROOT / "minesafe" / "rubrics" / "noncoal-county.yaml"
    swapped = tmp_path / "official.yaml"
    swapped.write_text(shipped.read_text(encoding="utf-8") + "\n# 正式印发版（测试用副本）\n", encoding="utf-8")
    params = tmp_path / "params.yaml"
    params.write_text("evaluation:\n  rubric_file: official.yaml\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    county = DEMO / "counties" / "jia.yaml"
    assert main(["evaluate", "--json", str(county), "--params", "params.yaml"]) == 0
    provenance = json.loads(capsys.readouterr().out)["provenance"]
    (rubric,) = provenance["rubrics"]
    assert rubric["sha256"] == _sha(swapped) != _sha(shipped)
    assert rubric["path"] == "official.yaml"
    assert provenance["params"] == {"path": "params.yaml", "sha256": _sha(params)}
    (submission,) = provenance["inputs"]
    assert submission["sha256"] == _sha(county)
    assert submission["path"] == os.path.relpath(county, tmp_path)  # relative to where the run started
    appendix = report.render_provenance(report.load_report(county, params)).text
    assert f"official.yaml（SHA-256 {_sha(swapped)}）" in appendix and _sha(shipped) not in appendix


def test_provenance_names_the_profile_a_submission_names_and_its_hash(tmp_path, capsys, monkeypatch):
    """A profile loaded by name (``profile: wuhai-2023``) is an input like the rubric: its file and
    SHA-256 are in the JSON's provenance and in the report's appendix, and another profile file
    under the same name shows another hash."""
    county = DEMO / "coal" / "county-jia.yaml"
    shipped = ROOT / "params" / "profiles" / "wuhai-2023.yaml"
    monkeypatch.chdir(ROOT)
    assert main(["evaluate", "--json", str(county)]) == 0
    (profile,) = json.loads(capsys.readouterr().out)["provenance"]["profiles"]
    assert profile == {"name": "wuhai-2023", "path": "params/profiles/wuhai-2023.yaml", "sha256": _sha(shipped)}

    altered = tmp_path / "profiles" / "wuhai-2023.yaml"
    altered.parent.mkdir()
    altered.write_text(shipped.read_text(encoding="utf-8") + "\n# 修订版（测试用副本）\n", encoding="utf-8")
    monkeypatch.setattr(files, "profile_folder", lambda: altered.parent)
    monkeypatch.chdir(tmp_path)
    assert main(["evaluate", "--json", str(county)]) == 0
    (profile,) = json.loads(capsys.readouterr().out)["provenance"]["profiles"]
    assert profile == {"name": "wuhai-2023", "path": "profiles/wuhai-2023.yaml", "sha256": _sha(altered)}
    assert _sha(altered) != _sha(shipped)
    appendix = report.render_provenance(report.load_report(county)).text
    assert f"参数方案：wuhai-2023：profiles/wuhai-2023.yaml（SHA-256 {_sha(altered)}）" in appendix


def test_provenance_names_no_profile_when_none_is_named(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert read_provenance(evaluate_unit([DEMO / "coal" / "county-yi.yaml"]), None)["profiles"] == []


def test_provenance_of_a_province_lists_every_county_file(monkeypatch):
    monkeypatch.chdir(ROOT)
    unit = evaluate_unit([DEMO / "province.yaml"])
    provenance = read_provenance(unit, None)
    files = [(i["role"], i["path"]) for i in provenance["inputs"]]
    assert files[0] == ("提交文件", "data/demo/province.yaml")
    assert sorted(p for role, p in files if role == "重点县文件") == sorted(
        f"data/demo/counties/{p.name}" for p in (DEMO / "counties").glob("*.yaml")
    )
    assert all(i["sha256"] == _sha(ROOT / i["path"]) for i in provenance["inputs"])
    assert {r["id"] for r in provenance["rubrics"]} == {"noncoal-province", "noncoal-county"}
    assert not any(Path(i["path"]).is_absolute() for i in provenance["inputs"])


def test_the_key_provinces_list_is_read_again_when_it_changes(tmp_path):
    path = tmp_path / "provinces.csv"
    path.write_text("province,note\n河北,\n山西,\n", encoding="utf-8")
    assert read_key_provinces(path) == ("河北", "山西")
    assert read_key_provinces(path) is read_key_provinces(path)  # read once while unchanged
    path.write_text("province,note\n河北,\n山西,\n辽宁,\n", encoding="utf-8")
    assert read_key_provinces(path) == ("河北", "山西", "辽宁")
    path.unlink()
    assert read_key_provinces(path) is None


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
