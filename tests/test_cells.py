"""User text in every workbook minesafe writes is stored as text, never as a formula, and reads
back exactly; all writers share one header style."""

import zipfile

import openpyxl
import pytest

from minesafe import cells
from minesafe.cli import main
from minesafe.lists import build_history, build_proposal_workbook, propose_next_list
from minesafe.parsing import read_document
from minesafe.storage import write_workbook, write_yaml
from minesafe.summary import UnitOutcome, build_summary_frame, build_summary_workbook

HOSTILE = ["=1+1", '=HYPERLINK("http://example.invalid","点我")', "+1-2", "-3+4", "@SUM(A1)", "\t=1+1", "\r=1+1"]


def _formulas(path) -> list[str]:
    """Cells stored as formulas anywhere in a saved workbook (the raw XML, as Excel reads it)."""
    with zipfile.ZipFile(path) as archive:
        return [n for n in archive.namelist() if n.startswith("xl/worksheets/") and b"<f>" in archive.read(n)]


def _texts(path) -> dict[str, openpyxl.cell.Cell]:
    wb = openpyxl.load_workbook(path)
    return {c.value: c for ws in wb for row in ws.iter_rows() for c in row if isinstance(c.value, str)}


def _stored(text: str) -> str:
    return text.replace("\r", "\n")  # XML reads a CR back as LF, so the helper writes LF


def _assert_stored_as_text(path, texts) -> None:
    assert _formulas(path) == []
    found = _texts(path)
    for text in map(_stored, texts):
        assert text in found, text
        assert found[text].data_type == "s"
        assert found[text].quotePrefix  # Excel/WPS keep it text even when the cell is edited


def test_template_from_a_hostile_submission_round_trips_exactly(tmp_path, county_data):
    county_data["province"] = HOSTILE[0]
    county_data["county"] = HOSTILE[2]
    for row_id, note in zip(["1-1a", "1-1b", "1-2a", "1-2b", "1-3a", "1-3b", "1-3c"], HOSTILE, strict=True):
        county_data["items"][row_id] = {"result": "完成", "note": note}
    source, book = tmp_path / "县.yaml", tmp_path / "县.xlsx"
    write_yaml(county_data, source)
    assert main(["template", "--from", str(source), "--out", str(book)]) == 0
    _assert_stored_as_text(book, HOSTILE)
    data, _ = read_document(book)
    assert (data["province"], data["county"]) == (HOSTILE[0], HOSTILE[2])
    notes = [data["items"][r]["note"] for r in ["1-1a", "1-1b", "1-2a", "1-2b", "1-3a", "1-3b", "1-3c"]]
    assert notes == [_stored(text) for text in HOSTILE]


def test_batch_summary_stores_user_text_as_text(tmp_path):
    outcome = UnitOutcome(HOSTILE[0], HOSTILE[1], "重点县", HOSTILE[4], 2022, "合格", "90", "成功", 1.0, HOSTILE[5], "")
    path = tmp_path / "summary.xlsx"
    write_workbook(build_summary_workbook(build_summary_frame([outcome], {})), path)
    _assert_stored_as_text(path, [HOSTILE[0], HOSTILE[1], HOSTILE[4], HOSTILE[5]])


def test_list_proposals_store_user_text_as_text(tmp_path):
    history = build_history({"kind": "coal-county", "year": 2025, "units": {"=1+1": {"listed": [], "nomination": "@SUM(A1)"}}})
    path = tmp_path / "lists.xlsx"
    write_workbook(build_proposal_workbook(history, propose_next_list(history)), path)
    assert _formulas(path) == []
    found = _texts(path)
    assert found["=1+1"].data_type == "s" and found["=1+1"].quotePrefix


def test_without_the_helper_openpyxl_would_write_a_formula(tmp_path):
    """The guarantee is the helper's: a plain openpyxl write of the same text makes a formula."""
    wb = openpyxl.Workbook()
    wb.active.append(["=1+1"])
    cells.append_row(wb.active, ["=1+1"])
    path = tmp_path / "x.xlsx"
    wb.save(path)
    ws = openpyxl.load_workbook(path).active
    assert ws["A1"].data_type == "f" and ws["A2"].data_type == "s"


@pytest.mark.parametrize("text", ["普通文字", "1-1a", "12"])
def test_ordinary_text_gets_no_quote_prefix(text):
    ws = openpyxl.Workbook().active
    cells.write_value(ws["A1"], text)
    assert ws["A1"].value == text and not ws["A1"].quotePrefix


def test_one_header_style_for_every_workbook(tmp_path, county_rubric):
    from minesafe.workbook import INFO, build_workbook

    history = build_history({"kind": "coal-county", "year": 2025, "units": {"县": {"listed": [2025]}}})
    books = {
        "template": (build_workbook(county_rubric)[INFO], 1),
        "summary": (build_summary_workbook(build_summary_frame([], {})).active, 1),
        "lists": (build_proposal_workbook(history, propose_next_list(history)).active, 2),
    }
    styles = {name: (ws.cell(row, 1).font.b, ws.cell(row, 1).fill.fgColor.rgb) for name, (ws, row) in books.items()}
    assert len(set(styles.values())) == 1 and next(iter(styles.values()))[0]
