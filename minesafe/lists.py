"""Dynamic list management (动态管理): next year's key-unit list proposed from this year's.

Coal lists follow the coal plan of 矿安〔2023〕9号 (煤矿安全生产重点县(市、区)、重点企业督导工作方案):

* a listed unit evaluated 合格 **may** leave ("…经国家矿山安全监察局评估合格的可调出管理名单", 二(四)):
  the proposal is 可调出, quoting the whole exit condition, never a firm 调出; a unit with a 较大 or
  worse accident in the year stays (二(三)1), and so does one the province still finds "灾害较重,
  安全管理能力相对较弱,事故多发" or nominates (二(三)2–3: "原则上纳入"; the exit condition also needs
  "安全管理水平显著提升", which that finding denies);
* a listed unit evaluated 不合格 stays ("对未完成目标任务的，进一步加强督促和指导", 四(一)); one without a
  result stays and is flagged;
* an unlisted unit is proposed for addition on the criteria of 二(三): a 较大 or worse accident, the
  province's finding of heavy hazards with weak management and frequent accidents, or the province's
  nomination ("原则上纳入");
* units that would be on the national list a third consecutive year (or more) are flagged for
  stationed supervision (驻点式督导帮扶, 四(五)).

Whatever the kind, a proposal to leave rests only on a checked result: the province's on-site 核查 or
the national 认定 (``stage``). A 合格 known only from the unit's own 自评 (or with no stage given) is
:data:`PENDING_CHECK` 待核查, never 调出 or 可调出: the unit stays until its result is checked.

Non-coal lists follow the non-coal plan (非煤矿山安全生产重点地区动态管理及综合评估工作方案), not the coal rules:

* a listed region that completed its targets (合格) leaves: "对完成目标任务的地区调出名单" (四(一));
* one that did not stays and is urged and guided further (四(一));
* additions are the nation's periodic 增补 ("定期增补重点地区名单", 四(一)) on the selection criteria of
  一: the three principles for a county (一(二)), the national finding for a province (一(一)).
  Accidents, provincial findings and nominations are coal criteria and are not accepted here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from minesafe.cells import append_row, set_print_layout, style_header, wrap_cells
from minesafe.exceptions import KeyPath, ProblemCollector, locate_key_path
from minesafe.names import normalize_name, read_names
from minesafe.parsing import Locator
from minesafe.rubric import STAGES, VERIFIED_STAGES

KINDS = {
    "coal-county": ("煤矿安全生产重点县(市、区)", True),
    "coal-enterprise": ("煤矿安全生产重点企业", True),
    "noncoal-county": ("非煤矿山安全生产重点县(市、区)", False),
    "noncoal-province": ("非煤矿山安全生产重点省(区)", False),
}
EXIT_PROPOSED, EXIT, STAY, ADD = "可调出", "调出", "保留", "增补"
#: A listed unit whose 合格 is its own 自评 only: no exit is proposed until 核查 or 认定 confirms it.
PENDING_CHECK = "待核查"
#: The actions that keep a unit on next year's list (for the list's size and consecutive years).
ON_LIST = (STAY, ADD, PENDING_CHECK)
#: The results a history may give: a verdict, or 待定 (a province whose counties are not all checked).
RESULTS = ("合格", "不合格", "待定")
#: The earliest year a key-unit list can have been drawn up (a guard against typos such as 0 or -5).
FIRST_LIST_YEAR = 2000
STATIONED_YEARS = 3  # 对连续3年被国家矿山安全监察局列入重点县(市、区)、重点企业名单的

#: The coal plan's exit condition, 二(四), word for word.
COAL_EXIT_CONDITION = (
    "重点县(市、区)、重点企业煤矿安全生产形势明显好转,安全管理水平显著提升,经国家矿山安全监察局评估合格的可调出管理名单"
)
#: The non-coal plan's three principles for choosing a key county, 一(二).
NONCOAL_COUNTY_PRINCIPLES = {
    1: "辖区内金属非金属地下矿山、尾矿库多,监管任务重",
    2: "历史上矿业秩序较为混乱,矿山小、散、乱,事故多发,近年来的整治效果不明显",
    3: "风险防控和遏制重特大事故任务艰巨,井下从业人员多,尾矿库连片或“头顶库”集中",
}
#: The non-coal plan's criteria for choosing a key province, 一(一).
NONCOAL_PROVINCE_CRITERIA = (
    "按照金属非金属地下矿山和尾矿库的数量、事故情况,辖区矿业秩序及风险隐患防控治理情况,"
    "综合考虑各地非煤矿山安全监管力量与监管任务的匹配度,特别是近年来各地非煤矿山安全监管水平与实际工作成效"
)
_COMMON_KEYS = {"listed", "result", "stage"}
_KEYS = {
    "coal-county": _COMMON_KEYS | {"larger_accidents", "province_flag", "nomination"},
    "coal-enterprise": _COMMON_KEYS | {"larger_accidents", "province_flag", "nomination"},
    "noncoal-county": _COMMON_KEYS | {"principles"},
    "noncoal-province": _COMMON_KEYS | {"finding"},
}


@dataclass(frozen=True)
class UnitRecord:
    name: str
    listed: tuple[int, ...]
    result: str | None
    larger_accidents: int = 0
    province_flag: str = ""
    nomination: str = ""
    principles: tuple[int, ...] = ()  # non-coal county: the principles of 一(二) that apply
    finding: str = ""  # non-coal province: the national finding under 一(一)
    stage: str = ""  # the stage of the result: 自评, 核查 or 认定 ("" when not given)


@dataclass(frozen=True)
class ListHistory:
    kind: str
    year: int
    units: tuple[UnitRecord, ...]


def name_list_proposal(history: ListHistory) -> str:
    """Next year's list proposal as its page title names it: ``煤矿安全生产重点县(市、区) 2026年名单建议``."""
    return f"{KINDS[history.kind][0]} {history.year + 1}年名单建议"


@dataclass(frozen=True)
class Proposal:
    unit: str
    listed_now: bool
    result: str
    action: str  # 可调出 (coal), 调出 (non-coal), 保留, 待核查, 增补, or "" (stays off the list)
    reasons: tuple[str, ...]
    consecutive_years: int  # consecutive years on the list up to next year, if listed next year
    stationed_supervision: bool
    years_listed: int = 0  # consecutive years on the list up to and including this year (0: not listed now)


def build_history(data: Any, source: str = "（名单数据）", locate: Locator = locate_key_path) -> ListHistory:
    """Validate a list-history document; every problem at once."""
    problems = ProblemCollector()
    if not isinstance(data, Mapping):
        problems.add((), "文件内容应为映射", type(data).__name__, "kind、year、units")
        problems.raise_if_any(source, locate)
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        problems.add(("kind",), "名单类型写法有误", kind, "、".join(KINDS))
        kind = None
    year = data.get("year")
    if not (isinstance(year, int) and not isinstance(year, bool) and 2021 <= year <= 2100):
        problems.add(("year",), "评估年度写法有误", year, "2021～2100 的整数年份")
        year = 0
    for key in [k for k in data if k not in ("kind", "year", "units")]:
        problems.add((key,), "未知的键", key, "kind、year、units")
    units = []
    raw_units = data.get("units")
    if not isinstance(raw_units, Mapping) or not raw_units:
        problems.add(("units",), "缺少单位列表", raw_units, "单位名称: {listed: [列入名单的年份], result: 合格/不合格, …}")
        raw_units = {}
    # one unit, one name: 甲县 and 甲<U+200B>县 are the same unit, given twice
    names = read_names([(("units", n), n) for n in raw_units], "单位名称", "单位名称文字，如 宽城县", problems)
    for i, (name, record) in enumerate(raw_units.items()):
        if not isinstance(record, Mapping):
            problems.add(("units", name), "写法有误", record, "映射，如 {listed: [2023], result: 合格}")
            continue
        # "": a name refused above (and nothing is returned)
        units.append(_build_unit_record(names.get(i, ""), record, ("units", name), kind, year, problems))
    problems.raise_if_any(source, locate)
    return ListHistory(kind, year, tuple(units))


def _build_unit_record(
    name: str, record: Mapping[str, Any], where: KeyPath, kind: str | None, year: int, problems: ProblemCollector
) -> UnitRecord:
    """One unit's record of a list history of ``kind`` up to ``year``; its problems added to ``problems``."""
    allowed = _KEYS.get(kind or "", set().union(*_KEYS.values()))  # an unknown kind (None): any kind's keys
    for key in [k for k in record if k not in allowed]:
        problems.add((*where, key), _unknown_key_message(kind, key), key, "、".join(sorted(allowed)))
    listed = record.get("listed", [])
    if not isinstance(listed, list) or not all(
        isinstance(y, int) and not isinstance(y, bool) and FIRST_LIST_YEAR <= y <= year for y in listed
    ):
        problems.add(
            (*where, "listed"),
            "列入名单的年份写法有误",
            listed,
            f"{FIRST_LIST_YEAR}～{year} 年之间的年份列表，如 [2023, 2024]",
        )
        listed = []
    result = record.get("result")
    if result not in (None, *RESULTS):
        problems.add((*where, "result"), "评估结果写法有误", result, "、".join(RESULTS) + "（未评估可不填）")
    stage = record.get("stage", "")
    if stage not in ("", *STAGES):
        problems.add((*where, "stage"), "评估结果的阶段写法有误", stage, "、".join(STAGES) + "（调出须以核查或认定结果为据）")
        stage = ""
    accidents = record.get("larger_accidents", 0)
    if not (isinstance(accidents, int) and not isinstance(accidents, bool) and accidents >= 0):
        problems.add((*where, "larger_accidents"), "较大及以上事故起数应为非负整数", accidents, "如 0")
        accidents = 0
    principles = record.get("principles", [])
    if not isinstance(principles, list) or not all(isinstance(p, int) and p in NONCOAL_COUNTY_PRINCIPLES for p in principles):
        problems.add(
            (*where, "principles"),
            "重点县确定原则的编号写法有误",
            principles,
            "1～3 的列表：" + "；".join(f"{n}. {text}" for n, text in NONCOAL_COUNTY_PRINCIPLES.items()),
        )
        principles = []
    for key in ("province_flag", "nomination", "finding"):
        if isinstance(record.get(key), (Mapping, list)):
            problems.add((*where, key), "应为一段文字", record[key], "文字说明")
    return UnitRecord(
        name,
        tuple(sorted(set(listed))),
        result,
        accidents,
        str(record.get("province_flag") or ""),
        str(record.get("nomination") or ""),
        tuple(sorted(set(principles))),
        str(record.get("finding") or ""),
        str(stage),
    )


def apply_results(history: ListHistory, results: Sequence[tuple[str, Mapping[str, Any]]]) -> tuple[ListHistory, dict[str, str]]:
    """The history with each unit's result taken from evaluation results (``result.json``
    mappings, each with its file), instead of results retyped: only results of the history's kind
    (form) and year, and only their deciding stage — and that stage must be 核查 or 认定 (an exit
    rests only on a checked result; a 自评 is not taken, and the unit keeps the history's own
    result, if any). Returns the history and, by unit, which result each rests on (one line)."""
    taken: dict[str, tuple[str, str, str]] = {}
    notes: dict[str, str] = {}
    problems = ProblemCollector()
    for source, r in results:
        if r.get("rubric") != history.kind or r.get("year") != history.year:
            continue
        name = normalize_name(str(r.get("county") or r.get("enterprise") or r.get("province") or ""))
        stage, verdict = str(r.get("stage") or ""), str(r.get("verdict") or "")
        if r.get("rule_set"):  # a loosened or other rule set's 合格 is no ground for a national exit
            notes.setdefault(name, f"评估结果按非国家评估表口径（{r['rule_set']}）得出（{source}），不作为依据")
            continue
        if stage not in VERIFIED_STAGES:
            notes.setdefault(name, f"评估结果只有{stage or '未注明阶段的'}结论{verdict}（{source}），未经核查或认定，不作为依据")
            continue
        earlier = taken.get(name)
        if earlier is not None and earlier[1] == stage and earlier[0] != verdict:
            problems.add(
                (),
                f"{name}有两个{stage}结果，结论不同：{earlier[2]}（{earlier[0]}）、{source}（{verdict}）",
                expected="每个单位每个阶段只有一个评估结果：只给出一次批量评估的输出文件夹",
            )
        if earlier is None or STAGES.index(stage) > STAGES.index(earlier[1]):
            taken[name] = (verdict, stage, source)
    problems.raise_if_any("评估结果文件夹")
    units = []
    for unit in history.units:
        if unit.name in taken:
            verdict, stage, source = taken[unit.name]
            units.append(dataclasses.replace(unit, result=verdict, stage=stage))
            notes[unit.name] = f"依据{history.year}年度{stage}结论{verdict}（{source}）"
        else:
            units.append(unit)
            if unit.name not in notes:
                given = f"名单数据中所填的结果{unit.result}" if unit.result else "无"
                notes[unit.name] = f"评估结果文件夹中没有该单位{history.year}年度的核查或认定结果，依据：{given}"
    return dataclasses.replace(history, units=tuple(units)), {u.name: notes[u.name] for u in history.units}


def name_bases(proposals: Sequence[Proposal], bases: Mapping[str, str]) -> list[Proposal]:
    """Each proposal with the result it rests on as its first reason (see :func:`apply_results`)."""
    return [dataclasses.replace(p, reasons=(bases[p.unit], *p.reasons)) if p.unit in bases else p for p in proposals]


def history_from_list(kind: str, year: int, names: Sequence[str]) -> ListHistory:
    """A history holding one national list (every unit listed in ``year``), with no results yet."""
    return ListHistory(kind, year, tuple(UnitRecord(normalize_name(n), (year,), None) for n in names))


def _unknown_key_message(kind: str | None, key: str) -> str:
    if kind in KINDS and not KINDS[kind][1] and key in _KEYS["coal-county"]:
        return "这是煤矿重点县、重点企业的纳入条件，非煤矿山名单按非煤矿山方案的选取原则增补，不适用"
    if kind in KINDS and KINDS[kind][1] and key in _KEYS["noncoal-county"] | _KEYS["noncoal-province"]:
        return "这是非煤矿山重点地区的选取原则，煤矿名单按煤矿方案的纳入条件增补，不适用"
    return "未知的键"


def exit_action(kind: str) -> str:
    """What leaving the list is called for a kind: a proposal (可调出) for coal, 调出 for non-coal."""
    return EXIT_PROPOSED if KINDS[kind][1] else EXIT


def consecutive_years(listed: Iterable[int], last: int) -> int:
    """How many consecutive years up to and including ``last`` are among the ``listed`` years."""
    years = set(listed)
    count = 0
    while last - count in years:
        count += 1
    return count


def _unchecked(unit: UnitRecord, reasons: list[str]) -> bool:
    """Whether a 合格 is the unit's own 自评 (or of no stage given): recorded as the reason it is 待核查."""
    if unit.stage in VERIFIED_STAGES:
        return False
    known = f"为{unit.stage}结果" if unit.stage else "未注明评估阶段（stage）"
    reasons.append(
        f"评估结果合格{known}，尚未经省级评估小组核查或国家认定；调出名单须以核查或认定结果为据，暂予保留，待核查后重新测算"
    )
    return True


def _coal_listed(unit: UnitRecord, year: int, reasons: list[str]) -> str:
    if unit.result == "合格" and not unit.larger_accidents:
        findings = _coal_additions(unit)
        if findings:
            # the exit condition needs "安全管理水平显著提升"; the province finds the opposite
            reasons += findings
            reasons.append("评估合格，但省级部门仍认定或提名其为重点，不符合调出条件中“安全管理水平显著提升”，继续列入")
            return STAY
        if _unchecked(unit, reasons):
            return PENDING_CHECK
        reasons.append(
            f"经评估合格，可调出管理名单（建议，由国家矿山安全监察局认定）。调出条件：“{COAL_EXIT_CONDITION}”，"
            "请同时核实煤矿安全生产形势明显好转、安全管理水平显著提升，且合格结论为国家矿山安全监察局审核认定的结果"
        )
        return EXIT_PROPOSED
    _missing_or_failed(unit, year, reasons, "评估不合格，未完成目标任务，继续列入，进一步加强督促和指导")
    return STAY


def _missing_or_failed(unit: UnitRecord, year: int, reasons: list[str], failed: str) -> None:
    """The reason a listed unit without an exit stays: no result, 待定, or 不合格 (``failed``)."""
    if unit.result is None:
        reasons.append(f"缺少{year}年度评估结果，暂予保留，请补充评估结果后重新测算")
    elif unit.result == "待定":
        reasons.append("评估结论待定（重点县未全部经核查或认定），暂予保留，结论确定后重新测算")
    elif unit.result == "不合格":
        reasons.append(failed)


def _coal_additions(unit: UnitRecord) -> list[str]:
    reasons = []
    if unit.province_flag:
        reasons.append(f"省级部门认定：{unit.province_flag}（煤矿灾害较重,安全管理能力相对较弱,事故多发的，原则上纳入重点管理）")
    if unit.nomination:
        reasons.append(f"省级部门提名：{unit.nomination}（省级煤矿安全监管监察部门认为应当作为重点的，原则上纳入重点管理）")
    return reasons


def _noncoal_listed(unit: UnitRecord, year: int, reasons: list[str]) -> str:
    if unit.result == "合格":
        if _unchecked(unit, reasons):
            return PENDING_CHECK
        reasons.append("经评估合格，完成目标任务，调出名单（“对完成目标任务的地区调出名单”）")
        return EXIT
    _missing_or_failed(
        unit, year, reasons, "评估不合格，未完成目标任务，继续列入，进一步加强督促和指导，确保全面完成各项攻坚克难工作目标和任务"
    )
    return STAY


def _noncoal_additions(kind: str, unit: UnitRecord) -> list[str]:
    if kind == "noncoal-county":
        found = [f"符合重点县确定原则{n}：{NONCOAL_COUNTY_PRINCIPLES[n]}" for n in unit.principles]
    else:
        found = [f"国家选定重点省(区)的依据：{unit.finding}（{NONCOAL_PROVINCE_CRITERIA}）"] if unit.finding else []
    if found:
        found.append("建议在国家“定期增补重点地区名单”时增补（根据全国其他地区非煤矿山安全生产工作情况）")
    return found


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
            action = (_coal_listed if is_coal else _noncoal_listed)(unit, history.year, reasons)
        else:
            reasons += _coal_additions(unit) if is_coal else _noncoal_additions(history.kind, unit)
            action = ADD if reasons else ""
            if not reasons:
                reasons.append("不符合增补条件")
        consecutive = consecutive_years(unit.listed, history.year) + 1 if action in ON_LIST else 0
        stationed = is_coal and consecutive >= STATIONED_YEARS
        if stationed:
            reasons.append(f"{history.year + 1}年将连续第 {consecutive} 年列入国家名单，组织开展驻点式督导帮扶")
        proposals.append(
            Proposal(
                unit.name,
                listed_now,
                unit.result or "—",
                action,
                tuple(reasons),
                consecutive,
                stationed,
                consecutive_years(unit.listed, history.year),
            )
        )
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
    append_row(ws, [f"{title} {history.year + 1}年名单建议（依据 {history.year} 年度评估结果和事故情况）"])
    append_row(ws, [label for label, _ in COLUMNS])
    style_header(ws, 2, [width for _, width in COLUMNS])
    for p in proposals:
        append_row(ws, [
            p.unit, "是" if p.listed_now else "否", p.result, p.action or "不列入", "；".join(p.reasons),
            p.consecutive_years or "", "是" if p.stationed_supervision else "",
        ])  # fmt: skip
    ws.cell(1, 1).font = Font(bold=True, size=13)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(COLUMNS))  # the title on one line, not split
    ws.freeze_panes = "A3"
    wrap_cells(ws)
    set_print_layout(ws, f"{title} {history.year + 1}年名单建议", header_rows=2)
    return wb
