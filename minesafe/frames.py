"""Results as pandas DataFrames, for evaluators who work in JupyterLab: one result's targets and
rows, and one line per unit and stage across many results.

The engine keeps exact Fractions; numbers become floats only here, at the edge. Column names are
the report's Chinese words. pandas is imported when a frame is built, so that the CLI and the
report kernels do not pay for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, SupportsFloat

from minesafe.decimals import format_decimal
from minesafe.evaluation import RESULT_VIEWS, CountyResult, ProvinceResult
from minesafe.names import normalize_name
from minesafe.rendering import result_to_dict
from minesafe.rubric import STAGES, Category, Outcome

if TYPE_CHECKING:
    import pandas as pd

#: The file name of a unit's result in its batch report folder (what ``load_results`` reads).
RESULT_FILE = "result.json"
#: The batch summary's files in a batch's output folder (``.json`` and ``.xlsx``): not inputs.
SUMMARY_STEM = "batch-summary"
#: Unit kinds as the summary names them, by the key a result mapping names its unit with.
UNIT_KINDS = {"county": "重点县", "enterprise": "重点企业"}
PROVINCE_KIND = "重点省"
#: A county can be a key county on the coal list and on the non-coal list in one year: one unit on
#: each form. The coal form's unit is told apart by this word (its report folder; its name in the
#: overview when both are there); the non-coal unit keeps the plain name the province report links to.
FORM_MARKS = {"coal-county": "煤矿"}


def mark_form(name: str, rubric_id: str) -> str:
    """``name`` with its form's mark (:data:`FORM_MARKS`): ``甲县（煤矿）``; other forms' names as they are."""
    return f"{name}（{FORM_MARKS[rubric_id]}）" if rubric_id in FORM_MARKS else name


#: The columns of :func:`results_frame` (and so of ``minesafe.load_results`` and the batch summary).
RESULT_COLUMNS = (
    "年度",
    "省",
    "单位",
    "单位类型",
    "阶段",
    "以此阶段为准",
    "结论",
    "是否合格",
    "得分",
    "合格分数线",
    "否决项未完成数",
    "未完成的否决项",
    "失分的评分项",
    "不合格原因",
    "示例数据",
    "评估表",
    "参数方案",
    "评估口径",
    "文件",
)
#: Sort order of a table of results: by year, province, unit, then stage in the order of the process.
SORT_COLUMNS = ["年度", "省", "单位", "阶段"]


def _number(value: SupportsFloat | None) -> float:
    return float("nan") if value is None else float(value)


def targets_frame(result: CountyResult | ProvinceResult) -> pd.DataFrame:
    """一、工作目标: one line per target, indexed by target id."""
    import pandas as pd

    rows = [
        {
            "编号": t.target.id,
            "总体目标": t.target.name,
            "类别": Category.VETO.value,
            "目标": t.bound_text,
            "目标值": _number(t.target.bound),
            "实际值": _number(t.value),
            "实际": t.value_text,
            "评估结果": t.outcome.value,
            "是否完成": t.met,
            "说明": t.explanation,
            "提示": t.flag,
        }
        for t in result.targets
    ]
    return pd.DataFrame(rows).set_index("编号")


def items_frame(result: CountyResult) -> pd.DataFrame:
    """二、重点工作任务: one line per row of the form, indexed by row id."""
    import pandas as pd

    rows = [
        {
            "编号": i.row.id,
            "部分": i.row.section,
            "部分名称": i.row.section_name,
            "重点任务": i.row.task_name,
            "类别": i.row.category.value,
            "类别为推断": i.row.inferred,  # the marker was lost in the transcription (docs/rules.md)
            "任务分解": i.row.requirement,
            "评估结果": i.outcome.value,
            "分值": _number(i.row.points if i.row.category is Category.SCORED else None),
            "得分": _number(i.earned),
            "判定方式": "评估认定" if i.source == "explicit" else "由填报数量判定",
            "依据": i.evidence,
            "填报内容": "；".join(i.filled),
            "说明": i.note,
        }
        for i in result.items
    ]
    return pd.DataFrame(rows).set_index("编号")


def _failed_ids(entries: Mapping[str, Mapping[str, Any]], category: str | None = None) -> list[str]:
    return [
        key
        for key, e in entries.items()
        if e.get("result") == Outcome.FAILED.value and (category is None or e.get("category") == category)
    ]


def result_row(data: Mapping[str, Any], file: str) -> dict[str, Any]:
    """One line of :func:`results_frame` from a result mapping (``result.json``, ``--json``)."""
    unit_key = next((k for k in UNIT_KINDS if k in data), None)
    failed_targets = _failed_ids(data.get("targets", {}))
    failed_veto = failed_targets + _failed_ids(data.get("items", {}), Category.VETO.key)
    failed_points = _failed_ids(data.get("items", {}), Category.SCORED.key)
    score, pass_score = data.get("score"), data.get("pass_score")
    reasons = []
    if failed_targets:
        reasons.append("工作目标 " + "、".join(failed_targets) + " 未完成")
    if len(failed_veto) > len(failed_targets):
        reasons.append("否决项 " + "、".join(failed_veto[len(failed_targets) :]) + " 未完成")
    if score is not None and pass_score is not None and score < pass_score:
        reasons.append(f"得分 {format_decimal(score)} 分，低于 {format_decimal(pass_score)} 分")
    failed_counties = [name for name, c in data.get("counties", {}).items() if c.get("passed") is False]
    if failed_counties:
        reasons.append("重点县 " + "、".join(failed_counties) + " 不合格")
    # what keeps a province 待定 (or would, once its failures are fixed)
    for key, what in (("pending_counties", "只有自评结果"), ("missing_counties", "没有评估结果")):
        if data.get(key):
            reasons.append("重点县 " + "、".join(data[key]) + f" {what}")
    return {
        "年度": data["year"],
        # a result.json of an older minesafe may hold a name as typed: one unit, one name
        "省": normalize_name(str(data["province"])),
        "单位": normalize_name(str(data[unit_key] if unit_key else data["province"])),
        "单位类型": UNIT_KINDS[unit_key] if unit_key else PROVINCE_KIND,
        "阶段": data.get("stage", ""),
        "以此阶段为准": True,
        "结论": data["verdict"],
        "是否合格": data["passed"],  # None (pd.NA) for 待定
        "得分": _number(score),
        "合格分数线": _number(pass_score),
        "否决项未完成数": len(failed_veto),
        "未完成的否决项": "、".join(failed_veto),
        "失分的评分项": "、".join(failed_points),
        "不合格原因": "；".join(reasons),
        "示例数据": bool(data.get("demo")),
        "评估表": data["rubric"],
        "参数方案": data.get("profile") or "",
        "评估口径": describe_rule_set(data),
        "文件": file,
    }


def describe_rule_set(data: Mapping[str, Any]) -> str:
    """A result mapping's rule set as the summary and the overview say it: empty for the national
    form, else ``非国家评估表口径：<name>（each change）`` from its ``rule_set`` flag reasons."""
    name = data.get("rule_set")
    if not name:
        return ""
    prefix = f"非国家评估表口径：{name}，"
    changes = [
        r["text"].removeprefix(prefix)
        for r in data.get("reasons", [])
        if r.get("id") == "rule_set" and r["text"].startswith(prefix)
    ]
    return f"非国家评估表口径：{name}" + (f"（{'；'.join(changes)}）" if changes else "")


#: Column types of a table of results: numbers as numbers (nullable, for lines that lack one);
#: 是否合格 is True, False or missing (<NA>) for a 待定 province.
RESULT_TYPES = {
    "年度": "Int64",
    "是否合格": "boolean",
    "示例数据": "boolean",
    "否决项未完成数": "Int64",
    "得分": "float64",
    "合格分数线": "float64",
}


def sort_results(frame: pd.DataFrame) -> pd.DataFrame:
    """Typed and sorted by year, province, unit, then stage in the order of the process."""

    def order(column: pd.Series) -> pd.Series:
        return column.map(lambda s: STAGES.index(s) if s in STAGES else len(STAGES)) if column.name == "阶段" else column

    frame = frame.astype(RESULT_TYPES)
    return frame.sort_values(SORT_COLUMNS, kind="stable", key=order, na_position="last").reset_index(drop=True)


#: The columns only the deciding stage's full result fills; an earlier stage's line of a
#: ``result.json`` (under ``stages``: its verdict and score only) leaves them empty.
DETAIL_COLUMNS = ("否决项未完成数", "未完成的否决项", "失分的评分项", "不合格原因")


def result_rows(data: Mapping[str, Any], file: str) -> list[dict[str, Any]]:
    """The lines of one result mapping: its own stage's (the stage that decides), and one per
    earlier stage it records (以此阶段为准 false)."""
    row = result_row(data, file)
    earlier = [
        row
        | dict.fromkeys(DETAIL_COLUMNS)
        | {
            "阶段": stage,
            "以此阶段为准": False,
            "结论": s["verdict"],
            "是否合格": s["passed"],
            "得分": _number(s.get("score")),
        }
        for stage, s in (data.get("stages") or {}).items()
        if stage != row["阶段"]
    ]
    return [*earlier, row]


def results_frame(results: Iterable[tuple[Mapping[str, Any], str]]) -> pd.DataFrame:
    """One line per unit and stage from (result mapping, file) pairs, sorted by year, province, unit."""
    return rows_frame([row for data, file in results for row in result_rows(data, file)])


def counties_frame(province: ProvinceResult) -> pd.DataFrame:
    """One line per key county of a province's result (its deciding stage), the columns of ``load_results``."""
    return results_frame((result_to_dict(c), "") for c in province.counties)


def rows_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The table of results of lines made by :func:`result_row`: typed, sorted."""
    import pandas as pd

    return sort_results(pd.DataFrame(rows, columns=list(RESULT_COLUMNS)))


RESULT_VIEWS.targets_frame = targets_frame
RESULT_VIEWS.items_frame = items_frame
RESULT_VIEWS.counties_frame = counties_frame
