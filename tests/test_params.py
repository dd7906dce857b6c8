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
        {"pass_score": 85, "targets": {"T1": {"bound": "25%"}, "T3": {"mode": "points"}, "T4": {"years": 3}}},
    )
    targets = {t.id: t for t in rubric.targets}
    assert targets["T1"].bound == Fraction(1, 4)
    assert targets["T3"].mode is ShareMode.POINTS
    assert targets["T4"].years == 3
    assert rubric.pass_score == 85
    assert county_rubric.pass_score != 85  # the shipped rubric is untouched


def test_years_override_changes_the_history_asked_for(county_rubric, county_data):
    rubric = apply_params(county_rubric, {"targets": {"T4": {"years": 3}}})
    with pytest.raises(InputError, match="3 个非负整数"):
        build_county_submission(county_data, rubric)
    county_data["targets"]["deaths"]["previous_5_years"] = [1, 2, 3]
    assert build_county_submission(county_data, rubric)


def test_baseline_year_override_moves_the_earliest_year(county_rubric, county_data):
    rubric = apply_params(county_rubric, {"baseline_year": 2022})
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

    moved = apply_params(county_rubric, {"baseline_year": 2021}, "（测试参数）")
    province = read_rubric("noncoal-province", targets_from=moved)
    compared = [t for t in county_rubric.targets if "2020年" in t.name]
    assert compared  # the form names its baseline year
    for rubric in (moved, province):
        names = {t.id: rubric.name_target(t, 2023).name for t in rubric.targets}
        assert all("2021年" in names[t.id] and "2020年" not in names[t.id] for t in compared)
        assert rubric.name_target(compared[0]).name == compared[0].name.replace("2020年", "2021年")  # blank form
    assert [county_rubric.name_target(t, 2023).name for t in compared] == [t.name for t in compared]
