"""Gap to pass: exact at the bounds, fewest rows, and checked against the engine itself."""

import copy

import pytest

from minesafe.evaluation import evaluate_county
from minesafe.gap import compute_gap, describe_gap
from minesafe.rubric import Category
from minesafe.submission import build_county_submission
from minesafe.targets import evaluate_target, target_gap

from .test_evaluation import _evaluate, _fail_rows, _scored_rows_worth


def _with_change(result, gap):
    """The target's inputs with the gap's change applied."""
    inputs = dict(result.inputs)
    for (key, part), value in gap.change.items():
        inputs[key] = type(inputs[key])(**{**vars(inputs[key]), part: value})
    return inputs


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("underground_mines", {"baseline": 57, "current": 50}),
        ("tailings_ponds", {"baseline": 33, "current": 33}),
        ("large_medium_mines", {"baseline": 10, "current": 9}),
        ("large_medium_mines", {"baseline": 0, "current": 0}),  # a baseline share of 0
        ("deaths", {"previous_5_years": [3, 4, 2, 5, 3], "current": 9}),
        ("larger_accidents", {"count": 2, "deaths": 7}),
    ],
)
def test_target_gap_lands_exactly_on_the_bound(county_data, county_rubric, key, value):
    county_data["targets"][key] = value
    result = _evaluate(county_data, county_rubric)
    failed = [t for t in result.targets if not t.met]
    assert failed, "the case must fail a target"
    for t in failed:
        gap = target_gap(t)
        assert not gap.met and gap.change
        fixed = evaluate_target(t.target, _with_change(t, gap), county_rubric.baseline_year, 2022)
        assert fixed.met, gap.text
        # one short of the change is not enough (for counts that move by one)
        for (k, part), v in gap.change.items():
            if part in ("current",) and k != "deaths":
                one_short = dict(gap.change) | {(k, part): v + (1 if k != "large_medium_mines" else -1)}
                short = evaluate_target(
                    t.target, _with_change(t, type(gap)(gap.target, False, "", one_short)), county_rubric.baseline_year, 2022
                )
                assert not short.met, gap.text


def test_gap_text_uses_the_forms_units(county_data, county_rubric):
    county_data["targets"]["underground_mines"] = {"baseline": 35, "current": 30}
    gap = compute_gap(_evaluate(county_data, county_rubric))
    t1 = gap.targets[0]
    assert t1.text.endswith("非煤地下矿山数量须再减少 2 座（当前 30 座，需 ≤ 28 座）")


def test_fewest_scored_rows_largest_first_in_table_order(county_data, county_rubric):
    # 26 points lost (five 4-point rows, two 3-point rows): 74, six short of 80
    failed = ["2-4b", "2-4c", "1-1c", "1-2b", "1-3a", "1-4a", "1-4b"]
    result = _evaluate(_fail_rows(county_data, failed), county_rubric)
    gap = compute_gap(result)
    assert result.score == 74
    # two 4-point rows close the gap; of the five, the first two in table order
    assert [i.row.id for i in gap.scored_rows] == ["1-1c", "1-2b"]
    assert gap.score_after == 82
    assert "完成评分项 1-1c（4分）、1-2b（4分），得分由 74 分提高到 82 分（合格分数线 80 分）" in describe_gap(gap)


def test_completing_the_gap_passes(county_data, county_rubric):
    rows = _scored_rows_worth(county_rubric, 30)
    data = _fail_rows(copy.deepcopy(county_data), [*rows, "4-2c"])
    data["targets"]["underground_mines"] = {"baseline": 60, "current": 55}
    result = _evaluate(data, county_rubric)
    gap = compute_gap(result)
    assert not result.passed
    for item in [*gap.scored_rows, *gap.veto_rows]:
        data["items"][item.row.id] = {"result": "完成"}
    for t in gap.targets:
        for (key, part), value in t.change.items():
            data["targets"][key][part] = value
    assert evaluate_county(build_county_submission(data, county_rubric), county_rubric).passed


def test_score_exactly_at_the_pass_score_has_no_room(county_data, county_rubric):
    lost = county_rubric.total_points - int(county_rubric.pass_score)
    result = _evaluate(_fail_rows(county_data, _scored_rows_worth(county_rubric, lost)), county_rubric)
    gap = compute_gap(result)
    assert result.passed and gap.margin == 0
    assert (gap.affordable_worst, gap.affordable_best) == (0, 0)
    assert "恰好等于合格分数线" in describe_gap(gap)[0]


def test_all_rows_failing(county_data, county_rubric):
    result = _evaluate(_fail_rows(county_data, [r.id for r in county_rubric.rows]), county_rubric)
    gap = compute_gap(result)
    assert result.score == 0
    assert len(gap.veto_rows) == len(list(county_rubric.rows_of(Category.VETO)))
    assert gap.score_after >= county_rubric.pass_score
    points = [i.row.points for i in gap.scored_rows]
    assert sum(points) >= county_rubric.pass_score > sum(points) - min(points)  # one row fewer would not do


def test_passing_county_margin(county_data, county_rubric):
    gap = compute_gap(_evaluate(county_data, county_rubric))
    # 100 points, 20 above the line: five of the 4-point rows (worst case) or six 3-point rows may still fail
    assert (gap.margin, gap.affordable_worst, gap.affordable_best) == (20, 5, 6)
    assert all(g.met for g in gap.targets)


def _share_gap_text(county_data, county_rubric, baseline, current, points=False):
    """The share target's gap text for (large/medium, all) mines at baseline and now; ``points``:
    the bound read in percentage points instead of relative to the baseline share."""
    import dataclasses

    from minesafe.rubric import ShareMode

    county_data["targets"]["large_medium_mines"] = {"baseline": baseline[0], "current": current[0]}
    county_data["targets"]["all_mines"] = {"baseline": baseline[1], "current": current[1]}
    (t,) = [t for t in _evaluate(county_data, county_rubric).targets if "large_medium_mines" in t.inputs]
    if points:
        target = dataclasses.replace(t.target, mode=ShareMode.POINTS)
        t = evaluate_target(target, t.inputs, county_rubric.baseline_year, 2022)
    return target_gap(t).text.split("：", 1)[1]


@pytest.mark.parametrize(
    ("baseline", "current", "points", "text"),
    [
        # exactly at the bound (10 % → 11.5 %, 23 of 200), and one short of it
        ((10, 100), (23, 200), False, "已达标，大中型非煤矿山数量还可少 0 座仍达标（全部非煤矿山数量 200 座时下限 23 座）"),
        (
            (10, 100),
            (22, 200),
            False,
            "大中型非煤矿山数量须再增加 1 座（全部非煤矿山数量保持 200 座时需 ≥ 23 座），"
            "或全部非煤矿山数量须再减少 9 座（大中型非煤矿山数量保持 22 座时需 ≤ 191 座）",
        ),
        # both ways to the bound: more large mines, or fewer mines in all (10 of 86 is 11.6 %, of 87 11.49 %)
        (
            (10, 100),
            (10, 100),
            False,
            "大中型非煤矿山数量须再增加 2 座（全部非煤矿山数量保持 100 座时需 ≥ 12 座），"
            "或全部非煤矿山数量须再减少 14 座（大中型非煤矿山数量保持 10 座时需 ≤ 86 座）",
        ),
        # points mode: 10 % + 15 points = 25 %
        (
            (10, 100),
            (10, 100),
            True,
            "大中型非煤矿山数量须再增加 15 座（全部非煤矿山数量保持 100 座时需 ≥ 25 座），"
            "或全部非煤矿山数量须再减少 60 座（大中型非煤矿山数量保持 10 座时需 ≤ 40 座）",
        ),
        # a baseline share of 0: at least one large or medium mine
        ((0, 100), (0, 100), False, "大中型非煤矿山数量须再增加 1 座（全部非煤矿山数量保持 100 座时需 ≥ 1 座）"),
        ((0, 100), (1, 100), False, "已达标，大中型非煤矿山数量还可少 0 座仍达标（全部非煤矿山数量 100 座时下限 1 座）"),
        # a share above 100 % (90 % + 15 points): neither way reaches it
        ((90, 100), (50, 60), True, "按现有全部非煤矿山数量无法达到目标占比"),
    ],
)
def test_share_gap_at_the_bound_in_both_modes_with_each_option(county_data, county_rubric, baseline, current, points, text):
    assert _share_gap_text(county_data, county_rubric, baseline, current, points) == text
