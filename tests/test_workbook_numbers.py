"""Numbers read from a filled workbook exactly as the person typed them (issue "Every number and
every verdict right", §1): percent cells, formulas, rows moved by a sort, text answers.

Each case is also read after a LibreOffice headless re-save (one conversion of one workbook that
carries all the cases), as an evaluator's office suite would leave the file. Without LibreOffice
that part is skipped, saying what to install; in CI (``CI`` set) it fails instead.
"""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import openpyxl
import pytest

from minesafe.batch import evaluate_run
from minesafe.exceptions import InputError
from minesafe.files import read_county_rubric, read_rubric
from minesafe.parsing import read_document
from minesafe.report import load_report, render_items
from minesafe.results import evaluate
from minesafe.rubric import FieldKind
from minesafe.runs import STAGE_PARAMETERS, Run
from minesafe.storage import write_workbook
from minesafe.submission import build_county_submission
from minesafe.workbook import (
    FIELDS,
    INFO,
    INSTRUCTIONS,
    ITEMS,
    NO_FORMULA_RESULT,
    PERCENT_FORMAT,
    TARGETS,
    build_workbook,
    is_percent_format,
)

from .conftest import DEMO, TWO_YEARS_BEFORE
from .office import convert, require_soffice

JIA = DEMO / "counties" / "jia.yaml"


def _row_of(ws, *keys: str) -> int:
    """The row whose first cells are ``keys`` (a row id, or a row id and a field key)."""
    return next(r for r in range(2, ws.max_row + 1) if all(ws.cell(r, c).value == k for c, k in enumerate(keys, start=1)))


def _filled(folder: Path) -> Path:
    data, _ = read_document(JIA)
    path = folder / "jia.xlsx"
    write_workbook(build_workbook(read_rubric("noncoal-county"), data), path)
    return path


def _ratio_fields() -> list[tuple[str, str]]:
    """(row id, field key) of the first three 比例(%) fields of the county form."""
    rubric = read_rubric("noncoal-county")
    return [(row.id, f.key) for row in rubric.rows for f in row.fields if f.kind is FieldKind.RATIO][:3]


def _values(path: Path) -> dict:
    data, locate = read_document(path)
    return build_county_submission(data, read_rubric("noncoal-county"), str(path), locate).items


@pytest.fixture(scope="module")
def soffice():
    require_soffice()


# --- percent cells ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number_format", "percent"),
    [("0.00%", True), ("0%", True), ("#,##0.0%;[Red]-0.0%", True), ('0"%"', False), ("0\\%", False), ("General", False)],
)
def test_a_percent_format_is_known_by_its_unquoted_percent_sign(number_format, percent):
    assert is_percent_format(number_format) is percent


def test_every_ratio_cell_of_the_template_is_a_percent_cell_with_its_validation(county_rubric):
    fields = build_workbook(county_rubric)[FIELDS]
    ratio_rows = [r for r in range(2, fields.max_row + 1) if fields.cell(r, 4).value == "比例(%)"]
    assert len(ratio_rows) == sum(f.kind is FieldKind.RATIO for row in county_rubric.rows for f in row.fields) > 0
    (validation,) = [dv for dv in fields.data_validations.dataValidation if dv.type == "decimal"]
    assert (validation.operator, validation.formula1, validation.formula2) == ("between", "0", "1")
    assert "0%～100%" in validation.error and validation.showErrorMessage
    for r in ratio_rows:
        assert fields.cell(r, 5).number_format == PERCENT_FORMAT
        assert f"E{r}" in validation.sqref
    instructions = " ".join(str(c.value) for c in build_workbook(county_rubric)[INSTRUCTIONS]["A"])
    assert "按百分比填写，请带百分号，如 12.5%" in instructions


def _three_ways(ws) -> None:
    """The three ways a person enters 2.35 %, one per 比例(%) field: ``2.35%`` typed (Excel stores
    0.0235 and gives the cell a percent format), ``2.35`` typed in the template's percent cell
    (stored 0.0235, the cell keeps its format), the text ``"2.35%"``."""
    (typed_row, typed_key), (formatted_row, formatted_key), (text_row, text_key) = _ratio_fields()
    typed = ws.cell(_row_of(ws, typed_row, typed_key), 5)
    typed.number_format = "General"  # as a cell of a workbook that never had a format
    typed.value, typed.number_format = 0.0235, "0.00%"
    ws.cell(_row_of(ws, formatted_row, formatted_key), 5).value = 0.0235
    text = ws.cell(_row_of(ws, text_row, text_key), 5)
    text.value, text.number_format = "2.35%", "@"


def _read_as_typed(path: Path) -> None:
    items = _values(path)
    for row_id, key in _ratio_fields():
        assert items[row_id].values[key] == Fraction(235, 100), (path.name, row_id, key)


def test_percent_cells_and_formulas_read_as_typed_also_after_a_libreoffice_resave(tmp_path, soffice):
    """2.35 % entered three ways reads 2.35 (never 0.0235); a veto row's 评估结果 formula without a
    stored result is an input error naming its cell, and the result LibreOffice stores when it
    re-saves the file decides the row (未完成: the county fails)."""
    filled = _filled(tmp_path)
    book = openpyxl.load_workbook(filled)
    _three_ways(book[FIELDS])
    book.save(filled)
    _read_as_typed(filled)

    items = book[ITEMS]
    veto = _row_of(items, "2-1b")  # its counts say 完成 (derived); the evaluator's formula says 未完成
    items.cell(veto, 7).value = '=IF(1>0,"未完成","完成")'
    blank = _row_of(items, "1-1a")
    items.cell(blank, 8).value = '=IF(1>0,"","说明")'  # a formula whose result is an empty text: a blank note
    formulas = tmp_path / "formulas" / "jia.xlsx"
    formulas.parent.mkdir()
    book.save(formulas)
    with pytest.raises(InputError) as refused:
        read_document(formulas)
    assert sorted(refused.value.lines) == [  # both formulas, nothing else: never an empty cell
        f'工作表「重点任务」单元格 G{veto}：{NO_FORMULA_RESULT}（当前值：“=IF(1>0,"未完成","完成")”）',
        f'工作表「重点任务」单元格 H{blank}：{NO_FORMULA_RESULT}（当前值：“=IF(1>0,"","说明")”）',
    ]

    resaved = convert(formulas, "xlsx", tmp_path / "resaved")
    _read_as_typed(resaved)
    items_read = _values(resaved)
    assert items_read["2-1b"].result is not None and items_read["2-1b"].result.value == "未完成"
    assert items_read["1-1a"].note == ""
    result = evaluate(resaved)
    assert result.passed is False and any(r.id == "2-1b" for r in result.reasons)


def test_a_percent_typed_into_a_general_cell_of_an_old_workbook_reads_as_written(tmp_path):
    """A plain 2.35 in a cell without a percent format (a workbook made before the cells had one)
    stays 2.35 %; 2.35 typed into a percent cell where the program keeps the number (LibreOffice
    shows 235.00%) reads 235 and is refused as out of range, naming the cell."""
    filled = _filled(tmp_path)
    book = openpyxl.load_workbook(filled)
    ws = book[FIELDS]
    (plain_row, plain_key), (kept_row, kept_key), _ = _ratio_fields()
    plain = ws.cell(_row_of(ws, plain_row, plain_key), 5)
    plain.value, plain.number_format = 2.35, "General"
    kept = _row_of(ws, kept_row, kept_key)
    ws.cell(kept, 5).value = 2.35
    book.save(filled)
    data, _ = read_document(filled)
    assert data["items"][plain_row][plain_key] == 2.35
    assert data["items"][kept_row][kept_key] == 235
    with pytest.raises(InputError) as refused:
        _values(filled)
    assert any(line.startswith(f"工作表「填报数量」单元格 E{kept}：") and "当前值：235" in line for line in refused.value.lines)


# --- rows moved or sorted --------------------------------------------------------------------------


def _swap_visible(ws, first: int, second: int, columns: range) -> None:
    """What a sort of the visible columns without the hidden key column does to two rows: their
    labels and values trade places, their keys stay."""
    for c in columns:
        a, b = ws.cell(first, c), ws.cell(second, c)
        a.value, b.value = b.value, a.value


def test_rows_sorted_without_their_hidden_key_are_refused_naming_the_cells(tmp_path):
    """T1's baseline and current counts sorted by value (a 25 % decrease would read as a rise), two
    fill-in values, two 重点任务 rows and two 基本信息 rows moved without their key column: each
    row is named by its label cell; nothing is read silently swapped."""
    path = _filled(tmp_path)
    book = openpyxl.load_workbook(path)
    targets, items, fields, info = book[TARGETS], book[ITEMS], book[FIELDS], book[INFO]
    moved = {
        TARGETS: (_row_of(targets, "underground_mines.baseline"), _row_of(targets, "underground_mines.current"), "E"),
        FIELDS: (_row_of(fields, "1-1c", "multi_system_licences"), _row_of(fields, "1-1c", "single_system_licences"), "C"),
        ITEMS: (_row_of(items, "2-1a"), _row_of(items, "2-1b"), "E"),
        INFO: (_row_of(info, "province"), _row_of(info, "county"), "B"),
    }
    _swap_visible(targets, *moved[TARGETS][:2], range(2, 7))
    _swap_visible(fields, *moved[FIELDS][:2], range(3, 6))
    _swap_visible(items, *moved[ITEMS][:2], range(2, 9))
    _swap_visible(info, *moved[INFO][:2], range(2, 5))
    book.save(path)
    with pytest.raises(InputError) as refused:
        read_document(path)
    named = sorted(line.split("：", 1)[0] for line in refused.value.lines)
    assert named == sorted(f"工作表「{sheet}」单元格 {column}{r}" for sheet, (*rows, column) in moved.items() for r in rows)
    line = next(x for x in refused.value.lines if f"E{moved[TARGETS][0]}：" in x)
    assert "当前值：“评估年度年末非煤地下矿山数量（座）”" in line and "本行应为“2020年非煤地下矿山数量（座）”" in line


def test_rows_sorted_in_a_workbook_naming_another_baseline_year_are_refused_too(tmp_path, wu_in_2026):
    """A workbook made under the two-years-before reading names 2024 in its target labels: read
    as it is, it is not taken for a sorted one (the baseline year is not what tells rows apart),
    and its T1 rows sorted without their keys are refused all the same."""
    data, _ = read_document(wu_in_2026)
    path = tmp_path / "wu.xlsx"
    write_workbook(build_workbook(read_county_rubric("noncoal-county", TWO_YEARS_BEFORE), data), path)
    assert read_document(path)[0]["targets"] == data["targets"]
    book = openpyxl.load_workbook(path)
    targets = book[TARGETS]
    rows = _row_of(targets, "underground_mines.baseline"), _row_of(targets, "underground_mines.current")
    assert targets.cell(rows[0], 5).value == "2024年非煤地下矿山数量（座）"
    _swap_visible(targets, *rows, range(2, 7))
    book.save(path)
    with pytest.raises(InputError) as refused:
        read_document(path)
    assert [line.split("：", 1)[0] for line in refused.value.lines] == [f"工作表「工作目标」单元格 E{r}" for r in rows]


def test_a_workbook_made_for_another_baseline_year_is_refused_under_this_one(tmp_path, wu_in_2026):
    """Made under two-years-before, the workbook holds 2024's counts for 2026: evaluated under the
    table's 2020 they would be compared with the wrong year (T1 passes or fails on a number that
    means something else). Refused naming the label cell and both years; with the params it was
    made under, it evaluates as its YAML does."""
    data, _ = read_document(wu_in_2026)
    path = tmp_path / "wu.xlsx"
    write_workbook(build_workbook(read_county_rubric("noncoal-county", TWO_YEARS_BEFORE), data), path)
    with pytest.raises(InputError) as refused:
        evaluate(path)
    (line,) = refused.value.lines
    row = _row_of(openpyxl.load_workbook(path)[TARGETS], "underground_mines.baseline")
    assert line.startswith(f"工作表「工作目标」单元格 E{row}：") and "“2024年”" in line and "基准年为2020年" in line
    assert evaluate(path, TWO_YEARS_BEFORE).verdict == evaluate(wu_in_2026, TWO_YEARS_BEFORE).verdict


def test_baseline_rows_naming_two_different_years_are_refused(tmp_path, wu_in_2026):
    """Only the first baseline row's label would be compared with the evaluation's year: a later
    row copied from a workbook made for another baseline year (2024's tailings ponds beside 2020's
    mines) is refused naming its cell and the first one, never read as the table's year."""
    data, _ = read_document(wu_in_2026)
    path = tmp_path / "wu.xlsx"
    write_workbook(build_workbook(read_county_rubric("noncoal-county"), data), path)
    book = openpyxl.load_workbook(path)
    targets = book[TARGETS]
    first, copied = _row_of(targets, "underground_mines.baseline"), _row_of(targets, "tailings_ponds.baseline")
    targets.cell(copied, 5).value = "2024年尾矿库数量（座）"
    book.save(path)
    with pytest.raises(InputError) as refused:
        read_document(path)
    (line,) = refused.value.lines
    assert line.startswith(
        f"工作表「工作目标」单元格 E{copied}：本行的基准年“2024年”与工作表「工作目标」单元格 E{first}的“2020年”不同"
    ), line


def test_a_blank_template_under_two_years_before_is_accepted_with_its_params(tmp_path):
    """A blank template names no year ("评估年度前2年"): accepted under the reading it was made for,
    and a YAML submission's ``baseline_label`` naming another year is refused like a workbook's."""
    rubric = read_county_rubric("noncoal-county", TWO_YEARS_BEFORE)
    book = build_workbook(rubric)
    assert book[TARGETS].cell(_row_of(book[TARGETS], "underground_mines.baseline"), 5).value.startswith("评估年度前2年")
    data, _ = read_document(DEMO / "counties" / "wu.yaml")
    build_county_submission(data | {"year": 2026, "baseline_label": "评估年度前2年"}, rubric, "wu.yaml")
    with pytest.raises(InputError, match="baseline_label"):
        build_county_submission(data | {"year": 2026, "baseline_label": "2020年"}, rubric, "wu.yaml")


# --- nothing typed is dropped ----------------------------------------------------------------------


def test_every_typed_value_reaches_json_result_json_the_frame_and_the_report_row(tmp_path):
    """Text answers (5-1c 在当地什么媒体或网站公布, 1-3a 计划完成时间), a ratio with three decimals
    and a count given beside an explicit 评估结果, read from a workbook: each reaches ``--json``,
    the batch's ``result.json``, ``items_frame()`` and the report's row as typed."""
    path = _filled(tmp_path)
    book = openpyxl.load_workbook(path)
    fields = book[FIELDS]
    (ratio_row, ratio_key), *_ = _ratio_fields()
    typed = {
        ("5-1c", "where"): ("县人民政府门户网站和《示例日报》", "公布的媒体或网站：县人民政府门户网站和《示例日报》"),
        ("1-3a", "planned_completion"): ("2024年6月底", "计划完成时间：2024年6月底"),
        (ratio_row, ratio_key): (0.02345, "：2.345%"),  # 2.345% typed in a percent cell
    }
    for (row_id, key), (value, _) in typed.items():
        fields.cell(_row_of(fields, row_id, key), 5).value = value
    book.save(path)

    stage = STAGE_PARAMETERS[0]
    _, _, result_json = evaluate_run(Run(path, Path("noncoal_county_report.ipynb"), {stage: str(path)}), tmp_path / "out")
    json_line = json.loads(subprocess.run([sys.executable, "-m", "minesafe", "evaluate", str(path), "--json"],
                                          capture_output=True, text=True, check=True).stdout)  # fmt: skip
    frame = evaluate(path).items_frame()
    report_html = render_items(load_report(path)).html
    for out in (json_line, result_json):
        assert out["items"]["5-1c"]["values"] == {"published": True, "where": "县人民政府门户网站和《示例日报》"}
        assert out["items"]["1-3a"]["values"]["planned_completion"] == "2024年6月底"
        assert out["items"][ratio_row]["values"][ratio_key] == 2.345
    for (row_id, _), (_, shown) in typed.items():
        assert shown in frame.loc[row_id, "填报内容"], row_id
        assert shown in report_html, row_id
