"""Cells of the workbooks minesafe writes: user text stored as text, the one header style and
the one print layout.

Every writer (the fill-in template and ``template --from``, the batch summary, the list
proposals, the status table) appends rows with :func:`append_row`, so a submitted name or note such
as ``=HYPERLINK(...)`` or ``@SUM(A1)`` can never become a live formula in Excel or WPS, and minesafe
reads back exactly the text that was written (line ends as LF: XML turns every CR into one). Each
sheet is finished with :func:`set_print_layout`: A4 landscape, one page wide, its header rows on
every page, page numbers, rows tall enough for their wrapped text (LibreOffice and WPS do not grow
rows to fit, so the heights are written).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins

from minesafe.names import escape_undecodable

if TYPE_CHECKING:
    from openpyxl.cell.cell import Cell
    from openpyxl.worksheet.worksheet import Worksheet

#: Leading characters that make Excel, WPS or a CSV import treat a text as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_HEAD_FILL = PatternFill("solid", fgColor="D9E1F2")
#: Points per line of wrapped text; LibreOffice and WPS do not grow rows to fit, so heights are set.
LINE_HEIGHT = 15
WRAP = Alignment(wrap_text=True, vertical="top")
PAGE_FOOTER = "第 &P 页，共 &N 页"


def write_value(cell: Cell, value: Any) -> None:
    """Put ``value`` in ``cell``; text is always stored as text (never as a formula), and text
    that starts like a formula is also marked with Excel's quote prefix (the leading apostrophe),
    so editing the cell later does not turn it into one either."""
    if isinstance(value, str):
        # XML reads every CR back as LF: write what will be read, so the text round-trips exactly;
        # a file name's bytes that are not UTF-8 cannot be stored at all: they are written escaped
        cell.value = escape_undecodable(value.replace("\r\n", "\n").replace("\r", "\n"))
        cell.data_type = "s"  # openpyxl would store "=…" as a formula
        if value.startswith(FORMULA_STARTS):
            cell.quotePrefix = True
    else:
        cell.value = value


def append_row(ws: Worksheet, values: Sequence[Any]) -> int:
    """Append ``values`` as the sheet's next row through :func:`write_value`; the row number."""
    if not values:
        raise ValueError("append_row needs at least one value")  # else append writes no cell to find its row by
    ws.append(list(values))
    row: int = ws.max_row  # append writes below every row in use: its row is now the last
    for col, value in enumerate(values, start=1):
        write_value(ws.cell(row, col), value)
    return row


def style_header(ws: Worksheet, row: int, widths: Sequence[int]) -> None:
    """Bold, shaded header cells in ``row`` and the columns' widths."""
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
        ws.cell(row, col).font = Font(bold=True)
        ws.cell(row, col).fill = _HEAD_FILL


def measure_text_width(text: str) -> int:
    """Width in Excel character units: a Chinese character takes two."""
    return sum(2 if ord(c) > 0x2E7F else 1 for c in text)


def fit_row_heights(ws: Worksheet) -> None:
    """Make each row tall enough for its wrapped text, from the column widths (a merged cell's
    text wraps across the width of its whole range)."""
    merged = {
        (r.min_row, r.min_col): sum(
            ws.column_dimensions[get_column_letter(c)].width or 10 for c in range(r.min_col, r.max_col + 1)
        )
        for r in ws.merged_cells.ranges
    }
    for row in ws.iter_rows(min_row=1, max_row=ws.max_row):
        lines = 1
        for cell in row:
            column = ws.column_dimensions[get_column_letter(cell.column)]
            if cell.value is None or column.hidden:
                continue
            width = merged.get((cell.row, cell.column)) or column.width or 10
            per_line = max(int(width), 1)
            wrapped = sum(max(1, -(-measure_text_width(part) // per_line)) for part in str(cell.value).split("\n"))
            lines = max(lines, wrapped)
        ws.row_dimensions[row[0].row].height = LINE_HEIGHT * lines + 3


def wrap_cells(ws: Worksheet) -> None:
    """Wrap the text of every cell in use, aligned to the top (fonts and fills are kept)."""
    for row in ws.iter_rows(min_row=1, max_row=ws.max_row):
        for cell in row:
            if cell.value is not None:
                cell.alignment = WRAP


def set_print_layout(ws: Worksheet, title: str, header_rows: int = 1, right: str = "") -> None:
    """Print set-up of a sheet: A4 landscape one page wide, its first ``header_rows`` rows on
    every page, a header naming the sheet (unless ``title`` is its name), ``title`` and ``right``,
    a footer with page numbers; rows tall enough for their wrapped text."""
    fit_row_heights(ws)
    setup = ws.page_setup
    setup.orientation, setup.paperSize = "landscape", ws.PAPERSIZE_A4
    setup.fitToWidth, setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins = PageMargins(left=0.5, right=0.5, top=0.75, bottom=0.75, header=0.3, footer=0.3)
    if header_rows:
        ws.print_title_rows = f"1:{header_rows}"
    ws.oddHeader.left.text = "" if ws.title == title else "&A"  # the sheet's name, unless the title says it already
    ws.oddHeader.center.text = title
    ws.oddHeader.right.text = right
    ws.oddFooter.center.text = PAGE_FOOTER
