"""Verdicts, scores, the summary line and reasons of county and province evaluations."""

import json
from fractions import Fraction

import pytest

from minesafe.evaluation import READING_MARK, Verdict, derive_row_outcome, evaluate_county, evaluate_province
from minesafe.exceptions import InputError
from minesafe.params import apply_params
from minesafe.rubric import VERIFIED_STAGES, Category, Outcome
from minesafe.submission import build_county_submission, build_province_submission


def _evaluate(data, rubric):
    return evaluate_county(build_county_submission(data, rubric), rubric)


def _without_readings(result):
    """The reasons but the flags of uncertain readings (the demo counties' T3 is met only in relative
    mode, which each key county's province repeats: tests/test_readings.py)."""
    return [r for r in result.reasons if READING_MARK not in r.text]


def _fail_rows(data, rows):
    for row_id in rows:
        data["items"][row_id] = {"result": "未完成", "note": "测试"}
    return data


def _rows_worth(rows, points):
    """Some of ``rows`` (table order) whose points add up to exactly ``points``."""
    reachable = {0: []}
    for row in rows:
        for total, chosen in list(reachable.items()):
            reachable.setdefault(total + row.points, [*chosen, row.id])
    return reachable[points]


def _scored_rows_worth(rubric, points):
    return _rows_worth(list(rubric.rows_of(Category.SCORED)), points)


def test_everything_completed_passes(county_data, county_rubric):
    result = _evaluate(county_data, county_rubric)
    assert result.passed and result.verdict == "合格"
    assert result.score == county_rubric.total_points
    assert not [r for r in result.reasons if r.kind != "flag"]


def test_summary_line_is_the_forms(county_data, county_rubric):
    result = _evaluate(_fail_rows(county_data, ["4-2c", "1-1c"]), county_rubric)
    veto_rows = len(list(county_rubric.rows_of(Category.VETO))) + len(county_rubric.targets)
    na = result.veto.not_applicable
    assert result.veto.failed == 1
    assert result.veto.completed == veto_rows - 1 - na
    points = county_rubric.total_points - county_rubric.row_by_id("1-1c").points
    assert (
        result.summary
        == f"否决项完成的有 {veto_rows - 1 - na} 项，未完成的有 1 项，不涉及的有 {na} 项；评分项共计得分 {points} 分"
    )


def test_score_exactly_at_pass_score_passes(county_data, county_rubric):
    lost = county_rubric.total_points - int(county_rubric.pass_score)
    result = _evaluate(_fail_rows(county_data, _scored_rows_worth(county_rubric, lost)), county_rubric)
    assert result.score == county_rubric.pass_score
    assert result.passed


def test_score_one_point_below_pass_score_fails(county_data, county_rubric):
    lost = county_rubric.total_points - int(county_rubric.pass_score) + 1
    result = _evaluate(_fail_rows(county_data, _scored_rows_worth(county_rubric, lost)), county_rubric)
    assert result.score == county_rubric.pass_score - 1
    assert not result.passed
    assert [r.kind for r in result.reasons if r.kind == "score"] == ["score"]
    assert len([r for r in result.reasons if r.kind == "points"]) == len(_scored_rows_worth(county_rubric, lost))


@pytest.mark.parametrize("scoring", ["full", "rescale"])
@pytest.mark.parametrize("below", [False, True])
def test_the_below_the_pass_score_reason_at_exactly_the_pass_score(county_data, county_rubric, scoring, below):
    """No score reason at exactly the pass score; the exact reason just below it (80 − ε)."""
    rubric = apply_params(county_rubric, {"not_applicable_scoring": scoring})
    pass_share = rubric.pass_score / rubric.total_points
    na = _scored_rows_worth(rubric, 10 if scoring == "rescale" else 0)  # 90 applicable points: 80 % is whole
    for row_id in na:
        county_data["items"][row_id] = "不涉及"
    rest = [r for r in rubric.rows_of(Category.SCORED) if r.id not in na]
    applicable = sum(r.points for r in rest)
    lose = int(applicable * (1 - pass_share)) + below  # one point more is below the line
    result = _evaluate(_fail_rows(county_data, _rows_worth(rest, lose)), rubric)
    expected_score = Fraction(applicable - lose, applicable) * rubric.total_points
    assert result.score == expected_score
    assert result.score < rubric.pass_score if below else result.score == rubric.pass_score
    reasons = [r.text for r in result.reasons if r.kind == "score"]
    if below:
        shown = "79" if scoring == "full" else "78.88"  # 79 of 100; 71 of 90 applicable points is 78.888… (rounded down)
        assert reasons == [f"评分项共计得分 {shown} 分，低于合格分数线 80 分。"]
    else:
        assert reasons == []
    assert result.passed is not below


def test_one_failed_veto_row_fails_despite_full_score(county_data, county_rubric):
    result = _evaluate(_fail_rows(county_data, ["5-5a"]), county_rubric)
    assert result.score == county_rubric.total_points
    assert not result.passed
    (reason,) = [r for r in result.reasons if r.kind == "veto"]
    assert reason.id == "5-5a" and county_rubric.row_by_id("5-5a").requirement in reason.text and "测试" in reason.text


def test_one_failed_target_fails(county_data, county_rubric):
    county_data["targets"]["misreported_accidents"] = {"count": 1, "deaths": 0}
    result = _evaluate(county_data, county_rubric)
    assert not result.passed
    (reason,) = [r for r in result.reasons if r.kind == "target"]
    assert reason.id == "T7" and "1 起" in reason.text


def test_not_applicable_target_does_not_fail(county_data, county_rubric):
    county_data["targets"]["tailings_ponds"] = {"baseline": 0, "current": 0}
    result = _evaluate(county_data, county_rubric)
    assert result.passed
    # (T3's mode decides this county too: tests/test_readings.py)
    assert [r.id for r in result.reasons if r.kind == "flag" and "另一读法" not in r.text] == ["T2"]
    assert result.targets[1].outcome is Outcome.NOT_APPLICABLE


def test_reference_rows_never_change_the_verdict(county_data, county_rubric):
    reference = [r.id for r in county_rubric.rows_of(Category.REFERENCE)]
    result = _evaluate(_fail_rows(county_data, reference), county_rubric)
    assert result.passed
    assert result.score == county_rubric.total_points


def test_veto_counts_include_targets(county_data, county_rubric):
    county_data["targets"]["larger_accidents"] = {"count": 1, "deaths": 3}
    county_data["targets"]["tailings_ponds"] = {"baseline": 0, "current": 0}
    base = _evaluate(county_data, county_rubric)
    assert base.veto.failed == 1  # T5
    assert base.veto.not_applicable >= 1  # T2


@pytest.mark.parametrize("scoring", ["full", "rescale"])
def test_not_applicable_scored_rows(county_data, county_rubric, scoring):
    rubric = apply_params(county_rubric, {"not_applicable_scoring": scoring})
    na_rows = _scored_rows_worth(county_rubric, 10)
    failed_rows = [r.id for r in rubric.rows_of(Category.SCORED) if r.id not in na_rows][:1]
    for row_id in na_rows:
        county_data["items"][row_id] = {"result": "不涉及"}
    _fail_rows(county_data, failed_rows)
    result = _evaluate(county_data, rubric)
    lost = rubric.row_by_id(failed_rows[0]).points
    total = rubric.total_points
    if scoring == "full":
        assert result.score == total - lost
    else:
        assert result.score == Fraction(total - 10 - lost, total - 10) * total
        assert any(r.kind == "flag" and "折算" in r.text for r in result.reasons)


def test_rescaled_score_exactly_at_pass_score(county_data, county_rubric):
    """With 10 points not applicable, losing 18 of the 90 applicable points is exactly 80 %."""
    rubric = apply_params(county_rubric, {"not_applicable_scoring": "rescale"})
    na = _scored_rows_worth(rubric, 10)
    for row_id in na:
        county_data["items"][row_id] = "不涉及"
    rest = [r for r in rubric.rows_of(Category.SCORED) if r.id not in na]
    applicable = sum(r.points for r in rest)
    lose = applicable - int(rubric.pass_score * applicable / rubric.total_points)
    result = _evaluate(_fail_rows(county_data, _rows_worth(rest, lose)), rubric)
    assert result.score == rubric.pass_score
    assert result.passed


def test_two_readings_of_the_garbled_markers(county_data, county_rubric):
    """2-3c not completed fails under the default reading (veto), not under the alternative (reference);
    3-7a not completed does the opposite."""
    alternative = apply_params(county_rubric, {"categories": {"2-3c": "reference", "3-7a": "veto"}})
    assert alternative.row_by_id("3-7a").category is Category.VETO
    failing_2_3c = _fail_rows(dict(county_data, items=dict(county_data["items"])), ["2-3c"])
    assert not _evaluate(failing_2_3c, county_rubric).passed
    assert _evaluate(failing_2_3c, alternative).passed
    failing_3_7a = _fail_rows(dict(county_data, items=dict(county_data["items"])), ["3-7a"])
    assert _evaluate(failing_3_7a, county_rubric).passed
    assert not _evaluate(failing_3_7a, alternative).passed


def test_explicit_result_wins_over_counts_and_is_flagged(county_data, county_rubric):
    county_data["items"]["4-4a"] = {"result": "完成", "monitored": 5, "not_monitored": 2}
    result = _evaluate(county_data, county_rubric)
    item = next(i for i in result.items if i.row.id == "4-4a")
    assert item.outcome is Outcome.COMPLETED and item.source == "explicit" and item.derived is Outcome.FAILED
    assert any(r.kind == "flag" and r.id == "4-4a" for r in result.reasons)


def test_derived_failure_states_the_counts(county_data, county_rubric):
    county_data["items"]["4-4a"] = {"monitored": 5, "not_monitored": 2}
    result = _evaluate(county_data, county_rubric)
    (reason,) = [r for r in result.reasons if r.id == "4-4a"]
    assert "未建成在线监测系统的尾矿库数量：2" in reason.text
    assert next(i for i in result.items if i.row.id == "4-4a").earned == 0


@pytest.mark.parametrize(
    ("row_id", "values", "outcome"),
    [
        ("4-4a", {"monitored": 3, "not_monitored": 0}, Outcome.COMPLETED),
        ("4-4a", {"monitored": 0, "not_monitored": 0}, Outcome.NOT_APPLICABLE),
        ("4-4a", {"monitored": 3, "not_monitored": 1}, Outcome.FAILED),
        ("2-5c", {"new_standalone_plant_ponds": 0}, Outcome.COMPLETED),  # only counts problems: none exist
        ("2-5c", {"new_standalone_plant_ponds": 1}, Outcome.FAILED),
        ("5-5a", {"platform_built": True, "modules_complete": False}, Outcome.FAILED),
        ("5-5a", {"platform_built": True, "modules_complete": True}, Outcome.COMPLETED),
        ("3-1a", {"absent": 0, "under_10_days": 0, "share": Fraction(1, 10)}, Outcome.FAILED),
        ("1-1c", {"single_system_licences": 9, "multi_system_licences": 0, "max_systems_per_licence": 1}, Outcome.COMPLETED),
        ("2-4b", {"transitioned": 2, "not_transitioned": 1}, None),  # counts cannot decide this row
    ],
)
def test_derive_row_outcome(county_rubric, row_id, values, outcome):
    assert derive_row_outcome(county_rubric.row_by_id(row_id), values, county_rubric)[0] is outcome


def _province(county_rubric, province_rubric, county_results, key_counties=None, **target_changes):
    data = {
        "rubric": "noncoal-province",
        "province": "示例省",
        "year": 2022,
        "targets": {
            "underground_mines": {"baseline": 100, "current": 70},
            "tailings_ponds": {"baseline": 50, "current": 30},
            "large_medium_mines": {"baseline": 10, "current": 20},
            "all_mines": {"baseline": 200, "current": 150},
            "deaths": {"previous_5_years": [5, 5, 5, 5, 5], "current": 2},
            "larger_accidents": {"count": 0, "deaths": 0},
            "larger_illegal_mining": {"count": 0, "deaths": 0},
            "major_accidents_3y": {"count": 0, "deaths": 0},
            "misreported_accidents": {"count": 0, "deaths": 0},
        }
        | target_changes,
        "counties": ["a.yaml"],
        "key_counties": key_counties or list(dict.fromkeys(c.county for c in county_results)),
    }
    return evaluate_province(build_province_submission(data, province_rubric), province_rubric, county_results)


def _named(data, county, **changes):
    return dict(data, county=county, items=dict(data["items"])) | changes


def test_province_passes_when_targets_met_and_every_county_passes_at_a_checked_stage(county_data, county_rubric, province_rubric):
    for stage in VERIFIED_STAGES:
        counties = [_evaluate(_named(county_data, name, stage=stage), county_rubric) for name in ("甲县", "乙县")]
        result = _province(county_rubric, province_rubric, counties)
        assert result.passed is True and result.verdict is Verdict.PASSED
        assert result.missing == () and result.pending == ()


def test_province_with_one_county_at_self_assessment_is_pending_naming_it(county_data, county_rubric, province_rubric):
    """Every result 合格, but 乙县's is its own 自评: the province is 待定, never 合格."""
    checked = _evaluate(_named(county_data, "甲县", stage="核查"), county_rubric)
    self_assessed = _evaluate(_named(county_data, "乙县"), county_rubric)
    result = _province(county_rubric, province_rubric, [checked, self_assessed])
    assert result.passed is None and result.verdict is Verdict.PENDING and result.verdict == "待定"
    assert result.pending == ("乙县",)
    ((kind, county, text),) = [(r.kind, r.id, r.text) for r in _without_readings(result)]
    assert (kind, county) == ("pending", "乙县") and "只有自评结果" in text and "本省不能评为合格" in text


def test_province_with_a_key_county_without_result_is_pending_naming_it(county_data, county_rubric, province_rubric):
    county = _evaluate(_named(county_data, "甲县", stage="认定"), county_rubric)
    result = _province(county_rubric, province_rubric, [county], key_counties=["甲县", "乙县", "丙县"])
    assert result.passed is None and result.verdict is Verdict.PENDING
    assert result.missing == ("乙县", "丙县")
    assert [r.text for r in result.reasons if r.kind == "pending"] == [
        "重点县 乙县 没有评估结果（未提交其评估文件），本省不能评为合格。",
        "重点县 丙县 没有评估结果（未提交其评估文件），本省不能评为合格。",
    ]


def test_province_fails_on_a_known_failure_whatever_else_is_pending(county_data, county_rubric, province_rubric):
    """A self-assessed 不合格 is known: the province is 不合格 at once, and still names what is unchecked."""
    failing = _evaluate(_fail_rows(_named(county_data, "坏县"), ["1-1a"]), county_rubric)
    self_assessed = _evaluate(_named(county_data, "乙县"), county_rubric)
    result = _province(county_rubric, province_rubric, [failing, self_assessed], key_counties=["坏县", "乙县", "丙县"])
    assert result.passed is False and result.verdict is Verdict.FAILED
    assert [(r.kind, r.id) for r in _without_readings(result)] == [("county", "坏县"), ("pending", "丙县"), ("pending", "乙县")]
    own_target = _province(county_rubric, province_rubric, [self_assessed], larger_accidents={"count": 1, "deaths": 3})
    assert own_target.passed is False and own_target.pending == ("乙县",)


def test_verdict_is_three_valued():
    assert [Verdict.of(p) for p in (True, False, None)] == [Verdict.PASSED, Verdict.FAILED, Verdict.PENDING]
    assert [v.passed for v in Verdict] == [True, False, None]
    assert f"{Verdict.PENDING}" == "待定" and json.dumps(Verdict.FAILED, ensure_ascii=False) == '"不合格"'


def test_province_refuses_a_result_for_a_county_it_does_not_name(county_data, county_rubric, province_rubric):
    counties = [_evaluate(_named(county_data, name), county_rubric) for name in ("甲县", "外县")]
    with pytest.raises(InputError, match="外县"):
        _province(county_rubric, province_rubric, counties, key_counties=["甲县"])


def test_province_refuses_the_same_county_twice_at_one_stage(county_data, county_rubric, province_rubric):
    county = _evaluate(_named(county_data, "甲县"), county_rubric)
    with pytest.raises(InputError, match="“自评”阶段提交了两份"):
        _province(county_rubric, province_rubric, [county, county])


def test_province_counts_each_countys_latest_stage(county_data, county_rubric, province_rubric):
    """自评 合格 + 核查 不合格 is a 不合格 county: the province fails, whatever order they come in."""
    passing = _evaluate(_named(county_data, "甲县"), county_rubric)
    verified = _evaluate(_fail_rows(_named(county_data, "甲县", stage="核查"), ["1-1a"]), county_rubric)
    for order in ([passing, verified], [verified, passing]):
        result = _province(county_rubric, province_rubric, order)
        assert not result.passed
        (unit,) = result.units
        assert unit.stage == "核查" and unit.verdict == "不合格"
        assert [c.header.stage for c in result.counties] == ["核查"]
        assert "重点县 甲县 评估结果为不合格（核查）" in next(r.text for r in result.reasons if r.kind == "county")
        assert "重点县 甲县：核查结论不合格，与自评（合格）不同，以核查结论为准。" in [r.text for r in result.reasons]


def test_province_fails_with_one_failed_county(county_data, county_rubric, province_rubric):
    good = _evaluate(_named(county_data, "甲县", stage="核查"), county_rubric)
    bad = _evaluate(_fail_rows(_named(county_data, "坏县"), ["1-1a"]), county_rubric)
    result = _province(county_rubric, province_rubric, [good, bad])
    assert not result.passed
    (reason,) = _without_readings(result)
    assert reason.kind == "county" and "坏县" in reason.text and "1-1a" in reason.text


def test_province_fails_on_its_own_target(county_data, county_rubric, province_rubric):
    good = _evaluate(_named(county_data, "甲县", stage="核查"), county_rubric)
    result = _province(county_rubric, province_rubric, [good], larger_accidents={"count": 1, "deaths": 3})
    assert not result.passed
    assert [r.id for r in _without_readings(result)] == ["T5"]


# --- Rows derived by their scoring standard only (issue 17 §5) -------------------------------------


@pytest.mark.parametrize(
    ("counts", "outcome"),
    [
        ({"educated_trained": 5, "educated_untrained": 2, "under_educated": 0}, Outcome.COMPLETED),
        ({"educated_trained": 5, "educated_untrained": 0, "under_educated": 1}, Outcome.FAILED),
    ],
)
def test_3_4a_loses_its_points_by_education_only_as_its_standard_says(county_data, county_rubric, counts, outcome):
    county_data["items"]["3-4a"] = counts
    result = _evaluate(county_data, county_rubric)
    item = next(i for i in result.items if i.row.id == "3-4a")
    assert (item.source, item.outcome) == ("derived", outcome)
    assert item.earned == (3 if outcome is Outcome.COMPLETED else 0)


@pytest.mark.parametrize(
    ("row", "answers"),
    [("5-3a", {"adequate": True, "mines": 40, "inspectors": 6}), ("5-4a", {"practised": True})],
)
def test_5_3a_and_5_4a_are_the_evaluators_as_their_standards_name_no_blank(county_data, county_rubric, row, answers):
    county_data["items"][row] = answers
    with pytest.raises(InputError) as info:
        build_county_submission(county_data, county_rubric)
    assert f"items.{row}" in str(info.value)
    county_data["items"][row] = answers | {"result": "未完成", "note": "执法计划没有针对性"}
    result = _evaluate(county_data, county_rubric)
    assert next(i for i in result.items if i.row.id == row).outcome is Outcome.FAILED
