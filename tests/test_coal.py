"""Coal key units: the 2023 lists, the provisional forms and their profile, demo units, rubric swap."""

import csv
import json
import re
import shutil

import pytest
import yaml

from minesafe.cli import main
from minesafe.evaluation import derive_row_outcome
from minesafe.exceptions import InputError
from minesafe.files import evaluate_file, read_county_rubric, read_rubric
from minesafe.params import apply_params
from minesafe.rubric import Category, Outcome

from .conftest import DEMO, REFERENCE, ROOT
from .test_rubric import _normalise

LISTS = ROOT / "data" / "lists"
COAL = DEMO / "coal"
PROFILE = ROOT / "params" / "profiles" / "wuhai-2023.yaml"


def _rows(name):
    with (LISTS / name).open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_list_counts():
    counties, enterprises = _rows("coal-key-counties-2023.csv"), _rows("coal-key-enterprises-2023.csv")
    assert len(counties) == 38
    assert len(enterprises) == 18
    groups = [e["group"] for e in enterprises]
    assert groups.count("黑龙江龙煤矿业控股集团") == 2 and groups.count("陕西煤业化工集团") == 2
    assert len({e["group"] for e in enterprises}) == 16
    assert [p["province"] for p in _rows("noncoal-key-provinces-2021.csv")] == [
        "河北",
        "内蒙古",
        "辽宁",
        "山东",
        "广西",
        "四川",
        "陕西",
        "山西",
    ]


def test_list_names_match_the_reference():
    text = _normalise(REFERENCE.read_text(encoding="utf-8"))
    annex = text[text.rindex("煤矿安全生产重点督导县市区企业名单") :]
    for row in _rows("coal-key-counties-2023.csv"):
        for key in ("province", "city", "county"):
            assert _normalise(row[key]) in annex, row
    for row in _rows("coal-key-enterprises-2023.csv"):
        assert _normalise(row["group"]) in annex and _normalise(row["enterprise"]) in annex, row
    for row in _rows("noncoal-key-provinces-2021.csv"):
        assert row["province"] in text


@pytest.mark.parametrize("name", ["coal-county", "coal-enterprise"])
def test_provisional_forms_are_sound(name):
    rubric = read_rubric(name)
    assert rubric.provisional and "暂行" in rubric.title
    assert rubric.total_points == rubric.totals.points == 100
    assert len(rubric.targets) + len(list(rubric.rows_of(Category.VETO))) == rubric.totals.veto
    assert all(r.citation for r in rubric.rows)
    assert all(t.source for t in rubric.thresholds.values())


@pytest.mark.parametrize("name", ["coal-county", "coal-enterprise"])
def test_every_row_cites_the_reference(name):
    text = _normalise(REFERENCE.read_text(encoding="utf-8"))
    missing = [(r.id, r.citation) for r in read_rubric(name).rows if _normalise(r.citation) not in text]
    assert not missing


def test_wuhai_profile_sets_the_citys_numbers():
    default = read_rubric("coal-county")
    wuhai = read_county_rubric("coal-county", PROFILE)
    profile = yaml.safe_load(PROFILE.read_text(encoding="utf-8"))["evaluation"]["thresholds"]
    for name, value in profile.items():
        assert wuhai.thresholds[name].text == str(value), name
    assert default.thresholds["onsite_supervisions_per_year"].value == 4  # national: every quarter
    assert wuhai.thresholds["onsite_supervisions_per_year"].value == 6  # Wuhai: every two months
    assert wuhai.thresholds["professional_staff_share"].text == "75%"


@pytest.mark.parametrize(
    ("part", "whole", "outcome"),
    [(15, 20, Outcome.COMPLETED), (14, 20, Outcome.FAILED), (0, 0, Outcome.NOT_APPLICABLE), (3, 4, Outcome.COMPLETED)],
)
def test_share_measure_at_its_threshold(part, whole, outcome):
    rubric = read_county_rubric("coal-county", PROFILE)  # 75 %
    row = rubric.row_by_id("2-2a")
    assert derive_row_outcome(row, {"professional_staff": part, "supervisors": whole}, rubric)[0] is outcome


def test_count_measures_at_their_thresholds():
    rubric = read_rubric("coal-county")
    consult = rubric.row_by_id("4-1a")
    need = int(rubric.thresholds["risk_consultations_per_year"].value)
    assert derive_row_outcome(consult, {"risk_consultations": need}, rubric)[0] is Outcome.COMPLETED
    assert derive_row_outcome(consult, {"risk_consultations": need - 1}, rubric)[0] is Outcome.FAILED
    producing = rubric.row_by_id("4-2c")
    assert derive_row_outcome(producing, {"producing_with_major_hazard": 1}, rubric)[0] is Outcome.FAILED


def _documented(path):
    return re.search(r"：(不?合格)$", path.read_text(encoding="utf-8").splitlines()[0]).group(1)


@pytest.mark.parametrize("path", sorted(COAL.glob("*.yaml")), ids=lambda p: p.stem)
def test_demo_coal_units_reach_their_documented_verdicts(path, capsys):
    assert main(["evaluate", "--json", str(path)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["verdict"] == _documented(path)
    assert result["provisional"] is True
    assert ("enterprise" in result) == (result["rubric"] == "coal-enterprise")


def test_text_output_says_the_form_is_provisional(capsys):
    main(["evaluate", str(COAL / "enterprise.yaml")])
    assert "【暂行评估表】" in capsys.readouterr().out


def test_another_rubric_file_is_a_params_change(tmp_path):
    """Swap in a different coal-county form (as the official one will be): no code change."""
    data = yaml.safe_load((ROOT / "minesafe" / "rubrics" / "coal-county.yaml").read_text(encoding="utf-8"))
    data["version"] = "2024.official"
    data["pass_score"] = 100
    (tmp_path / "official.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    params = tmp_path / "params.yaml"
    params.write_text("evaluation:\n  rubric_file: official.yaml\n", encoding="utf-8")
    county = COAL / "county-yi.yaml"
    default, official = evaluate_file(county), evaluate_file(county, params)
    assert official.rubric.version == "2024.official" and official.rubric.pass_score == 100
    assert default.rubric.version != official.rubric.version
    data["id"] = "something-else"
    (tmp_path / "official.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InputError, match="与提交文件要求的 coal-county 不符"):
        evaluate_file(county, params)


def test_thresholds_in_params_are_checked(tmp_path):
    with pytest.raises(InputError) as info:
        apply_params(
            read_rubric("coal-county"), {"thresholds": {"professional_staff_share": 75, "nope": 1, "talks_per_year": "2%"}}
        )
    text = str(info.value)
    assert "应写成百分数" in text and "没有这个阈值" in text and "应为非负整数" in text


def test_enterprise_workbook_round_trip(tmp_path):
    book = tmp_path / "enterprise.xlsx"
    assert main(["template", "--from", str(COAL / "enterprise.yaml"), "--out", str(book)]) == 0
    shutil.copy(book, tmp_path / "copy.xlsx")
    assert evaluate_file(book).passed == evaluate_file(COAL / "enterprise.yaml").passed
