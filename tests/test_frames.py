"""Results as DataFrames: the report's Chinese columns, numbers as numbers, one line per unit and stage."""

import pandas as pd
import pytest

from minesafe.frames import RESULT_COLUMNS, results_frame
from minesafe.rendering import result_to_dict
from minesafe.results import evaluate
from minesafe.rubric import Category

from .conftest import DEMO


@pytest.fixture(scope="module")
def ding():
    return evaluate(DEMO / "counties" / "ding.yaml")


def test_targets_frame_is_indexed_by_target_with_numeric_values(ding):
    frame = ding.targets_frame()
    assert list(frame.index) == [t.id for t in ding.rubric.targets]
    assert frame.index.name == "编号"
    assert {"总体目标", "类别", "目标", "目标值", "实际值", "评估结果", "是否完成", "说明"} <= set(frame.columns)
    assert frame["实际值"].dtype == "float64" and frame["目标值"].dtype == "float64"
    assert frame["是否完成"].dtype == "bool"
    first = ding.targets[0]
    assert frame.loc[first.target.id, "实际值"] == pytest.approx(float(first.value))


def test_items_frame_points_sum_to_the_score(ding):
    frame = ding.items_frame()
    assert list(frame.index) == [r.id for r in ding.rubric.rows]
    assert {"类别", "评估结果", "分值", "得分", "说明"} <= set(frame.columns)
    assert frame["得分"].dtype == "float64" and frame["分值"].dtype == "float64"
    assert frame["得分"].sum() == pytest.approx(float(ding.score))
    scored = frame[frame["类别"] == Category.SCORED.value]
    assert scored["分值"].sum() == ding.rubric.total_points
    assert frame.loc[frame["类别"] == Category.VETO.value, "得分"].isna().all()


def test_province_has_no_items_frame_but_a_counties_frame():
    province = evaluate(DEMO / "province.yaml")
    assert not hasattr(province, "items_frame")  # a province has no rows of its own
    counties = province.counties_frame()
    assert sorted(counties["单位"]) == sorted(c.county for c in province.counties)


def test_results_frame_columns_dtypes_and_reasons():
    bing, wu = evaluate(DEMO / "counties" / "bing.yaml"), evaluate(DEMO / "counties" / "wu.yaml")  # 78 分; T1 未完成
    frame = results_frame([(result_to_dict(bing), "b.yaml"), (result_to_dict(wu), "w.yaml")])
    assert tuple(frame.columns) == RESULT_COLUMNS
    assert frame["年度"].dtype == "Int64" and frame["得分"].dtype == "float64"
    assert frame["是否合格"].dtype == "boolean" and frame["否决项未完成数"].dtype == "Int64"
    by_unit = frame.set_index("单位")
    assert by_unit.loc["示例丙县", "得分"] == 78.0
    assert "低于 80 分" in by_unit.loc["示例丙县", "不合格原因"]
    assert by_unit.loc["示例戊县", "未完成的否决项"] == "T1"
    assert by_unit.loc["示例戊县", "否决项未完成数"] == 1


def test_results_frame_of_nothing_has_the_columns():
    frame = results_frame([])
    assert tuple(frame.columns) == RESULT_COLUMNS and frame.empty
    assert isinstance(frame, pd.DataFrame)


def test_a_result_with_stages_has_a_line_per_stage_the_deciding_one_in_full():
    from minesafe.results import evaluate_unit

    unit = evaluate_unit([DEMO / "coal" / "county-jia.yaml", DEMO / "coal" / "county-jia-verified.yaml"])
    frame = results_frame([(result_to_dict(unit), "result.json")])
    assert list(frame["阶段"]) == ["自评", "核查"] and list(frame["结论"]) == ["合格", "不合格"]
    failed_veto = [i.row.id for i in unit.deciding.items if i.row.category is Category.VETO and i.outcome.value == "未完成"]
    assert failed_veto and frame.loc[1, "未完成的否决项"] == "、".join(failed_veto)  # the deciding stage in full
    assert list(frame["以此阶段为准"]) == [False, True]
    assert frame.loc[0, "得分"] == 100.0 and frame.loc[0, ["否决项未完成数", "未完成的否决项"]].isna().all()
