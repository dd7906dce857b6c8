"""The batch summary: one line per unit, as JSON and as an Excel workbook for evaluators."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from openpyxl import Workbook
from openpyxl.styles import Font

from minesafe.cells import append_row, style_header

STATUS_OK, STATUS_FAILED, STATUS_INTERRUPTED = "成功", "失败", "中断"


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

    @property
    def succeeded(self) -> bool:
        return self.status == STATUS_OK


COLUMNS = [
    ("unit", "单位", 16),
    ("kind", "类型", 8),
    ("province", "省（区）", 10),
    ("year", "年度", 7),
    ("verdict", "结论", 8),
    ("score", "得分", 7),
    ("status", "运行状态", 9),
    ("reused", "沿用上次报告", 12),
    ("seconds", "用时（秒）", 10),
    ("error", "错误", 60),
    ("report", "报告文件", 50),
    ("run_file", "参数文件", 40),
]


def summary_to_dict(outcomes: Sequence[UnitOutcome]) -> dict:
    return {
        "units": [asdict(o) for o in outcomes],
        "succeeded": sum(o.succeeded for o in outcomes),
        "failed": sum(o.status == STATUS_FAILED for o in outcomes),
        "interrupted": sum(o.status == STATUS_INTERRUPTED for o in outcomes),
        "reused": sum(o.reused for o in outcomes),
    }


def _cell(outcome: UnitOutcome, key: str) -> object:
    if key == "seconds":
        return round(outcome.seconds, 1)
    if key == "reused":
        return "是" if outcome.reused else ""
    return getattr(outcome, key)


def build_summary_workbook(outcomes: Sequence[UnitOutcome]) -> Workbook:
    wb = Workbook()
    ws = wb.active
    ws.title = "批量评估汇总"
    append_row(ws, [label for _, label, _ in COLUMNS])
    style_header(ws, 1, [width for _, _, width in COLUMNS])
    for o in outcomes:
        append_row(ws, [_cell(o, key) for key, _, _ in COLUMNS])
        if not o.succeeded or o.verdict == "不合格":
            ws.cell(ws.max_row, 5 if o.succeeded else 7).font = Font(bold=True, color="C62828")
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    return wb
