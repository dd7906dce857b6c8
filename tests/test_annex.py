"""The filled 评估表: every row, mark and blank of the form compared with the rubric, values in
the blanks they belong to, results from the engine."""

import re
from fractions import Fraction

import pytest
import yaml

from minesafe.annex import BLANK, NOT_GIVEN, SAME_AS_BEFORE, build_annex, category_mark, fill_blanks, fill_row
from minesafe.evaluation import evaluate_county
from minesafe.files import read_rubric
from minesafe.results import evaluate
from minesafe.rubric import Category, FieldKind
from minesafe.submission import build_county_submission

from .conftest import DEMO

UNIT_RUBRICS = ("noncoal-county", "coal-county", "coal-enterprise")


def _sample(kind: FieldKind, n: int):
    return {FieldKind.COUNT: 100 + n, FieldKind.FLAG: n % 2 == 0, FieldKind.RATIO: Fraction(25, 2), FieldKind.TEXT: f"文字{n}"}[
        kind
    ]


def _shown(kind: FieldKind, value) -> str:
    return {FieldKind.FLAG: "是" if value else "否", FieldKind.RATIO: "12.5%"}.get(kind, str(value))


def _form_words(text: str) -> str:
    """A text with its blanks taken out: what must stay the form's own words."""
    return BLANK.sub("", text)


@pytest.mark.parametrize("rubric_id", UNIT_RUBRICS)
def test_every_row_keeps_the_forms_words_and_puts_each_value_in_its_blank(rubric_id):
    rubric = read_rubric(rubric_id)
    for row in rubric.rows:
        values = {f.key: _sample(f.kind, n) for n, f in enumerate(row.fields)}
        filled = fill_row(row, values)
        words = "".join(text for text, value in filled.parts if not value)
        assert words == _form_words(row.fill_in), row.id
        blanks = len(BLANK.findall(row.fill_in))
        shown = [_shown(f.kind, values[f.key]) for f in row.fields]
        if blanks >= len(row.fields):  # one blank a field, in the form's order (a text answer may fill a run)
            assert filled.values[: len(shown)] == tuple(shown) or row.id in ("5-1c", "5-2a"), row.id
            assert len(filled.values) == blanks, row.id
        else:  # a field without a blank follows the text
            assert filled.values == tuple(shown), row.id
        assert NOT_GIVEN not in filled.values, row.id


def test_a_text_answer_fills_a_run_of_what_blanks_once(county_rubric):
    row = county_rubric.row_by_id("5-1c")
    filled = fill_row(row, {"published": True, "where": "县融媒体中心"})
    assert filled.text == (
        "安全生产包保责任制（是）在当地主流媒体或者政府官方网站公布，在当地（县融媒体中心）媒体或（同上）网站公布"
    )
    assert filled.values == ("是", "县融媒体中心", SAME_AS_BEFORE)


def test_a_value_not_given_fills_its_blank_with_a_dash(county_rubric):
    row = county_rubric.row_by_id("1-1b")
    filled = fill_row(row, {"risky_systems": 0})
    assert filled.values == (NOT_GIVEN, "0", NOT_GIVEN, NOT_GIVEN)
    assert filled.text.startswith("（—）全面消除，相互开采存在风险隐患的独立生产系统数量（0）")


def test_extra_values_go_before_the_scoring_standard():
    filled = fill_blanks("举例说明开展的情况(评分标准：不落实不得分)", [], ["开展了解剖式执法"])
    assert filled.text == "举例说明开展的情况（开展了解剖式执法）(评分标准：不落实不得分)"


@pytest.fixture(scope="module")
def filled_county():
    data = yaml.safe_load((DEMO / "counties" / "yi.yaml").read_text(encoding="utf-8"))
    data["items"]["1-1a"] = {"realized": 30, "in_progress": 0, "not_realized": 0, "not_realized_share": "0%"}
    data["items"]["5-3a"] = {"result": "完成", "adequate": "是", "mines": 40, "inspectors": 6, "specialties": "采矿、地质"}
    rubric = read_rubric("noncoal-county")
    return evaluate_county(build_county_submission(data, rubric), rubric), data


def test_the_annex_has_every_row_of_the_form_in_order_with_its_mark_and_result(filled_county):
    result, _ = filled_county
    annex = build_annex(result)
    rubric = result.rubric
    assert [r.row.id for r in annex.rows] == [r.id for r in rubric.rows]
    assert [heading for heading, _ in annex.sections] == [f"（{'一二三四五'[s.number - 1]}）{s.name}" for s in rubric.sections]
    marks = {Category.VETO: "■", Category.REFERENCE: "/"}
    for row, item in zip(annex.rows, result.items, strict=True):
        inferred = "（推断）" if row.row.inferred else ""  # the form lost these rows' marks
        assert row.mark == marks.get(row.row.category, f"△/{row.row.points}") + inferred == category_mark(row.row) + inferred
        assert row.result.startswith(item.outcome.value)
        if row.row.category is Category.SCORED:
            assert row.result.endswith(f"得 {item.earned} 分")
        assert row.note == item.note
        assert row.first_of_task == (row.row.id.endswith("a"))  # a task's first row is its "a" row
    assert annex.summary == result.summary == "否决项完成的有 27 项，未完成的有 1 项，不涉及的有 1 项；评分项共计得分 100 分"


def test_the_annex_fills_the_submitted_values_into_their_rows(filled_county):
    result, _ = filled_county
    rows = {r.row.id: r for r in build_annex(result).rows}
    assert rows["1-1a"].filled.values == ("30", "0", "0", "0%")
    assert rows["5-3a"].filled.text.startswith(
        "重点地区应急管理等部门（是）配备与本地区非煤矿山安全监管任务相适应的监管力量；（40）座非煤矿山，配备了（6）监管力量，专业分布（采矿、地质）"
    )
    assert rows["4-2c"].result == "未完成"
    assert rows["4-2c"].note == "在用单次提升超过9人的单绳缠绕式提升机1台未按期淘汰"
    # the rows the engine judged from counts carry the counts that decided them
    assert rows["2-1b"].filled.values == ("0",)
    assert rows["2-1b"].result == "完成"


def test_the_targets_fill_the_forms_three_columns_for_the_evaluated_year(filled_county):
    result, _ = filled_county
    annex = build_annex(result)
    targets = {t.target.id: t for t in annex.targets}
    assert [c.text for c in targets["T1"].columns] == [
        "2020年非煤地下矿山数量（60）",
        "2022年非煤地下矿山数量（45）",
        "下降比例（25.00%）",
    ]
    assert [c.text for c in targets["T4"].columns] == [
        "前5年平均事故死亡人数（3.60）",
        "今年事故死亡人数（2）",
        "下降比例（44.44%）",
    ]
    assert targets["T3"].note == "全部非煤矿山数量：2020年 100 座，评估年度年末 90 座"
    # the form's T6 has no blank for the deaths: the value follows its words
    assert [c.text for c in targets["T6"].columns] == ["近3年重大事故起数（0）、死亡人数（0）"]
    assert annex.target_headers == ("2020年\n数量/座", "2022年12月\n数量/座", "%")
    assert all(t.result == "完成" for t in annex.targets)


def test_a_later_year_names_its_own_year_and_baseline(wu_in_2026):
    annex = build_annex(evaluate(wu_in_2026))
    assert annex.target_headers[:2] == ("2020年\n数量/座", "2026年12月\n数量/座")
    assert re.match(r"2026年非煤地下矿山数量（\d+）", annex.targets[0].columns[1].text)
