"""The batch summary: one line per unit and stage, as JSON and as an Excel workbook for evaluators,
made from the same table as ``minesafe.load_results`` (年度, 省, 单位 … 文件), with a link to each
report and how its run went."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.styles import Font

from minesafe import palette
from minesafe.cells import append_row, set_print_layout, style_header, wrap_cells
from minesafe.files import list_rubrics, read_rubric
from minesafe.frames import RESULT_COLUMNS, RESULT_FILE, result_rows, sort_results

if TYPE_CHECKING:
    import pandas as pd

STATUS_OK, STATUS_FAILED, STATUS_INTERRUPTED = "成功", "失败", "中断"
#: A file of a batch folder that is no submission: listed with the reason, not a unit.
STATUS_IGNORED = "已忽略"


@dataclass(frozen=True)
class UnitOutcome:
    """How one unit of a batch went."""

    run_file: str
    unit: str
    kind: str  # 重点县 or 重点省
    province: str
    year: int | None
    verdict: str
    score: str
    status: str
    seconds: float
    error: str
    report: str  # the HTML report's path, when one was written
    reused: bool = False  # unchanged since the last batch: its report was kept, not re-made
    stage: str = ""  # the stage whose verdict is the unit's (自评, 核查 or 认定), when known
    stages: tuple[tuple[str, str], ...] = ()  # (stage, verdict) of each stage given, earliest first
    versions: int = 1  # how many versions of the unit's submissions the batch has kept (minesafe.history)
    rule_set: str = ""  # a non-national rule set's name (params national: false); empty for the national form

    @property
    def succeeded(self) -> bool:
        return self.status == STATUS_OK


#: The summary's own columns, after those of ``minesafe.load_results`` (minesafe.frames.RESULT_COLUMNS).
RUN_COLUMNS = ("报告", "版本数", "运行状态", "沿用上次报告", "用时（秒）", "错误", "参数文件")
#: Column widths (a Chinese character counts two): the 26 columns print one A4 landscape page wide
#: at a readable size, headers and long texts (reasons, errors, paths) wrapped.
WIDTHS = {
    "年度": 5, "省": 7, "单位": 10, "单位类型": 7, "阶段": 5, "以此阶段为准": 6, "结论": 6, "是否合格": 5,
    "得分": 5, "合格分数线": 5, "否决项未完成数": 6, "未完成的否决项": 10, "失分的评分项": 12, "不合格原因": 18,
    "示例数据": 5, "评估表": 16, "参数方案": 8, "评估口径": 8, "文件": 16, "报告": 8, "版本数": 5, "运行状态": 6,
    "沿用上次报告": 6, "用时（秒）": 5, "错误": 18, "参数文件": 14,
}  # fmt: skip
#: The link text of a report in the summary workbook (the cell links to the report's HTML file).
REPORT_LINK_TEXT = "打开报告"


def build_summary_frame(outcomes: Sequence[UnitOutcome], results: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """The batch summary: a unit whose result is known is its lines of ``load_results`` on the
    output folder (``results`` maps a report's path to its result), any other has what is known
    of it; then how its run went. Sorted like ``load_results``."""
    import pandas as pd

    rows = []
    for o in outcomes:
        if o.report in results:
            lines = result_rows(results[o.report], str(Path(o.report).with_name(RESULT_FILE)))
        else:
            lines = [{"年度": o.year, "省": o.province, "单位": o.unit, "单位类型": o.kind, "结论": o.verdict}]
        run = {
            "报告": o.report,
            "版本数": o.versions,
            "运行状态": o.status,
            "沿用上次报告": o.reused,
            "用时（秒）": round(o.seconds, 1),
            "错误": o.error,
            "参数文件": o.run_file,
        }
        rows += [line | run for line in lines]
    return sort_results(pd.DataFrame(rows, columns=[*RESULT_COLUMNS, *RUN_COLUMNS]))


def _plain(value: Any) -> Any:
    """A frame's cell as JSON and openpyxl take it: missing values as None, numpy scalars as Python's."""
    import pandas as pd

    if value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def summary_to_dict(frame: pd.DataFrame) -> dict:
    earlier = frame["以此阶段为准"].map(lambda v: v is not None and not bool(v))
    units = frame[~earlier.astype(bool)]  # a unit's earlier stages are not counted again
    return {
        "units": [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict("records")],
        "succeeded": int((units["运行状态"] == STATUS_OK).sum()),
        "failed": int((units["运行状态"] == STATUS_FAILED).sum()),
        "interrupted": int((units["运行状态"] == STATUS_INTERRUPTED).sum()),
        "ignored": int((units["运行状态"] == STATUS_IGNORED).sum()),
        "reused": int(units["沿用上次报告"].astype(bool).sum()),
    }


def _form_title(rubric_id: Any) -> Any:
    """A form named by its title, as a reader knows it (the key stays in batch-summary.json)."""
    return read_rubric(rubric_id).title if isinstance(rubric_id, str) and rubric_id in list_rubrics() else rubric_id


def build_summary_workbook(frame: pd.DataFrame, out: Path | None = None) -> Workbook:
    """The summary as evaluators open it: numbers as numbers, 是/否 for yes and no, 不合格 and
    failures in red, 待定 in amber, earlier stages in grey, and each report a link (relative to ``out``, the
    folder the workbook is in, so that the folder can move)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None  # a new workbook has its sheet
    ws.title = "批量评估汇总"
    columns = list(frame.columns)
    append_row(ws, columns)
    style_header(ws, 1, [WIDTHS.get(c, 10) for c in columns])
    red = Font(bold=True, color=palette.FAIL.removeprefix("#").upper())
    pending = Font(bold=True, color=palette.PENDING.removeprefix("#").upper())
    earlier = Font(italic=True, color=palette.NOT_APPLICABLE.removeprefix("#").upper())
    link = columns.index("报告")
    for record in frame.to_dict("records"):
        values = [_plain(record[c]) for c in columns]
        values[columns.index("评估表")] = _form_title(values[columns.index("评估表")])
        values = [("是" if v else "否") if isinstance(v, bool) else v for v in values]
        report = values[link]
        values[link] = REPORT_LINK_TEXT if report else ""
        row = append_row(ws, values)
        if report:
            cell = ws.cell(row, link + 1)
            cell.hyperlink = Path(os.path.relpath(report, out)).as_posix() if out is not None else report
            cell.style = "Hyperlink"
        for name in ("结论", "运行状态"):
            if record[name] in ("不合格", STATUS_FAILED, STATUS_INTERRUPTED):
                ws.cell(row, columns.index(name) + 1).font = red
            elif record[name] == "待定":  # a province not yet decidable: neither green nor red
                ws.cell(row, columns.index(name) + 1).font = pending
        if record["以此阶段为准"] is False:  # an earlier stage: its verdict is not the unit's
            for name in ("阶段", "以此阶段为准", "结论"):
                ws.cell(row, columns.index(name) + 1).font = earlier
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    wrap_cells(ws)
    set_print_layout(ws, "批量评估汇总")
    return wb
