"""The overview across units and years, on the demo results (see each demo file's first line for
its expected outcome): 示例煤矿县乙 fails in 2023 and 2024, 示例煤矿县甲's 核查 overturns its 自评."""

import pandas as pd
import pytest

import minesafe
from minesafe import charts, overview
from minesafe.exceptions import InputError

COAL_COUNTY = "煤矿安全生产重点县(市、区)综合评估表（暂行）"  # the form named by its title, never its key


@pytest.fixture(scope="module")
def table():
    return minesafe.load_results(minesafe.demo_folder())


def test_the_last_stage_decides_a_unit(table):
    units = overview.summarize_units(table).set_index(["年度", "单位名称"])
    jia = units.loc[(2023, "示例省 示例煤矿县甲")]
    assert (jia["阶段"], jia["结论"], jia["评估表"]) == ("核查", "不合格", COAL_COUNTY)
    assert not units.index.duplicated().any()
    assert len(units) == len(table) - 2  # 煤矿县甲's and 南甲县's 自评 are the lines that do not decide


def test_a_pending_province_is_neither_passed_nor_failed(table):
    """示例南省: 示例南乙县 is at 自评 only, so the province is 待定 (是否合格 missing), counted apart."""
    units = overview.summarize_units(table).set_index(["年度", "单位名称"])
    assert units.loc[(2022, "示例南省"), "结论"] == "待定"
    assert "示例南乙县" in units.loc[(2022, "示例南省"), "不合格原因"]
    assert overview.count_verdicts(table).loc[(2022, "重点省"), "待定"] == 1
    assert "待定 1 个" in overview.summarize_results(table)
    line = table[table["单位"] == "示例南省"].iloc[0]
    assert line["是否合格"] is pd.NA


def test_count_verdicts_per_year_and_kind(table):
    counts = overview.count_verdicts(table)
    assert counts.loc[(2022, "重点县"), "合格"] == 5 and counts.loc[(2022, "重点县"), "不合格"] == 3  # 示例省 6, 示例南省 2
    assert counts.loc[(2024, "重点县"), "不合格"] == 1


def test_rows_that_fail_most_come_first(table):
    ranked = overview.rank_failed_rows(table)
    first = ranked.iloc[0]
    assert (first["评估表"], first["编号"], first["未完成次数"]) == (COAL_COUNTY, "4-1a", 2)  # 乙, two years
    assert list(ranked["未完成次数"]) == sorted(ranked["未完成次数"], reverse=True)


def test_section_losses_of_units_by_section(table):
    losses = overview.tabulate_section_losses(table, "noncoal-county")
    rubric = minesafe.evaluate(minesafe.demo_folder() / "counties" / "bing.yaml").rubric
    assert list(losses["失分"].columns) == [f"({s.number}) {s.name}" for s in rubric.sections]
    bing = losses.loc["2022 示例省 示例丙县"]
    assert bing["失分"].sum() == 100 - 78  # every lost point lands in a section
    yi = losses.loc["2022 示例省 示例乙县"]
    assert yi["否决项未完成"].sum() == 1 and yi["失分"].sum() == 0  # 4-2c, a veto row
    assert losses.loc["2022 示例省 示例甲县"].sum() == 0  # a unit that lost nothing has its line of zeros
    assert losses["失分"].dtypes.eq("float64").all() and losses["否决项未完成"].dtypes.eq("int64").all()


def test_trends_show_each_year(table):
    trends = overview.trace_trends(table)
    yi = trends.loc[("重点县", "示例省 示例煤矿县乙")]
    assert (yi[2023], yi[2024], yi[2022]) == ("不合格 75分", "不合格 75分", "—")


def test_third_consecutive_year_flags_stationed_supervision(table):
    proposals = overview.propose_stationed_supervision(table).set_index("单位名称")
    assert proposals.loc["示例省 示例煤矿县乙", "驻点式督导帮扶"] == "是"
    assert proposals.loc["示例省 示例煤矿县乙", overview.STATIONED_YEARS_COLUMN] == 2  # 2023 and 2024; 2025 the third
    # no 2024 result (coal counties' latest year): shown, with nothing proposed and the year to supply
    assert proposals.loc["示例省 示例煤矿县甲"].drop("理由").tolist() == [COAL_COUNTY, 2023, "—", "待补充评估结果", 1, ""]
    assert proposals.loc["示例省 示例煤矿县甲", "理由"] == (
        "没有2024年评估结果（最近一次为2023年），无法提出2025年名单建议；请补充该单位2024年的评估结果"
    )
    assert not proposals.loc[proposals["评估表"].str.startswith("非煤"), "驻点式督导帮扶"].any()  # a coal measure


def test_years_listed_count_the_years_on_the_list_whatever_the_proposal(table):
    """Every demo unit was evaluated (so listed) in one year, but 示例煤矿县乙 in 2023 and 2024. A unit
    listed in 2023 has been on the list 1 year, whether it waits for its check (the enterprise, 合格
    at 自评: 待核查) or stays; 乙 has been on it 2 years and would be a third in 2025 (驻点式督导帮扶, 四(五))."""
    proposals = overview.propose_stationed_supervision(table).set_index("单位名称")
    shown = proposals[["最近评估年度", "下一年度名单建议", overview.STATIONED_YEARS_COLUMN, "驻点式督导帮扶"]]
    assert shown.loc["示例省 示例矿业有限公司"].tolist() == [2023, "待核查", 1, ""]
    assert shown.loc["示例省 示例煤矿县乙"].tolist() == [2024, "保留", 2, "是"]
    assert shown.loc["示例省 示例丁县"].tolist() == [2022, "待核查", 1, ""]
    assert shown.loc["示例省 示例丙县"].tolist() == [2022, "保留", 1, ""]
    assert shown.loc["示例省"].tolist() == [2022, "保留", 1, ""]


def test_an_exit_is_proposed_on_a_checked_result_only(table):
    """示例丁县 passed its 自评 only: 待核查; with the same 合格 at 核查 it would leave (调出)."""
    ding = overview.propose_stationed_supervision(table).set_index("单位名称").loc["示例省 示例丁县"]
    assert ding["下一年度名单建议"] == "待核查" and "尚未经省级评估小组核查或国家认定" in ding["理由"]
    checked = table.assign(阶段=table["阶段"].where(table["单位"] != "示例丁县", "核查"))
    assert (
        overview.propose_stationed_supervision(checked).set_index("单位名称").loc["示例省 示例丁县", "下一年度名单建议"] == "调出"
    )


def test_units_listed_once_or_twice_are_not_stationed(table):
    for years in ([2024], [2023]):
        proposals = overview.propose_stationed_supervision(table[table["年度"].isin(years)])
        assert proposals["驻点式督导帮扶"].eq("").all() and proposals[overview.STATIONED_YEARS_COLUMN].max() == 1


def test_describe_results_names_years_and_counts(table):
    text = str(overview.describe_results(table))
    assert "2022—2024年（3 个年度）" in text and "示例数据" in text
    assert str(overview.describe_results(table.iloc[0:0])) == "没有找到评估结果。"


def test_overview_charts_carry_their_data(table):
    units = overview.decide_units(table)
    distribution = charts.plot_score_distribution(units)
    assert len(distribution.data) == units["得分"].notna().sum()
    heatmap = charts.plot_section_losses(overview.tabulate_all_section_losses(table))
    assert {d["rubric"] for d in heatmap.data} == {
        minesafe.evaluate(minesafe.demo_folder() / f).rubric.title
        for f in ("counties/jia.yaml", "coal/county-yi.yaml", "coal/enterprise.yaml")
    }
    trends = charts.plot_score_trends(units)
    assert {d["单位名称"] for d in trends.data} == {"示例省 示例煤矿县乙"}
    assert charts.plot_score_trends(units[units["年度"] == 2022]).data == ()
    assert isinstance(units, pd.DataFrame)


def test_one_unit_and_year_decided_twice_is_refused_naming_both_files(table):
    """Two results deciding one unit's year (a copied report folder, say) were counted twice and
    broke the list proposals with a pandas error: refused, naming both files."""
    yi = table[(table["单位"] == "示例煤矿县乙") & (table["年度"] == 2024)]
    copied = pd.concat([table, yi.assign(文件="副本/result.json")], ignore_index=True)
    for summarize in (overview.propose_stationed_supervision, overview.count_verdicts, overview.summarize_results):
        with pytest.raises(InputError, match="示例煤矿县乙") as caught:
            summarize(copied)
        assert "副本/result.json" in str(caught.value) and str(yi["文件"].iloc[0]) in str(caught.value)


def test_a_result_under_a_non_national_rule_set_is_no_ground_for_an_exit(table):
    """示例丁县's 合格 at 核查 would leave the list; the same 合格 under a non-national rule set
    (params national: false) is named and not taken, as in minesafe lists --results."""
    checked = table.assign(阶段=table["阶段"].where(table["单位"] != "示例丁县", "核查"))
    loosened = checked.assign(评估口径=checked["评估口径"].where(checked["单位"] != "示例丁县", "非国家评估表口径：某省试行口径"))
    ding = overview.propose_stationed_supervision(loosened).set_index("单位名称").loc["示例省 示例丁县"]
    assert ding["下一年度名单建议"] == "保留" and "非国家评估表口径：某省试行口径" in ding["理由"], ding["理由"]


def test_section_losses_of_a_county_on_both_forms(tmp_path):
    """A county on the coal and the non-coal list alike is named with its coal form's mark
    (示例煤矿县乙（煤矿）): its coal losses are its line's, never a line of zeros."""
    demo = minesafe.demo_folder()
    coal = (demo / "coal" / "county-yi.yaml").read_text(encoding="utf-8")
    noncoal = (demo / "counties" / "bing.yaml").read_text(encoding="utf-8").replace("county: 示例丙县", "county: 示例煤矿县乙")
    (tmp_path / "coal.yaml").write_text(coal, encoding="utf-8")
    (tmp_path / "noncoal.yaml").write_text(noncoal, encoding="utf-8")
    both = minesafe.load_results(tmp_path)
    coal_losses = overview.tabulate_section_losses(both, "coal-county")
    assert coal_losses.index.tolist() == ["2023 示例省 示例煤矿县乙（煤矿）"]
    assert coal_losses["失分"].sum().sum() == 100 - 75
    noncoal_losses = overview.tabulate_section_losses(both, "noncoal-county")
    assert noncoal_losses.index.tolist() == ["2022 示例省 示例煤矿县乙"]
    assert noncoal_losses["失分"].sum().sum() == 100 - 78
