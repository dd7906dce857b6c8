"""自评 beside 核查: every difference, and whether it alone changes the verdict."""

import copy

import pytest

from minesafe.cli import main
from minesafe.exceptions import InputError
from minesafe.files import read_county_rubric, read_document
from minesafe.stages import compare_stages

from .conftest import DEMO

COAL = DEMO / "coal"


def _data(name):
    return read_document(COAL / name)[0]


def test_demo_verification_differs_in_two_rows_one_decisive():
    rubric = read_county_rubric("coal-county")
    c = compare_stages(_data("county-jia.yaml"), _data("county-jia-verified.yaml"), rubric)
    assert (c.self_assessed.verdict, c.verified.verdict) == ("合格", "不合格")
    assert c.verdicts_differ
    assert [(d.place[:6], d.changes_verdict) for d in c.differences] == [("第 2-1b", True), ("第 2-2a", False)]


def test_target_differences_are_listed(county_data, county_rubric):
    verified = copy.deepcopy(county_data)
    verified["stage"] = "核查"
    verified["targets"]["underground_mines"]["current"] = 50  # 60 -> 50 is below 20 %
    c = compare_stages(county_data, verified, county_rubric)
    (d,) = c.differences
    assert d.place.startswith("T1") and (d.self_assessed, d.verified, d.changes_verdict) == ("45", "50", True)


def test_identical_stages_have_no_differences(county_data, county_rubric):
    assert compare_stages(county_data, dict(county_data, stage="核查"), county_rubric).differences == ()


def test_other_units_are_refused(county_data, county_rubric):
    with pytest.raises(InputError, match="不是同一单位"):
        compare_stages(county_data, dict(county_data, county="别的县"), county_rubric)


def test_cli_compare(capsys):
    assert main(["compare", str(COAL / "county-jia.yaml"), str(COAL / "county-jia-verified.yaml")]) == 0
    out = capsys.readouterr().out
    assert "自评 合格 100分；核查 不合格 90分；差异 2 处" in out and "（改变结论）" in out


def test_the_same_meaning_written_differently_is_no_difference(county_data, county_rubric):
    verified = copy.deepcopy(county_data)
    verified["stage"] = "核查"
    verified["targets"]["underground_mines"]["baseline"] = "60"  # 60 written as text
    verified["targets"]["deaths"]["previous_5_years"] = [str(n) for n in county_data["targets"]["deaths"]["previous_5_years"]]
    verified["items"]["1-1b"] = "完成"  # shorthand for {result: 完成}
    verified["items"]["1-2a"] = {"result": "完成", "note": "核查时补充的说明"}
    assert county_data["targets"]["underground_mines"]["baseline"] == 60 and county_data["items"]["1-1b"] == {"result": "完成"}
    assert compare_stages(county_data, verified, county_rubric).differences == ()


def test_province_files_are_refused_in_chinese(capsys):
    assert main(["compare", str(DEMO / "province.yaml"), str(DEMO / "province.yaml")]) == 2
    err = capsys.readouterr().err
    assert "只适用于重点县或重点企业的提交文件" in err and str(DEMO / "province.yaml") in err and "Traceback" not in err


def test_a_province_file_as_the_verification_is_refused(capsys):
    assert main(["compare", str(DEMO / "counties" / "jia.yaml"), str(DEMO / "province.yaml")]) == 2
    err = capsys.readouterr().err
    assert "核查文件与自评文件所用的评估表不同" in err and "当前值：“noncoal-province”" in err
