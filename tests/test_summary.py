"""The batch summary: the table of load_results, with a link to each report and how its run went."""

import openpyxl

from minesafe.frames import RESULT_COLUMNS
from minesafe.rendering import result_to_dict
from minesafe.results import evaluate
from minesafe.storage import write_workbook
from minesafe.summary import (
    REPORT_LINK_TEXT,
    RUN_COLUMNS,
    STATUS_FAILED,
    STATUS_OK,
    UnitOutcome,
    build_summary_frame,
    build_summary_workbook,
    summary_to_dict,
)

from .conftest import DEMO


def _summary(tmp_path):
    out = tmp_path / "reports"
    outcomes, results = [], {}
    for name in ("jia", "bing"):  # 合格 100; 不合格 78
        result = result_to_dict(evaluate(DEMO / "counties" / f"{name}.yaml"))
        report = str(out / "2022" / "示例省" / result["county"] / "report.html")
        results[report] = result
        outcomes.append(
            UnitOutcome(
                f"{name}.yaml",
                result["county"],
                "重点县",
                "示例省",
                2022,
                result["verdict"],
                "",
                STATUS_OK,
                1.0,
                "",
                report,
                True,
            )
        )
    outcomes.append(UnitOutcome("bad.yaml", "bad", "", "", None, "", "", STATUS_FAILED, 0.1, "文件 bad.yaml 有 1 处问题", ""))
    return out, build_summary_frame(outcomes, results)


def test_summary_lines_are_those_of_load_results_sorted_then_failures(tmp_path):
    _, frame = _summary(tmp_path)
    assert list(frame.columns) == [*RESULT_COLUMNS, *RUN_COLUMNS]
    assert list(frame["单位"]) == ["示例丙县", "示例甲县", "bad"]  # by year, province, unit; no year last
    assert frame["得分"].dtype == "float64" and frame.loc[0, "得分"] == 78.0
    assert frame.loc[0, "不合格原因"] == "得分 78 分，低于 80 分"
    assert frame.loc[0, "文件"].endswith("示例丙县/result.json")
    summary = summary_to_dict(frame)
    assert (summary["succeeded"], summary["failed"], summary["reused"]) == (2, 1, 2)
    assert summary["units"][2]["年度"] is None and summary["units"][0]["沿用上次报告"] is True


def test_summary_workbook_links_reports_and_keeps_numbers(tmp_path):
    out, frame = _summary(tmp_path)
    write_workbook(build_summary_workbook(frame, out), out / "batch-summary.xlsx")
    sheet = openpyxl.load_workbook(out / "batch-summary.xlsx").active
    header = [c.value for c in sheet[1]]
    score, link, passed, demo = (header.index(c) + 1 for c in ("得分", "报告", "是否合格", "示例数据"))
    assert sheet.cell(2, score).value == 78 and sheet.cell(2, score).data_type == "n"
    assert sheet.cell(2, link).value == REPORT_LINK_TEXT
    assert sheet.cell(2, link).hyperlink.target == "2022/示例省/示例丙县/report.html"  # relative: the folder can move
    assert (sheet.cell(2, passed).value, sheet.cell(3, passed).value, sheet.cell(2, demo).value) == ("否", "是", "是")
    assert sheet.cell(2, header.index("结论") + 1).font.color.rgb.endswith("C62828")  # 不合格 in red
    assert sheet.cell(4, link).value in ("", None) and sheet.cell(4, link).hyperlink is None
