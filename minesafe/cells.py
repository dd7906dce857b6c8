"""Cells of the workbooks minesafe writes: user text stored as text, and the one header style.

Every writer (the fill-in template and ``template --from``, the batch summary, the list
proposals) appends rows with :func:`append_row`, so a submitted name or note such as
``=HYPERLINK(...)`` or ``@SUM(A1)`` can never become a live formula in Excel or WPS, and minesafe
reads back exactly the text that was written (line ends as LF: XML turns every CR into one).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from minesafe.names import escape_undecodable

if TYPE_CHECKING:
    from openpyxl.cell.cell import Cell
    from openpyxl.worksheet.worksheet import Worksheet

#: Leading characters that make Excel, WPS or a CSV import treat a text as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_HEAD_FILL = PatternFill("solid", fgColor="D9E1F2")


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
