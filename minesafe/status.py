"""``minesafe status FOLDER``: the season's status table read from a folder, printed, written as
``status.xlsx`` and shown in the overview report.

The folder may hold submissions (each file's ``submitted:`` date, else its file date) or a batch's
reports (each ``result.json`` records when every stage's file was filed, in its provenance). The
units expected are the key counties each province file names (and the provinces themselves), a
list shipped with minesafe, or a list file (CSV with ``province`` and ``county`` or
``enterprise`` columns). The table itself is built by :mod:`minesafe.season`.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minesafe.exceptions import InputError, InputErrors, Problem, ProblemCollector
from minesafe.files import list_rubrics, read_rubric
from minesafe.names import normalize_name
from minesafe.parsing import read_document
from minesafe.resources import package_folder
from minesafe.results import FileKind, classify_document, evaluate, find_input_files
from minesafe.season import (
    CALENDAR_FILE,
    STATES,
    Calendar,
    Expected,
    Filing,
    StatusRow,
    build_calendar,
    count_states,
    tabulate_status,
)
from minesafe.submission import build_province_submission
from minesafe.verification import parse_date

if TYPE_CHECKING:
    import pandas as pd
    from openpyxl import Workbook

#: A unit's kind in the status table, by its form.
KINDS = {"noncoal-county": "重点县", "coal-county": "煤矿重点县", "coal-enterprise": "重点企业", "noncoal-province": "重点省"}
#: The lists shipped with minesafe that ``--expected`` can name: file, kind, unit column.
SHIPPED_LISTS = {
    "煤矿重点县2023": ("coal-key-counties-2023.csv", "煤矿重点县", "county"),
    "煤矿重点企业2023": ("coal-key-enterprises-2023.csv", "重点企业", "enterprise"),
}
#: ``--expected`` default: the key counties the province files in the folder name.
FROM_PROVINCES = "省文件"
STATUS_HEADERS = ("年度", "省", "单位", "单位类型", "自评", "核查", "认定", "版本数", "状态", "说明")
STATUS_FILE = "status.xlsx"


def _kind(rubric_id: str) -> str:
    return KINDS.get(rubric_id) or read_rubric(rubric_id).unit_label


def _filing_from_submission(path: Path, data: Mapping[str, Any]) -> tuple[Filing, list[Expected]] | None:
    rubric_id = data.get("rubric")
    if rubric_id not in list_rubrics():
        return None
    rubric = read_rubric(str(rubric_id))
    year = data.get("year")
    year = int(year) if isinstance(year, int | str) and str(year).strip().isdigit() else 0
    province = normalize_name(str(data.get("province", "")))
    unit = province if rubric.unit == "province" else normalize_name(str(data.get(rubric.unit_key, "")))
    submitted = parse_date(data.get("submitted"))
    problems = 0
    expected: list[Expected] = []
    try:
        if rubric.unit == "province":
            county_rubric = read_rubric(rubric.county_rubric)
            province_submission = build_province_submission(data, read_rubric(rubric.id, targets_from=county_rubric), str(path))
            expected = [
                Expected(_kind(rubric.county_rubric), province, name, f"{province}省级文件所列重点县", year)
                for name in province_submission.key_counties
            ]
        else:
            evaluate(path)
    except InputError as exc:
        problems = len(exc.problems)
    except InputErrors as exc:
        problems = sum(len(e.problems) for e in exc.errors)
    day = submitted or dt.date.fromtimestamp(path.stat().st_mtime)
    stage = str(data.get("stage") or "自评")
    filing = Filing(_kind(rubric.id), province, unit, year, stage, day, submitted is None, str(path), problems)
    own = [Expected(filing.kind, province, unit, "省级文件", year)] if rubric.unit == "province" else []
    return filing, own + expected


def _filings_from_result(data: Mapping[str, Any]) -> tuple[list[Filing], list[Expected]]:
    """Every stage file a ``result.json`` records (its provenance's submissions, with the day
    each was filed), and the key counties a province's result names."""
    rubric_id = str(data.get("rubric"))
    kind = _kind(rubric_id) if rubric_id in list_rubrics() else str(data.get("rubric"))
    province = normalize_name(str(data.get("province", "")))
    unit = normalize_name(str(data.get("county") or data.get("enterprise") or data.get("province", "")))
    filings = []
    for entry in (data.get("provenance") or {}).get("inputs", []):
        day = parse_date(entry.get("filed"))
        if entry.get("role") == "提交文件" and day is not None:
            filings.append(
                Filing(
                    kind,
                    province,
                    unit,
                    int(data["year"]),
                    str(entry["stage"]),
                    day,
                    entry.get("filed_by") != "submitted",
                    str(entry["path"]),
                    versions=int(data.get("versions") or 1),
                )
            )
    expected = []
    if "counties" in data and rubric_id in list_rubrics():
        county_kind = _kind(read_rubric(rubric_id).county_rubric)
        names = [*data.get("counties", {}), *data.get("missing_counties", [])]
        year = int(data["year"])
        expected = [Expected(county_kind, province, normalize_name(n), f"{province}省级文件所列重点县", year) for n in names]
        expected.append(Expected(kind, province, unit, "省级文件", year))
    return filings, expected


def read_filings(folder: Path) -> tuple[list[Filing], list[Expected], list[str]]:
    """What a folder holds: every filing (submissions and batch results), the units its province
    files expect, and the files that are neither readable submissions nor results (each as
    ``file：why``)."""
    filings: dict[tuple[str, str, str, int, str], Filing] = {}
    expected: list[Expected] = []
    unreadable: list[str] = []
    for path in find_input_files([folder]):
        try:
            data, _ = read_document(path)
        except InputError as exc:
            unreadable.append(f"{path}：无法读取（{len(exc.problems)} 处问题）")
            continue
        kind = classify_document(data)
        found: list[Filing] = []
        if kind is FileKind.SUBMISSION:
            read = _filing_from_submission(path, data)
            if read is None:
                unreadable.append(f"{path}：评估表编号无法识别")
                continue
            found, more = [read[0]], read[1]
        elif kind is FileKind.RESULT:
            try:
                found, more = _filings_from_result(data)
            except (KeyError, TypeError, ValueError, AttributeError, InputError):  # a result.json edited by hand or damaged
                unreadable.append(f"{path}：评估结果文件内容不完整或已被改动（请重新运行批量评估）")
                continue
        else:
            continue
        expected += more
        for f in found:
            key = (f.kind, f.province, f.unit, f.year, f.stage)
            if key not in filings or (filings[key].problems and not f.problems):
                filings[key] = f
    return list(filings.values()), list({(e.kind, e.province, e.unit, e.year): e for e in expected}.values()), unreadable


def read_expected(source: str) -> list[Expected]:
    """The units a shipped list (:data:`SHIPPED_LISTS`) or a list file (CSV: ``province`` and
    ``county`` or ``enterprise``; a ``kind`` column optional) names."""
    if source in SHIPPED_LISTS:
        name, kind, column = SHIPPED_LISTS[source]
        path = package_folder("data/lists") / name
        basis = f"国家名单 {source}"
    else:
        path, kind, column, basis = Path(source), "", "", f"名单文件 {source}"
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        expected = "、".join(SHIPPED_LISTS) + f"、{FROM_PROVINCES}，或含 province 和 county（或 enterprise）列的 CSV 名单文件"
        raise InputError(source, [Problem((), f"无法读取应报单位名单（{type(exc).__name__}）", source, expected)]) from None
    rows = list(csv.DictReader(text.splitlines()))
    fields = set(rows[0]) if rows else set()
    column = column or next((c for c in ("county", "enterprise") if c in fields), "")
    if "province" not in fields or not column:
        raise InputError(
            str(path),
            [Problem((), "名单文件缺少列", "、".join(sorted(fields)) or "（空）", "province，以及 county 或 enterprise")],
        )
    kind = kind or ("重点县" if column == "county" else "重点企业")
    return [
        Expected(normalize_name(r.get("kind") or "") or kind, normalize_name(r["province"]), normalize_name(r[column]), basis)
        for r in rows
        if (r.get(column) or "").strip()
    ]


def read_calendar(path: Path | None = None) -> Calendar:
    """The season calendar of a params file (its ``season:``); without one, the shipped calendar."""
    path = path or package_folder("data/lists") / CALENDAR_FILE
    data, locate = read_document(path)
    problems = ProblemCollector()
    raw = data.get("season") if isinstance(data, Mapping) else None
    if raw is None:
        problems.add(("season",), "参数文件中没有评估日程", None, "season: {deadlines: {核查: 03-01}, years: {…}}")
    calendar = build_calendar(raw, problems, str(path))
    problems.raise_if_any(str(path), locate)
    return calendar


def collect_status(
    folder: Path,
    expected: str = FROM_PROVINCES,
    calendar: Calendar | None = None,
    today: dt.date | None = None,
    years: Sequence[int] = (),
) -> tuple[list[StatusRow], list[str]]:
    """The status rows of a folder (see :func:`minesafe.season.tabulate_status`) and its unreadable files."""
    filings, named, unreadable = read_filings(folder)
    units = named if expected == FROM_PROVINCES else read_expected(expected)
    rows = tabulate_status(units, filings, calendar or read_calendar(), today or dt.date.today(), years)
    return [r for r in rows if not years or r.year in years], unreadable


def _stage_cell(row: StatusRow, stage: str) -> str:
    f = row.filed.get(stage)
    if f is None:
        return "—"
    return f.day.isoformat() + ("（文件日期）" if f.dated_by_file else "") + ("（有误）" if f.problems else "")


def status_lines(rows: Sequence[StatusRow]) -> list[tuple[Any, ...]]:
    """The table's rows as values of :data:`STATUS_HEADERS`."""
    return [
        (
            r.year,
            r.province,
            r.unit,
            r.kind,
            *(_stage_cell(r, s) for s in ("自评", "核查", "认定")),
            max((f.versions for f in r.filed.values()), default=0),
            r.state + ("（逾期）" if r.late and r.state != "逾期未交" else ""),
            r.note or "—",
        )
        for r in rows
    ]


def describe_counts(rows: Sequence[StatusRow]) -> str:
    counts = count_states(rows)
    return (
        f"共 {len(rows)} 个单位（按年度计）："
        + "，".join(f"{s} {counts[s]}" for s in STATES)
        + f"；其中有逾期的 {counts['逾期']} 个。"
    )


def describe_status(rows: Sequence[StatusRow], calendar: Calendar, unreadable: Sequence[str] = ()) -> str:
    """The table as text for the terminal: one line per unit, the counts and the calendar used."""
    lines = ["  ".join(STATUS_HEADERS)]
    lines += ["  ".join(str(v) for v in line) for line in status_lines(rows)]
    lines.append(describe_counts(rows))
    lines.append(f"期限依据：{calendar.source}")
    lines += [f"未计入：{u}" for u in unreadable]
    return "\n".join(lines)


def status_frame(rows: Sequence[StatusRow]) -> pd.DataFrame:
    """The table as a DataFrame (the overview report's section)."""
    import pandas as pd

    return pd.DataFrame(status_lines(rows), columns=list(STATUS_HEADERS))


def build_status_workbook(rows: Sequence[StatusRow], calendar: Calendar) -> Workbook:
    """``status.xlsx``: the table (late and missing units highlighted), its counts and the calendar.
    Every text goes through :func:`minesafe.cells.append_row` (no formula from a unit's name)."""
    from openpyxl import Workbook
    from openpyxl.styles import PatternFill

    from minesafe.cells import append_row, set_print_layout, style_header, wrap_cells

    wb = Workbook()
    ws = wb.active
    ws.title = "报送情况"
    append_row(ws, list(STATUS_HEADERS))
    style_header(ws, 1, [7, 10, 16, 10, 18, 18, 18, 7, 12, 60])
    late, missing = PatternFill("solid", fgColor="F8CBAD"), PatternFill("solid", fgColor="FFF2CC")
    for row, line in zip(rows, status_lines(rows), strict=True):
        number = append_row(ws, list(line))
        fill = late if row.late or row.state in ("逾期未交", "文件有误") else missing if row.missing else None
        for cell in ws[number]:
            if fill is not None:
                cell.fill = fill
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:J{ws.max_row}"
    counts = wb.create_sheet("统计")
    append_row(counts, ["状态", "单位数"])
    style_header(counts, 1, [14, 70])  # wide enough for the deadline's source
    tally = count_states(rows)
    for state in (*STATES, "逾期"):
        append_row(counts, [state, tally[state]])
    append_row(counts, ["期限依据", calendar.source])
    for sheet in wb.worksheets:
        wrap_cells(sheet)
        set_print_layout(sheet, "报送情况")
    return wb
