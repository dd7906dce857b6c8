"""Each target rule at, just below and just above its bound, computed exactly."""

from fractions import Fraction

import pytest

from minesafe.params import apply_params
from minesafe.rubric import Outcome, ShareMode
from minesafe.submission import CountPair, DeathHistory, Occurrences
from minesafe.targets import evaluate_target

YEAR = 2022


def _target(rubric, target_id):
    return next(t for t in rubric.targets if t.id == target_id)


def _judge(rubric, target_id, **inputs):
    return evaluate_target(_target(rubric, target_id), inputs, rubric.baseline_year, YEAR)


@pytest.mark.parametrize("target_id", ["T1", "T2"])
@pytest.mark.parametrize(("offset", "outcome"), [(0, Outcome.COMPLETED), (-1, Outcome.FAILED), (1, Outcome.COMPLETED)])
def test_decrease_at_its_bound(county_rubric, target_id, offset, outcome):
    target = _target(county_rubric, target_id)
    (key,) = target.inputs
    baseline = 1000
    removed = int(target.bound * baseline) + offset  # exactly the bound, one mine short, one more
    result = _judge(county_rubric, target_id, **{key: CountPair(baseline, baseline - removed)})
    assert result.outcome is outcome
    assert result.value == Fraction(removed, baseline)


def test_decrease_exactly_at_bound_with_awkward_numbers(county_rubric):
    target = _target(county_rubric, "T1")
    baseline = target.bound.denominator * 7919  # a prime multiple: no float shortcut
    current = baseline - int(target.bound * baseline)
    result = _judge(county_rubric, "T1", underground_mines=CountPair(baseline, current))
    assert result.value == target.bound
    assert result.outcome is Outcome.COMPLETED


@pytest.mark.parametrize("target_id", ["T1", "T2"])
def test_decrease_from_zero_to_zero_is_not_applicable_and_flagged(county_rubric, target_id):
    target = _target(county_rubric, target_id)
    ((key, label),) = target.inputs.items()
    result = _judge(county_rubric, target_id, **{key: CountPair(0, 0)})
    assert result.outcome is Outcome.NOT_APPLICABLE
    assert result.met
    assert result.value is None
    assert result.flag == (
        f"{target_id} {target.name}：2020年与2022年末{label}均为0，无可下降的数量，本目标按不涉及处理，请核实。"
    )


@pytest.mark.parametrize("target_id", ["T1", "T2"])
@pytest.mark.parametrize("current", [1, 3])
def test_decrease_from_zero_to_more_fails_saying_it_rose(county_rubric, target_id, current):
    """0 → 3 tailings ponds has not fallen by 20 %: 未完成, never 不涉及."""
    target = _target(county_rubric, target_id)
    ((key, label),) = target.inputs.items()
    result = _judge(county_rubric, target_id, **{key: CountPair(0, current)})
    assert result.outcome is Outcome.FAILED
    assert not result.met
    assert result.value is None
    assert result.flag == ""
    assert result.explanation == (
        f"2020年{label} 0 座，2022年末 {current} 座；{label}由0座增至 {current} 座，数量不降反增，未实现下降"
    )


def test_a_county_whose_tailings_ponds_rose_from_zero_fails(county_data, county_rubric):
    from minesafe.evaluation import evaluate_county
    from minesafe.submission import build_county_submission

    county_data["targets"]["tailings_ponds"] = {"baseline": 0, "current": 3}
    result = evaluate_county(build_county_submission(county_data, county_rubric), county_rubric)
    assert not result.passed
    (reason,) = [r for r in result.reasons if r.kind == "target"]
    assert reason.id == "T2"
    assert reason.text == (
        "工作目标 T2“尾矿库数量比2020年下降比例”未完成：目标 ≥ 20%。"
        "2020年尾矿库数量 0 座，2022年末 3 座；尾矿库数量由0座增至 3 座，数量不降反增，未实现下降。"  # a full stop
    )


def test_an_increase_in_mines_fails(county_rubric):
    result = _judge(county_rubric, "T1", underground_mines=CountPair(10, 12))
    assert result.outcome is Outcome.FAILED
    assert result.value == Fraction(-1, 5)
    assert "-20.00%" in result.explanation


def _share_inputs(part0, whole0, part1, whole1):
    return {"large_medium_mines": CountPair(part0, part1), "all_mines": CountPair(whole0, whole1)}


def test_share_increase_exactly_at_bound_where_floats_fall_short(county_rubric):
    """(23/40 − 10/20) ÷ (10/20) is exactly 15 %, but 0.1499999… in floating point."""
    rubric = apply_params(county_rubric, {"targets": {"T3": {"bound": "15%", "mode": "relative"}}})
    assert (23 / 40 - 10 / 20) / (10 / 20) < 0.15  # the trap is real
    result = _judge(rubric, "T3", **_share_inputs(10, 20, 23, 40))
    assert result.value == Fraction(15, 100)
    assert result.outcome is Outcome.COMPLETED


@pytest.mark.parametrize(("part1", "outcome"), [(0, Outcome.FAILED), (1, Outcome.COMPLETED)])
def test_share_increase_from_zero_share(county_rubric, part1, outcome):
    result = _judge(county_rubric, "T3", **_share_inputs(0, 50, part1, 40))
    assert result.outcome is outcome
    assert result.value is None
    assert "2020年占比为0" in result.flag


def test_share_without_any_mine_in_either_year_is_not_applicable(county_rubric):
    result = _judge(county_rubric, "T3", **_share_inputs(0, 0, 0, 0))
    assert result.outcome is Outcome.NOT_APPLICABLE
    assert result.flag.endswith("2020年与2022年末全部非煤矿山数量均为0，无占比可言，本目标按不涉及处理，请核实。")


@pytest.mark.parametrize("mode", ["relative", "points"])
@pytest.mark.parametrize(("whole1", "outcome"), [(0, Outcome.NOT_APPLICABLE), (1, Outcome.FAILED)])
def test_share_when_every_mine_has_closed_is_not_applicable(county_rubric, mode, whole1, outcome):
    """All non-coal mines closed (current total 0): no share to raise — 不涉及 with a flag, not
    未完成 with "0/0 = 0 %"; one small mine left (share 0/1) is a share that fell: 未完成."""
    from minesafe.gap import target_gap

    rubric = apply_params(county_rubric, {"targets": {"T3": {"mode": mode}}})
    result = _judge(rubric, "T3", **_share_inputs(12, 100, 0, whole1))
    assert result.outcome is outcome
    if whole1 == 0:
        assert result.met and result.value is None
        assert result.flag.endswith("2022年末全部非煤矿山数量为0（已全部关闭），无占比可言，本目标按不涉及处理，请核实。")
        gap = target_gap(result)  # no gap list asking the county to open mines
        assert gap.met and not gap.change and "不涉及" in gap.text
    else:
        assert not result.flag


@pytest.mark.parametrize(("part1", "outcome"), [(0, Outcome.FAILED), (1, Outcome.COMPLETED)])
def test_share_from_no_mines_at_all_to_some(county_rubric, part1, outcome):
    """No mine at the baseline is a share of 0: judged like any zero baseline share."""
    result = _judge(county_rubric, "T3", **_share_inputs(0, 0, part1, 10))
    assert result.outcome is outcome


def test_share_uses_the_share_not_the_count(county_rubric):
    """Fewer large mines can still be a larger share when small mines close."""
    target = _target(county_rubric, "T3")
    assert target.mode is ShareMode.RELATIVE
    result = _judge(county_rubric, "T3", **_share_inputs(20, 200, 18, 100))
    assert result.value == (Fraction(18, 100) - Fraction(20, 200)) / Fraction(20, 200)
    assert result.outcome is Outcome.COMPLETED


@pytest.mark.parametrize(("points", "outcome"), [(15, Outcome.COMPLETED), (14, Outcome.FAILED)])
def test_share_in_percentage_points(county_rubric, points, outcome):
    rubric = apply_params(county_rubric, {"targets": {"T3": {"mode": "points", "bound": "15%"}}})
    result = _judge(rubric, "T3", **_share_inputs(10, 100, 10 + points, 100))
    assert result.value == Fraction(points, 100)
    assert result.outcome is outcome
    assert "个百分点" in result.bound_text


@pytest.mark.parametrize(("offset", "outcome"), [(0, Outcome.COMPLETED), (1, Outcome.FAILED), (-1, Outcome.COMPLETED)])
def test_average_decrease_at_its_bound(county_rubric, offset, outcome):
    target = _target(county_rubric, "T4")
    previous = (12, 8, 10, 11, 9)[: target.years] if target.years == 5 else (10,) * target.years
    average = Fraction(sum(previous), len(previous))
    current = int(average * (1 - target.bound)) + offset
    result = _judge(county_rubric, "T4", deaths=DeathHistory(previous, current))
    assert result.outcome is outcome


def test_average_decrease_from_zero_to_zero_is_completed_and_flagged(county_rubric):
    target = _target(county_rubric, "T4")
    result = _judge(county_rubric, "T4", deaths=DeathHistory((0,) * target.years, 0))
    assert result.outcome is Outcome.COMPLETED
    assert result.flag == (
        f"T4 {target.name}：前{target.years}年与2022年死亡人数均为0，无法计算下降比例；按“2022年死亡人数为0即完成”判定。"
    )


def test_average_decrease_from_zero_to_one_fails_saying_it_rose(county_rubric):
    target = _target(county_rubric, "T4")
    result = _judge(county_rubric, "T4", deaths=DeathHistory((0,) * target.years, 1))
    assert result.outcome is Outcome.FAILED
    assert result.flag == ""
    assert result.explanation.endswith(f"；死亡人数由前{target.years}年的0人增至 1 人，不降反增，未实现下降")


def test_average_is_exact(county_rubric):
    # average 7/5 = 1.4; 1 death is a decrease of 2/7, not a float approximation
    result = _judge(county_rubric, "T4", deaths=DeathHistory((1, 1, 2, 2, 1), 1))
    assert result.value == Fraction(2, 7)


@pytest.mark.parametrize(
    ("events", "outcome"),
    [
        ({"larger_accidents": Occurrences(0, 0), "larger_illegal_mining": Occurrences(0, 0)}, Outcome.COMPLETED),
        ({"larger_accidents": Occurrences(1, 3), "larger_illegal_mining": Occurrences(0, 0)}, Outcome.FAILED),
        ({"larger_accidents": Occurrences(0, 0), "larger_illegal_mining": Occurrences(1, 4)}, Outcome.FAILED),
    ],
)
def test_no_larger_accident_or_illegal_mining(county_rubric, events, outcome):
    result = _judge(county_rubric, "T5", **events)
    assert result.outcome is outcome
    assert "死亡" in result.explanation


@pytest.mark.parametrize(("target_id", "key"), [("T6", "major_accidents_3y"), ("T7", "misreported_accidents")])
def test_single_event_targets(county_rubric, target_id, key):
    assert _judge(county_rubric, target_id, **{key: Occurrences(0, 0)}).outcome is Outcome.COMPLETED
    failed = _judge(county_rubric, target_id, **{key: Occurrences(1, 10)})
    assert failed.outcome is Outcome.FAILED
    assert failed.value_text == "1 起"


# --- the baseline year: the table's 2020 or the text's "较2年前" -----------------------------------

#: The caveat says which reading is in force, the year and counts the other needs, how to switch.
COUNTS = "非煤地下矿山数量、尾矿库数量、大中型非煤矿山数量、全部非煤矿山数量"
CAVEATS = {
    ("fixed-2020", 2023): "基准年按评估表“比2020年”取2020年（现行读法 fixed-2020）；方案正文“较2年前”即2021年。"
    f"按正文读法须填报2021年的{COUNTS}（代替2020年的数量），并用参数文件 two-years-before.yaml"
    "（baseline_reading: two-years-before）重新评估，请核实。",
    ("fixed-2020", 2021): "基准年按评估表“比2020年”取2020年（现行读法 fixed-2020）；方案正文“较2年前”即2019年。"
    f"按正文读法须填报2019年的{COUNTS}（代替2020年的数量），并用参数文件 two-years-before.yaml"
    "（baseline_reading: two-years-before）重新评估，请核实。",
    ("two-years-before", 2023): "基准年按方案正文“较2年前”取2021年（现行读法 baseline_reading: two-years-before）；"
    f"评估表“比2020年”。按评估表读法须填报2020年的{COUNTS}，并去掉参数 baseline_reading 后重新评估，请核实。",
}


@pytest.mark.parametrize(
    ("reading", "year", "baseline", "caveat"),
    [
        ("fixed-2020", 2022, 2020, False),  # the two readings agree for the 2022 evaluation
        ("fixed-2020", 2023, 2020, True),
        ("fixed-2020", 2021, 2020, True),
        ("two-years-before", 2023, 2021, True),
        ("two-years-before", 2022, 2020, False),
    ],
)
def test_baseline_reading_year_and_caveat(county_data, county_rubric, reading, year, baseline, caveat):
    from minesafe.evaluation import evaluate_county
    from minesafe.rendering import format_result_text
    from minesafe.submission import build_county_submission

    rubric = apply_params(county_rubric, {"baseline_reading": reading})
    county_data["year"] = year
    result = evaluate_county(build_county_submission(county_data, rubric), rubric)
    based = [t for t in result.targets if t.target.rule.value in ("decrease", "share_increase")]
    assert [t.baseline_year for t in based] == [baseline] * 3
    assert all(t.explanation.startswith(f"{baseline}年") for t in based)
    flags = [r.text for r in result.reasons if r.id == "baseline"]
    assert flags == ([CAVEATS[reading, year]] if caveat else [])
    text = format_result_text(result)
    for t in based:  # every target line names the baseline year used
        assert f"{t.target.id} {t.target.name}：{t.outcome.value}（目标 {t.bound_text}，较{baseline}年" in text
