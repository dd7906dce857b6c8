"""The fill-in workbook as an evaluator prints and edits it: page set-up, protection and
validation (read back with openpyxl), and LibreOffice headless converting it to PDF and re-saving
it (an office suite's round trip must not change the evaluation).

Without LibreOffice the conversions are skipped, saying what to install; in CI (``CI`` set) a
missing LibreOffice fails them instead.
"""

import openpyxl
import pytest

from minesafe.cli import main
from minesafe.rendering import result_to_dict
from minesafe.results import evaluate
from minesafe.workbook import FIELDS, INFO, INSTRUCTIONS, ITEMS, TARGETS

from .conftest import DEMO
from .office import convert, require_soffice


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("template") / "模板.xlsx"
    assert main(["template", "--out", str(path)]) == 0
    return path


@pytest.fixture(scope="module")
def soffice():
    require_soffice()


def test_every_sheet_prints_a4_landscape_one_page_wide(template):
    for ws in openpyxl.load_workbook(template).worksheets:
        assert (ws.page_setup.orientation, int(ws.page_setup.paperSize)) == ("landscape", 9), ws.title  # 9: A4
        tall = 1 if ws.title == TARGETS else 0  # the targets on one page; other sheets as long as they are
        assert ws.sheet_properties.pageSetUpPr.fitToPage and (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, tall)
        assert ws.oddHeader.center.text == "非煤矿山重点地区安全生产攻坚克难工作评估表"
        assert ws.oddFooter.center.text == "第 &P 页，共 &N 页"
        if ws.title != INSTRUCTIONS:
            assert ws.print_title_rows == "$1:$1"


@pytest.mark.parametrize(("sheet", "left"), [("批量评估汇总", ""), ("2023", "&A")])
def test_a_printed_header_names_the_sheet_once(sheet, left):
    from minesafe.cells import set_print_layout

    ws = openpyxl.Workbook().active
    ws.title = sheet
    set_print_layout(ws, "批量评估汇总")
    assert (ws.oddHeader.left.text or "", ws.oddHeader.center.text) == (left, "批量评估汇总")


def test_rows_are_tall_enough_for_their_wrapped_text(template):
    items = openpyxl.load_workbook(template)[ITEMS]
    heights = [items.row_dimensions[r].height for r in range(2, items.max_row + 1)]
    assert all(h and h >= 18 for h in heights)
    assert max(heights) >= 6 * 15  # the longest rule texts take several lines


def test_rules_and_keys_are_protected_and_inputs_open(template):
    wb = openpyxl.load_workbook(template)
    for ws in wb.worksheets:
        assert ws.protection.sheet and not ws.protection.password, ws.title
    items = wb[ITEMS]
    assert items["E2"].protection.locked and items["A2"].protection.locked  # rule text, row id
    assert not items["G2"].protection.locked and not items["H2"].protection.locked  # result, note
    assert not wb[TARGETS]["F2"].protection.locked and wb[TARGETS]["C2"].protection.locked
    assert wb[INFO].column_dimensions["A"].hidden and wb[TARGETS].column_dimensions["A"].hidden
    assert wb[FIELDS].column_dimensions["B"].hidden


def test_count_cells_take_whole_numbers_with_a_chinese_message(template):
    wb = openpyxl.load_workbook(template)
    for title, column in ((TARGETS, "F"), (FIELDS, "E")):
        whole = [dv for dv in wb[title].data_validations.dataValidation if dv.type == "whole"]
        assert len(whole) == 1 and whole[0].formula1 == "0" and whole[0].operator == "greaterThanOrEqual"
        assert "整数" in whole[0].error and whole[0].showErrorMessage
        assert all(str(r).startswith(column) for r in whole[0].sqref.ranges)


def test_input_cells_are_ruled(template):
    """An input cell is white like the paper: its border shows where to write."""
    wb = openpyxl.load_workbook(template)
    year = next(r for r in range(2, wb[INFO].max_row + 1) if wb[INFO].cell(r, 1).value == "year")
    for title, cell in ((ITEMS, "G2"), (ITEMS, "H2"), (TARGETS, "F2"), (FIELDS, "E2"), (INFO, f"C{year}")):
        border = wb[title][cell].border
        assert not wb[title][cell].protection.locked, (title, cell)
        assert {border.left.style, border.right.style, border.top.style, border.bottom.style} == {"thin"}, (title, cell)


def test_the_year_cell_takes_a_four_digit_year_with_a_chinese_message(template):
    info = openpyxl.load_workbook(template)[INFO]
    (row,) = [r for r in range(2, info.max_row + 1) if info.cell(r, 1).value == "year"]
    (dv,) = [dv for dv in info.data_validations.dataValidation if f"C{row}" in dv.sqref]
    assert (dv.type, dv.operator, dv.formula1, dv.formula2) == ("whole", "between", "2021", "2100")  # after the 2020 baseline
    assert "四位年份" in dv.error and dv.showErrorMessage


def test_libreoffice_prints_the_template(template, soffice, tmp_path):
    import pypdfium2

    pdf = pypdfium2.PdfDocument(convert(template, "pdf", tmp_path))
    try:
        texts = [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    finally:
        pdf.close()
    assert 10 <= len(texts) <= 24, len(texts)  # 65 rules and their fill-in texts, one page wide
    assert all(f"第 {n} 页，共 {len(texts)} 页" in text for n, text in enumerate(texts, 1))
    assert "非煤矿山重点地区安全生产攻坚克难工作评估表" in texts[0]
    assert "noncoal-county" in texts[0]  # the instructions are on the first page, not cut off
    targets = [text for text in texts if text.startswith(TARGETS)]  # each page's header starts with its sheet
    assert len(targets) == 1 and "谎报、瞒报、迟报事故死亡人数" in targets[0]  # T1–T7 on one page, the last row too


def test_a_workbook_resaved_by_libreoffice_evaluates_identically(soffice, tmp_path):
    submission = DEMO / "counties" / "ding.yaml"
    book = tmp_path / "ding.xlsx"
    assert main(["template", "--from", str(submission), "--out", str(book)]) == 0
    resaved = convert(book, "xlsx:Calc MS Excel 2007 XML", tmp_path / "libreoffice")
    assert resaved.read_bytes() != book.read_bytes()
    assert result_to_dict(evaluate(resaved)) == result_to_dict(evaluate(submission))
