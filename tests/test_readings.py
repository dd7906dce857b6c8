"""Uncertain readings said aloud where they decide (issue 17 §6): the seven inferred categories, T3's
mode, 1-1a 正在实施, the scoring of 不涉及 rows, the baseline year, and veto conclusions without 说明."""

import pytest

from minesafe.evaluation import evaluate_county
from minesafe.frames import items_frame
from minesafe.params import apply_params
from minesafe.rendering import result_to_dict
from minesafe.rubric import Category
from minesafe.submission import build_county_submission

from .test_evaluation import _fail_rows, _rows_worth

INFERRED = {"2-1a", "2-3c", "3-7a", "3-7b", "3-7c", "3-7d", "4-1a"}


def _evaluate(data, rubric):
    return evaluate_county(build_county_submission(data, rubric), rubric)


def _flags(result, row_id):
    return [r.text for r in result.reasons if r.kind == "flag" and r.id == row_id]


@pytest.fixture
def t3_both_ways(county_data):
    """The county with a T3 met in either mode (10 % → 30 %: +200 %, +20 points): only the reading
    under test can decide."""
    county_data["targets"]["large_medium_mines"] = {"baseline": 10, "current": 27}
    county_data["targets"]["all_mines"] = {"baseline": 100, "current": 90}
    return county_data


def test_the_seven_inferred_rows_are_marked_in_json_frame_and_report(county_data, county_rubric):
    from minesafe.report import _item_row

    result = _evaluate(county_data, county_rubric)
    items = result_to_dict(result)["items"]
    assert {k for k, v in items.items() if v["category_inferred"]} == INFERRED
    frame = items_frame(result)
    assert set(frame.index[frame["类别为推断"]]) == INFERRED
    categories = {i.row.id: _item_row(i)[2] for i in result.items}
    shown = {row_id: word.text + word.after for row_id, word in categories.items()}
    assert categories["2-3c"].text == "■ 否决项"  # kept on one line; the mark after it may wrap
    assert shown["3-7a"] == "/ 参考项（类别为推断）" and shown["2-3c"] == "■ 否决项（类别为推断）"
    assert shown["4-2c"] == "■ 否决项"


def test_a_failed_inferred_reference_row_that_would_fail_the_county_is_flagged(t3_both_ways, county_rubric):
    result = _evaluate(_fail_rows(t3_both_ways, ["3-7a"]), county_rubric)
    assert result.passed is True
    assert _flags(result, "3-7a") == [
        "第 3-7a 行类别为推断（原文标记缺失），按另一读法结论为不合格，请核实（本结论按参考项；按满足表注总数的另一读法，该行为否决项）。"
    ]


def test_the_only_failed_veto_row_inferred_is_flagged_with_the_other_verdict(t3_both_ways, county_rubric):
    result = _evaluate(_fail_rows(t3_both_ways, ["2-3c"]), county_rubric)
    assert result.passed is False
    assert _flags(result, "2-3c")[0].startswith("第 2-3c 行类别为推断（原文标记缺失），按另一读法结论为合格，请核实")


@pytest.mark.parametrize(
    ("failed", "flagged"),
    [
        (["2-3c", "1-1b"], False),  # a marked veto row fails too: 不合格 under every reading
        (["3-7a", "1-1b"], False),
        (["2-1a", "2-3c", "4-1a", "3-7a"], True),  # 4 failed inferred rows fit the 4 reference places
        (["2-1a", "2-3c", "4-1a", "3-7a", "3-7b"], False),  # 5 cannot: one is veto under every reading
        ([], False),
    ],
)
def test_an_inferred_row_is_flagged_only_when_a_reading_keeping_the_totals_changes_the_verdict(
    t3_both_ways, county_rubric, failed, flagged
):
    result = _evaluate(_fail_rows(t3_both_ways, failed), county_rubric)
    assert bool([r for r in result.reasons if r.kind == "flag" and "类别为推断" in r.text]) is flagged


def test_under_the_alternative_reading_the_default_is_the_other(t3_both_ways, county_rubric):
    rubric = apply_params(county_rubric, {"categories": {"2-3c": "reference", "3-7a": "veto"}})
    result = _evaluate(_fail_rows(t3_both_ways, ["3-7a"]), rubric)
    assert result.passed is False and "按另一读法结论为合格" in _flags(result, "3-7a")[0]


def test_t3_mode_is_flagged_when_the_other_mode_changes_the_verdict(county_data, county_rubric):
    # 12 % → 16.66 %: +38.8 % relative, +4.66 points
    result = _evaluate(county_data, county_rubric)
    assert result.passed is True
    assert _flags(result, "T3") == [
        "工作目标 T3 按相对提高比例计算为完成；按另一读法（提高的百分点，4.66 个百分点）为未完成，结论为不合格，"
        "请核实（原文“提高15%以上”未说明按哪一种计算）。"
    ]
    points = apply_params(county_rubric, {"targets": {"T3": {"mode": "points"}}})
    result = _evaluate(county_data, points)
    assert result.passed is False
    assert [f for f in _flags(result, "T3") if "另一读法" in f] == [
        "工作目标 T3 按提高的百分点计算为未完成；按另一读法（相对提高比例，38.88%）为完成，结论为合格，"
        "请核实（原文“提高15%以上”未说明按哪一种计算）。"
    ]


def test_t3_met_in_either_mode_is_not_flagged(t3_both_ways, county_rubric):
    assert not _flags(_evaluate(t3_both_ways, county_rubric), "T3")


def test_t3_mode_is_not_flagged_when_the_county_fails_anyway(county_data, county_rubric):
    assert not _flags(_evaluate(_fail_rows(county_data, ["4-2c"]), county_rubric), "T3")


@pytest.mark.parametrize(("in_progress", "flagged"), [(1, True), (0, False)])
def test_1_1a_in_progress_is_flagged_when_the_other_reading_changes_the_verdict(
    t3_both_ways, county_rubric, in_progress, flagged
):
    t3_both_ways["items"]["1-1a"] = {"realized": 5, "in_progress": in_progress, "not_realized": 0, "not_realized_share": 0}
    result = _evaluate(t3_both_ways, county_rubric)
    assert result.passed is not flagged
    flags = _flags(result, "1-1a")
    assert bool(flags) is flagged
    if flagged:
        assert flags[0].startswith(
            "第 1-1a 行“正在实施“一个矿体设置一个矿权”的矿山数量”按未完成计，判定为未完成；按另一读法为完成"
        )
        assert "结论为合格，请核实" in flags[0]
        other = apply_params(county_rubric, {"field_roles": {"1-1a": {"in_progress": "compliant"}}})
        result = _evaluate(t3_both_ways, other)
        assert result.passed is True
        assert _flags(result, "1-1a")[0].startswith("第 1-1a 行“正在实施“一个矿体设置一个矿权”的矿山数量”按已完成计，判定为完成")
        assert "结论为不合格，请核实" in _flags(result, "1-1a")[0]


def test_1_1a_given_by_the_evaluator_is_not_reread(t3_both_ways, county_rubric):
    t3_both_ways["items"]["1-1a"] = {"result": "完成", "realized": 5, "in_progress": 1, "not_realized": 0}
    flags = _flags(_evaluate(t3_both_ways, county_rubric), "1-1a")
    assert flags and not [f for f in flags if "另一读法" in f]  # only the result-against-counts hint


def test_not_applicable_scoring_is_flagged_when_rescaling_changes_the_verdict(t3_both_ways, county_rubric):
    """80 points exactly with a 不涉及 4-point row: 合格 in full; rescaled 76/96 is 79.16 points."""
    scored = [r for r in county_rubric.rows_of(Category.SCORED) if r.id != "2-2a"]
    lost = county_rubric.total_points - int(county_rubric.pass_score)
    _fail_rows(t3_both_ways, _rows_worth(scored, lost))
    result = _evaluate(t3_both_ways, county_rubric)
    assert result.passed is True and not _flags(result, "score")  # every row applies: no other reading
    t3_both_ways["items"]["2-2a"] = {"result": "不涉及"}
    result = _evaluate(t3_both_ways, county_rubric)
    assert result.passed is True
    assert _flags(result, "score") == [
        "不涉及的评分项按满分计得 80 分；按另一读法（不涉及的评分项不计入、按适用分值折算）得 79.16 分，结论为不合格，请核实。"
    ]


def test_scoring_below_the_line_either_way_is_not_flagged(t3_both_ways, county_rubric):
    _fail_rows(t3_both_ways, _rows_worth([r for r in county_rubric.rows_of(Category.SCORED) if r.id != "2-2a"], 24))
    t3_both_ways["items"]["2-2a"] = {"result": "不涉及"}
    assert not _flags(_evaluate(t3_both_ways, county_rubric), "score")


@pytest.mark.parametrize(("stage", "flagged"), [("自评", False), ("核查", True), ("认定", True)])
def test_a_veto_conclusion_without_its_note_is_a_hint_at_verified_stages(county_data, county_rubric, stage, flagged):
    county_data["stage"] = stage
    county_data["items"]["1-1b"] = {"result": "完成", "note": "现场核实全部消除"}
    flags = _flags(_evaluate(county_data, county_rubric), "notes")
    assert bool(flags) is flagged
    if flagged:
        assert flags[0].startswith(f"{stage}阶段否决项 1-1a、1-2a、")  # 1-1b has its note
        assert "并作说明），请在各该行的说明中补充。" in flags[0]
        assert "4-1b" in flags[0] and "1-1c" not in flags[0]  # veto rows only


def test_a_province_repeats_each_key_countys_reading_flag():
    """示例南甲县's 核查 is 合格 only under the default reading of 3-7a: its province says so too."""
    from minesafe.results import evaluate

    from .conftest import DEMO

    province = evaluate(DEMO / "south" / "province.yaml")
    flags = [r.text for r in province.reasons if r.kind == "flag" and r.id == "示例南甲县"]
    assert "重点县 示例南甲县（核查）：第 3-7a 行类别为推断（原文标记缺失），按另一读法结论为不合格，请核实" in "\n".join(flags)
    assert province.verdict == "待定" and province.pending == ("示例南乙县",)


def test_under_two_years_before_the_workbook_asks_for_that_years_counts_by_name(tmp_path):
    """`minesafe template --params two-years-before.yaml --from` a 2023 submission: the target sheet
    asks for the 2021 counts by name; without the params it asks for 2020's."""
    import openpyxl
    import yaml

    from minesafe.cli import main

    from .conftest import DEMO, TWO_YEARS_BEFORE

    data = yaml.safe_load((DEMO / "counties" / "jia.yaml").read_text(encoding="utf-8")) | {"year": 2023}
    source = tmp_path / "jia-2023.yaml"
    source.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    def labels(*params):
        out = tmp_path / "t.xlsx"
        assert main(["template", "--out", str(out), "--force", "--from", str(source), *params]) == 0
        sheet = openpyxl.load_workbook(out)["工作目标"]
        return {v for row in sheet.iter_rows(values_only=True) for v in row if isinstance(v, str)}

    assert "2021年非煤地下矿山数量（座）" in labels("--params", str(TWO_YEARS_BEFORE))
    assert "2020年非煤地下矿山数量（座）" in labels() and "2021年非煤地下矿山数量（座）" not in labels()
