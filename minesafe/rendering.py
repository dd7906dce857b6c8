"""Results as a machine-readable mapping (the ``--json`` contract) and as readable Chinese text."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import minesafe
from minesafe import palette
from minesafe.decimals import format_decimal, to_json_number
from minesafe.evaluation import RESULT_VIEWS, CountyResult, ProvinceResult, UnitResult
from minesafe.rubric import Category, Rubric
from minesafe.targets import TargetResult
from minesafe.verification import EvidenceFile, VerificationRecord

DEMO_BANNER = "【示例数据】本结果由虚构的示例数据生成，不代表任何真实地区。"


def describe_unit(result: CountyResult | ProvinceResult) -> str:
    """The evaluated unit as reports, titles and the terminal name it: ``示例省 示例甲县``."""
    if isinstance(result, CountyResult):
        return f"{result.header.province} {result.county}"
    return f"{result.header.province}（重点省）"


def name_report(result: CountyResult | ProvinceResult) -> str:
    """A unit's report as its page title and printed header name it: ``示例省 示例甲县 2022年度综合评估报告``."""
    return f"{describe_unit(result)} {result.header.year}年度综合评估报告" + ("（示例数据）" if result.header.demo else "")


def unit_label(rubric: Rubric) -> str:
    """What a report calls the evaluated unit: an enterprise is 被评估企业, a county or province 被评估地区."""
    return "被评估企业" if rubric.unit == "enterprise" else "被评估地区"


def _target_dict(t: TargetResult) -> dict[str, Any]:
    return {
        "name": t.target.name,
        "result": t.outcome.value,
        "met": t.met,
        "value": None if t.value is None else to_json_number(t.value),
        "value_text": t.value_text,
        "bound": None if t.target.bound is None else to_json_number(t.target.bound),
        "bound_text": t.bound_text,
        "baseline_year": t.baseline_year,
        "explanation": t.explanation,
        "flag": t.flag or None,
    }


def _stages_dict(unit: UnitResult) -> dict[str, Any]:
    return {
        r.header.stage: {"passed": r.passed, "verdict": r.verdict}
        | ({"score": to_json_number(r.score)} if isinstance(r, CountyResult) else {})
        for r in unit.stages
    }


def result_to_dict(
    evaluation: CountyResult | ProvinceResult | UnitResult, provenance: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The documented JSON object of an evaluation (see docs/submission.md).

    For a :class:`UnitResult` the object is that of its deciding (latest) stage, with every stage's
    verdict under ``stages`` and ``stage_change`` saying when the latest stage changed the verdict.
    ``provenance`` (from :func:`minesafe.provenance.read_provenance`) is added under its own key.
    """
    unit = evaluation if isinstance(evaluation, UnitResult) else UnitResult((evaluation,))
    result = unit.deciding
    header = result.header
    out: dict[str, Any] = {
        "rubric": result.rubric.id,
        "rubric_version": result.rubric.version,
        "profile": result.rubric.profile or None,
        "province": header.province,
    }
    if isinstance(result, CountyResult):
        out[result.rubric.unit_key] = result.county
    out |= {
        "year": header.year,
        "stage": header.stage,
        "demo": header.demo,
        "provisional": bool(result.rubric.provisional),
        "rule_set": result.rubric.rule_set or None,  # a non-national rule set's name (params national: false)
        "passed": result.passed,
        "verdict": result.verdict,
        "stages": _stages_dict(unit),
        "stage_change": unit.stage_change or None,
        "submitted": header.submitted.isoformat() if header.submitted else None,
    }
    if isinstance(result, CountyResult):
        out |= {
            "score": to_json_number(result.score),
            "pass_score": to_json_number(result.rubric.pass_score),
            "veto": {
                "completed": result.veto.completed,
                "failed": result.veto.failed,
                "not_applicable": result.veto.not_applicable,
            },
        }
    out["targets"] = {t.target.id: _target_dict(t) for t in result.targets}
    if isinstance(result, CountyResult):
        out["items"] = {
            i.row.id: {
                "category": i.row.category.key,
                "category_inferred": i.row.inferred,  # the marker was lost in the transcription (docs/rules.md)
                "result": i.outcome.value,
                "points": None if i.earned is None else to_json_number(i.earned),
                "max_points": i.row.points if i.row.category is Category.SCORED else None,
                "source": i.source,
                "note": i.note or None,
                "evidence": [_evidence_dict(f) for f in i.supporting],
                "values": i.typed_values,
            }
            for i in result.items
        }
        out["summary"] = result.summary
        out["verification"] = _verification_dict(result.verification)
    else:
        out["counties"] = {
            u.name: {
                "passed": u.passed,
                "verdict": u.verdict,
                "score": to_json_number(county.score),
                "stage": u.stage,
                "verified": u.verified,
                "stages": _stages_dict(u),
                "stage_change": u.stage_change or None,
            }
            for u, county in zip(result.units, result.counties, strict=True)
        }
        out["missing_counties"] = list(result.missing)
        out["pending_counties"] = list(result.pending)
    out["reasons"] = [{"kind": r.kind, "id": r.id, "text": r.text} for r in result.reasons]
    out["minesafe_version"] = minesafe.__version__
    if provenance is not None:
        out["provenance"] = dict(provenance)
    return out


def _evidence_dict(file: EvidenceFile) -> dict[str, Any]:
    return {"file": file.file, "description": file.description or None, "sha256": file.sha256 or None}


def _verification_dict(record: VerificationRecord | None) -> dict[str, Any] | None:
    """A verification record as JSON (see minesafe.verification), dates as ISO text."""
    if record is None:
        return None

    def day(d: dt.date | None) -> str | None:
        return d.isoformat() if d else None

    return {
        "group": [{"name": m.name, "unit": m.unit or None, "role": m.role or None} for m in record.group],
        "start": day(record.start),
        "end": day(record.end),
        "mines": [
            {"name": m.name, "date": day(m.date), "checked": m.checked or None, "findings": m.findings or None}
            for m in record.mines
        ],
        "opinions": dict(record.opinions),
    }


#: The tables of a verification record and of a result's evidence, as the report and the 评估报告 show them.
GROUP_HEADERS = ("姓名", "单位", "在评估小组中的职责")
MINE_HEADERS = ("现场抽查的矿山", "日期", "检查内容", "发现的问题")
OPINION_HEADERS = ("编号", "重点任务", "评估结果", "核查意见")
EVIDENCE_HEADERS = ("编号", "评估结果", "佐证材料（相对于提交文件所在文件夹）", "说明", "核对")


def describe_verification(result: CountyResult) -> str:
    """One line on a stage's verification record: its dates, group and mines checked on site."""
    record = result.verification
    if record is None:
        return f"{result.header.stage}未附现场抽查核实记录。"
    parts = [f"核查日期 {record.dates}" if record.dates else "未写核查日期"]
    parts.append(f"评估小组 {len(record.group)} 人" if record.group else "未列评估小组成员")
    parts.append(f"现场抽查矿山 {len(record.mines)} 座" if record.mines else "未记录现场抽查的矿山")
    parts.append(f"核查意见 {len(record.opinions)} 条")
    return f"现场抽查核实记录（{result.header.stage}）：" + "，".join(parts) + "。"


def tabulate_verification(result: CountyResult) -> dict[str, list[tuple[str, ...]]]:
    """A stage's verification record as rows of :data:`GROUP_HEADERS`, :data:`MINE_HEADERS` and
    :data:`OPINION_HEADERS` (``group``, ``mines``, ``opinions``); empty lists without a record."""
    record = result.verification
    if record is None:
        return {"group": [], "mines": [], "opinions": []}
    items = {i.row.id: i for i in result.items}
    return {
        "group": [(m.name, m.unit or "—", m.role or "—") for m in record.group],
        "mines": [(m.name, m.date.isoformat() if m.date else "—", m.checked or "—", m.findings or "—") for m in record.mines],
        "opinions": [
            (row_id, items[row_id].row.requirement, items[row_id].outcome.value, text)
            for row_id, text in sorted(record.opinions.items(), key=lambda kv: list(items).index(kv[0]))
        ],
    }


def tabulate_evidence(result: CountyResult) -> list[tuple[str, ...]]:
    """Every evidence file the stage lists, as rows of :data:`EVIDENCE_HEADERS` in form order
    (whether each was found; the SHA-256 of those found is in the provenance)."""
    rows: list[tuple[str, ...]] = []
    for i in result.items:
        for f in i.supporting:
            checked = "找不到该文件" if f.missing else "未核对" if f.sha256 is None else "已找到"
            rows.append((i.row.id, i.outcome.value, f.file, f.description or "—", checked))
    return rows


def tabulate_records(result: CountyResult) -> list[tuple[str, tuple[str, ...], list[tuple[str, ...]]]]:
    """A stage's verification record and evidence as (title, headers, rows) tables, each with
    rows: 评估小组, 现场抽查核实, 核查意见, 佐证材料 (see :func:`tabulate_verification`). Each
    title counts its rows in words a reader understands: ``评估小组（3 人）``, ``现场抽查核实（3 座矿山）``,
    ``核查意见（3 条）``, ``核查所列佐证材料（3 份）``."""
    tables = tabulate_verification(result)
    evidence = tabulate_evidence(result)
    found = [
        ("评估小组", f"{len(tables['group'])} 人", GROUP_HEADERS, tables["group"]),
        ("现场抽查核实", f"{len(tables['mines'])} 座矿山", MINE_HEADERS, tables["mines"]),
        ("核查意见", f"{len(tables['opinions'])} 条", OPINION_HEADERS, tables["opinions"]),
        (f"{result.header.stage}所列佐证材料", count_evidence(result), EVIDENCE_HEADERS, evidence),
    ]
    return [(f"{title}（{count}）", headers, rows) for title, count, headers, rows in found if rows]


def count_evidence(result: CountyResult) -> str:
    """How many evidence files a stage lists: ``3 份``; ``2 份，列于 3 行`` when a file is listed
    for several rows; ``…，其中 1 份找不到`` when some were not found."""
    listed = [(i.row.id, f) for i in result.items for f in i.supporting]
    files = {f.file for _, f in listed}
    rows = {row_id for row_id, _ in listed}
    missing = {f.file for _, f in listed if f.missing}
    text = f"{len(files)} 份" + (f"，列于 {len(rows)} 行" if len(listed) != len(files) else "")
    return text + (f"，其中 {len(missing)} 份找不到" if missing else "")


def format_result_text(evaluation: CountyResult | ProvinceResult | UnitResult) -> str:
    """A readable Chinese verdict for the terminal; a unit given at several stages shows its
    latest stage's verdict and says when it differs from an earlier stage's."""
    unit = evaluation if isinstance(evaluation, UnitResult) else UnitResult((evaluation,))
    result = unit.deciding
    h = result.header
    lines = [DEMO_BANNER] if h.demo else []
    lines += result.rubric.notices
    lines += [
        f"{describe_unit(result)}  {h.year}年度  {result.rubric.stage_label(h.stage)}",
        f"评估表：{result.rubric.title}（{result.rubric.id} {result.rubric.version}）",
        f"考核评估结论：{result.verdict}" + (f"（以{h.stage}结论为准）" if len(unit.stages) > 1 else ""),
    ]
    if unit.stage_change:
        lines.append(f"【结论变化】{unit.stage_change}。")
    if len(unit.stages) > 1:
        lines.append("各阶段结论：" + "；".join(f"{r.header.stage} {r.verdict}" for r in unit.stages))
    if isinstance(result, CountyResult):
        lines.append(f"评估结果汇总：{result.summary}")
    lines.append("工作目标：")
    for t in result.targets:
        value = f"  实际 {t.value_text}" if t.value_text else ""
        lines.append(f"  {t.target.id} {t.target.name}：{t.outcome.value}（目标 {t.goal_text}{value}）")
    if isinstance(result, ProvinceResult):
        lines.append("重点县：")
        for u, county in zip(result.units, result.counties, strict=True):
            unchecked = "" if u.verified else "，未经核查或认定"
            lines.append(f"  {u.name}：{u.verdict}（{u.stage}{unchecked}，得分 {format_decimal(county.score)} 分）")
        lines += [f"  {name}：无评估结果（未提交）" for name in result.missing]
    if result.reasons:
        lines.append("原因与提示：")
        lines += [f"  - {r.text}" for r in result.reasons]
    return "\n".join(lines)


def format_result_html(evaluation: CountyResult | ProvinceResult | UnitResult) -> str:
    """A result as Jupyter shows it: the verdict banner, the summary line and the key numbers
    (the full tables are in ``targets_frame()``, ``items_frame()`` and the report). A unit given at
    several stages shows its latest stage, saying when that stage changed the verdict."""
    import html  # only notebooks show HTML; `minesafe evaluate` starts without it

    staged = evaluation if isinstance(evaluation, UnitResult) else UnitResult((evaluation,))
    result = staged.deciding
    h = result.header
    colour = palette.verdict_colour(result.passed)
    unit = describe_unit(result)
    notes = ([DEMO_BANNER] if h.demo else []) + result.rubric.notices
    parts = [f'<div style="color:{palette.NOTICE};font-weight:bold">{html.escape(n)}</div>' for n in notes]
    parts.append(
        f'<div style="background:{colour};color:white;padding:6px 10px;font-weight:bold">'
        f"{html.escape(unit)} {h.year}年度 {html.escape(h.stage)}：{result.verdict}</div>"
    )
    if staged.stage_change:
        parts.append(f'<div style="color:{colour};font-weight:bold">{html.escape(staged.stage_change)}。</div>')
    failed_targets = "、".join(t.target.id for t in result.targets if not t.met) or "无"
    if isinstance(result, CountyResult):
        parts.append(f"<p><b>评估结果汇总：</b>{html.escape(result.summary)}</p>")
        numbers = [
            ("得分", f"{format_decimal(result.score)}（合格分数线 {format_decimal(result.rubric.pass_score)}）"),
            ("否决项", f"完成 {result.veto.completed}，未完成 {result.veto.failed}，不涉及 {result.veto.not_applicable}"),
            ("未完成的工作目标", failed_targets),
        ]
    else:
        failed = [c for c in result.counties if c.passed is False]
        numbers = [
            ("未完成的工作目标", failed_targets),
            ("重点县", f"{len(result.counties)} 个，不合格 {len(failed)} 个"),
            ("不合格的重点县", "、".join(c.county for c in failed) or "无"),
        ]
        if result.missing:
            numbers.append(("无评估结果的重点县", "、".join(result.missing)))
        if result.pending:
            numbers.append(("只有自评结果的重点县", "、".join(result.pending)))
    numbers.append(("评估表", f"{result.rubric.title}（{result.rubric.id} {result.rubric.version}）"))
    cell = 'style="text-align:left;padding:2px 8px"'
    rows = "".join(f"<tr><th {cell}>{k}</th><td {cell}>{html.escape(v)}</td></tr>" for k, v in numbers)
    hint = "完整表格：targets_frame()、" + ("items_frame()" if isinstance(result, CountyResult) else "counties_frame()")
    return "".join(parts) + f"<table>{rows}</table><p style='color:#616161'>{hint}</p>"


RESULT_VIEWS.html = format_result_html
