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
