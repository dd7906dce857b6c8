"""Who has reported, by when: the season's status table, from what was filed and what is expected.

Pure: it takes the files already read (:class:`Filing`), the units expected (:class:`Expected`),
the season calendar (:class:`Calendar`) and the day to judge by, and returns one
:class:`StatusRow` per unit and year. Verdicts are not touched: a unit that has not reported is
待提交 here, never 不合格 (the engine's rules are unchanged).

Deadlines are data (:func:`build_calendar`): the calendar shipped with minesafe
(``data/lists/season-calendar.yaml``, written to a demo workspace as ``参数/评估日程.yaml``) holds the
notice's first-round date — the evaluation report (the provincial group's 核查) "于2023年3月1日前"
(矿安〔2023〕9号), for the 2022 evaluation held in the year after it, as every year
("每年初组织……对上一年度……进行综合评估") — as a month-day for every year; a copy of it with other
month-days, or a year's own dates, is given with ``minesafe status --calendar FILE``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from minesafe.exceptions import KeyPath, ProblemCollector
from minesafe.rubric import STAGES
from minesafe.verification import parse_date

#: The season calendar shipped in ``data/lists`` (read by minesafe.status).
CALENDAR_FILE = "season-calendar.yaml"
#: The stages a unit is expected to file (认定 is the national bureau's own, shown when present).
EXPECTED_STAGES = {"重点县": ("自评", "核查"), "煤矿重点县": ("自评", "核查"), "重点企业": ("自评", "核查"), "重点省": ("自评",)}

PENDING, LATE_MISSING, INVALID = "待提交", "逾期未交", "文件有误"
AWAITING_CHECK, CHECKED, CONFIRMED, FILED = "待核查", "已核查", "已认定", "已提交"
#: Every state of a unit, problems first (the order rows and counts list them). A province that
#: has filed its own 自评 is 已提交 (its verdict follows from its key counties').
STATES = (LATE_MISSING, INVALID, PENDING, AWAITING_CHECK, FILED, CHECKED, CONFIRMED)


@dataclass(frozen=True)
class Filing:
    """One file a unit has filed: which unit, year and stage, on what day, and whether it is valid."""

    kind: str  # 重点县, 重点企业 or 重点省
    province: str
    unit: str
    year: int
    stage: str
    day: dt.date
    dated_by_file: bool  # True: no ``submitted:``, the file's own date is used
    source: str
    problems: int = 0  # input problems found in it (0: valid)
    versions: int = 1  # how many versions of it have been kept (history)


@dataclass(frozen=True)
class Expected:
    """A unit expected to report, and where that expectation comes from."""

    kind: str
    province: str
    unit: str
    basis: str
    year: int | None = None  # the year it is expected for (None: every year of the table)


@dataclass(frozen=True)
class Calendar:
    """Deadlines by stage: month-days of the year after the evaluated one, and each year's own dates."""

    deadlines: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    years: Mapping[int, Mapping[str, dt.date]] = field(default_factory=dict)
    source: str = ""  # where the dates come from, as the table says it

    def due(self, stage: str, year: int) -> dt.date | None:
        """When ``stage`` of the evaluation of ``year`` is due, or None when no date is set."""
        own = self.years.get(year, {})
        if stage in own:
            return own[stage]
        if stage in self.deadlines and 0 < year < dt.MAXYEAR:  # 0: a file's year unread; 9999: a file's typo
            month, day = self.deadlines[stage]
            return dt.date(year + 1, month, day)
        return None


@dataclass(frozen=True)
class StatusRow:
    """One unit in one year: what is in, what is missing, what is late, its state."""

    year: int
    kind: str
    province: str
    unit: str
    filed: Mapping[str, Filing]  # by stage
    missing: tuple[str, ...]
    late: tuple[str, ...]  # one text per late stage
    state: str
    note: str


def build_calendar(raw: Any, problems: ProblemCollector, source: str = "") -> Calendar:
    """The ``season:`` mapping of a params file::

        season:
          source: 矿安〔2023〕9号 ……                  # where the dates come from
          deadlines: {自评: 02-15, 核查: 03-01}      # month-day of the year after the evaluated one
          years:
            2023: {核查: 2024-03-15}                  # a year's own dates

    A stage without a date has no deadline (nothing is late for it)."""
    where = ("season",)
    if raw is None:
        return Calendar(source=source)
    if not isinstance(raw, Mapping):
        problems.add(where, "评估日程写法有误", raw, "映射，含 source、deadlines 和 years")
        return Calendar(source=source)
    for key in [k for k in raw if k not in ("source", "deadlines", "years")]:
        problems.add((*where, str(key)), "未知的键", key, "source、deadlines、years")
    deadlines = _read_deadlines(raw.get("deadlines") or {}, (*where, "deadlines"), problems)
    years = _read_year_dates(raw.get("years") or {}, (*where, "years"), problems)
    basis = raw.get("source")
    return Calendar(deadlines, years, str(basis).strip() if isinstance(basis, str) and basis.strip() else source)


def _read_deadlines(given: Any, where: KeyPath, problems: ProblemCollector) -> dict[str, tuple[int, int]]:
    """``deadlines:`` of a calendar: each stage's (month, day) in the year after the evaluated one."""
    if not isinstance(given, Mapping):
        problems.add(where, "各阶段期限写法有误", given, "映射，如 {自评: 02-15, 核查: 03-01}")
        return {}
    deadlines: dict[str, tuple[int, int]] = {}
    for stage, text in given.items():
        place = (*where, str(stage))
        if stage not in STAGES:
            problems.add(place, "评估阶段写法有误", stage, "、".join(STAGES))
            continue
        day = parse_date(f"2000-{text}") if isinstance(text, str) else None
        if day is None:
            problems.add(place, "期限应为月-日", text, "如 03-01（评估年度次年的3月1日）")
            continue
        if (day.month, day.day) == (2, 29):  # applies every year: most years have no 29 February
            problems.add(
                place,
                "每年适用的期限不能是2月29日（多数年份没有这一天）",
                text,
                "02-28 或 03-01；某一年度另定的日期写在 years 中",
            )
            continue
        deadlines[str(stage)] = (day.month, day.day)
    return deadlines


def _read_year_dates(own: Any, where: KeyPath, problems: ProblemCollector) -> dict[int, dict[str, dt.date]]:
    """``years:`` of a calendar: a year's own date for each stage, after the year evaluated."""
    if not isinstance(own, Mapping):
        problems.add(where, "各年度期限写法有误", own, "映射，如 {2023: {核查: 2024-03-15}}")
        return {}
    years: dict[int, dict[str, dt.date]] = {}
    for year, dates in own.items():
        place = (*where, str(year))
        if not (isinstance(year, int) and not isinstance(year, bool) and 2000 <= year <= 2100):
            problems.add(place, "年度写法有误", year, "评估年度，如 2023")
            continue
        if not isinstance(dates, Mapping):
            problems.add(place, "该年度的期限写法有误", dates, "映射，如 {核查: 2024-03-15}")
            continue
        for stage, text in dates.items():
            day = parse_date(text)
            if stage not in STAGES:
                problems.add((*place, str(stage)), "评估阶段写法有误", stage, "、".join(STAGES))
            elif day is None or day.year <= year:
                problems.add((*place, str(stage)), "期限写法有误", text, f"{year + 1}年或以后的日期，如 {year + 1}-03-01")
            else:
                years.setdefault(year, {})[str(stage)] = day
    return years


def tabulate_status(
    expected: Sequence[Expected], filings: Sequence[Filing], calendar: Calendar, today: dt.date, years: Sequence[int] = ()
) -> list[StatusRow]:
    """One row per unit and year: every expected unit in each year (``years``, else every year
    filed), then every unit that filed without being expected. Rows sorted by year, province,
    state (problems first) and unit."""
    by_unit: dict[tuple[int, str, str, str], dict[str, Filing]] = {}
    for f in filings:
        by_unit.setdefault((f.year, f.kind, f.province, f.unit), {})[f.stage] = f
    all_years = sorted(set(years) or {f.year for f in filings})
    keys = {(year, e.kind, e.province, e.unit): e for year in all_years for e in expected if e.year in (None, year)}
    rows = []
    for key in dict.fromkeys([*keys, *by_unit]):
        year, kind, province, unit = key
        filed = by_unit.get(key, {})
        rows.append(_status_row(year, kind, province, unit, filed, calendar, today, key in keys))
    order = {state: i for i, state in enumerate(STATES)}
    return sorted(rows, key=lambda r: (r.year, r.province, r.kind != "重点省", order[r.state], r.unit))


def _status_row(
    year: int,
    kind: str,
    province: str,
    unit: str,
    filed: Mapping[str, Filing],
    calendar: Calendar,
    today: dt.date,
    expected: bool,
) -> StatusRow:
    stages = EXPECTED_STAGES.get(kind, STAGES[:2])
    missing = tuple(s for s in stages if s not in filed)
    late = _list_late_stages(year, filed, missing, calendar, today)
    invalid = [f for f in filed.values() if f.problems]
    state = _decide_state(kind, filed, bool(invalid), bool(late))
    notes = [f"{f.stage}文件有 {f.problems} 处问题（{f.source}）" for f in invalid]
    if missing:
        notes.append("缺" + "、".join(missing))
    notes += late
    if not expected:
        notes.append("不在应报名单中")
    return StatusRow(year, kind, province, unit, dict(filed), missing, tuple(late), state, "；".join(notes))


def _list_late_stages(
    year: int, filed: Mapping[str, Filing], missing: Sequence[str], calendar: Calendar, today: dt.date
) -> list[str]:
    """What is late for a unit's ``year``, in words: each stage filed after its date, and each
    ``missing`` stage whose date has passed ``today``."""
    late = []
    for stage in STAGES:
        due = calendar.due(stage, year)
        if due is None:
            continue
        if stage in filed and filed[stage].day > due:
            late.append(f"{stage}逾期提交（{filed[stage].day.isoformat()}，期限 {due.isoformat()}）")
        elif stage in missing and today > due:
            late.append(f"{stage}逾期未交（期限 {due.isoformat()}）")
    return late


def _decide_state(kind: str, filed: Mapping[str, Filing], invalid: bool, late: bool) -> str:
    """A unit's state: a file with problems first, else its furthest stage filed; with nothing
    filed, late once a date has passed."""
    if invalid:
        return INVALID
    if "认定" in filed:
        return CONFIRMED
    if "核查" in filed:
        return CHECKED
    if "自评" in filed:
        return FILED if kind == "重点省" else AWAITING_CHECK
    return LATE_MISSING if late else PENDING


def count_states(rows: Sequence[StatusRow]) -> Counter[str]:
    """How many units are in each state (every state listed, in :data:`STATES` order), and how
    many have something late (``逾期``)."""
    counts = Counter({state: 0 for state in STATES})
    counts.update(r.state for r in rows)
    counts["逾期"] = sum(bool(r.late) for r in rows)
    return counts
