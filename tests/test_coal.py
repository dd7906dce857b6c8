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
from minesafe.files import read_county_rubric, read_rubric
from minesafe.params import apply_params
from minesafe.report import load_report, render_thresholds
from minesafe.results import evaluate
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


FORMS = ["coal-county", "coal-enterprise"]


def _national_plan(text: str) -> str:
    """The coal plan of 矿安〔2023〕9号 (normalised): from its title to the non-coal plan's."""
    text = _normalise(text)
    start = text.index(_normalise("## 煤矿安全生产重点县(市、区)、重点企业 督导工作方案"))
    return text[start : text.index(_normalise("非煤矿山安全生产重点地区动态管理 及综合评估工作方案"), start)]


def _wuhai_plan(text: str) -> str:
    text = _normalise(text)
    return text[: text.index(_normalise("国家矿山安全监察局文件"))]


@pytest.mark.parametrize("name", FORMS)
def test_provisional_forms_are_sound(name):
    rubric = read_rubric(name)
    assert rubric.provisional and "暂行" in rubric.title
    assert rubric.total_points == rubric.totals.points == 100
    assert len(rubric.targets) + len(list(rubric.rows_of(Category.VETO))) == rubric.totals.veto
    assert all(r.citation for r in rubric.rows)
    assert all(t.source for t in rubric.thresholds.values())
    assert not rubric.profile


@pytest.mark.parametrize("name", FORMS)
def test_no_default_threshold_without_a_national_source(name):
    """Read from the shipped form itself: every number is the nation's and quotes the words that give
    it; a threshold without such words has no number (the evaluator decides, or a profile)."""
    data = yaml.safe_load((ROOT / "minesafe" / "rubrics" / f"{name}.yaml").read_text(encoding="utf-8"))
    for threshold, spec in data["thresholds"].items():
        if spec["value"] is None:
            assert "未规定" in spec["source"], threshold
        else:
            assert spec.get("level", "国家") == "国家" and spec.get("citation"), threshold
            assert "矿安〔2023〕9号" in spec["source"] and "乌能" not in spec["source"], threshold
    origins = {t.name: t.origin for t in read_rubric(name).thresholds.values()}
    assert set(origins.values()) == {"国家方案", "评估人员认定"}


@pytest.mark.parametrize("name", FORMS)
def test_every_row_and_number_cites_the_national_plan(name):
    national = _national_plan(REFERENCE.read_text(encoding="utf-8"))
    rubric = read_rubric(name)
    assert not [(r.id, r.citation) for r in rubric.rows if _normalise(r.citation) not in national]
    numbered = [t for t in rubric.thresholds.values() if t.value is not None]
    assert numbered and not [(t.name, t.citation) for t in numbered if _normalise(t.citation) not in national]


def test_the_profile_cites_the_wuhai_plan():
    wuhai = _wuhai_plan(REFERENCE.read_text(encoding="utf-8"))
    rubric = read_county_rubric("coal-county", PROFILE)
    added = [r for r in rubric.rows if read_rubric("coal-county").row_by_id(r.id) is None]
    assert added and not [(r.id, r.citation) for r in added if _normalise(r.citation) not in wuhai]
    set_by_city = [t for t in rubric.thresholds.values() if t.profile]
    assert set_by_city and not [(t.name, t.citation) for t in set_by_city if _normalise(t.citation) not in wuhai]


def test_wuhai_profile_adds_rows_and_numbers():
    default = read_rubric("coal-county")
    wuhai = read_county_rubric("coal-county", PROFILE)
    assert wuhai.profile == "wuhai-2023" and "wuhai-2023" in wuhai.overrides["profile"]
    # Hand-written expectations of the profile: the rows it adds, in table order, and their kinds.
    added = {r.id: r.category for r in wuhai.rows if default.row_by_id(r.id) is None}
    assert added == {
        "1-1b": Category.REFERENCE,
        "2-1c": Category.VETO,
        "3-1b": Category.REFERENCE,
        "3-1c": Category.REFERENCE,
        "3-1d": Category.REFERENCE,
        "4-2c": Category.VETO,
        "6-1c": Category.REFERENCE,
        "7-1c": Category.REFERENCE,
    }
    ids = [r.id for r in wuhai.rows]
    assert ids == sorted(ids, key=lambda i: (int(i[0]), int(i[2]), i[3]))
    assert (wuhai.totals.veto, wuhai.totals.reference) == (default.totals.veto + 2, default.totals.reference + 6)
    assert wuhai.total_points == default.total_points == 100
    # Numbers the nation leaves open, now the city's; the nation's own numbers untouched.
    assert default.thresholds["professional_staff_share"].value is None
    assert (wuhai.thresholds["professional_staff_share"].text, wuhai.thresholds["professional_staff_share"].origin) == (
        "75%",
        "市级参数方案 乌能局发〔2023〕17号",
    )
    assert wuhai.thresholds["risk_assessments_per_year"].text == "12"
    assert wuhai.thresholds["risk_warnings_per_year"].origin == "评估人员认定"  # Wuhai gives no count either
    for name, threshold in default.thresholds.items():
        if threshold.value is not None:
            assert wuhai.thresholds[name] == threshold, name


@pytest.mark.parametrize(
    ("part", "whole", "outcome"),
    [(15, 20, Outcome.COMPLETED), (14, 20, Outcome.FAILED), (0, 0, Outcome.NOT_APPLICABLE), (3, 4, Outcome.COMPLETED)],
)
def test_share_measure_at_its_threshold(part, whole, outcome):
    rubric = read_county_rubric("coal-county", PROFILE)  # 75 %
    row = rubric.row_by_id("2-2a")
    assert derive_row_outcome(row, {"professional_staff": part, "supervisors": whole}, rubric)[0] is outcome


def test_count_measures_at_their_thresholds():
    rubric = read_county_rubric("coal-county", PROFILE)
    consult = rubric.row_by_id("4-1a")
    assert derive_row_outcome(consult, {"risk_consultations": 12}, rubric)[0] is Outcome.COMPLETED
    assert derive_row_outcome(consult, {"risk_consultations": 11}, rubric)[0] is Outcome.FAILED
    producing = rubric.row_by_id("4-2c")
    assert derive_row_outcome(producing, {"producing_with_major_hazard": 0}, rubric)[0] is Outcome.COMPLETED
    assert derive_row_outcome(producing, {"producing_with_major_hazard": 1}, rubric)[0] is Outcome.FAILED


def test_a_threshold_the_nation_does_not_give_is_left_to_the_evaluator(tmp_path):
    rubric = read_rubric("coal-county")
    outcome, why = derive_row_outcome(rubric.row_by_id("4-1a"), {"risk_consultations": 100}, rubric)
    assert outcome is None and "未规定" in why and "评估人员认定" in why
    data = yaml.safe_load((COAL / "county-yi.yaml").read_text(encoding="utf-8"))
    del data["items"]["4-1a"]["result"]  # counts alone cannot decide it
    (tmp_path / "county.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InputError) as info:
        evaluate(tmp_path / "county.yaml")
    assert "items.4-1a.result" in str(info.value) and "国家方案未规定" in str(info.value)
    result = evaluate(COAL / "county-yi.yaml")  # the evaluator's 未完成 decides, and says why
    reason = next(r.text for r in result.reasons if r.id == "4-1a")
    assert "评估认定“未完成”" in reason and "评估人员认定" in reason


def _documented(path):
    return re.search(r"：(不?合格)$", path.read_text(encoding="utf-8").splitlines()[0]).group(1)


@pytest.mark.parametrize("path", sorted(COAL.glob("*.yaml")), ids=lambda p: p.stem)
def test_demo_coal_units_reach_their_documented_verdicts(path, capsys):
    assert main(["evaluate", "--json", str(path)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["verdict"] == _documented(path)
    assert result["provisional"] is True
    assert ("enterprise" in result) == (result["rubric"] == "coal-enterprise")


def test_jia_is_filled_against_the_wuhai_profile(tmp_path):
    """甲 names its profile, so it evaluates alike with or without --params, and only under it."""
    jia = COAL / "county-jia.yaml"
    assert evaluate(jia).rubric.profile == evaluate(jia, PROFILE).rubric.profile == "wuhai-2023"
    (tmp_path / "other.yaml").write_text(
        "evaluation:\n  profile: {name: other, level: 省, document: 某省方案, applies_to: coal-county}\n", encoding="utf-8"
    )
    with pytest.raises(InputError, match="提交文件所按的参数方案与评估所用的不符"):
        evaluate(jia, tmp_path / "other.yaml")
    data = yaml.safe_load(jia.read_text(encoding="utf-8")) | {"profile": "nowhere-2023"}
    (tmp_path / "county.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InputError, match="不是 minesafe 自带的参数方案名称"):
        evaluate(tmp_path / "county.yaml")


def test_text_output_says_the_form_is_provisional(capsys):
    main(["evaluate", str(COAL / "enterprise.yaml")])
    assert "【暂行评估表】" in capsys.readouterr().out


def test_report_names_each_thresholds_source():
    text = render_thresholds(load_report(COAL / "county-jia.yaml")).text
    assert "监管人员中专业技术人员的比例：75%（市级参数方案 乌能局发〔2023〕17号）" in text
    assert "重大隐患挂牌督办占比：100%（国家方案）" in text
    assert "每年发布重大安全风险预警次数：未规定（评估人员认定）" in text


def test_another_rubric_file_is_a_params_change(tmp_path):
    """Swap in a different coal-county form (as the official one will be): no code change."""
    data = yaml.safe_load((ROOT / "minesafe" / "rubrics" / "coal-county.yaml").read_text(encoding="utf-8"))
    data["version"] = "2024.official"
    data["pass_score"] = 100
    (tmp_path / "official.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    params = tmp_path / "params.yaml"
    params.write_text("evaluation:\n  rubric_file: official.yaml\n", encoding="utf-8")
    county = COAL / "county-yi.yaml"
    default, official = evaluate(county), evaluate(county, params)
    assert official.rubric.version == "2024.official" and official.rubric.pass_score == 100
    assert default.rubric.version != official.rubric.version
    data["id"] = "something-else"
    (tmp_path / "official.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InputError, match="与提交文件要求的 coal-county 不符"):
        evaluate(county, params)


PROFILE_HEAD = {"name": "测试方案", "level": "市", "document": "某市方案", "applies_to": "coal-county"}
ROW = {
    "id": "1-1b",
    "section": 1,
    "task": 1,
    "category": "veto",
    "requirement": "某项要求",
    "citation": "某市方案原文",
    "fill_in": "数量( )",
    "fields": [{"key": "n", "label": "数量"}],
    "measure": {"rule": "count_at_least", "count": "n", "threshold": "new_min"},
}


@pytest.mark.parametrize(
    ("params", "place", "message"),
    [
        ({"thresholds": {"professional_staff_share": "75%"}}, "evaluation.thresholds", "须写明参数方案的来源"),
        ({"profile": PROFILE_HEAD | {"level": "国家"}}, "evaluation.profile.level", "参数方案的层级写法有误"),
        ({"profile": PROFILE_HEAD | {"applies_to": "coal-enterprise"}}, "evaluation.profile.applies_to", "不能用于 coal-county"),
        ({"thresholds": {"hazard_listing": "50%"}}, "evaluation.thresholds.hazard_listing", "由国家方案规定为 100%"),
        ({"thresholds": {"professional_staff_share": 75}}, "evaluation.thresholds.professional_staff_share", "应写成百分数"),
        ({"thresholds": {"study_meetings_per_year": "2%"}}, "evaluation.thresholds.study_meetings_per_year", "应为非负整数"),
        ({"thresholds": {"nope": 1}}, "evaluation.thresholds.nope", "评估表中没有这个阈值"),
        ({"add_thresholds": {"deaths_max": {"value": 1, "label": "x"}}}, "evaluation.add_thresholds.deaths_max", "已有这个阈值"),
        ({"add_thresholds": {"new_min": {"value": 1}}}, "evaluation.add_thresholds.new_min.label", "须写明名称"),
        ({"add_rows": [ROW | {"category": "scored", "points": 5}]}, "evaluation.add_rows[0].category", "只能增补否决项或参考项"),
        ({"add_rows": [ROW]}, "evaluation.add_rows[0]", "阈值 new_min 未定义"),
        ({"add_rows": [ROW | {"id": "1-1a"}]}, "evaluation.add_rows[0].id", "评估表中已有这一行"),
        ({"add_rows": [ROW | {"section": 9}]}, "evaluation.add_rows[0].section", "没有这一部分"),
        ({"add_rows": [ROW | {"section": [1]}]}, "evaluation.add_rows[0].section", "没有这一部分"),
        ({"add_rows": [ROW | {"task": {"a": 1}}]}, "evaluation.add_rows[0].task", "重点任务编号有误"),
        (
            {"add_rows": [{k: v for k, v in ROW.items() if k != "citation"}]},
            "evaluation.add_rows[0].citation",
            "须注明依据的原文",
        ),
        ({"add_rows": {"1-1b": ROW}}, "evaluation.add_rows", "add_rows 应为列表"),
    ],
)
def test_a_bad_profile_says_what_and_where(params, place, message):
    if place != "evaluation.thresholds":  # that case is a profile's keys without a profile
        params = {"profile": PROFILE_HEAD, **params}
    with pytest.raises(InputError) as info:
        apply_params(read_rubric("coal-county"), {"evaluation": params})
    text = str(info.value)
    assert f"键 {place}" in text and message in text, text


def test_a_bad_profile_is_exit_2_with_every_problem(tmp_path, capsys):
    bad = {"evaluation": {"profile": PROFILE_HEAD | {"level": "县"}, "thresholds": {"hazard_listing": "50%"}}}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad, allow_unicode=True), encoding="utf-8")
    assert main(["evaluate", str(COAL / "county-yi.yaml"), "--params", str(tmp_path / "bad.yaml")]) == 2
    err = capsys.readouterr().err
    assert "evaluation.profile.level" in err and "evaluation.thresholds.hazard_listing" in err


def test_enterprise_workbook_round_trip(tmp_path):
    book = tmp_path / "enterprise.xlsx"
    assert main(["template", "--from", str(COAL / "enterprise.yaml"), "--out", str(book)]) == 0
    shutil.copy(book, tmp_path / "copy.xlsx")
    assert evaluate(book).passed == evaluate(COAL / "enterprise.yaml").passed


# --- The Wuhai profile governs what it governs (issue 17 §5) ---------------------------------------


def _jia(tmp_path, **changes):
    data = yaml.safe_load((COAL / "county-jia.yaml").read_text(encoding="utf-8")) | changes
    path = tmp_path / "jia.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return data, path


def test_the_wuhai_profile_leaves_1_1a_to_the_evaluator(tmp_path):
    """ "市能源局主要负责人每月至少研究1次煤矿安全生产" is the city bureau head's duty, not the county
    government's: the county's 1-1a keeps no number, and counts alone do not decide it."""
    rubric = read_county_rubric("coal-county", None, "wuhai-2023")
    assert rubric.thresholds["study_meetings_per_year"].value is None
    assert rubric.thresholds["professional_staff_share"].value is not None  # the profile's other numbers stay
    data, path = _jia(tmp_path)
    data["items"]["1-1a"] = {"study_meetings": 12}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InputError) as info:
        evaluate(path)
    assert "items.1-1a" in str(info.value)


@pytest.mark.parametrize(
    ("county", "year", "flagged"),
    [("乌海市海南区", 2023, False), ("海南区", 2023, False), ("乌海市海南区", 2024, True), ("示例煤矿县甲", 2023, True)],
)
def test_the_wuhai_profile_outside_2023_and_hainan_is_flagged(tmp_path, county, year, flagged):
    _, path = _jia(tmp_path, county=county, year=year)
    result = evaluate(path)
    flags = [r.text for r in result.reasons if r.id == "profile"]
    assert bool(flags) is flagged
    if flagged:
        assert flags[0].startswith("参数方案（乌能局发〔2023〕17号")
        assert f"适用于2023年的乌海市海南区；本单位为 {county} {year}年，不在其适用范围内" in flags[0]
