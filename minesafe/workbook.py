"""The Excel fill-in workbook: written from a rubric (optionally pre-filled from a submission
mapping) and read back into the same mapping a YAML submission gives.

Sheets and their machine-readable key columns are the contract; Chinese labels are for people.
Cells the evaluator fills are white; everything else is shaded. Reading goes by the key columns,
and each row's visible label is checked against its key: whole rows may be re-ordered or
filtered, but a sort that leaves the key column behind is refused, never read swapped.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.styles import Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from minesafe.cells import WRAP, append_row, set_print_layout, style_header
from minesafe.decimals import parse_decimal
from minesafe.exceptions import CellLocator, InputError, KeyPath, Problem, RubricError
from minesafe.names import normalize_name
from minesafe.rubric import STAGES, FieldKind, Outcome, Rubric, category_label
from minesafe.submission import NARRATIVE_KEYS, put_value, target_fields, value_at

if TYPE_CHECKING:
    from openpyxl.cell.cell import Cell
    from openpyxl.cell.read_only import ReadOnlyCell
    from openpyxl.worksheet.worksheet import Worksheet

INSTRUCTIONS = "填表说明"
INFO = "基本信息"
#: The 基本信息 keys of the report's own words are ``narrative.work`` and the like (NARRATIVE_KEYS).
NARRATIVE_KEY = "narrative"
TARGETS = "工作目标"
ITEMS = "重点任务"
FIELDS = "填报数量"
COUNTIES = "重点县文件"
KEY_COUNTIES = "重点县名单"
#: The verification record (核查/认定) and the evidence lists: optional sheets of a county workbook.
GROUP, MINES, OPINIONS, EVIDENCE = "评估小组", "现场抽查", "核查意见", "佐证材料"
RECORD_KEY = "verification"
#: Each list sheet of the record: its key below ``verification``, its columns (header, key, width).
RECORD_SHEETS = {
    GROUP: ("group", [("姓名", "name", 12), ("单位", "unit", 40), ("在评估小组中的职责", "role", 18)]),
    MINES: (
        "mines",
        [("矿山名称", "name", 24), ("日期", "date", 14), ("检查内容", "checked", 36), ("发现的问题", "findings", 44)],
    ),
}

_SHADE = PatternFill("solid", fgColor="EEEEEE")
#: Every cell of a table row is ruled, so an input cell (white, unshaded) shows where to write, on
#: screen and on paper.
_RULED = Border(*(Side(style="thin", color="808080") for _ in range(4)))
_KIND_NAMES = {FieldKind.COUNT: "数量", FieldKind.FLAG: "是/否", FieldKind.RATIO: "比例(%)", FieldKind.TEXT: "文字"}


def _cell_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "是" if value else "否"
    return value


def _sheet(wb: Workbook, title: str, headers: list[str], widths: list[int]) -> Worksheet:
    ws = wb.create_sheet(title)
    append_row(ws, headers)
    style_header(ws, 1, widths)
    ws.freeze_panes = "A2"
    return ws


_UNLOCKED = Protection(locked=False)
#: Rows left open for input on sheets whose length the evaluator decides (the province's county files).
OPEN_ROWS = 200


def _shade_row(ws: Worksheet, row: int, input_columns: set[int]) -> None:
    """Input cells white and unlocked; every other cell gray and locked by the sheet protection;
    all of them ruled."""
    for col in range(1, ws.max_column + 1):
        cell = ws.cell(row, col)
        cell.alignment = WRAP
        cell.border = _RULED
        if col in input_columns:
            cell.protection = _UNLOCKED
        else:
            cell.fill = _SHADE


def _finish_sheet(ws: Worksheet, rubric: Rubric, unit: str, key_column: str | None) -> None:
    """Print and protection set-up of every sheet: A4 landscape one page wide, the header row on
    every page, a header naming the form and the unit and a footer with page numbers; rows tall
    enough for their text; the machine key column hidden; the sheet protected without a password
    so the rule texts and keys cannot be changed by accident (input cells are unlocked)."""
    if key_column:
        ws.column_dimensions[key_column].hidden = True
    set_print_layout(ws, rubric.title, header_rows=0 if ws.title == INSTRUCTIONS else 1, right=unit)
    ws.protection.sheet = True
    ws.protection.formatColumns = ws.protection.formatRows = False  # resizing stays allowed
    ws.protection.autoFilter = ws.protection.sort = False


def _validate(ws: Worksheet, dv: DataValidation, cells: list[str], error: str, prompt: tuple[str, str]) -> None:
    """Add ``dv`` to ``cells`` with its Chinese error message and input prompt (text, title)."""
    if not cells:
        return
    dv.error, dv.errorTitle = error, "输入有误"
    dv.prompt, dv.promptTitle = prompt
    dv.showErrorMessage = dv.showInputMessage = True
    ws.add_data_validation(dv)
    for cell in cells:
        dv.add(cell)


def _whole_numbers(ws: Worksheet, cells: list[str]) -> None:
    """Counts are whole numbers from 0: Excel, WPS and LibreOffice refuse anything else on entry."""
    dv = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=True)
    _validate(ws, dv, cells, "请填写大于或等于 0 的整数（如 0、3、12），不要填写小数、文字或单位。", ("填写整数", "数量"))


def _years(ws: Worksheet, cells: list[str], earliest: int) -> None:
    """The evaluated year: a four-digit year after the form's baseline year."""
    dv = DataValidation(type="whole", operator="between", formula1=str(earliest), formula2="2100", allow_blank=True)
    error = f"请填写 {earliest}～2100 之间的四位年份（如 2022），不要填写“年”字或其他文字。"
    _validate(ws, dv, cells, error, ("填写四位年份，如 2022", "评估年度"))


#: The number format of every 比例(%) cell: typing ``2.35`` or ``2.35%`` there stores 0.0235, shown as 2.35%.
PERCENT_FORMAT = "0.00%"


def _percents(ws: Worksheet, cells: list[str]) -> None:
    """Shares are percentages from 0 % to 100 %: the cells are percent-formatted, so what is
    stored is the fraction (0–1) and what is shown and read is the percentage."""
    dv = DataValidation(type="decimal", operator="between", formula1="0", formula2="1", allow_blank=True)
    _validate(ws, dv, cells, "请填写 0%～100% 之间的百分比（如 12.5%），不要填写文字。", ("填写百分比，如 12.5%", "比例(%)"))


def _stored_percent(value: Any) -> Any:
    """What a percent-formatted cell stores for a submission's ratio (``12.5`` or ``"12.5%"``
    percent): the fraction 0.125, exactly from the decimal. Anything else is written as given."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        text = repr(value)
    elif isinstance(value, str):
        text = value.strip().removesuffix("%")
    else:
        return value
    number = parse_decimal(text)
    if number is None:
        return value
    stored = number / 100
    return int(stored) if stored.denominator == 1 else float(Decimal(stored.numerator) / Decimal(stored.denominator))


def _dropdown(ws: Worksheet, options: list[str], cells: list[str], prompt: str) -> None:
    dv = DataValidation(type="list", formula1='"' + ",".join(options) + '"', allow_blank=True)
    dv.error, dv.errorTitle, dv.prompt = f"请从下拉列表中选择：{'、'.join(options)}", "输入有误", prompt
    dv.showErrorMessage = dv.showInputMessage = True
    ws.add_data_validation(dv)
    for cell in cells:
        dv.add(cell)


def _is_scalar(value: Any) -> bool:
    return not isinstance(value, (Mapping, list))


def _is_list_of(value: Any, keys: Sequence[str]) -> bool:
    """Whether ``value`` is a list of texts or of mappings of single values under ``keys``."""
    return isinstance(value, list) and all(
        _is_scalar(v) or (isinstance(v, Mapping) and set(v) <= set(keys) and all(map(_is_scalar, v.values()))) for v in value
    )


def check_prefill(data: Any, rubric: Rubric) -> list[Problem]:
    """What keeps ``data`` (a submission mapping) from pre-filling a workbook for ``rubric``:
    values of the wrong shape, unknown rows. Missing values are fine: they stay blank to fill in."""
    if not isinstance(data, Mapping):
        return [Problem((), "文件内容应为键值映射", type(data).__name__, "YAML/JSON 映射，见提交格式说明")]
    problems = []
    for key in ("province", "county", "enterprise", "group", "year", "stage", "demo"):
        if not _is_scalar(data.get(key)):
            problems.append(Problem((key,), "应为单个值", data[key], "文字或数字"))
    problems += _prefill_target_problems(data.get("targets"))
    problems += _prefill_item_problems(data.get("items"), rubric)
    record = data.get(RECORD_KEY)
    if record is not None and not (
        isinstance(record, Mapping)
        and all(_is_scalar(record.get(key)) for key in ("start", "end"))
        and all(
            _is_list_of(record.get(key) or [], columns)
            for key, columns in (("group", ("name", "unit", "role")), ("mines", ("name", "date", "checked", "findings")))
        )
        and isinstance(record.get("opinions") or {}, Mapping)
        and all(_is_scalar(v) for v in (record.get("opinions") or {}).values())
    ):
        problems.append(
            Problem((RECORD_KEY,), "核查记录写法有误", record, "映射，含 group、start、end、mines、opinions，见提交格式说明")
        )
    counties = data.get("counties")
    if counties is not None and not (isinstance(counties, list) and all(isinstance(c, str) for c in counties)):
        problems.append(Problem(("counties",), "重点县文件列表写法有误", counties, "文件路径文字的列表"))
    return problems


def _prefill_target_problems(targets: Any) -> list[Problem]:
    """What keeps a submission's ``targets`` from pre-filling a workbook: a mapping of mappings of numbers."""
    if targets is not None and not isinstance(targets, Mapping):
        return [Problem(("targets",), "工作目标数据应为映射", targets, "映射，见提交格式说明")]
    problems = []
    for key, value in (targets or {}).items():
        if not isinstance(value, Mapping):
            problems.append(Problem(("targets", key), "应为映射", value, "如 {baseline: 60, current: 45}"))
            continue
        for part, number in value.items():
            numbers = number if isinstance(number, list) else [number]
            if not all(_is_scalar(n) for n in numbers):
                problems.append(Problem(("targets", key, part), "应为数字或数字的列表", number, "数字"))
    return problems


def _prefill_item_problems(items: Any, rubric: Rubric) -> list[Problem]:
    """What keeps a submission's ``items`` from pre-filling a workbook: rows of ``rubric``, each a
    mapping of single values (and its evidence files) or a bare result."""
    if items is not None and not isinstance(items, Mapping):
        return [Problem(("items",), "重点任务评估结果应为映射", items, "如 1-1a: {result: 完成}")]
    problems = []
    for row_id, entry in (items or {}).items():
        if rubric.row_by_id(str(row_id)) is None:
            problems.append(Problem(("items", row_id), "评估表中没有这一行", row_id, f"{rubric.id} 的行编号，如 1-1a"))
        elif not (isinstance(entry, str) or entry is None or isinstance(entry, Mapping)):
            problems.append(Problem(("items", row_id), "写法有误", entry, "映射，如 {result: 完成, note: 说明}"))
        elif isinstance(entry, Mapping):
            problems += [
                Problem(("items", row_id, key), "应为单个值", value, "文字或数字")
                for key, value in entry.items()
                if not _is_scalar(value) and key != "evidence"
            ]
            evidence = entry.get("evidence")
            if not (evidence is None or isinstance(evidence, str) or _is_list_of(evidence, ("file", "description"))):
                problems.append(Problem(("items", row_id, "evidence"), "佐证材料写法有误", evidence, "文件名的列表"))
    return problems


def _prefilled_name(value: Any) -> Any:
    """A name as minesafe reads it (:func:`minesafe.names.normalize_name`): a workbook made from a
    file carries no invisible or control character (which a worksheet cannot even store)."""
    return normalize_name(value) if isinstance(value, str) else value


def _info_rows(rubric: Rubric, data: Mapping[str, Any]) -> list[tuple[str, str, Any, str]]:
    """The rows of 基本信息: (key, label, value from ``data``, hint)."""
    rows = [
        ("rubric", "评估表编号", rubric.id, "请勿修改"),
        *([("profile", "参数方案", rubric.profile, "请勿修改：本表含该参数方案增补的行")] if rubric.profile else []),
        ("province", "省（区）", _prefilled_name(data.get("province")), "如：河北省"),
    ]
    if rubric.unit == "enterprise":
        rows.append(("group", "所属集团", data.get("group"), "如：国家能源集团（可不填）"))
    if rubric.unit != "province":
        rows.append(
            (
                rubric.unit_key,
                rubric.unit_label,
                _prefilled_name(data.get(rubric.unit_key)),
                "如：宽城县" if rubric.unit_key == "county" else "如：国能宁夏煤业有限责任公司",
            )
        )
    rows += [
        ("year", "评估年度", data.get("year"), f"四位年份，如 2022（基准年为{rubric.baseline_label()}）"),
        ("stage", "评估阶段", data.get("stage", STAGES[0]), "、".join(rubric.stage_label(t) for t in rubric.stages)),
        ("demo", "示例数据", _cell_value(data.get("demo", False)), "正式填报请选“否”"),
    ]
    given = data.get(NARRATIVE_KEY)
    narrative: Mapping[str, Any] = given if isinstance(given, Mapping) else {}
    rows += [  # the report's own words (docs/submission.md): optional, 【待填写】 in the Word report when blank
        (f"{NARRATIVE_KEY}.{key}", label, narrative.get(key), "评估报告中的文字，可不填（不填则报告中该部分为【待填写】）")
        for key, label in NARRATIVE_KEYS.items()
    ]
    rows.append(("submitted", "提交日期", _cell_value(data.get("submitted")), "如 2023-02-24；不填则按文件日期"))
    if rubric.unit != "province":
        record = _mapping_at(data, RECORD_KEY)
        rows += [
            (f"{RECORD_KEY}.{key}", label, record.get(key), "核查、认定阶段由评估小组填写，如 2023-02-13；自评不填")
            for key, label in (("start", "核查开始日期"), ("end", "核查结束日期"))
        ]
    return rows


def build_workbook(rubric: Rubric, data: Mapping[str, Any] | None = None) -> Workbook:
    """A fill-in workbook for ``rubric``; ``data`` (a submission mapping) pre-fills it."""
    data = data or {}
    wb = Workbook()
    wb.remove(wb.active)
    _write_instructions(wb, rubric)

    info = _sheet(wb, INFO, ["键", "项目", "填写内容", "说明"], [10, 18, 30, 50])
    rows = _info_rows(rubric, data)
    for key, label, value, hint in rows:
        append_row(info, [key, label, value, hint])
        _shade_row(info, info.max_row, {3} if key not in ("rubric", "profile") else set())
    stage_row = next(r for r in range(2, info.max_row + 1) if info.cell(r, 1).value == "stage")
    _dropdown(info, list(rubric.stages), [f"C{stage_row}"], "选择评估阶段")
    _dropdown(info, ["是", "否"], [f"C{stage_row + 1}"], "是否为示例数据")
    year_row = next(r for r in range(2, info.max_row + 1) if info.cell(r, 1).value == "year")
    _years(info, [f"C{year_row}"], rubric.baseline_year + 1)

    # 总体目标 wide enough for T4's "事故死亡人数比前5年平均水平下降" on one line: its six rows stay single height
    targets = _sheet(wb, TARGETS, ["键", "编号", "总体目标", "目标", "填报项", "数值"], [30, 6, 36, 10, 44, 12])
    year = data.get("year")
    for field in target_fields(rubric, year if isinstance(year, int) and not isinstance(year, bool) else None):
        dotted = ".".join(map(str, field.path))
        append_row(
            targets,
            [
                dotted,
                field.target.id,
                field.target.name,
                field.target.goal,
                field.label,
                value_at(data.get("targets"), field.path, None),
            ],
        )
        _shade_row(targets, targets.max_row, {6})
    _whole_numbers(targets, [f"F2:F{targets.max_row}"] if targets.max_row > 1 else [])

    if rubric.rows:
        _write_items(wb, rubric, data.get("items") or {})
        _write_record(wb, data)
    if rubric.unit == "province":
        for title, heading, key in (
            (KEY_COUNTIES, "国家确定的本省重点县名称（与名单和重点县文件中的县名一致）", "key_counties"),
            (COUNTIES, "重点县提交文件（相对于本工作簿所在文件夹的路径）", "counties"),
        ):
            sheet = _sheet(wb, title, ["序号", heading], [8, 60])
            for i, value in enumerate(data.get(key) or [], start=1):
                append_row(sheet, [i, _prefilled_name(value) if key == "key_counties" else value])
            for row in sheet.iter_rows(min_row=2, max_row=OPEN_ROWS, max_col=2):
                for cell in row:
                    cell.protection = _UNLOCKED
    unit = str(data.get(rubric.unit_key) or data.get("province") or f"{rubric.unit_label}：")
    keys = {INFO: "A", TARGETS: "A", FIELDS: "B"}
    for ws in wb.worksheets:
        _finish_sheet(ws, rubric, unit, keys.get(ws.title))
    targets.page_setup.fitToHeight = 1  # a few rows: the targets print on one page, never a stray last row
    return wb


def _write_items(wb: Workbook, rubric: Rubric, items: Mapping[str, Any]) -> None:
    sheet = _sheet(
        wb,
        ITEMS,
        ["编号", "部分", "重点任务", "类别", "任务分解", "完成情况（填报内容）", "评估结果", "说明"],
        [6, 12, 14, 9, 34, 42, 9, 24],
    )
    fields = _sheet(wb, FIELDS, ["编号", "键", "填报项", "类型", "数值"], [7, 26, 56, 8, 14])
    flag_cells, count_cells, ratio_cells = [], [], []
    for row in rubric.rows:
        entry = items.get(row.id) or {}
        if isinstance(entry, str):
            entry = {"result": entry}
        append_row(
            sheet,
            [
                row.id,
                f"({row.section}) {row.section_name}",
                f"{row.task}. {row.task_name}",
                category_label(row.category, row.points),
                row.requirement,
                row.fill_in,
                entry.get("result"),
                entry.get("note"),
            ],
        )
        _shade_row(sheet, sheet.max_row, {7, 8})
        for f in row.fields:
            value = entry.get(f.key)
            if f.kind is FieldKind.RATIO:
                value = _stored_percent(value)
            append_row(fields, [row.id, f.key, f.label, _KIND_NAMES[f.kind], _cell_value(value)])
            _shade_row(fields, fields.max_row, {5})
            if f.kind is FieldKind.FLAG:
                flag_cells.append(f"E{fields.max_row}")
            elif f.kind is FieldKind.COUNT:
                count_cells.append(f"E{fields.max_row}")
            elif f.kind is FieldKind.RATIO:
                fields.cell(fields.max_row, 5).number_format = PERCENT_FORMAT
                ratio_cells.append(f"E{fields.max_row}")
    _dropdown(sheet, [o.value for o in Outcome], [f"G2:G{sheet.max_row}"], "完成、未完成或不涉及；填写后以此为准")
    if flag_cells:
        _dropdown(fields, ["是", "否"], flag_cells, "是 或 否")
    _whole_numbers(fields, count_cells)
    _percents(fields, ratio_cells)


def _mapping_at(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


def _write_record(wb: Workbook, data: Mapping[str, Any]) -> None:
    """The sheets of the verification record (评估小组, 现场抽查, 核查意见) and of the evidence
    (佐证材料), pre-filled from ``data``; open rows for the rest."""
    record = _mapping_at(data, RECORD_KEY)
    for title, (key, columns) in RECORD_SHEETS.items():
        sheet = _sheet(wb, title, ["序号", *(c[0] for c in columns)], [6, *(c[2] for c in columns)])
        for i, entry in enumerate(record.get(key) or [], start=1):
            append_row(sheet, [i, *(_cell_value(entry.get(c[1])) if isinstance(entry, Mapping) else None for c in columns)])
    opinions = _sheet(wb, OPINIONS, ["行编号", "核查意见（评估小组对该行的意见）"], [10, 90])
    for row_id, text in (record.get("opinions") or {}).items():
        append_row(opinions, [row_id, text])
    evidence = _sheet(wb, EVIDENCE, ["行编号", "文件（相对于本工作簿所在文件夹）", "说明"], [10, 50, 40])
    for row_id, entry in _mapping_at(data, "items").items():
        files = entry.get("evidence") if isinstance(entry, Mapping) else None
        for f in [files] if isinstance(files, str) else files or []:
            append_row(evidence, [row_id, *((f.get("file"), f.get("description")) if isinstance(f, Mapping) else (f, None))])
    for title in (*RECORD_SHEETS, OPINIONS, EVIDENCE):
        for row in wb[title].iter_rows(min_row=2, max_row=OPEN_ROWS, max_col=wb[title].max_column):
            for cell in row:
                cell.protection = _UNLOCKED


def _read_record(reader: _SheetReader, wb: Workbook, data: dict[str, Any], note: Callable[[KeyPath, str, str], None]) -> None:
    """The verification record and the evidence lists from their sheets (see :func:`_write_record`)."""
    record = data.get(RECORD_KEY, {})
    for title, (key, columns) in RECORD_SHEETS.items():
        entries = _read_record_entries(reader, title, key, columns, note) if title in wb.sheetnames else []
        if entries:
            record[key] = entries
    if OPINIONS in wb.sheetnames:
        _read_opinions(reader, record, note)
    if record:
        data[RECORD_KEY] = record
    if EVIDENCE in wb.sheetnames:
        _read_evidence(reader, data.setdefault("items", {}), note)


def _read_record_entries(
    reader: _SheetReader,
    title: str,
    key: str,
    columns: Sequence[tuple[str, str, int]],
    note: Callable[[KeyPath, str, str], None],
) -> list[dict[str, Any]]:
    """The entries of one list sheet of the record (评估小组 or 现场抽查), each row's filled
    cells; an empty row is passed over, so the open rows never become entries."""
    entries: list[dict[str, Any]] = []
    for r, row in reader.rows(title, len(columns) + 1):
        values = {c[1]: _clean(v) for c, v in zip(columns, row[1:], strict=True)}
        if all(v is None for v in values.values()):
            continue
        for i, c in enumerate(columns):
            note((RECORD_KEY, key, len(entries), c[1]), title, f"{get_column_letter(i + 2)}{r}")
        entries.append({k: v for k, v in values.items() if v is not None})
    return entries


def _read_opinions(reader: _SheetReader, record: dict[str, Any], note: Callable[[KeyPath, str, str], None]) -> None:
    """The 核查意见 sheet: each row's opinion, under its row id in ``record``; a row id given twice
    is a problem (naming both cells) and only its first opinion is read."""
    rows = [(r, row) for r, row in reader.rows(OPINIONS, 2) if _clean(row[0]) is not None]
    repeats = reader.refuse_duplicates(OPINIONS, [(str(_clean(row[0])), f"A{r}") for r, row in rows], "行编号")
    for i, (r, row) in enumerate(rows):
        if i not in repeats:
            note((RECORD_KEY, "opinions", str(_clean(row[0]))), OPINIONS, f"A{r}")
            record.setdefault("opinions", {})[str(_clean(row[0]))] = _clean(row[1], strip=False)


def _read_evidence(reader: _SheetReader, items: dict[str, Any], note: Callable[[KeyPath, str, str], None]) -> None:
    """The 佐证材料 sheet: each row's evidence files, listed under its row of ``items``."""
    for r, row in reader.rows(EVIDENCE, 3):
        row_id, file, description = (_clean(v) for v in row)
        if row_id is None and file is None:
            continue
        listed = items.setdefault(str(row_id), {}).setdefault("evidence", [])
        note(("items", str(row_id), "evidence", len(listed)), EVIDENCE, f"B{r}")
        note(("items", str(row_id), "evidence", len(listed), "file"), EVIDENCE, f"B{r}")
        note(("items", str(row_id), "evidence", len(listed), "description"), EVIDENCE, f"C{r}")
        listed.append({"file": file, "description": description})


def _write_instructions(wb: Workbook, rubric: Rubric) -> None:
    ws = wb.create_sheet(INSTRUCTIONS)
    ws.column_dimensions["A"].width = 110
    lines = [
        f"{rubric.title}（{rubric.id}，版本 {rubric.version}）",
        f"依据：{rubric.source}",
        "",
        "填写方法：",
        f"1. 在「{INFO}」表填写省（区）、{'' if rubric.unit == 'province' else rubric.unit_label + '、'}评估年度和评估阶段。白色单元格为填写处，灰色单元格请勿修改。",
        f"2. 在「{TARGETS}」表逐项填写数量（大于或等于0的整数）。基准年为{rubric.baseline_label()}，“评估年度年末”指被评估年度12月底。",
    ]
    if rubric.rows:
        lines += [
            f"3. 在「{ITEMS}」表为每一行选择评估结果：完成、未完成或不涉及（即“无该项”），可在“说明”栏写明情况；否决项评为不涉及（无该项）时必须在“说明”栏写明原因。",
            f"4. 也可以在「{FIELDS}」表填写各行的填报数量，由程序判定结果：存在不符合要求的数量即为未完成。"
            "“评估结果”栏一旦填写，以评估人员的认定为准。评估结果与填报数量至少填写一种。"
            "类型为“比例(%)”的单元格按百分比填写，请带百分号，如 12.5%；文字答案（如公布的媒体或网站、计划完成时间）照实填写，会原样写入评估报告。",
            f"5. 类别：■ 否决项（含7项工作目标，共{rubric.totals.veto if rubric.totals else ''}项）；"
            f"△/3、△/4 评分项（共{rubric.totals.scored if rubric.totals else ''}项，{rubric.total_points}分）；/ 参考项（不影响结论）。",
            f"6. 合格标准：{rubric.pass_rule}",
            f"7. 核查、认定阶段：评估小组在「{INFO}」表填写核查日期，在「{GROUP}」「{MINES}」「{OPINIONS}」表填写小组成员、"
            f"现场抽查的矿山（名称、日期、检查内容、发现的问题）和对各行的核查意见；各阶段均可在「{EVIDENCE}」表为各行列出佐证材料"
            "（文件相对于本工作簿所在文件夹，如 佐证材料/2-1a.pdf）。自评时前三张表不填。",
        ]
    else:
        lines += [
            f"3. 在「{KEY_COUNTIES}」表逐行填写国家确定的本省全部重点县名称；没有评估结果的重点县使本省结论待定，不合格的重点县使本省不合格。",
            f"4. 「{COUNTIES}」表可不填：程序在本工作簿所在文件夹（含子文件夹）中按文件中写明的县名找到各重点县的提交文件；"
            "如填写，逐行填写路径（相对于本工作簿所在文件夹），所填文件的县名须在重点县名单中。同一县的自评、核查文件以最后阶段为准。",
            f"5. 合格标准：{rubric.pass_rule}",
        ]
    lines += [
        "",
        "评估命令：minesafe evaluate 本文件.xlsx",
        "注意：请勿修改工作表名称以及“键”“编号”列的内容；程序按这些列读取数据，并核对每行显示的项目。"
        "如需排序，请选中整张表（包括隐藏的键列）；只对部分列排序会使数值错位，程序将指出错位的单元格并拒绝评估。",
    ]
    if rubric.inferred_note:
        lines += ["", f"关于类别标记：{rubric.inferred_note}"]
    for line in lines:
        append_row(ws, [line])
        ws.cell(ws.max_row, 1).alignment = WRAP
    ws.cell(1, 1).font = Font(bold=True, size=14)


#: Rows read per sheet: far more than any rubric has. A value below it is refused, not ignored.
MAX_ROWS = 5000
#: The largest list index a key column may ask for (``deaths.previous_5_years.4``).
MAX_LIST_INDEX = 99
#: The most columns read of any sheet (重点任务: 编号 … 说明).
_WIDEST = 8


def _clean(value: Any, strip: bool = True) -> Any:
    """A cell's value, None when blank; text is stripped unless it is free text (notes) that must
    read back exactly as written."""
    if isinstance(value, str):
        if not value.strip():
            return None
        return value.strip() if strip else value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: What Excel, WPS and LibreOffice show literally in a number format: quoted text, an escaped
#: character, a bracketed colour, condition or locale. A ``%`` anywhere else scales the number by 100.
_LITERAL_IN_FORMAT = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]')


def is_percent_format(number_format: str | None) -> bool:
    """Whether a cell's number format shows its number times 100 with a % sign (``0.00%``, ``0%``),
    as Excel, WPS and LibreOffice do; a quoted or escaped % (``0"%"``, ``0\\%``) is only a character."""
    return "%" in _LITERAL_IN_FORMAT.sub("", number_format or "")


def _shown_value(cell: Cell | ReadOnlyCell) -> Any:
    """A cell's value as the person sees and typed it: a number under a percent format times 100
    (``2.35%`` is stored as 0.0235 and read as 2.35, exactly: through its shortest decimal, not its
    binary value); a date as its ISO text (``2024-06-30``); anything else unchanged."""
    value = cell.value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and is_percent_format(cell.number_format):
        scaled = Decimal(repr(value)) * 100
        return int(scaled) if scaled == scaled.to_integral_value() else float(scaled)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return str(value)
    return value


#: The message of a formula cell without a stored result (a workbook written by a script and never
#: opened in a spreadsheet program): it is never read as an empty cell.
NO_FORMULA_RESULT = "公式没有计算结果，请在 Excel/WPS 中打开并保存后重新提交"


def _cell_name(sheet: str, cell: str) -> str:
    return f"工作表「{sheet}」单元格 {cell}"


class _SheetReader:
    """Reads the used area of each sheet once (read-only workbooks re-parse on every access) and
    collects the problems the workbook's layout has: duplicate keys, conflicting key paths,
    values beyond :data:`MAX_ROWS`, formulas without a stored result, error values.

    ``wb`` is opened with its formulas (``data_only=False``), so a formula cell is known as one;
    its value is the result the spreadsheet program stored, read from the same file opened with
    ``data_only=True`` (``open_results``, called once and only when a sheet holds a formula).
    """

    def __init__(self, wb: Workbook, problems: list[Problem], open_results: Callable[[], Any] | None = None) -> None:
        self.wb = wb
        self.problems = problems
        self._open_results = open_results
        self._results: Any = None
        self._stored: dict[str, dict[tuple[int, int], Any]] = {}

    def rows(self, title: str, width: int) -> list[tuple[int, tuple]]:
        """``(row number, values)`` of every row below the header with something in its first
        ``width`` columns; each value as :func:`_shown_value` reads it."""
        found: list[tuple[int, tuple]] = []
        try:
            self._read(title, width, found)
        except (ValueError, KeyError, IndexError, TypeError, SyntaxError, ArithmeticError):  # cells openpyxl cannot parse
            self.problems.append(
                Problem(
                    (),
                    "工作表中有无法读取的单元格（如位数过多的数字或损坏的内容）",
                    expected="用 Excel 或 WPS 重新保存，数字不超过 15 位",
                    where=f"工作表「{title}」",
                )
            )
        return found

    def _read(self, title: str, width: int, found: list[tuple[int, tuple]]) -> None:
        for r, cells in enumerate(self.wb[title].iter_rows(min_row=2, max_col=width), start=2):
            if all(c.value is None for c in cells):
                continue  # a stray formatted cell far below yields empty rows: skipped cheaply
            if r > MAX_ROWS:
                column = next(i for i, c in enumerate(cells, start=1) if c.value is not None)
                self.problems.append(
                    Problem(
                        (),
                        f"数据超出可读取的范围（前 {MAX_ROWS} 行）",
                        cells[column - 1].value,
                        "把数据写在模板已有的行中，删除多余的单元格",
                        _cell_name(title, f"{get_column_letter(column)}{r}"),
                    )
                )
                break
            row = tuple(self._value(title, r, c, cell) for c, cell in enumerate(cells, start=1))
            found.append((r, row + (None,) * (width - len(row))))

    def _value(self, title: str, r: int, c: int, cell: Cell | ReadOnlyCell) -> Any:
        if cell.data_type == "f":  # a formula: its stored result, or an input error
            stored = self._stored_cell(title, r, c)
            if stored is None or (stored.value is None and stored.data_type == "n"):  # "n": no stored result at all
                self.problems.append(
                    Problem((), NO_FORMULA_RESULT, str(cell.value), where=_cell_name(title, f"{get_column_letter(c)}{r}"))
                )
                return None
            cell = stored
        if cell.data_type == "e":  # #DIV/0!, #N/A, #VALUE!: typed, or the result of a formula
            self.problems.append(
                Problem(
                    (),
                    "单元格显示错误值，无法读取",
                    cell.value,
                    "数值或文字（请改正公式或直接填写）",
                    _cell_name(title, f"{get_column_letter(c)}{r}"),
                )
            )
            return None
        return _shown_value(cell)

    def _stored_cell(self, title: str, r: int, c: int) -> Any:
        """The cell at ``r``, ``c`` of ``title`` in the workbook opened for stored results (each
        sheet read once, its first :data:`MAX_ROWS` rows); None when there is nothing stored."""
        if self._open_results is None:
            return None
        if self._results is None:
            self._results = self._open_results()
        if title not in self._stored:
            self._stored[title] = {
                (cell.row, cell.column): cell
                for row in self._results[title].iter_rows(min_row=2, max_row=MAX_ROWS, max_col=_WIDEST)
                for cell in row
                if cell.value is not None or cell.data_type != "n"
            }
        return self._stored[title].get((r, c))

    def close(self) -> None:
        """Close the workbook of stored results, if it was opened (read-only workbooks hold the file)."""
        if self._results is not None:
            self._results.close()

    def refuse_duplicates(self, title: str, keyed: list[tuple[Any, str]], what: str) -> set[int]:
        """Report every key entered twice, naming both cells; the indexes of the repeats."""
        first: dict[Any, str] = {}
        repeats = set()
        for i, (key, cell) in enumerate(keyed):
            if key in first:
                self.problems.append(
                    Problem(
                        (),
                        f"{what}重复出现，与{_cell_name(title, first[key])} 相同",
                        key if not isinstance(key, tuple) else " ".join(map(str, key)),
                        f"每个{what}只填一行",
                        _cell_name(title, cell),
                    )
                )
                repeats.add(i)
            else:
                first[key] = cell
        return repeats


def _key_path(dotted: Any) -> tuple | None:
    """``deaths.previous_5_years.0`` -> ``("deaths", "previous_5_years", 0)``; None if malformed."""
    parts = str(dotted).strip().split(".")
    path: list[str | int] = []
    for part in parts:
        if part.isascii() and part.isdigit():
            if int(part) > MAX_LIST_INDEX:
                return None
            path.append(int(part))
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            path.append(part)
        else:
            return None
    return tuple(path)


class _KeyPaths:
    """The key paths of 工作目标 read so far, indexed so that a new path is checked against all of
    them in time proportional to its own length (the sheet's rows are read in linear time)."""

    def __init__(self) -> None:
        self.cells: dict[tuple, str] = {}  # each path -> its key cell
        self._groups: dict[tuple, str] = {}  # each proper prefix -> the cell of the first path below it
        self._children: dict[tuple, tuple[bool, str]] = {}  # each proper prefix -> (its children are list indexes, first cell)

    def conflict(self, path: tuple) -> str | None:
        """The cell of an earlier key that cannot live beside ``path`` (``x.0`` beside ``x.y``,
        ``x`` beside ``x.y``), if any."""
        for depth in range(len(path)):
            prefix = path[:depth]
            if depth and prefix in self.cells:
                return self.cells[prefix]  # a value where ``path`` needs a group
            kind = self._children.get(prefix)
            if kind is not None and kind[0] != isinstance(path[depth], int):
                return kind[1]  # a list index beside a key
        return self._groups.get(path)  # a group where ``path`` is a value

    def add(self, path: tuple, cell: str) -> None:
        self.cells[path] = cell
        for depth in range(len(path)):
            self._groups.setdefault(path[:depth], cell)
            self._children.setdefault(path[:depth], (isinstance(path[depth], int), cell))


def read_workbook(
    wb: Workbook, source: str, open_results: Callable[[], Any] | None = None
) -> tuple[dict[str, Any], Callable[[KeyPath], str]]:
    """The submission mapping a filled workbook holds, and a locator naming sheet and cell.

    Only the used area is read (the workbook is opened read-only); keys entered twice and key
    paths that conflict are refused with both cells named. ``wb`` is opened with its formulas;
    ``open_results`` opens the same file with the results a spreadsheet program stored for them
    (see :class:`_SheetReader`): a formula without one is an input error, never an empty cell.
    """
    reader = _SheetReader(wb, [], open_results)
    try:
        return _read_sheets(wb, source, reader)
    finally:
        reader.close()


@dataclasses.dataclass
class _Reading:
    """What reading a workbook's sheets gathers: the submission mapping, the place of each key
    path, each row's visible label beside its hidden key (per sheet), and whether anything that
    makes a submission was filled in."""

    reader: _SheetReader
    data: dict[str, Any] = dataclasses.field(default_factory=dict)
    places: dict[KeyPath, str] = dataclasses.field(default_factory=dict)
    labels: dict[str, list[tuple[Any, Any, str]]] = dataclasses.field(
        default_factory=lambda: {INFO: [], TARGETS: [], ITEMS: [], FIELDS: []}
    )
    filled: bool = False

    def note(self, path: KeyPath, sheet: str, cell: str) -> None:
        for depth in range(1, len(path) + 1):  # a parent's place is its first child's
            self.places.setdefault(path[:depth], _cell_name(sheet, cell))


def _read_sheets(wb: Workbook, source: str, reader: _SheetReader) -> tuple[dict[str, Any], Callable[[KeyPath], str]]:
    reading = _Reading(reader)
    locate = CellLocator(reading.places)
    info_rows = reader.rows(INFO, 4) if INFO in wb.sheetnames else []
    rubric_id = next((_clean(row[2]) for _, row in info_rows if row[0] == "rubric"), None)
    province = str(rubric_id).endswith("province")
    required = [INFO, TARGETS, *([] if province else [ITEMS, FIELDS])]
    missing = [name for name in required if name not in wb.sheetnames]
    if missing:
        raise InputError(
            source,
            [Problem((), f"缺少工作表「{name}」", expected="用 minesafe template 生成的填报工作簿") for name in missing],
            locate,
        )
    info_rows = [(r, row) for r, row in info_rows if row[0] is not None]
    _read_info(reading, info_rows)
    _read_targets(reading)
    if province:
        _read_county_lists(reading, wb)
    else:
        _read_items(reading)
        _read_record(reader, wb, reading.data, reading.note)
    problems = reader.problems
    form = _form_of(rubric_id, next((_clean(row[2]) for _, row in info_rows if row[0] == "profile"), None))
    if form is not None:
        problems += _misplaced_rows(reading.labels, form)
    if problems:
        raise InputError(source, problems, locate)
    if not reading.filled:
        raise InputError(
            source,
            [Problem((), "工作簿尚未填写", expected=f"在「{INFO}」「{TARGETS}」等工作表的白色单元格中填写数据后再评估")],
            locate,
        )
    return reading.data, locate


def _read_info(reading: _Reading, info_rows: list[tuple[int, tuple[Any, ...]]]) -> None:
    """The 基本信息 sheet: the unit, the verification's dates and the report's own words."""
    data = reading.data
    repeats = reading.reader.refuse_duplicates(INFO, [(str(row[0]), f"A{r}") for r, row in info_rows], "键")
    for i, (r, (key, label, value, *_)) in enumerate(info_rows):
        if i not in repeats:
            reading.labels[INFO].append((str(key), label, f"B{r}"))
        group = next((g for g in (RECORD_KEY, NARRATIVE_KEY) if str(key).startswith(f"{g}.")), None)
        if group is not None:  # the verification's dates; the report's own words (free text, kept as written)
            part = str(key).split(".", 1)[1]
            reading.note((group, part), INFO, f"C{r}")
            text = _clean(value, strip=group != NARRATIVE_KEY)
            if text is not None and i not in repeats:
                data.setdefault(group, {})[part] = text
            continue
        reading.note((str(key),), INFO, f"C{r}")
        value = _clean(value)
        if value is None or i in repeats:
            continue
        data[str(key)] = {"是": True, "否": False}.get(value, value) if key == "demo" else value
        reading.filled = reading.filled or key in ("province", "county", "enterprise", "year")


def _read_targets(reading: _Reading) -> None:
    """The 工作目标 sheet: each value under the key path of its hidden key."""
    targets: dict[str, Any] = {}
    keyed = _KeyPaths()
    for r, row in reading.reader.rows(TARGETS, 6):
        dotted, value = row[0], _clean(row[5])
        if dotted is None:
            continue
        path = _target_key(keyed, dotted, r)
        if isinstance(path, Problem):
            reading.reader.problems.append(path)
            continue
        keyed.add(path, f"A{r}")
        reading.labels[TARGETS].append((path, row[4], f"E{r}"))
        if path[-1] == "baseline" and isinstance(row[4], str):
            _note_baseline_label(reading, row[4], r)
        reading.note(("targets", *path), TARGETS, f"F{r}")
        if value is not None:
            reading.filled = True
            put_value(targets, path, value)
    if targets:
        reading.data["targets"] = targets


def _note_baseline_label(reading: _Reading, label: str, r: int) -> None:
    """The baseline year the workbook was made for, as the first baseline row's label names it;
    a later baseline row naming another year (rows copied from a workbook made for another
    baseline year) is a problem naming both cells, never a mix read under one year."""
    shown = _BASELINE_PREFIX.match(label)
    if shown is None:
        return
    first = reading.data.get("baseline_label")
    if first is None:
        reading.data["baseline_label"] = shown.group()
        reading.note(("baseline_label",), TARGETS, f"E{r}")
    elif shown.group() != first:
        reading.reader.problems.append(
            Problem(
                (),
                f"本行的基准年“{shown.group()}”与{reading.places[('baseline_label',)]}的“{first}”不同，数量不能混用",
                label,
                "各行基准年相同：用 minesafe template 重新生成工作簿，按同一基准年填写",
                _cell_name(TARGETS, f"E{r}"),
            )
        )


def _target_key(keyed: _KeyPaths, dotted: Any, r: int) -> KeyPath | Problem:
    """The key path of the hidden key of row ``r`` of the 工作目标 sheet, or what is wrong with it:
    not a key path, the key of an earlier row, or one that cannot live beside an earlier row's."""
    where = _cell_name(TARGETS, f"A{r}")
    path = _key_path(dotted)
    if path is None:
        return Problem(
            (),
            "键列写法有误（隐藏的键列由模板生成，请勿修改）",
            dotted,
            f"模板中原有的键（其中的序号不超过 {MAX_LIST_INDEX}）：撤销对键列的修改，或用 minesafe template 重新生成工作簿",
            where,
        )
    if path in keyed.cells:
        return Problem((), f"键重复出现，与{_cell_name(TARGETS, keyed.cells[path])} 相同", dotted, "每个键只填一行", where)
    conflict = keyed.conflict(path)
    if conflict is not None:
        return Problem((), f"键与{_cell_name(TARGETS, conflict)} 的键相互冲突", dotted, "模板中的键，每个只填一行", where)
    return path


def _read_county_lists(reading: _Reading, wb: Workbook) -> None:
    """A province's sheets of county names: the counties it evaluates and its key counties."""
    for key, sheet in (("counties", COUNTIES), ("key_counties", KEY_COUNTIES)):
        if sheet not in wb.sheetnames:
            continue
        values: list[Any] = []
        for r, row in reading.reader.rows(sheet, 2):
            if _clean(row[1]) is not None:
                reading.note((key, len(values)), sheet, f"B{r}")
                values.append(_clean(row[1]))
        reading.note((key,), sheet, "B2")
        reading.data[key] = values
        reading.filled = reading.filled or bool(values)
    if reading.filled and not reading.data.get("key_counties"):  # one message, in the workbook's own words
        reading.reader.problems.append(
            Problem(
                (),
                f"「{KEY_COUNTIES}」工作表没有填写任何重点县名称",
                expected=f"在「{KEY_COUNTIES}」表 B 列逐行填写国家确定的本省全部重点县名称（与各重点县文件中的县名一致）",
                where=_cell_name(KEY_COUNTIES, "B2"),
            )
        )


def _read_items(reading: _Reading) -> None:
    """The 重点工作任务 sheet (each row's result and note) and the 填报项 sheet (its fill-in values)."""
    reader = reading.reader
    items: dict[str, dict[str, Any]] = {}
    item_rows = [(r, row) for r, row in reader.rows(ITEMS, 8) if _clean(row[0]) is not None]
    repeats = reader.refuse_duplicates(ITEMS, [(str(_clean(row[0])), f"A{r}") for r, row in item_rows], "行编号")
    for r, row in (item for i, item in enumerate(item_rows) if i not in repeats):
        row_id = str(_clean(row[0]))
        entry = items.setdefault(row_id, {})
        reading.labels[ITEMS].append((row_id, row[4], f"E{r}"))
        reading.note(("items", row_id), ITEMS, f"G{r}")
        reading.note(("items", row_id, "result"), ITEMS, f"G{r}")
        reading.note(("items", row_id, "note"), ITEMS, f"H{r}")
        for key, value in (("result", _clean(row[6])), ("note", _clean(row[7], strip=False))):
            if value is not None:
                entry[key] = value
                reading.filled = reading.filled or key == "result"
    field_rows = [(r, row) for r, row in reader.rows(FIELDS, 5) if _clean(row[0]) is not None and _clean(row[1]) is not None]
    repeats = reader.refuse_duplicates(
        FIELDS, [((str(_clean(row[0])), str(_clean(row[1]))), f"A{r}") for r, row in field_rows], "填报项（编号与键）"
    )
    for r, row in (field_row for i, field_row in enumerate(field_rows) if i not in repeats):
        row_id, key, value = str(_clean(row[0])), str(_clean(row[1])), _clean(row[4])
        reading.labels[FIELDS].append(((row_id, key), row[2], f"C{r}"))
        reading.note(("items", row_id, key), FIELDS, f"E{r}")
        if value is not None:
            items.setdefault(row_id, {})[key] = value
            reading.filled = True
    reading.data["items"] = items


def _form_of(rubric_id: Any, profile: Any) -> Rubric | None:
    """The shipped form a workbook names (with the rows of the profile it names), whose labels its
    rows must show; None when it names none (the validation says so)."""
    from minesafe.files import list_rubrics, read_county_rubric, read_rubric  # files reads through this module

    if rubric_id not in list_rubrics():
        return None
    form = read_rubric(str(rubric_id))
    if form.unit == "province" or not isinstance(profile, str):
        return form
    try:
        return read_county_rubric(str(rubric_id), profile=profile)
    except (InputError, RubricError):  # an unknown profile: the validation names it
        return form


#: A baseline year at the start of a target's label: ``2020年``, ``2024年`` or ``评估年度前2年``, which
#: depends on the baseline reading and the year the workbook was made for, not on the row.
_BASELINE_PREFIX = re.compile(r"^(?:[0-9]{4}年|评估年度前[0-9]+年)")


def _comparable(sheet: str, label: Any) -> Any:
    """A label as rows are told apart by: a target's without its baseline year."""
    return _BASELINE_PREFIX.sub("", label) if sheet == TARGETS and isinstance(label, str) else label


def _expected_labels(form: Rubric) -> dict[str, dict[Any, str]]:
    """Per sheet, the label the template shows beside each key."""
    return {
        INFO: {key: label for key, label, _, _ in _info_rows(form, {})},
        TARGETS: {f.path: f.label for f in target_fields(form)},
        ITEMS: {row.id: row.requirement for row in form.rows},
        FIELDS: {(row.id, f.key): f.label for row in form.rows for f in row.fields},
    }


def _misplaced_rows(labels: Mapping[str, list[tuple[Any, Any, str]]], form: Rubric) -> list[Problem]:
    """Rows whose visible label is not the one of their hidden key: a blank label, or the label of
    another key of the sheet (a sort or a move that left the key column behind swaps values between
    rows). A label the form does not have at all (a reworded rubric file) is left alone."""
    problems = []
    for sheet, expected in _expected_labels(form).items():
        owners = {_comparable(sheet, label) for label in expected.values()}
        for key, shown, cell in labels.get(sheet, ()):
            want = expected.get(key)
            if want is None:
                continue  # a key the form does not have: the validation names it
            text = _comparable(sheet, _clean(shown))
            if text == _comparable(sheet, want) or (text is not None and text not in owners):
                continue
            problems.append(
                Problem(
                    (),
                    "本行显示的项目与本行的隐藏键不一致（排序或移动行时没有连同隐藏的键列一起移动），数值可能填到了别的项目上",
                    shown,
                    f"本行应为“{want}”：撤销排序，或把各行恢复为模板的顺序（排序时须选中整张表，包括隐藏的键列）",
                    _cell_name(sheet, cell),
                )
            )
    return problems
