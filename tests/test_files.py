"""Bad input: a clear Chinese message naming file, place, value and what is expected; exit 2."""

import json

import pytest

from minesafe.cli import main
from minesafe.exceptions import InputError, InputErrors
from minesafe.files import atomic_write, evaluate_file

from .conftest import DATA, DEMO

INVALID = DATA / "invalid"

# file -> fragments its message must contain (place, bad value, expectation)
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
    "county_yaml_syntax.yaml": ["第 9 行", "YAML 格式错误"],
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
}


@pytest.mark.parametrize(("name", "fragments"), CATALOGUE.items())
def test_bad_input_is_explained(name, fragments, capsys):
    path = INVALID / name
    assert main(["evaluate", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert str(path) in err
    for fragment in fragments:
        assert fragment in err
    assert "Traceback" not in err


def test_every_problem_in_a_file_is_reported_at_once():
    with pytest.raises(InputError) as info:
        evaluate_file(INVALID / "county_many_problems.yaml")
    places = [p.path for p in info.value.problems]
    assert ("year",) in places
    assert ("targets", "underground_mines", "current") in places
    assert ("items", "1-1a", "result") in places
    assert ("items", "5-5b") in places
    assert len(info.value.problems) == 4


def test_province_reports_problems_of_every_file():
    with pytest.raises(InputErrors) as info:
        evaluate_file(INVALID / "province_bad_counties.yaml")
    text = str(info.value)
    assert "找不到重点县文件" in text and "no_such_county.yaml" in text
    assert "评估年度与本省文件不一致" in text and "当前值：2023" in text
    assert "county_negative_count.yaml" in text and "当前值：-3" in text


def test_several_files_evaluate_the_good_and_report_the_bad(capsys):
    status = main(["evaluate", "--json", str(DEMO / "counties" / "jia.yaml"), str(INVALID / "county_wrong_year.yaml")])
    out, err = capsys.readouterr()
    assert status == 2
    assert json.loads(out)["county"] == "示例甲县"
    assert "county_wrong_year.yaml" in err


def test_json_input_is_accepted(tmp_path, county_data):
    path = tmp_path / "county.json"
    path.write_text(json.dumps(county_data, ensure_ascii=False), encoding="utf-8")
    assert evaluate_file(path).passed


def test_broken_json_names_the_line(tmp_path):
    path = tmp_path / "county.json"
    path.write_text('{"rubric": "noncoal-county",\n "year": }', encoding="utf-8")
    with pytest.raises(InputError, match="第 2 行"):
        evaluate_file(path)


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
