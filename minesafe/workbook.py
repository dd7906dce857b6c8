"""The Excel fill-in workbook: written from a rubric (optionally pre-filled from a submission
mapping) and read back into the same mapping a YAML submission gives.

Sheets and their machine-readable key columns are the contract; Chinese labels are for people.
Cells the evaluator fills are white; everything else is shaded. Reading goes by the key columns,
so rows may be re-ordered or filtered without harm.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from itertools import pairwise
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from minesafe.exceptions import InputError, KeyPath, Problem
from minesafe.rubric import FieldKind, Outcome, Rubric, category_label
from minesafe.submission import STAGES, target_fields

INSTRUCTIONS = "填表说明"
INFO = "基本信息"
TARGETS = "工作目标"
ITEMS = "重点任务"
FIELDS = "填报数量"
COUNTIES = "重点县文件"

_SHADE = PatternFill("solid", fgColor="EEEEEE")
_HEAD = PatternFill("solid", fgColor="D9E1F2")
_WRAP = Alignment(wrap_text=True, vertical="top")
_KIND_NAMES = {FieldKind.COUNT: "数量", FieldKind.FLAG: "是/否", FieldKind.RATIO: "比例(%)", FieldKind.TEXT: "文字"}


def _dig(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if isinstance(data, Mapping):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data


def _cell_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "是" if value else "否"
    return value


def _sheet(wb: Workbook, title: str, headers: list[str], widths: list[int]):
    ws = wb.create_sheet(title)
    ws.append(headers)
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
        ws.cell(1, col).fill = _HEAD
        ws.cell(1, col).font = Font(bold=True)
    ws.freeze_panes = "A2"
    return ws


def _shade_row(ws, row: int, input_columns: set[int]) -> None:
    for col in range(1, ws.max_column + 1):
        cell = ws.cell(row, col)
        cell.alignment = _WRAP
        if col not in input_columns:
            cell.fill = _SHADE


def _dropdown(ws, options: list[str], cells: list[str], prompt: str) -> None:
    dv = DataValidation(type="list", formula1='"' + ",".join(options) + '"', allow_blank=True)
    dv.error, dv.errorTitle, dv.prompt = f"请从下拉列表中选择：{'、'.join(options)}", "输入有误", prompt
    dv.showErrorMessage = dv.showInputMessage = True
    ws.add_data_validation(dv)
    for cell in cells:
        dv.add(cell)


def build_workbook(rubric: Rubric, data: Mapping[str, Any] | None = None) -> Workbook:
    """A fill-in workbook for ``rubric``; ``data`` (a submission mapping) pre-fills it."""
    data = data or {}
    wb = Workbook()
    wb.remove(wb.active)
    _write_instructions(wb, rubric)

    info = _sheet(wb, INFO, ["键", "项目", "填写内容", "说明"], [10, 18, 30, 50])
    rows = [
        ("rubric", "评估表编号", rubric.id, "请勿修改"),
        ("province", "省（区）", data.get("province"), "如：河北省"),
    ]
    if rubric.unit == "enterprise":
        rows.append(("group", "所属集团", data.get("group"), "如：国家能源集团（可不填）"))
    if rubric.unit != "province":
        rows.append(
            (
                rubric.unit_key,
                rubric.unit_label,
                data.get(rubric.unit_key),
                "如：宽城县" if rubric.unit_key == "county" else "如：国能宁夏煤业有限责任公司",
            )
        )
    rows += [
        ("year", "评估年度", data.get("year"), f"四位年份，如 2022（基准年为 {rubric.baseline_year} 年）"),
        ("stage", "评估阶段", data.get("stage", STAGES[0]), "自评（自行评估）或 核查（省级现场抽查核实）"),
        ("demo", "示例数据", _cell_value(data.get("demo", False)), "正式填报请选“否”"),
    ]
    for key, label, value, hint in rows:
        info.append([key, label, value, hint])
        _shade_row(info, info.max_row, {3} if key != "rubric" else set())
    stage_row = next(r for r in range(2, info.max_row + 1) if info.cell(r, 1).value == "stage")
    _dropdown(info, list(STAGES), [f"C{stage_row}"], "选择评估阶段")
    _dropdown(info, ["是", "否"], [f"C{stage_row + 1}"], "是否为示例数据")

    targets = _sheet(wb, TARGETS, ["键", "编号", "总体目标", "目标", "填报项", "数值"], [30, 6, 30, 10, 44, 12])
    for field in target_fields(rubric):
        dotted = ".".join(map(str, field.path))
        targets.append(
            [dotted, field.target.id, field.target.name, field.target.goal, field.label, _dig(data.get("targets"), dotted)]
        )
        _shade_row(targets, targets.max_row, {6})

    if rubric.rows:
        _write_items(wb, rubric, data.get("items") or {})
    if rubric.unit == "province":
        counties = _sheet(wb, COUNTIES, ["序号", "重点县提交文件（相对于本工作簿所在文件夹的路径）"], [8, 60])
        for i, path in enumerate(data.get("counties") or [], start=1):
            counties.append([i, path])
    return wb


def _write_items(wb: Workbook, rubric: Rubric, items: Mapping[str, Any]) -> None:
    sheet = _sheet(
        wb,
        ITEMS,
        ["编号", "部分", "重点任务", "类别", "任务分解", "完成情况（填报内容）", "评估结果", "说明"],
        [7, 14, 16, 11, 40, 60, 10, 30],
    )
    fields = _sheet(wb, FIELDS, ["编号", "键", "填报项", "类型", "数值"], [7, 26, 56, 8, 14])
    flag_cells = []
    for row in rubric.rows:
        entry = items.get(row.id) or {}
        if isinstance(entry, str):
            entry = {"result": entry}
        sheet.append(
            [
                row.id,
                f"({row.section}) {row.section_name}",
                f"{row.task}. {row.task_name}",
                category_label(row.category, row.points),
                row.requirement,
                row.fill_in,
                entry.get("result"),
                entry.get("note"),
            ]
        )
        _shade_row(sheet, sheet.max_row, {7, 8})
        for f in row.fields:
            fields.append([row.id, f.key, f.label, _KIND_NAMES[f.kind], _cell_value(entry.get(f.key))])
            _shade_row(fields, fields.max_row, {5})
            if f.kind is FieldKind.FLAG:
                flag_cells.append(f"E{fields.max_row}")
    _dropdown(sheet, [o.value for o in Outcome], [f"G2:G{sheet.max_row}"], "完成、未完成或不涉及；填写后以此为准")
    if flag_cells:
        _dropdown(fields, ["是", "否"], flag_cells, "是 或 否")


def _write_instructions(wb: Workbook, rubric: Rubric) -> None:
    ws = wb.create_sheet(INSTRUCTIONS)
    ws.column_dimensions["A"].width = 110
    lines = [
        f"{rubric.title}（{rubric.id}，版本 {rubric.version}）",
        f"依据：{rubric.source}",
        "",
        "填写方法：",
        f"1. 在「{INFO}」表填写省（区）、{'' if rubric.unit == 'province' else rubric.unit_label + '、'}评估年度和评估阶段。白色单元格为填写处，灰色单元格请勿修改。",
        f"2. 在「{TARGETS}」表逐项填写数量（大于或等于0的整数）。基准年为 {rubric.baseline_year} 年，“评估年度年末”指被评估年度12月底。",
    ]
    if rubric.rows:
        lines += [
            f"3. 在「{ITEMS}」表为每一行选择评估结果：完成、未完成或不涉及（即“无该项”），可在“说明”栏写明情况。",
            f"4. 也可以在「{FIELDS}」表填写各行的填报数量，由程序判定结果：存在不符合要求的数量即为未完成。"
            "“评估结果”栏一旦填写，以评估人员的认定为准。评估结果与填报数量至少填写一种。",
            f"5. 类别：■ 否决项（含7项工作目标，共{rubric.totals.veto if rubric.totals else ''}项）；"
            f"△/3、△/4 评分项（共{rubric.totals.scored if rubric.totals else ''}项，{rubric.total_points}分）；/ 参考项（不影响结论）。",
            f"6. 合格标准：{rubric.pass_rule}",
        ]
    else:
        lines += [
            f"3. 在「{COUNTIES}」表逐行填写本省每个国家确定的重点县的提交文件路径（相对于本工作簿所在文件夹）。",
            f"4. 合格标准：{rubric.pass_rule}",
        ]
    lines += [
        "",
        "评估命令：minesafe evaluate 本文件.xlsx",
        "注意：请勿修改工作表名称以及“键”“编号”列的内容；程序按这些列读取数据，行的先后顺序不影响结果。",
    ]
    if rubric.inferred_note:
        lines += ["", f"关于类别标记：{rubric.inferred_note}"]
    for line in lines:
        ws.append([line])
        ws.cell(ws.max_row, 1).alignment = Alignment(wrap_text=True, vertical="top")
    ws.cell(1, 1).font = Font(bold=True, size=14)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def read_workbook(wb: Workbook, source: str) -> tuple[dict[str, Any], Callable[[KeyPath], str]]:
    """The submission mapping a filled workbook holds, and a locator naming sheet and cell."""
    places: dict[KeyPath, str] = {}

    def note(path: KeyPath, sheet: str, cell: str) -> None:
        for depth in range(1, len(path) + 1):  # a parent's place is its first child's
            places.setdefault(path[:depth], f"工作表「{sheet}」单元格 {cell}")

    def locate(path: KeyPath) -> str:
        for depth in range(len(path), 0, -1):
            if path[:depth] in places:
                return places[path[:depth]]
        return "工作簿"

    required = [INFO, TARGETS]
    info_sheet = wb[INFO] if INFO in wb.sheetnames else None
    rubric_id = None
    if info_sheet is not None:
        rubric_id = next(
            (_clean(r[2]) for r in info_sheet.iter_rows(min_row=2, values_only=True) if r and r[0] == "rubric"), None
        )
    required += [COUNTIES] if str(rubric_id).endswith("province") else [ITEMS, FIELDS]
    missing = [name for name in required if name not in wb.sheetnames]
    if missing:
        raise InputError(
            source, [Problem((), f"缺少工作表「{name}」", expected="用 minesafe template 生成的填报工作簿") for name in missing]
        )

    data: dict[str, Any] = {}
    filled = False
    for r, (key, _, value, *_) in enumerate(wb[INFO].iter_rows(min_row=2, max_col=4, values_only=True), start=2):
        if key is None:
            continue
        value = _clean(value)
        if value is None:
            continue
        data[str(key)] = {"是": True, "否": False}.get(value, value) if key == "demo" else value
        note((str(key),), INFO, f"C{r}")
        filled = filled or key in ("province", "county", "enterprise", "year")
    for key in ("province", "county", "enterprise", "year"):
        note((key,), INFO, f"C{_row_of(wb[INFO], key)}")

    targets: dict[str, Any] = {}
    for r, row in enumerate(wb[TARGETS].iter_rows(min_row=2, max_col=6, values_only=True), start=2):
        dotted, value = row[0], _clean(row[5])
        if not dotted:
            continue
        path = ("targets", *(int(p) if p.isdigit() else p for p in str(dotted).split(".")))
        note(path, TARGETS, f"F{r}")
        if value is None:
            continue
        filled = True
        _put(targets, path[1:], value)
    if targets:
        data["targets"] = targets

    if COUNTIES in wb.sheetnames and str(rubric_id).endswith("province"):
        paths = []
        for r, row in enumerate(wb[COUNTIES].iter_rows(min_row=2, max_col=2, values_only=True), start=2):
            if _clean(row[1]) is not None:
                note(("counties", len(paths)), COUNTIES, f"B{r}")
                paths.append(_clean(row[1]))
        note(("counties",), COUNTIES, "B2")
        data["counties"] = paths
        filled = filled or bool(paths)
    else:
        items: dict[str, dict[str, Any]] = {}
        for r, row in enumerate(wb[ITEMS].iter_rows(min_row=2, max_col=8, values_only=True), start=2):
            row_id = _clean(row[0])
            if row_id is None:
                continue
            entry = items.setdefault(str(row_id), {})
            note(("items", str(row_id)), ITEMS, f"G{r}")
            note(("items", str(row_id), "result"), ITEMS, f"G{r}")
            note(("items", str(row_id), "note"), ITEMS, f"H{r}")
            for key, value in (("result", _clean(row[6])), ("note", _clean(row[7]))):
                if value is not None:
                    entry[key] = value
                    filled = filled or key == "result"
        for r, row in enumerate(wb[FIELDS].iter_rows(min_row=2, max_col=5, values_only=True), start=2):
            row_id, key, value = _clean(row[0]), _clean(row[1]), _clean(row[4])
            if row_id is None or key is None:
                continue
            note(("items", str(row_id), str(key)), FIELDS, f"E{r}")
            if value is not None:
                items.setdefault(str(row_id), {})[str(key)] = value
                filled = True
        data["items"] = items

    if not filled:
        raise InputError(
            source, [Problem((), "工作簿尚未填写", expected=f"在「{INFO}」「{TARGETS}」等工作表的白色单元格中填写数据后再评估")]
        )
    return data, locate


def _row_of(ws, key: str) -> int:
    return next((r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == key), 2)


def _put(tree: dict, path: tuple, value: Any) -> None:
    """Set a value at a path of keys and list indexes, creating mappings and lists on the way."""
    node: Any = tree
    for here, after in pairwise(path):
        blank: Any = [] if isinstance(after, int) else {}
        if isinstance(node, list):
            while len(node) <= here:
                node.append(None)
            node[here] = node[here] if node[here] is not None else blank
            node = node[here]
        else:
            node = node.setdefault(here, blank)
    last = path[-1]
    if isinstance(node, list):
        while len(node) <= last:
            node.append(None)
        node[last] = value
    else:
        node[last] = value
