"""The records a season keeps around a verdict: the province's on-site verification (现场抽查核实)
of a 核查 or 认定 submission, each row's evidence (佐证材料) and the date a file was submitted.

The notice (矿安〔2023〕9号): the provincial group "对重点县(市、区)的评估报告进行逐一审核，并到现场进行
抽查核实，确保客观、真实、公正" (非煤矿山方案 三、(四)); "评估工作必须到现场抽查核实" (煤矿方案
三、(三)2). A submission may carry::

    submitted: 2023-02-20                # when the file was submitted (status table; else its file date)
    verification:                        # 核查 or 认定 only
      group:                             # the evaluation group
        - {name: 王某, unit: 示例省应急管理厅, role: 组长}
      start: 2023-02-13                  # the dates of the verification
      end: 2023-02-15
      mines:                             # the mines checked on site
        - {name: 某铁矿, date: 2023-02-14, checked: 检查了什么, findings: 发现了什么}
      opinions:                          # the group's opinion (核查意见) on rows, by row id
        2-1a: 现场核实……
    items:
      2-1a: {result: 完成, evidence: [{file: 佐证材料/2-1a.pdf, description: 说明}]}

The evaluation of a year takes place in the next year ("每年初组织……对上一年度的重点县……进行综合
评估"): every date of the record lies in the year after the evaluated one. Values are validated here
(pure: no file is read); whether an evidence file exists is found by the file layer
(:func:`minesafe.files.find_evidence`), which fills :attr:`EvidenceFile.sha256`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from minesafe.exceptions import KeyPath, ProblemCollector
from minesafe.names import INVISIBLE_NAME, SAME_NAME, normalize_name, reveal_characters

#: Where a county folder keeps its evidence files (a batch does not read submissions below it).
EVIDENCE_FOLDER = "佐证材料"
#: The stages a verification record belongs to (not the unit's own 自评).
RECORD_STAGES = ("核查", "认定")
#: The stage whose group must go on site (认定 is the national review of the reports).
ON_SITE_STAGE = "核查"

_DATE_EXPECTED = "日期，如 2023-02-14 或 2023年2月14日"


@dataclass(frozen=True)
class GroupMember:
    """A member of the evaluation group (评估小组)."""

    name: str
    unit: str = ""
    role: str = ""


@dataclass(frozen=True)
class MineCheck:
    """One mine checked on site: when, what was checked, what was found."""

    name: str
    date: dt.date | None = None
    checked: str = ""
    findings: str = ""


@dataclass(frozen=True)
class VerificationRecord:
    """The record of a 核查 or 认定: its group, dates, mines checked on site and row opinions."""

    group: tuple[GroupMember, ...] = ()
    start: dt.date | None = None
    end: dt.date | None = None
    mines: tuple[MineCheck, ...] = ()
    opinions: Mapping[str, str] = field(default_factory=dict)  # row id -> 核查意见

    @property
    def dates(self) -> str:
        """The verification's dates as one text (empty when none was given)."""
        days = [d.isoformat() for d in (self.start, self.end) if d is not None]
        return "至".join(dict.fromkeys(days))


@dataclass(frozen=True)
class EvidenceFile:
    """One evidence file of a row, as listed (relative to the submission's folder).

    ``sha256`` is set by the file layer when the file exists, ``""`` when it was looked for and
    not found, and ``None`` when nobody looked (a submission built from memory)."""

    file: str
    description: str = ""
    sha256: str | None = None

    @property
    def missing(self) -> bool:
        return self.sha256 == ""


def parse_date(value: Any) -> dt.date | None:
    """A date from YAML/JSON text (``2023-02-14``, ``2023/2/14``, ``2023年2月14日``) or an Excel
    cell (a date or datetime); ``None`` when it is not one."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        return None
    match = re.fullmatch(r"\s*([0-9]{4})\s*(?:-|/|\.|年)\s*([0-9]{1,2})\s*(?:-|/|\.|月)\s*([0-9]{1,2})\s*日?\s*", value)
    if match is None:
        return None
    try:
        return dt.date(*map(int, match.groups()))
    except ValueError:
        return None


def season_window(year: int) -> tuple[dt.date, dt.date]:
    """The days on which the evaluation of ``year`` can take place: the year after it (每年初组织
    对上一年度的评估; a late report still falls in that year)."""
    return dt.date(year + 1, 1, 1), dt.date(year + 1, 12, 31)


def build_submitted(raw: Any, problems: ProblemCollector) -> dt.date | None:
    """The optional ``submitted:`` date of a submission."""
    if raw is None or raw == "":
        return None
    day = parse_date(raw)
    if day is None:
        problems.add(("submitted",), "提交日期写法有误", raw, _DATE_EXPECTED)
    return day


def _text(raw: Mapping[str, Any], key: str, where: KeyPath, what: str, problems: ProblemCollector, required: bool = False) -> str:
    value = raw.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.add((*where, key), f"缺少{what}", value, f"{what}（文字）")
        return ""
    if isinstance(value, (Mapping, list)):
        problems.add((*where, key), f"{what}应为文字", value, "文字")
        return ""
    return str(value).strip()


def _reject_unknown(raw: Mapping[str, Any], where: KeyPath, allowed: Sequence[str], problems: ProblemCollector) -> None:
    for key in raw:
        if key not in allowed:
            problems.add((*where, str(key)), "未知的键", key, "、".join(allowed))


def _date_in_season(
    raw: Any, where: KeyPath, what: str, year: int, problems: ProblemCollector, required: bool = False
) -> dt.date | None:
    if raw is None or raw == "":
        if required:
            problems.add(where, f"缺少{what}", raw, _DATE_EXPECTED)
        return None
    day = parse_date(raw)
    if day is None:
        problems.add(where, f"{what}写法有误", raw, _DATE_EXPECTED)
        return None
    if year:
        first, last = season_window(year)
        if not first <= day <= last:
            problems.add(
                where,
                f"{what}不在{year}年度的评估期内",
                day.isoformat(),
                f"{first.isoformat()} 至 {last.isoformat()} 之间的日期（{year}年度的评估在{year + 1}年进行：每年初评估上一年度）",
            )
            return None
    return day


def _list_of_mappings(
    raw: Any, where: KeyPath, what: str, example: str, problems: ProblemCollector
) -> list[tuple[KeyPath, Mapping]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.add(where, f"{what}应为列表", raw, example)
        return []
    found = []
    for i, entry in enumerate(raw):
        if isinstance(entry, Mapping):
            found.append(((*where, i), entry))
        else:
            problems.add((*where, i), f"{what}的每一项应为映射", entry, example)
    return found


def build_verification(
    raw: Any, stage: str, year: int, row_ids: Sequence[str], problems: ProblemCollector
) -> VerificationRecord | None:
    """The ``verification:`` record of a submission, every problem added to ``problems``: only at
    核查 or 认定; each mine checked once; every date within the season of ``year`` (0: not known)
    and each mine's date within the verification's dates; opinions only for rows of the form."""
    where: KeyPath = ("verification",)
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        problems.add(where, "核查记录写法有误", raw, "映射，含 group、start、end、mines、opinions")
        return None
    if stage not in RECORD_STAGES:
        problems.add(
            where,
            f"评估阶段为“{stage}”的文件不能含核查记录",
            stage,
            "核查记录只写在核查或认定阶段的提交文件中（stage: 核查），自评文件删去 verification",
        )
    _reject_unknown(raw, where, ("group", "start", "end", "mines", "opinions"), problems)
    group = _read_group(raw.get("group"), (*where, "group"), problems)
    start = _date_in_season(raw.get("start"), (*where, "start"), "核查开始日期", year, problems)
    end = _date_in_season(raw.get("end"), (*where, "end"), "核查结束日期", year, problems)
    if start and end and end < start:
        problems.add((*where, "end"), "核查结束日期早于开始日期", end.isoformat(), f"不早于 {start.isoformat()}")
    mines = _read_mines(raw.get("mines"), (*where, "mines"), year, start, end, problems)
    opinions = _read_opinions(raw.get("opinions"), (*where, "opinions"), row_ids, problems)
    return VerificationRecord(tuple(group), start, end, tuple(mines), opinions)


def _read_group(raw: Any, where: KeyPath, problems: ProblemCollector) -> list[GroupMember]:
    """The evaluation group (评估小组): each member's name, unit and role."""
    group = []
    for place, entry in _list_of_mappings(raw, where, "评估小组成员", "[{name: 姓名, unit: 单位, role: 组长}]", problems):
        _reject_unknown(entry, place, ("name", "unit", "role"), problems)
        group.append(
            GroupMember(
                _text(entry, "name", place, "评估小组成员姓名", problems, required=True),
                _text(entry, "unit", place, "成员单位", problems),
                _text(entry, "role", place, "成员在小组中的职责", problems),
            )
        )
    return group


def _read_mines(
    raw: Any, where: KeyPath, year: int, start: dt.date | None, end: dt.date | None, problems: ProblemCollector
) -> list[MineCheck]:
    """The mines checked on site (现场抽查): each mine once, by its normalised name, on a day
    within the verification's dates (``start`` to ``end``, when both are known)."""
    mines: list[MineCheck] = []
    seen: dict[str, int] = {}
    for place, entry in _list_of_mappings(
        raw,
        where,
        "现场抽查的矿山",
        "[{name: 矿山名称, date: 2023-02-14, checked: 检查内容, findings: 发现的问题}]",
        problems,
    ):
        _reject_unknown(entry, place, ("name", "date", "checked", "findings"), problems)
        written = _text(entry, "name", place, "现场抽查的矿山名称", problems, required=True)
        name = normalize_name(written)  # one mine, one name: compared and shown normalised
        if written and not name:
            problems.add((*place, "name"), INVISIBLE_NAME.format(what="现场抽查的矿山名称"), written, "矿山名称（文字）")
        day = _date_in_season(entry.get("date"), (*place, "date"), "现场抽查日期", year, problems, required=True)
        if day and start and end and not start <= day <= end:
            problems.add(
                (*place, "date"),
                "现场抽查日期不在核查日期之内",
                day.isoformat(),
                f"{start.isoformat()} 至 {end.isoformat()} 之间",
            )
        if name and name in seen:
            problems.add(
                (*place, "name"),
                f"矿山“{name}”在现场抽查中记录了两次（第 {seen[name] + 1} 项已有）",
                reveal_characters(written),
                "每座矿山只记一项：同一矿山多日检查时合并写在一项的 checked 和 findings 中"
                + f"（{SAME_NAME}）" * (written != name),
            )
            continue
        if name:
            seen[name] = int(place[-1])
        mines.append(
            MineCheck(
                name,
                day,
                _text(entry, "checked", place, "检查内容", problems),
                _text(entry, "findings", place, "发现的问题", problems),
            )
        )
    return mines


def _read_opinions(raw: Any, where: KeyPath, row_ids: Sequence[str], problems: ProblemCollector) -> dict[str, str]:
    """The verification's opinions (核查意见) by row id: only rows of the form, each a text."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        problems.add(where, "核查意见写法有误", raw, "映射：行编号: 核查意见，如 2-1a: 现场核实与填报一致")
        return {}
    opinions: dict[str, str] = {}
    for key in raw:
        if str(key) not in row_ids:
            problems.add(
                (*where, str(key)), "核查意见所对应的行在评估表中没有", key, "评估表中的行编号，如 " + "、".join(row_ids[:3])
            )
            continue
        opinion = _text(raw, key, where, f"第 {key} 行的核查意见", problems, required=True)
        if opinion:
            opinions[str(key)] = opinion
    return opinions


def build_evidence(raw: Any, where: KeyPath, problems: ProblemCollector) -> tuple[EvidenceFile, ...]:
    """A row's ``evidence:``: a list of file names (relative to the submission's folder), each a
    text or ``{file: …, description: …}``."""
    example = "列表，如 [佐证材料/2-1a.pdf] 或 [{file: 佐证材料/2-1a.pdf, description: 说明}]"
    if raw is None or raw == "":
        return ()
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        problems.add(where, "佐证材料写法有误", raw, example)
        return ()
    files: list[EvidenceFile] = []
    for i, entry in enumerate(raw):
        place = (*where, i)
        description = ""
        if isinstance(entry, Mapping):
            _reject_unknown(entry, place, ("file", "description"), problems)
            description = _text(entry, "description", place, "佐证材料说明", problems)
            entry = entry.get("file")
            place = (*place, "file")
        if not (isinstance(entry, str) and entry.strip()):
            problems.add(place, "佐证材料文件名写法有误", entry, "相对于提交文件所在文件夹的文件路径，如 佐证材料/2-1a.pdf")
            continue
        name = entry.strip()
        if PurePosixPath(name).is_absolute() or PureWindowsPath(name).is_absolute() or ".." in re.split(r"[\\/]", name):
            problems.add(place, "佐证材料须在提交文件所在的文件夹之内", name, "相对路径，如 佐证材料/2-1a.pdf（不含 .. 或盘符）")
            continue
        if any(f.file == name for f in files):
            problems.add(place, "同一佐证材料在本行列了两次", name, "每个文件只列一次")
            continue
        files.append(EvidenceFile(name, description))
    return tuple(files)


def describe_missing_on_site(stage: str, record: VerificationRecord | None) -> str:
    """The 提示 of a 核查 without any mine checked on site, or ``""``."""
    if stage != ON_SITE_STAGE or (record is not None and record.mines):
        return ""
    return (
        "核查未记录现场抽查核实的矿山：通知要求评估小组“到现场进行抽查核实”"
        "（矿安〔2023〕9号），请在核查记录的现场抽查中写明抽查的矿山、日期、检查内容和发现的问题。"
    )
