"""Every workbook minesafe writes (besides the fill-in template, tests/test_workbook_print.py) as
an evaluator prints it: the list proposals (名单建议.xlsx), the batch summary and the status table.
Each sheet is A4 landscape, one page wide, its header rows repeated, its text wrapped in rows tall
enough (openpyxl reads the set-up back); LibreOffice prints them to PDF on few pages with every
text whole (a row too short for its text, or a page too narrow, loses text in the PDF).

Without LibreOffice the conversion is skipped, saying what to install; in CI (``CI`` set) a
missing LibreOffice fails it instead.
"""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest

from minesafe import office
from minesafe.cells import LINE_HEIGHT
from minesafe.cli import main
from minesafe.rendering import result_to_dict
from minesafe.results import evaluate
from minesafe.storage import write_workbook
from minesafe.summary import STATUS_FAILED, STATUS_OK, UnitOutcome, build_summary_frame, build_summary_workbook

from .conftest import DEMO
from .office import require_soffice

LONG_ERROR = "文件 示例县.yaml 有 3 处问题：" + "；".join(
    f"键 targets.underground_mines.current：第 {i} 处应为非负整数（当前值：-3）" for i in range(3)
)


def _summary_workbook(path: Path) -> Path:
    """The batch summary of the demo's six counties and one failed file with a long message."""
    outcomes, results = [], {}
    for name in ("jia", "yi", "bing", "ding", "wu", "ji"):
        result = result_to_dict(evaluate(DEMO / "counties" / f"{name}.yaml"))
        report = str(path.parent / "2022" / "示例省" / result["county"] / "report.html")
        results[report] = result
        outcomes.append(UnitOutcome(f"{name}.yaml", result["county"], "重点县", "示例省", 2022, result["verdict"], "",
                                    STATUS_OK, 1.0, "", report, False))  # fmt: skip
    outcomes.append(UnitOutcome("bad.yaml", "示例县", "", "", None, "", "", STATUS_FAILED, 0.1, LONG_ERROR, ""))
    write_workbook(build_summary_workbook(build_summary_frame(outcomes, results), path.parent), path)
    return path


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("written")
    lists, status = folder / "名单建议.xlsx", folder / "status.xlsx"
    assert main(["lists", str(DEMO / "lists" / "coal-county-history.yaml"), "--out", str(lists)]) == 0
    assert main(["status", str(DEMO), "--today", "2023-03-10", "--out", str(status)]) == 0
    return {"lists": lists, "summary": _summary_workbook(folder / "batch-summary.xlsx"), "status": status}


HEADER_ROWS = {"lists": "$1:$2", "summary": "$1:$1", "status": "$1:$1"}


@pytest.mark.parametrize("kind", HEADER_ROWS)
def test_every_sheet_is_set_up_for_a4_landscape_one_page_wide(written, kind):
    for ws in openpyxl.load_workbook(written[kind]).worksheets:
        assert (ws.page_setup.orientation, int(ws.page_setup.paperSize)) == ("landscape", 9), ws.title  # 9: A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage and (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0)
        assert ws.print_title_rows == HEADER_ROWS[kind] and ws.oddFooter.center.text == "第 &P 页，共 &N 页"
        for row in ws.iter_rows():
            filled = [c for c in row if c.value is not None]
            assert all(c.alignment.wrap_text for c in filled), (ws.title, row[0].row)
            lines = max((str(c.value).count("\n") + 1 for c in filled), default=1)
            assert ws.row_dimensions[row[0].row].height >= LINE_HEIGHT * lines, (ws.title, row[0].row)


def test_the_summary_names_each_form_by_its_title(written):
    sheet = openpyxl.load_workbook(written["summary"]).active
    column = [c.value for c in sheet[1]].index("评估表") + 1
    forms = {sheet.cell(row, column).value for row in range(2, sheet.max_row + 1)} - {None}
    assert forms == {"非煤矿山重点地区安全生产攻坚克难工作评估表"}  # never the key noncoal-county


def test_the_list_title_spans_the_table(written):
    ws = openpyxl.load_workbook(written["lists"]).active
    assert [str(r) for r in ws.merged_cells.ranges] == ["A1:G1"]


def _squeeze(text: str) -> str:
    """PDF text without the line breaks and spaces wrapping adds."""
    return re.sub(r"\s+", "", text)


def test_libreoffice_prints_every_written_workbook_whole(written, tmp_path):
    require_soffice()
    import pypdfium2

    made = office.convert(list(written.values()), "pdf", tmp_path)
    pages = {}
    for kind, pdf_path in zip(written, made, strict=True):
        pdf = pypdfium2.PdfDocument(pdf_path)
        try:
            pages[kind] = [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
            sizes = {tuple(round(x) for x in pdf[i].get_size()) for i in range(len(pdf))}
        finally:
            pdf.close()
        assert sizes == {(842, 595)}, (kind, sizes)  # A4 landscape, in points
        for n, text in enumerate(pages[kind], 1):
            assert f"第 {n} 页，共 {len(pages[kind])} 页" in text, kind
    assert len(pages["lists"]) == 1 and len(pages["summary"]) <= 2 and len(pages["status"]) <= 3, {
        k: len(v) for k, v in pages.items()
    }
    for kind, path in written.items():
        for ws in openpyxl.load_workbook(path).worksheets:
            # each page's header starts with its sheet's name (&A)
            sheet_pages = [_squeeze(text) for text in pages[kind] if _squeeze(text).startswith(_squeeze(ws.title))]
            assert sheet_pages, (kind, ws.title)
            header = [_squeeze(str(c.value)) for c in ws[int(HEADER_ROWS[kind].split(":")[1].strip("$"))] if c.value]
            for text in sheet_pages:  # the header rows repeat, the last column too: one page wide
                assert header[-1] in text, (kind, ws.title, header[-1])
            printed = "".join(sheet_pages)
            cells = [_squeeze(str(c.value)) for row in ws.iter_rows() for c in row if c.value not in (None, "")]
            missing = [t for t in cells if is_printed_as_stored(t) and not _ends_printed(t, printed)]
            assert not missing, (kind, ws.title, missing[:5])


def _ends_printed(cell: str, printed: str) -> bool:
    """A cell's first and last characters are on the page. The text of a wrapped cell comes out of
    the PDF interleaved with its row's other wrapped cells (line by line across the row), so the whole
    text is not looked for; a cell cut short (a row too low for its lines) loses its end."""
    return cell[:4] in printed and cell[-4:] in printed


def is_printed_as_stored(text: str) -> bool:
    """Cells whose text is printed as it is stored (not a hyperlink target or a number LibreOffice reformats)."""
    return not re.fullmatch(r"-?\d+(\.\d+)?", text)
