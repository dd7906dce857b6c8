"""Building blocks of the evaluation reports: everything a report notebook shows, as objects that
render to HTML in Jupyter and in the exported HTML, and to plain text for nbval.

Notebooks call these functions and hold no logic of their own.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from minesafe.decimals import format_decimal
from minesafe.evaluation import FAILED, PASSED, CountyResult, ProvinceResult, describe_failure
from minesafe.files import evaluate_file, read_provenance
from minesafe.rendering import DEMO_BANNER
from minesafe.rubric import Category, Outcome, category_label

_OUTCOME_COLOURS = {Outcome.COMPLETED: "#2e7d32", Outcome.FAILED: "#c62828", Outcome.NOT_APPLICABLE: "#616161"}
_TABLE = 'style="border-collapse:collapse;width:100%;font-size:13px"'
_CELL = 'style="border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top"'
_HEAD = 'style="border:1px solid #ccc;padding:4px 6px;background:#eef2f7;text-align:left"'


@dataclass(frozen=True)
class Html:
    """A piece of a report: HTML for people, plain text for comparisons and terminals."""

    html: str
    text: str

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Report:
    """An evaluation with the provenance a report prints in its header."""

    result: CountyResult | ProvinceResult
    provenance: Mapping[str, str]
    generated: dt.datetime
    submission: Path
    params_file: Path | None = None


def load_report(submission: str | Path, params_file: str | Path | None = None) -> Report:
    """Evaluate a submission file for a report, recording where every input came from."""
    params = Path(params_file) if params_file else None
    result = evaluate_file(submission, params)
    return Report(
        result, read_provenance(result, Path(submission), params), dt.datetime.now().astimezone(), Path(submission), params
    )


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], raw_columns: Iterable[int] = ()) -> str:
    """An HTML table; cells are escaped unless their column is in ``raw_columns``."""
    raw = set(raw_columns)
    head = "".join(f"<th {_HEAD}>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td {_CELL}>{c if i in raw else html.escape(str(c))}</td>" for i, c in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table {_TABLE}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _outcome_html(outcome: Outcome) -> str:
    return f'<span style="color:{_OUTCOME_COLOURS[outcome]};font-weight:bold">{outcome.value}</span>'


def _verdict_html(passed: bool) -> str:
    colour = _OUTCOME_COLOURS[Outcome.COMPLETED if passed else Outcome.FAILED]
    return f'<span style="color:{colour};font-weight:bold">{PASSED if passed else FAILED}</span>'


def _demo_html(report: Report) -> str:
    """The banners a reader must not miss: demo data, and a provisional (not official) form."""
    banners = []
    if report.result.header.demo:
        banners.append(DEMO_BANNER)
    if report.result.rubric.provisional:
        banners.append(f"【暂行评估表】{report.result.rubric.provisional}")
    return "".join(
        f'<div style="border:2px dashed #e65100;color:#e65100;padding:6px 10px;margin:6px 0;font-weight:bold">{html.escape(b)}</div>'
        for b in banners
    )


def unit_name(result: CountyResult | ProvinceResult) -> str:
    """The evaluated unit as a report names it."""
    if isinstance(result, CountyResult):
        return f"{result.header.province} {result.county}"
    return f"{result.header.province}（重点省）"


def render_thresholds(report: Report) -> Html:
    """The thresholds a form's measured rows are held to, with where each number comes from."""
    thresholds = report.result.rubric.thresholds
    if not thresholds:
        return Html("<p>本评估表没有可调阈值。</p>", "本评估表没有可调阈值")
    rows = [(t.label, t.text, t.source) for t in thresholds.values()]
    return Html(_table(["阈值", "取值", "依据"], rows), "\n".join(f"{a}：{b}" for a, b, _ in rows))


def render_header(report: Report) -> Html:
    """Title block: the unit, year and stage, demo marking, and the provenance of every input."""
    r = report.result
    h = r.header
    facts = [
        ("被评估地区", unit_name(r)),
        ("评估年度", f"{h.year}年"),
        ("评估阶段", h.stage),
        ("评估表", f"{r.rubric.title}（{r.rubric.id}，版本 {r.rubric.version}）"),
        ("依据", r.rubric.source),
    ]
    if r.rubric.overrides:
        facts.append(("评估参数", "；".join(f"{k}: {v}" for k, v in r.rubric.overrides.items())))
    facts += [(label, value) for label, value in report.provenance.items()]
    facts.append(("生成时间", report.generated.strftime("%Y-%m-%d %H:%M:%S %z")))
    text = "\n".join(f"{k}：{v}" for k, v in facts)
    if r.rubric.provisional:
        text = f"【暂行评估表】{r.rubric.provisional}\n" + text
    if h.demo:
        text = DEMO_BANNER + "\n" + text
    return Html(_demo_html(report) + _table(["项目", "内容"], facts), text)


def render_verdict(report: Report) -> Html:
    """The verdict banner, the form's summary line and every reason."""
    r = report.result
    colour = "#2e7d32" if r.passed else "#c62828"
    lines = [f"考核评估结论：{r.verdict}"]
    parts = [
        f'<div style="background:{colour};color:white;padding:10px 14px;font-size:20px;font-weight:bold;margin:6px 0">'
        f"考核评估结论：{r.verdict}</div>"
    ]
    if isinstance(r, CountyResult):
        lines.append(f"评估结果汇总：{r.summary}")
        parts.append(f'<p style="font-weight:bold">评估结果汇总：{html.escape(r.summary)}</p>')
    parts.append(f"<p>合格标准：{html.escape(r.rubric.pass_rule)}</p>")
    decisive = [x for x in r.reasons if x.kind != "flag"]
    flags = [x for x in r.reasons if x.kind == "flag"]
    if decisive:
        parts.append(
            "<p><b>不合格或失分原因：</b></p><ul>" + "".join(f"<li>{html.escape(x.text)}</li>" for x in decisive) + "</ul>"
        )
        lines += [f"- {x.text}" for x in decisive]
    if flags:
        parts.append("<p><b>请核实：</b></p><ul>" + "".join(f"<li>{html.escape(x.text)}</li>" for x in flags) + "</ul>")
        lines += [f"? {x.text}" for x in flags]
    return Html(_demo_html(report) + "".join(parts), "\n".join(lines))


def key_numbers(report: Report) -> dict[str, object]:
    """The numbers a regression check must see unchanged, as a plain mapping."""
    r = report.result
    numbers: dict[str, object] = {"结论": r.verdict}
    if isinstance(r, CountyResult):
        numbers |= {
            "得分": format_decimal(r.score),
            "否决项": {"完成": r.veto.completed, "未完成": r.veto.failed, "不涉及": r.veto.not_applicable},
        }
    numbers["工作目标"] = {t.target.id: f"{t.outcome.value} {t.value_text}".strip() for t in r.targets}
    if isinstance(r, ProvinceResult):
        numbers["重点县"] = {c.county: f"{c.verdict} {format_decimal(c.score)}分" for c in r.counties}
    return numbers


def render_targets(report: Report) -> Html:
    """一、工作目标完成情况: inputs, computed value, bound and result of each target."""
    rows = [
        (t.target.id, t.target.name, "■ 否决项", t.bound_text, t.explanation, t.value_text or "—", _outcome_html(t.outcome))
        for t in report.result.targets
    ]
    text = "\n".join(f"{t.target.id} {t.outcome.value} {t.value_text}（目标 {t.bound_text}）" for t in report.result.targets)
    return Html(_table(["序号", "总体目标", "类别", "目标", "填报数据与计算", "实际", "评估结果"], rows, raw_columns={6}), text)


def render_items(report: Report) -> Html:
    """二、重点工作任务完成情况: every row, grouped by section, with result, points and notes."""
    r = report.result
    if not isinstance(r, CountyResult):
        raise TypeError("render_items needs a county result")
    parts, lines = [], []
    for section in r.rubric.sections:
        items = [i for i in r.items if i.row.section == section.number]
        earned = sum((i.earned for i in items if i.earned is not None), 0)
        available = sum(i.row.points for i in items if i.row.category is Category.SCORED)
        title = f"（{section.number}）{section.name}：评分项得分 {format_decimal(earned)} / {available}"
        lines.append(title)
        rows = []
        for i in items:
            points = "—" if i.earned is None else f"{format_decimal(i.earned)} / {i.row.points}"
            basis = "评估认定" if i.source == "explicit" else f"由填报数量判定：{i.evidence}"
            rows.append(
                (
                    i.row.id,
                    f"{i.row.task}. {i.row.task_name}",
                    category_label(i.row.category, i.row.points),
                    i.row.requirement,
                    _outcome_html(i.outcome),
                    points,
                    "；".join(x for x in (basis, i.note, f"依据原文：{i.row.citation}" if i.row.citation else "") if x),
                )
            )
            lines.append(f"{i.row.id} {i.outcome.value} {points}")
        table = _table(["编号", "重点任务", "类别", "任务分解", "评估结果", "得分", "依据与说明"], rows, raw_columns={4})
        parts.append(f"<h4>{html.escape(title)}</h4>{table}")
    return Html("".join(parts), "\n".join(lines))


def render_failures(report: Report) -> Html:
    """Everything that failed, as a checklist for rectification."""
    r = report.result
    failed = [x for x in r.reasons if x.kind != "flag"]
    if not failed:
        return Html("<p>无未完成的工作目标、否决项或失分项。</p>", "无未完成事项")
    rows = [
        (
            n,
            {"target": "工作目标", "veto": "否决项", "points": "评分项", "score": "总分", "county": "重点县"}[x.kind],
            x.id,
            x.text,
        )
        for n, x in enumerate(failed, 1)
    ]
    return Html(_table(["序号", "类型", "编号", "情况"], rows), "\n".join(f"{n}. {x.text}" for n, x in enumerate(failed, 1)))


def render_counties(report: Report, link_template: str = "") -> Html:
    """A province's key counties: score, veto counts, verdict and a link to each county report."""
    r = report.result
    if not isinstance(r, ProvinceResult):
        raise TypeError("render_counties needs a province result")
    rows, lines = [], []
    for c in r.counties:
        name = html.escape(c.county)
        if link_template:
            name = f'<a href="{html.escape(link_template.format(county=c.county))}">{name}</a>'
        veto = f"完成 {c.veto.completed}，未完成 {c.veto.failed}，不涉及 {c.veto.not_applicable}"
        rows.append((name, format_decimal(c.score), veto, _verdict_html(c.passed), describe_failure(c) or "—"))
        lines.append(f"{c.county} {c.verdict} {format_decimal(c.score)}分")
    return Html(_table(["重点县", "得分", "否决项", "结论", "不合格原因"], rows, raw_columns={0, 3}), "\n".join(lines))


def render_gap(report: Report) -> Html:
    """四、整改清单: what a failing county must change to pass, or a passing county's margin."""
    from minesafe.gap import compute_gap, describe_gap

    if not isinstance(report.result, CountyResult):
        raise TypeError("render_gap needs a county result")
    lines = describe_gap(compute_gap(report.result))
    body = f"<p><b>{html.escape(lines[0])}</b></p><ol>" + "".join(f"<li>{html.escape(x)}</li>" for x in lines[1:]) + "</ol>"
    return Html(body, "\n".join(lines))


def render_stage_comparison(report: Report, verification: str | Path = "") -> Html:
    """自评 beside 核查: both verdicts and every difference, marking those that change the verdict."""
    from minesafe.files import read_document
    from minesafe.stages import compare_stages

    if not str(verification).strip():
        note = "未提供核查（省级现场抽查核实）数据。提供后，此处并列显示自评与核查的结论，并逐项列出两者的差异及其是否改变结论。"
        return Html(f"<p>{html.escape(note)}</p>", note)
    mine, _ = read_document(report.submission)
    theirs, _ = read_document(Path(verification))
    c = compare_stages(mine, theirs, report.result.rubric, (str(report.submission), str(verification)))
    a, b = c.self_assessed, c.verified
    rows = [
        ("考核评估结论", a.verdict, b.verdict, "—"),
        ("评分项得分", format_decimal(a.score), format_decimal(b.score), "—"),
        *((d.place, d.self_assessed, d.verified, "是" if d.changes_verdict else "否") for d in c.differences),
    ]
    lines = [
        f"自评 {a.verdict} {format_decimal(a.score)}分；核查 {b.verdict} {format_decimal(b.score)}分；差异 {len(c.differences)} 处"
    ]
    lines += [
        f"{d.place}：自评 {d.self_assessed}，核查 {d.verified}{'（改变结论）' if d.changes_verdict else ''}"
        for d in c.differences
    ]
    summary = f"<p><b>{html.escape(lines[0])}{'，核查改变了结论' if c.verdicts_differ else ''}。</b>“是否改变结论”指只把这一处改为核查值时，自评结论是否随之改变。</p>"
    return Html(summary + _table(["项目", "自评", "核查", "是否改变结论"], rows), "\n".join(lines))


def render_list_proposal(history_file: str | Path) -> Html:
    """Next year's key-unit list proposed from a list-history file (see minesafe.lists)."""
    from minesafe.files import read_document
    from minesafe.lists import ADD, KINDS, STAY, build_history, exit_action, propose_next_list

    data, locate = read_document(Path(history_file))
    history = build_history(data, str(history_file), locate)
    proposals = propose_next_list(history)
    rows = [
        (
            p.unit,
            "是" if p.listed_now else "否",
            p.result,
            p.action or "不列入",
            "；".join(p.reasons),
            p.consecutive_years or "—",
            "是" if p.stationed_supervision else "",
        )
        for p in proposals
    ]
    exit_word = exit_action(history.kind)
    exits, stays, adds = (sum(p.action == action for p in proposals) for action in (exit_word, STAY, ADD))
    head = (
        f"{KINDS[history.kind][0]} {history.year + 1}年名单建议：{exit_word} {exits} 个，保留 {stays} 个，增补 {adds} 个；"
        f"名单共 {stays + adds} 个（{exit_word}的单位不计入），其中驻点式督导帮扶 {sum(p.stationed_supervision for p in proposals)} 个"
    )
    table = _table(["单位", "本年度在名单内", "评估结果", "建议", "理由", "连续列入年数", "驻点式督导帮扶"], rows)
    return Html(f"<p><b>{html.escape(head)}</b></p>{table}", "\n".join([head, *(f"{r[0]} {r[3]} {r[6]}".strip() for r in rows)]))
