"""Params files: shipped examples apply cleanly, overrides reach the rules."""

from fractions import Fraction

import pytest
import yaml

from minesafe.evaluation import evaluate_county
from minesafe.exceptions import InputError, RubricError
from minesafe.params import apply_params
from minesafe.rubric import Category, Outcome, ShareMode
from minesafe.submission import build_county_submission

from .conftest import ROOT

EXAMPLES = sorted((ROOT / "params" / "readings").glob("*.yaml"))
#: A params file's declaration of a non-national rule set: what lets it change what the notice fixes.
NON_NATIONAL = {"national": False, "name": "测试口径"}


def _read_example(name, rubric):
    path = ROOT / "params" / "readings" / f"{name}.yaml"
    return apply_params(rubric, yaml.safe_load(path.read_text(encoding="utf-8")), str(path))


def test_alternative_reading_swaps_two_categories_and_keeps_the_footnote_totals(county_rubric):
    rubric = _read_example("alternative-reading", county_rubric)
    changed = {r.id: r.category for r in rubric.rows if r.category is not county_rubric.row_by_id(r.id).category}
    assert changed == {"2-3c": Category.REFERENCE, "3-7a": Category.VETO}
    counts = {c: len(list(rubric.rows_of(c))) for c in Category}
    assert counts == {c: len(list(county_rubric.rows_of(c))) for c in Category}


def test_rescale_reading_changes_only_the_scoring_of_not_applicable_rows(county_rubric):
    rubric = _read_example("rescale-not-applicable", county_rubric)
    assert (county_rubric.not_applicable_scoring, rubric.not_applicable_scoring) == ("full", "rescale")
    assert rubric.rows == county_rubric.rows and rubric.targets == county_rubric.targets


def test_in_progress_reading_makes_1_1a_in_progress_mines_count_as_realized(county_rubric, county_data):
    """Default: a mine where 一矿一证 is still 正在实施 at year end is not yet realized (未完成)."""
    rubric = _read_example("in-progress-counts-as-realized", county_rubric)
    county_data["items"]["1-1a"] = {"realized": 8, "in_progress": 2, "not_realized": 0, "not_realized_share": 0}
    default = evaluate_county(build_county_submission(county_data, county_rubric), county_rubric)
    reading = evaluate_county(build_county_submission(county_data, rubric), rubric)
    assert next(i for i in default.items if i.row.id == "1-1a").outcome is Outcome.FAILED
    assert next(i for i in reading.items if i.row.id == "1-1a").outcome is Outcome.COMPLETED
    assert (default.passed, reading.passed) == (False, True)
    changed = [r.id for r in rubric.rows if r != county_rubric.row_by_id(r.id)]
    assert changed == ["1-1a"]


def test_two_years_before_reading_moves_the_baseline_with_the_year(county_rubric):
    rubric = _read_example("two-years-before", county_rubric)
    assert [county_rubric.baseline_for(y) for y in (2022, 2023)] == [2020, 2020]
    assert [rubric.baseline_for(y) for y in (2022, 2023)] == [2020, 2021]
    assert rubric.rows == county_rubric.rows and rubric.targets == county_rubric.targets


def test_every_shipped_reading_is_tested():
    assert {p.stem for p in EXAMPLES} == {
        "alternative-reading",
        "rescale-not-applicable",
        "in-progress-counts-as-realized",
        "two-years-before",
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"baseline_reading": "relative"}, "基准年读法写法有误"),
        ({"field_roles": {"9-9z": {"x": "info"}}}, "评估表中没有这一行"),
        ({"field_roles": {"1-1a": {"nope": "info"}}}, "第 1-1a 行没有这个填报项"),
        ({"field_roles": {"1-1a": {"in_progress": "maybe"}}}, "填报项作用写法有误"),
    ],
)
def test_bad_readings_are_refused(county_rubric, params, message):
    with pytest.raises(InputError, match=message):
        apply_params(county_rubric, params)


def test_no_params_is_the_rubric_itself(county_rubric):
    assert apply_params(county_rubric, None) is county_rubric
    assert apply_params(county_rubric, {}) is county_rubric


def test_overrides_reach_targets_and_pass_score(county_rubric):
    rubric = apply_params(
        county_rubric,
        {"pass_score": 85, "targets": {"T1": {"bound": "25%"}, "T3": {"mode": "points"}, "T4": {"years": 3}}} | NON_NATIONAL,
    )
    targets = {t.id: t for t in rubric.targets}
    assert targets["T1"].bound == Fraction(1, 4)
    assert targets["T3"].mode is ShareMode.POINTS
    assert targets["T4"].years == 3
    assert rubric.pass_score == 85
    assert county_rubric.pass_score != 85  # the shipped rubric is untouched


def test_years_override_changes_the_history_asked_for(county_rubric, county_data):
    rubric = apply_params(county_rubric, {"targets": {"T4": {"years": 3}}} | NON_NATIONAL)
    with pytest.raises(InputError, match="3 个非负整数"):
        build_county_submission(county_data, rubric)
    county_data["targets"]["deaths"]["previous_5_years"] = [1, 2, 3]
    assert build_county_submission(county_data, rubric)


def test_baseline_year_override_moves_the_earliest_year(county_rubric, county_data):
    rubric = apply_params(county_rubric, {"baseline_year": 2022} | NON_NATIONAL)
    with pytest.raises(InputError, match="2023～2100"):
        build_county_submission(county_data, rubric)


def test_category_may_become_scored_only_with_points(county_rubric):
    with pytest.raises(InputError, match="须给出分值"):
        apply_params(county_rubric, {"categories": {"3-7a": "scored"}})
    with pytest.raises(RubricError, match="评分项总分合计为 103"):
        apply_params(county_rubric, {"categories": {"3-7a": {"category": "scored", "points": 3}}})


def test_swapping_a_veto_and_a_reference_row_keeps_the_totals(county_rubric):
    rubric = apply_params(county_rubric, {"categories": {"2-1a": "reference", "3-7d": "veto"}})
    assert rubric.row_by_id("3-7d").category is Category.VETO


def test_a_moved_baseline_year_renames_the_targets_that_compare_with_it(county_rubric):
    """``baseline_year: 2021`` compares with 2021: the form's names (比2020年) say 2021 too, for the
    county and for the province that takes its targets; untouched, they still say 2020."""
    from minesafe.files import read_rubric

    moved = apply_params(county_rubric, {"baseline_year": 2021} | NON_NATIONAL, "（测试参数）")
    province = read_rubric("noncoal-province", targets_from=moved)
    compared = [t for t in county_rubric.targets if "2020年" in t.name]
    assert compared  # the form names its baseline year
    for rubric in (moved, province):
        names = {t.id: rubric.name_target(t, 2023).name for t in rubric.targets}
        assert all("2021年" in names[t.id] and "2020年" not in names[t.id] for t in compared)
        assert rubric.name_target(compared[0]).name == compared[0].name.replace("2020年", "2021年")  # blank form
    assert [county_rubric.name_target(t, 2023).name for t in compared] == [t.name for t in compared]


# --- What the notice fixes cannot be loosened silently (issue 17 §3) -------------------------------

#: A failing county turned 合格 by a params file that keeps the 29/30/13 totals: 4-2c (■, line 362)
#: a reference item, 3-7b (an inferred reference row) a veto item in its place.
RECATEGORISED = {"categories": {"4-2c": "reference", "3-7b": "veto"}}


@pytest.mark.parametrize(
    ("params", "key", "place"),
    [
        (RECATEGORISED, "categories.4-2c", "原文第 362 行"),
        (
            {"field_roles": {"4-2c": {"fork_grab_cars_in_use": "compliant"}}},
            "field_roles.4-2c.fork_grab_cars_in_use",
            "原文第 362 行",
        ),
        ({"field_roles": {"1-1b": {"risky_systems": "info"}}}, "field_roles.1-1b.risky_systems", "原文第 301 行"),
        ({"pass_score": 70}, "pass_score", "原文第 253、386 行"),
        ({"pass_score": 90}, "pass_score", "原文第 253、386 行"),  # stricter is still not the national form
        ({"targets": {"T1": {"bound": "19.99%"}}}, "targets.T1.bound", "原文第 243、289 行"),
        ({"targets": {"T3": {"bound": "10%"}}}, "targets.T3.bound", "原文第 243、291 行"),
        ({"targets": {"T4": {"years": 3}}}, "targets.T4.years", "原文第 243、292 行"),
        ({"baseline_year": 2021}, "baseline_year", "原文第 289、290、291 行"),
    ],
)
def test_changing_what_the_notice_fixes_is_refused_naming_the_key_and_the_line(county_rubric, params, key, place):
    with pytest.raises(InputError) as info:
        apply_params(county_rubric, {"evaluation": params}, "p.yaml")
    text = str(info.value)
    assert f"键 evaluation.{key}：" in text and place in text and "national: false" in text, text
    assert apply_params(county_rubric, params | NON_NATIONAL).rule_set == "测试口径"  # declared: accepted


@pytest.mark.parametrize(
    "params",
    [
        {"categories": {"2-3c": "reference", "3-7a": "veto"}},  # the inferred rows' other reading
        {"field_roles": {"1-1a": {"in_progress": "compliant"}}},  # 1-1a 正在实施, documented
        {"targets": {"T3": {"mode": "points"}, "T1": {"bound": "20%"}, "T4": {"years": 5}}},  # T3 mode; bounds as set
        {"not_applicable_scoring": "rescale", "baseline_reading": "two-years-before", "pass_score": 80},
        {"field_roles": {"4-2c": {"fork_grab_cars_in_use": "noncompliant"}}, "baseline_year": 2020},  # unchanged
    ],
)
def test_the_readings_the_notice_leaves_open_stay_national(county_rubric, params):
    rubric = apply_params(county_rubric, params)
    assert (rubric.rule_set, rubric.departures, rubric.notices) == ("", (), [])


@pytest.mark.parametrize(
    ("params", "key", "message"),
    [
        ({"national": False}, "name", "须写明名称"),
        ({"national": False, "name": "  "}, "name", "须写明名称"),
        ({"national": "否", "name": "x"}, "national", "true 或 false"),
        ({"name": "某省口径"}, "name", "只用于非国家评估表口径"),
    ],
)
def test_a_non_national_rule_set_must_be_declared_with_its_name(county_rubric, params, message, key):
    with pytest.raises(InputError) as info:
        apply_params(county_rubric, params)
    assert f"键 {key}：" in str(info.value) and message in str(info.value)


@pytest.mark.parametrize(
    ("params", "key", "message"),
    [
        ({"targets": {"T1": {"bound": "150%"}}}, "targets.T1.bound", "不可能达到"),
        ({"targets": {"T4": {"bound": "100.01%"}}}, "targets.T4.bound", "不可能达到"),
        ({"targets": {"T3": {"mode": "points", "bound": "101%"}}}, "targets.T3.bound", "不可能达到"),
        ({"targets": {"T3": {"bound": "-10%"}}}, "targets.T3.bound", "必须大于0"),
        ({"pass_score": 101}, "pass_score", "0 到 100"),
        ({"pass_score": -5}, "pass_score", "0 到 100"),
    ],
)
def test_impossible_values_are_refused_even_in_a_non_national_rule_set(county_rubric, params, key, message):
    with pytest.raises(InputError) as info:
        apply_params(county_rubric, params | NON_NATIONAL)
    assert f"键 {key}：" in str(info.value) and message in str(info.value), str(info.value)


def test_impossible_bounds_end_exactly_at_100_percent(county_rubric):
    """A count can fall by all of it (every mine closed) and a share rise by 100 points; a relative
    rise of a share has no such limit (10 % → 25 % is +150 %)."""
    rubric = apply_params(county_rubric, {"targets": {"T1": {"bound": "100%"}, "T3": {"bound": "150%"}}} | NON_NATIONAL)
    assert {t.id: t.bound for t in rubric.targets if t.id in ("T1", "T3")} == {"T1": 1, "T3": Fraction(3, 2)}


@pytest.mark.parametrize(("value", "message"), [("-10%", "0%～100%"), ("100.5%", "0%～100%"), (-1, "非负整数")])
def test_a_profile_threshold_no_unit_can_meet_is_refused(value, message):
    from minesafe.files import read_rubric

    head = {"name": "t", "level": "市", "document": "某文件", "applies_to": "coal-county"}
    name = "professional_staff_share" if isinstance(value, str) else "study_meetings_per_year"
    with pytest.raises(InputError) as info:
        apply_params(read_rubric("coal-county"), {"profile": head, "thresholds": {name: {"value": value}}})
    assert f"键 thresholds.{name}" in str(info.value) and message in str(info.value), str(info.value)


def test_a_non_national_rule_set_is_said_in_every_output(county_rubric, county_data):
    """The county fails on 4-2c (■); a declared rule set that makes 4-2c a reference item passes it,
    and the CLI text, the JSON (a flag per change), the report's notices, the table of results and
    the overview all say 非国家评估表口径 with each change."""
    from minesafe.frames import results_frame
    from minesafe.overview import summarize_results
    from minesafe.rendering import format_result_text, result_to_dict
    from minesafe.report import report_notices

    county_data["items"]["4-2c"] = {"fork_grab_cars_in_use": 1, "single_rope_hoists_in_use": 0}
    national = evaluate_county(build_county_submission(county_data, county_rubric), county_rubric)
    assert national.passed is False
    rubric = apply_params(county_rubric, RECATEGORISED | {"national": False, "name": "某省试行口径"})
    result = evaluate_county(build_county_submission(county_data, rubric), rubric)
    assert result.passed is True
    changes = ["第 4-2c 行类别 ■ 否决项→/ 参考项"]  # 3-7b is an inferred row: no change to what is fixed
    assert rubric.departures == tuple(changes)
    data = result_to_dict(result)
    assert data["rule_set"] == "某省试行口径"
    assert [r["text"] for r in data["reasons"] if r["kind"] == "flag" and r["id"] == "rule_set"] == [
        f"非国家评估表口径：某省试行口径，{c}" for c in changes
    ]
    banner = "【非国家评估表口径：某省试行口径（第 4-2c 行类别 ■ 否决项→/ 参考项）】"
    assert banner in format_result_text(result).splitlines()
    assert banner in report_notices(result)
    table = results_frame([(data, "r.json"), (result_to_dict(national), "n.json")])
    assert list(table["评估口径"]) == ["非国家评估表口径：某省试行口径（第 4-2c 行类别 ■ 否决项→/ 参考项）", ""]
    assert "其中按非国家评估表口径评估的：示例省 示例甲县（非国家评估表口径：某省试行口径" in summarize_results(table[:1])
    assert "非国家" not in summarize_results(table[1:])


@pytest.mark.parametrize(
    ("beside", "key"),
    [
        ({"national": False, "name": "某省试行口径"}, "national"),  # the rule set declared where it is never read
        ({"baseline_reading": "two-years-before"}, "baseline_reading"),  # 2021's counts read as 2020's
        ({"foo": 1}, "foo"),
    ],
)
def test_a_key_beside_evaluation_is_refused_not_ignored(county_rubric, beside, key):
    """With an ``evaluation:`` block, keys beside it were passed over without a word: a reading or
    a rule set the file states was not the one applied. Only ``season`` (the calendar) may be there."""
    with pytest.raises(InputError) as refused:
        apply_params(county_rubric, {"evaluation": {"not_applicable_scoring": "full"}} | beside)
    assert f"键 {key}：参数写在了 evaluation 之外，不会生效" in str(refused.value), str(refused.value)
    assert apply_params(county_rubric, {"evaluation": {}, "season": {"deadlines": {"核查": "03-01"}}}).pass_score == 80
