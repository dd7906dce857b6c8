"""Dynamic list management (动态管理): next year's key-unit list proposed from this year's.

Rules, each reason citing the plan (矿安〔2023〕9号):

* a listed unit evaluated 合格 leaves the list ("经…评估合格的可调出管理名单"; non-coal: "对完成目标任务
  的地区调出名单") unless it had a 较大 or worse accident in the year;
* a listed unit evaluated 不合格 stays ("对未完成目标任务的，进一步加强督促和指导"); one without a
  result stays and is flagged;
* an unlisted unit is added for a 较大 or worse accident in the year, for heavy hazards with weak
  management and frequent accidents as flagged by the province, or on the province's nomination;
* coal units that would be on the national list a third consecutive year (or more) are flagged for
  stationed supervision (驻点式督导帮扶).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from minesafe.exceptions import ProblemCollector, locate_key_path

KINDS = {
    "coal-county": ("煤矿安全生产重点县(市、区)", True),
    "coal-enterprise": ("煤矿安全生产重点企业", True),
    "noncoal-county": ("非煤矿山安全生产重点县(市、区)", False),
    "noncoal-province": ("非煤矿山安全生产重点省(区)", False),
}
EXIT, STAY, ADD = "调出", "保留", "增补"
STATIONED_YEARS = 3  # 对连续3年被国家矿山安全监察局列入重点县(市、区)、重点企业名单的


@dataclass(frozen=True)
class UnitRecord:
    name: str
    listed: tuple[int, ...]
    result: str | None
    larger_accidents: int
    province_flag: str
    nomination: str


@dataclass(frozen=True)
class ListHistory:
    kind: str
    year: int
    units: tuple[UnitRecord, ...]


@dataclass(frozen=True)
class Proposal:
    unit: str
    listed_now: bool
    result: str
    action: str  # 调出, 保留, 增补, or "" (stays off the list)
    reasons: tuple[str, ...]
    consecutive_years: int  # consecutive years on the list up to next year, if listed next year
    stationed_supervision: bool

    @property
    def listed_next(self) -> bool:
        return self.action in (STAY, ADD)


def build_history(data: Any, source: str = "（名单数据）", locate=locate_key_path) -> ListHistory:
    """Validate a list-history document; every problem at once."""
    problems = ProblemCollector()
    if not isinstance(data, Mapping):
        problems.add((), "文件内容应为映射", type(data).__name__, "kind、year、units")
        problems.raise_if_any(source, locate)
    kind = data.get("kind")
    if kind not in KINDS:
        problems.add(("kind",), "名单类型写法有误", kind, "、".join(KINDS))
    year = data.get("year")
    if not (isinstance(year, int) and not isinstance(year, bool) and 2021 <= year <= 2100):
        problems.add(("year",), "评估年度写法有误", year, "2021～2100 的整数年份")
        year = 0
    for key in data:
        if key not in ("kind", "year", "units"):
            problems.add((key,), "未知的键", key, "kind、year、units")
    units = []
    raw_units = data.get("units")
    if not isinstance(raw_units, Mapping) or not raw_units:
        problems.add(("units",), "缺少单位列表", raw_units, "单位名称: {listed: [列入名单的年份], result: 合格/不合格, …}")
        raw_units = {}
    allowed = {"listed", "result", "larger_accidents", "province_flag", "nomination"}
    for name, record in raw_units.items():
        where = ("units", name)
        if not isinstance(record, Mapping):
            problems.add(where, "写法有误", record, "映射，如 {listed: [2023], result: 合格}")
            continue
        for key in record:
            if key not in allowed:
                problems.add((*where, key), "未知的键", key, "、".join(sorted(allowed)))
        listed = record.get("listed", [])
        if not isinstance(listed, list) or not all(isinstance(y, int) and not isinstance(y, bool) and y <= year for y in listed):
            problems.add((*where, "listed"), "列入名单的年份写法有误", listed, f"不晚于 {year} 年的年份列表，如 [2023, 2024]")
            listed = []
        result = record.get("result")
        if result not in (None, "合格", "不合格"):
            problems.add((*where, "result"), "评估结果写法有误", result, "合格 或 不合格（未评估可不填）")
        accidents = record.get("larger_accidents", 0)
        if not (isinstance(accidents, int) and not isinstance(accidents, bool) and accidents >= 0):
            problems.add((*where, "larger_accidents"), "较大及以上事故起数应为非负整数", accidents, "如 0")
            accidents = 0
        units.append(
            UnitRecord(
                str(name),
                tuple(sorted(set(listed))),
                result,
                accidents,
                str(record.get("province_flag") or ""),
                str(record.get("nomination") or ""),
            )
        )
    problems.raise_if_any(source, locate)
    return ListHistory(kind, year, tuple(units))


def _consecutive(listed: tuple[int, ...], last: int) -> int:
    count = 0
    while last - count in listed:
        count += 1
    return count


def propose_next_list(history: ListHistory) -> list[Proposal]:
    """Next year's list, unit by unit, with reasons (see the module's rules)."""
    _, is_coal = KINDS[history.kind]
    proposals = []
    for unit in history.units:
        listed_now = history.year in unit.listed
        reasons: list[str] = []
        if unit.larger_accidents:
            reasons.append(
                f"{history.year}年发生较大及以上事故 {unit.larger_accidents} 起（发生较大以上事故的，原则上纳入重点管理）"
            )
        if listed_now:
            if unit.result == "合格" and not unit.larger_accidents:
                action = EXIT
                reasons.append("经评估合格，完成目标任务，可调出管理名单")
            elif unit.result is None:
                action = STAY
                reasons.append(f"缺少{history.year}年度评估结果，暂予保留，请补充评估结果后重新测算")
            else:
                action = STAY
                if unit.result == "不合格":
                    reasons.append("评估不合格，未完成目标任务，继续列入，进一步加强督促和指导")
        else:
            if unit.province_flag:
                reasons.append(
                    f"省级部门认定：{unit.province_flag}（煤矿灾害较重、安全管理能力相对较弱、事故多发的，原则上纳入重点管理）"
                )
            if unit.nomination:
                reasons.append(f"省级部门提名：{unit.nomination}（省级监管部门认为应当作为重点的）")
            action = ADD if reasons else ""
            if not reasons:
                reasons.append("不符合增补条件")
        consecutive = _consecutive(unit.listed, history.year) + 1 if action in (STAY, ADD) else 0
        stationed = is_coal and consecutive >= STATIONED_YEARS
        if stationed:
            reasons.append(f"{history.year + 1}年将连续第 {consecutive} 年列入国家名单，组织开展驻点式督导帮扶")
        proposals.append(Proposal(unit.name, listed_now, unit.result or "—", action, tuple(reasons), consecutive, stationed))
    return proposals


COLUMNS = [
    ("单位", 18),
    ("本年度在名单内", 10),
    ("评估结果", 9),
    ("建议", 8),
    ("理由", 80),
    ("连续列入年数", 10),
    ("驻点式督导帮扶", 12),
]


def build_proposal_workbook(history: ListHistory, proposals: list[Proposal]) -> Workbook:
    wb = Workbook()
    ws = wb.active
    ws.title = f"{history.year + 1}年名单建议"
    title, _ = KINDS[history.kind]
    ws.append([f"{title} {history.year + 1}年名单建议（依据 {history.year} 年度评估结果和事故情况）"])
    ws.append([label for label, _ in COLUMNS])
    for col, (_, width) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
        ws.cell(2, col).font = Font(bold=True)
        ws.cell(2, col).fill = PatternFill("solid", fgColor="D9E1F2")
    for p in proposals:
        ws.append([
            p.unit, "是" if p.listed_now else "否", p.result, p.action or "不列入", "；".join(p.reasons),
            p.consecutive_years or "", "是" if p.stationed_supervision else "",
        ])  # fmt: skip
    ws.cell(1, 1).font = Font(bold=True, size=13)
    ws.freeze_panes = "A3"
    return wb
