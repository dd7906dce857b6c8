"""Building blocks of the evaluation reports: everything a report notebook shows, as objects that
render to HTML in Jupyter and in the exported HTML, and to plain text for nbval and terminals.

Every piece of HTML comes from the Jinja2 templates in ``minesafe/templates/fragments``, rendered
with autoescaping on: a unit name, note or file name from a submission is always shown as text,
never interpreted as markup. Notebooks call these functions and hold no logic of their own.
"""

from __future__ import annotations

import ast
import datetime as dt
import functools
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import jinja2

from minesafe import palette
from minesafe.decimals import format_decimal
from minesafe.evaluation import CountyResult, ItemResult, ProvinceResult, UnitResult, describe_failure
from minesafe.exceptions import ParameterError
from minesafe.parsing import read_document
from minesafe.provenance import read_provenance
from minesafe.rendering import DEMO_BANNER, describe_unit, describe_verification, name_report, tabulate_records, unit_label
from minesafe.results import evaluate_unit
from minesafe.rubric import INFERRED_MARK, Category, Outcome, category_label
from minesafe.sources import list_sources

if TYPE_CHECKING:
    import pandas as pd

#: The first line of the cell papermill injects after a notebook's ``parameters`` cell (the cell it
#: tags ``injected-parameters``).
INJECTED_MARK = "# Parameters"
SIGNATURE_LABELS = ("评估人员", "审核人", "日期")
EXACT_NOTE = "百分数与分数按两位小数向下取整显示；是否达标、是否合格均按精确值（分数）判定。"
REASON_KINDS = {
    "target": "工作目标",
    "veto": "否决项",
    "points": "评分项",
    "score": "总分",
    "county": "重点县",
    "pending": "待定",
    "flag": "请核实",
}


@dataclass(frozen=True)
class Html:
    """A piece of a report: HTML for people, plain text for comparisons and terminals; ``metadata``
    goes into the notebook beside the HTML output (never shown)."""

    html: str
    text: str
    metadata: Mapping[str, Any] | None = field(default=None, compare=False)

    def _repr_html_(self) -> str | tuple[str, dict[str, Any]]:
        return (self.html, dict(self.metadata)) if self.metadata else self.html

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.text)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Html({len(self.html)} characters)"


@dataclass(frozen=True)
class Mark:
    """A table cell shown as coloured bold text (a result or a verdict)."""

    text: str
    colour: str


@dataclass(frozen=True)
class Word:
    """A short table cell kept on one line (``■ 否决项``, ``△/4 评分项``, a row id), followed by
    ``after``, which may wrap to the next line (``（类别为推断）``)."""

    text: str
    after: str = ""


@dataclass(frozen=True)
class Link:
    """A table cell shown as a link."""

    text: str
    href: str


def outcome_mark(outcome: Outcome) -> Mark:
    return Mark(outcome.value, palette.OUTCOME_COLOURS[outcome])


def verdict_mark(passed: bool | None, verdict: str) -> Mark:
    return Mark(verdict, palette.verdict_colour(passed))


@functools.cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("minesafe", "templates/fragments"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.tests["mark"] = lambda value: isinstance(value, Mark)
    environment.tests["link"] = lambda value: isinstance(value, Link)
    environment.tests["word"] = lambda value: isinstance(value, Word)
    environment.globals["palette"] = palette
    return environment


def render_fragment(template: str, **context: Any) -> str:
    """One of the report's HTML fragments, every value escaped."""
    return _environment().get_template(template).render(**context)


def _table(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    widths: Sequence[str] = (),
    lead: str = "",
    note: str = "",
    column_styles: Sequence[str] = (),
    keep: bool = False,
) -> str:
    return render_fragment(
        "table.html.j2",
        headers=headers,
        rows=list(rows),
        widths=widths,
        lead=lead,
        note=note,
        caption="",
        column_styles=column_styles,
        keep=keep,
    )


#: A column of a frame whose values are all at most this wide (a Chinese character counting two) is
#: kept on one line (12 Chinese characters); a wider one wraps, but never narrower than 8 characters.
SHORT_CELL = 24
WRAPPED_COLUMN = "min-width:8em"


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _frame_cell(value: object) -> object:
    """A DataFrame value as a reader expects it: "—" for nothing, a whole number without ".0"."""
    if value is None or (isinstance(value, float) and value != value) or str(value) in ("<NA>", "NaT"):
        return "—"
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def render_frame(frame: pd.DataFrame) -> Html:
    """A pandas table as the report shows its tables: named index levels become columns, pandas'
    own row numbers are left out, missing values read "—", whole numbers lose their ".0" and columns
    of short values are not broken across lines."""
    shown = frame.reset_index() if any(name is not None for name in frame.index.names) else frame
    headers = [" ".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in shown.columns]
    rows = [[_frame_cell(v) for v in row] for row in shown.itertuples(index=False, name=None)]
    lines: list[list[object]] = [list(headers), *rows]
    text = "\n".join(" | ".join(str(cell) for cell in line) for line in lines)
    # Chinese breaks between any two characters: next to a long text column the others would be
    # squeezed to a character per line ("不/合/格")
    styles = [
        "white-space:nowrap" if all(_display_width(str(row[i])) <= SHORT_CELL for row in rows) else WRAPPED_COLUMN
        for i in range(len(headers))
    ]
    return Html(_table(headers, rows, column_styles=styles), text)


def _lines(lines: Sequence[str], lead: str = "", ordered: bool = False, note: str = "") -> str:
    return render_fragment("lines.html.j2", lines=lines, lead=lead, ordered=ordered, note=note)


@dataclass(frozen=True)
class Report:
    """An evaluation with the provenance a report prints in its appendix.

    ``unit`` holds every stage given for the unit; the report shows its deciding (latest) stage:
    ``result`` and ``submission`` are that stage's result and file.
    """

    unit: UnitResult
    provenance: Mapping[str, Any]  # see minesafe.provenance.read_provenance
    generated: dt.datetime
    stage_files: Mapping[str, Path]  # each stage's submission file, earliest stage first
    params_file: Path | None = None
    county_files: tuple[Path, ...] = ()  # a province's key-county files besides those it lists

    @property
    def result(self) -> CountyResult | ProvinceResult:
        return self.unit.deciding

    @property
    def submission(self) -> Path:
        return self.stage_files[self.unit.stage]


def read_assigned_names(source: str) -> frozenset[str] | None:
    """The names a parameters cell (or papermill's injected cell) assigns, or None when the cell
    is not one: every statement an assignment of a literal to a name, the way papermill reads it."""
    try:
        statements = ast.parse(source).body
    except SyntaxError:
        return None
    names: set[str] = set()
    for statement in statements:
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            targets: list[ast.expr] = [statement.target]
        elif isinstance(statement, ast.Assign):
            targets = statement.targets
        else:
            return None
        if not all(isinstance(t, ast.Name) for t in targets):
            return None
        names.update(cast(ast.Name, t).id for t in targets)
    return frozenset(names)


def check_parameters(namespace: Mapping[str, object]) -> None:
    """Refuse a parameter papermill injected that the notebook's ``parameters`` cell does not
    declare, e.g. papermill ``-p submision x``: papermill would inject it unused and the report
    would silently show the demo data of the default.

    It compares the names the way papermill does, from the kernel's input history (``In``): when
    the cell run just before the current one is papermill's injected cell (its first line is
    ``# Parameters``), the one before that is the ``parameters`` cell. Only these two cells are
    read, so the notebook's own results, a user's own imports and cells, and a second Run All in
    the same kernel are never taken for parameters.
    """
    history = namespace.get("In")
    if not isinstance(history, list) or len(history) < 3:
        return
    parameters_cell, injected_cell = str(history[-3]), str(history[-2])
    if injected_cell.splitlines()[:1] != [INJECTED_MARK]:
        return
    declared, injected = read_assigned_names(parameters_cell), read_assigned_names(injected_cell)
    if declared is None or injected is None:  # not the cells papermill writes: nothing to compare
        return
    unknown = sorted(injected - declared)
    if unknown:
        raise ParameterError(
            f"报告笔记本不认识参数 {'、'.join(unknown)}（是否拼写错误？）。可用的参数：{'、'.join(sorted(declared))}。"
            "未生成报告，以免误用笔记本中的示例数据。"
        )


def load_report(
    submission: str | Path,
    params_file: str | Path | None = None,
    namespace: Mapping[str, object] | None = None,
    verification: str | Path = "",
    confirmation: str | Path = "",
    county_files: Sequence[str | Path] = (),
) -> Report:
    """Evaluate a submission file for a report, recording where every input came from.

    ``namespace`` is the notebook's ``globals()``: a parameter name the notebook does not know is
    refused before anything is evaluated. ``verification`` and ``confirmation`` are the same unit's
    files at other stages (its 核查 and 认定, say): the latest of the stages decides the verdict the
    report shows. ``county_files`` (a province): its key counties' files besides those it lists,
    which a batch passes so that the province decides each county by that county's report's stage.
    """
    if namespace is not None:
        check_parameters(namespace)
    params = Path(params_file) if params_file else None
    files = [Path(f) for f in (submission, verification, confirmation) if str(f).strip()]
    unit = evaluate_unit(files, params, county_files)
    stage_files = {r.header.stage: Path(f) for r, f in zip(unit.stages, unit.sources, strict=True)}
    provenance = read_provenance(unit, params)
    return Report(unit, provenance, dt.datetime.now().astimezone(), stage_files, params, tuple(Path(f) for f in county_files))


def report_notices(result: CountyResult | ProvinceResult) -> list[str]:
    """The notices a reader must not miss, each once: demo data, a provisional (not official) form,
    a non-national rule set with each of its changes."""
    return ([DEMO_BANNER] if result.header.demo else []) + result.rubric.notices


def render_verdict(report: Report) -> Html:
    """The top of a report: notices, the unit, the verdict banner, every reason, the summary line
    and the pass rule."""
    r = report.result
    unit = report.unit
    decisive = [x.text for x in r.reasons if x.kind not in ("flag", "pending")]
    pending = [x.text for x in r.reasons if x.kind == "pending"]
    flags = [x.text for x in r.reasons if x.kind == "flag"]
    summary = r.summary if isinstance(r, CountyResult) else ""
    # the deciding stage's verdict, naming the stage when several were given
    verdict = unit.verdict + (f"（{unit.stage}）" if len(unit.stages) > 1 else "")
    stage_change = f"{unit.stage_change}。" if unit.stage_change else ""
    body = render_fragment(
        "verdict.html.j2",
        notices=report_notices(r),
        unit_label=unit_label(r.rubric),
        unit=describe_unit(r),
        year=r.header.year,
        stage=r.rubric.stage_label(r.header.stage),
        colour=palette.verdict_colour(unit.passed),
        passed=unit.passed,
        verdict=verdict,
        stage_change=stage_change,
        decisive=decisive,
        pending=pending,
        flags=flags,
        summary=summary,
        pass_rule=r.rubric.pass_rule,
    )
    lines = [
        *report_notices(r),
        f"{unit_label(r.rubric)}：{describe_unit(r)}  {r.header.year}年  {r.rubric.stage_label(r.header.stage)}",
        f"考核评估结论：{verdict}",
        *([stage_change] if stage_change else []),
    ]
    lines += [f"- {x}" for x in decisive] + [f"… {x}" for x in pending] + [f"? {x}" for x in flags]
    if summary:
        lines.append(f"评估结果汇总：{summary}")
    return Html(body, "\n".join(lines))


def key_numbers(report: Report) -> list[tuple[str, str]]:
    """The numbers a regression check must see unchanged, as (item, value) rows."""
    r = report.result
    rows: list[tuple[str, str]] = [("考核评估结论", r.verdict)]
    if isinstance(r, CountyResult):
        rows += [
            ("评分项得分", f"{format_decimal(r.score)} 分"),
            ("否决项", f"完成 {r.veto.completed}，未完成 {r.veto.failed}，不涉及 {r.veto.not_applicable}"),
        ]
    rows += [(f"工作目标 {t.target.id}", f"{t.outcome.value} {t.value_text}".strip()) for t in r.targets]
    if isinstance(r, ProvinceResult):
        rows += [
            (
                f"重点县 {u.name}",
                f"{u.verdict} {format_decimal(c.score)} 分" + ("（自评，待核查）" if u.name in r.pending else ""),
            )
            for u, c in zip(r.units, r.counties, strict=True)
        ]
        rows += [(f"重点县 {name}", "无评估结果") for name in r.missing]
    return rows


def render_key_numbers(report: Report) -> Html:
    """主要数字: the key numbers as a small table (and as lines that nbval compares)."""
    rows = key_numbers(report)
    body = _table(["项目", "数值"], rows, widths=("30%", "70%"), lead="主要数字（供核对）", note=EXACT_NOTE)
    return Html(body, "\n".join(f"{k}：{v}" for k, v in rows))


def render_thresholds(report: Report) -> Html:
    """The thresholds a form's measured rows are held to, with where each number comes from."""
    thresholds = report.result.rubric.thresholds
    if not thresholds:
        return Html(_lines([], lead="本评估表没有可调阈值。"), "本评估表没有可调阈值")
    rows = [(t.label, t.text, t.origin, t.source) for t in thresholds.values()]
    return Html(
        _table(["阈值", "取值", "来源", "依据"], rows, widths=("28%", "10%", "17%", "45%")),
        "\n".join(f"{a}：{b}（{c}）" for a, b, c, _ in rows),
    )


def render_provenance(report: Report) -> Html:
    """附录：数据来源与版本: the form, its basis, the parameters, every input file with its SHA-256,
    the program's version and the generation time, in the reader's words — the lines of
    :func:`minesafe.sources.list_sources`, which the Word document's last 附件 prints too."""
    facts = [(line.item, line.shown) for line in list_sources(report.unit, report.provenance, report.generated)]
    return Html(
        _table(["项目", "内容"], facts, widths=("18%", "82%")),
        "\n".join(f"{k}：{v}" for k, v in facts),
        {EXPORT_KEY: record_export(report)},
    )


#: The key of the provenance output's metadata in an executed report notebook under which
#: ``minesafe export`` finds the report's title and inputs (:func:`record_export`).
EXPORT_KEY = "minesafe"


def record_export(report: Report) -> dict[str, Any]:
    """What ``minesafe export`` needs to make a report's page and documents from its executed
    notebook alone: the title the batch gives the page, every input as an absolute path (the
    kernel's working folder is not recorded anywhere else) and the SHA-256 of each file evaluated."""
    return {
        "title": name_report(report.result),
        "stages": [str(Path(f).resolve()) for f in report.unit.sources],
        "params_file": str(report.params_file.resolve()) if report.params_file else "",
        "county_files": [str(f.resolve()) for f in report.county_files],
        "sha256": list_input_digests(report.provenance),
    }


def list_input_digests(provenance: Mapping[str, Any]) -> list[str]:
    """The SHA-256 of every input file a provenance names (submissions, key counties' files, the
    params file): equal lists mean the same files were evaluated."""
    digests = [str(i["sha256"]) for i in provenance["inputs"]]
    return digests + ([str(provenance["params"]["sha256"])] if provenance["params"] else [])


def render_signature(report: Report) -> Html:
    """The signature block a printed report ends with."""
    return Html(render_fragment("signature.html.j2", labels=SIGNATURE_LABELS), "　".join(f"{x}：" for x in SIGNATURE_LABELS))


def render_targets(report: Report) -> Html:
    """一、工作目标完成情况: inputs and working, computed value, bound and result of each target."""
    targets = report.result.targets
    rows = [
        (t.target.id, t.target.name, t.goal_text, t.explanation, t.value_text or "—", outcome_mark(t.outcome)) for t in targets
    ]
    text = "\n".join(f"{t.target.id} {t.outcome.value} {t.value_text}（目标 {t.goal_text}）" for t in targets)
    headers = ["序号", "总体目标", "目标", "填报数据与计算", "实际", "评估结果"]
    return Html(_table(headers, rows, widths=("6%", "19%", "9%", "46%", "10%", "10%")), text)


def _points(i: ItemResult) -> str:
    return "—" if i.earned is None else f"{format_decimal(i.earned)} / {i.row.points}"


def _item_row(i: ItemResult) -> tuple[object, ...]:
    points = _points(i)
    basis = "评估认定" if i.source == "explicit" else f"由填报数量判定：{i.evidence}"
    if i.source == "explicit" and i.derived is None and i.evidence:  # a threshold no text gives a number for
        basis += f"（{i.evidence}）"
    shown = [value for value in i.filled if i.source == "explicit" or value not in i.evidence]  # each typed value once
    filled = f"填报内容：{'；'.join(shown)}" if shown else ""
    notes = "；".join(x for x in (basis, filled, i.note, f"依据原文：{i.row.citation}" if i.row.citation else "") if x)
    category = Word(category_label(i.row.category, i.row.points), INFERRED_MARK if i.row.inferred else "")
    return (Word(i.row.id), f"{i.row.task}. {i.row.task_name}", category, i.row.requirement,
            outcome_mark(i.outcome), points, notes)  # fmt: skip


def _shown_in_full(i: ItemResult) -> bool:
    """Rows a reader must see at once: anything not completed, and every scored row."""
    return i.outcome is not Outcome.COMPLETED or i.row.category is Category.SCORED


def render_items(report: Report) -> Html:
    """二、重点工作任务完成情况: every row by section. Failed, 不涉及 and scored rows are shown; the
    completed veto and reference rows of a section are folded under one line, nothing is left out."""
    r = report.result
    if not isinstance(r, CountyResult):
        raise TypeError("render_items needs a county result")
    sections, lines = [], []
    for section in r.rubric.sections:
        items = [i for i in r.items if i.row.section == section.number]
        earned = sum((i.earned for i in items if i.earned is not None), Fraction(0))
        available = sum(i.row.points for i in items if i.row.category is Category.SCORED)
        title = f"（{section.number}）{section.name}：评分项得分 {format_decimal(earned)} / {available}"
        folded = [_item_row(i) for i in items if not _shown_in_full(i)]
        sections.append(
            {
                "title": title,
                "shown": [_item_row(i) for i in items if _shown_in_full(i)],
                "folded": folded,
                "folded_label": f"已完成的否决项、参考项 {len(folded)} 项",  # the template adds 点击展开 on screen only
            }
        )
        lines.append(title)
        lines += [f"{i.row.id} {i.outcome.value} {_points(i)}" for i in items]
    headers = ["编号", "重点任务", "类别", "任务分解", "评估结果", "得分", "依据与说明"]
    widths = ("6%", "14%", "9%", "30%", "7%", "7%", "27%")
    return Html(render_fragment("items.html.j2", sections=sections, headers=headers, widths=widths), "\n".join(lines))


def render_failures(report: Report) -> Html:
    """Everything that failed, as a checklist for rectification."""
    failed = [x for x in report.result.reasons if x.kind != "flag"]
    if not failed:
        return Html(_lines([], lead="无未完成的工作目标、否决项或失分项。"), "无未完成事项")
    rows = [
        (n, REASON_KINDS[x.kind], REASON_KINDS[x.kind] if x.kind == "score" else x.id, x.text) for n, x in enumerate(failed, 1)
    ]
    body = _table(["序号", "类型", "编号", "情况"], rows, widths=("6%", "10%", "10%", "74%"))
    return Html(body, "\n".join(f"{n}. {x.text}" for n, x in enumerate(failed, 1)))


def render_counties(report: Report, link_template: str = "") -> Html:
    """A province's key counties: score, veto counts, verdict and a link to each county report."""
    r = report.result
    if not isinstance(r, ProvinceResult):
        raise TypeError("render_counties needs a province result")
    rows, lines = [], []
    for u in r.units:
        c = cast(CountyResult, u.deciding)  # a province's units are its key counties
        name: object = Link(c.county, link_template.format(county=c.county)) if link_template else c.county
        veto = f"完成 {c.veto.completed}，未完成 {c.veto.failed}，不涉及 {c.veto.not_applicable}"
        unchecked = "" if u.verified or not c.passed else "只有自评结果，尚未经核查或认定：本省结论待定"
        note = "；".join(x for x in (describe_failure(c), u.stage_change, unchecked) if x) or "—"
        rows.append((name, format_decimal(c.score), veto, verdict_mark(c.passed, f"{c.verdict}（{u.stage}）"), note))
        lines.append(f"{c.county} {c.verdict}（{u.stage}） {format_decimal(c.score)}分")
    for missing in r.missing:
        rows.append((missing, "—", "—", verdict_mark(None, "无评估结果"), "未提交该重点县的评估文件：本省结论待定"))
        lines.append(f"{missing} 无评估结果")
    body = _table(
        ["重点县", "得分", "否决项", "结论", "不合格或待定原因"], rows, widths=("14%", "8%", "26%", "9%", "43%"), keep=True
    )
    return Html(body, "\n".join(lines))


def render_gap(report: Report) -> Html:
    """四、整改清单: what a failing county must change to pass, or a passing county's margin."""
    from minesafe.gap import compute_gap, describe_gap

    if not isinstance(report.result, CountyResult):
        raise TypeError("render_gap needs a county result")
    lines = describe_gap(compute_gap(report.result))
    return Html(_lines(lines[1:], lead=lines[0], ordered=True), "\n".join(lines))


def render_province_gap(report: Report) -> Html:
    """四、距合格的差距 of a province: its own targets' gaps, then, for every key county that is not
    合格, that county's gap to pass, so the province sees in one place what stands before 合格."""
    from minesafe.gap import compute_gap, describe_gap
    from minesafe.targets import target_gap

    r = report.result
    if not isinstance(r, ProvinceResult):
        raise TypeError("render_province_gap needs a province result")
    lead = f"结论为{r.verdict}。以下为本省工作目标的余量或差距" + (
        "，以及每个不合格重点县达到合格须做到的事项。" if not r.passed else "。"
    )
    parts, lines = [_lines([], lead=lead)], [lead]
    target_lines = [target_gap(t).text for t in r.targets]
    parts.append(_lines(target_lines, lead="本省工作目标：", ordered=True))
    lines += ["本省工作目标：", *target_lines]
    failing = [c for c in r.counties if not c.passed]
    missing = [f"重点县 {name}：无评估结果，须提交其评估文件" for name in r.missing]
    missing += [f"重点县 {name}：只有自评结果，须经省级评估小组核查（或国家认定）" for name in r.pending]
    if missing:
        parts.append(_lines(missing))
        lines += missing
    if not failing and not missing:
        parts.append(_lines([], lead="重点县：全部合格。"))
        lines.append("重点县：全部合格。")
    for c in failing:
        gap = describe_gap(compute_gap(c))
        parts.append(
            _lines(gap[1:], lead=f"重点县 {c.county}（{c.verdict}，{format_decimal(c.score)} 分）：{gap[0]}", ordered=True)
        )
        lines += [f"重点县 {c.county}：{gap[0]}", *gap[1:]]
    return Html("".join(parts), "\n".join(lines))


def render_stage_comparison(report: Report, verification: str | Path = "") -> Html:
    """Every stage of the unit side by side, earliest first (自评, 核查, 认定): each stage's verdict
    and score, then each stage beside the one before it with every difference, marking those that
    change the earlier stage's verdict; the latest stage decides. With ``verification`` (a file),
    the earliest stage beside that file instead."""
    from minesafe.stages import compare_stages

    earliest = report.stage_files[report.unit.stages[0].header.stage]
    if str(verification).strip():
        files = [earliest, Path(verification)]
    else:
        files = [report.stage_files[r.header.stage] for r in report.unit.stages]
    if len(files) < 2:
        note = "未提供核查（省级现场抽查核实）数据。提供后，此处并列显示自评与核查的结论，并逐项列出两者的差异及其是否改变结论。"
        return Html(_lines([], note=note), note)
    documents = [read_document(f)[0] for f in files]
    rubric = report.result.rubric
    pairs = [
        compare_stages(documents[i], documents[i + 1], rubric, (str(files[i]), str(files[i + 1]))) for i in range(len(files) - 1)
    ]
    stages = [pairs[0].self_assessed, *(c.verified for c in pairs)]
    last = stages[-1].header.stage
    changed = [c.verified.header.stage for c in pairs if c.verdicts_differ]
    head = "；".join(f"{r.header.stage} {r.verdict} {format_decimal(r.score)}分" for r in stages)
    head += f"；差异 {sum(len(c.differences) for c in pairs)} 处"
    lead = head + (f"，{'、'.join(changed)}改变了结论，以{last}结论为准" if changed else "") + "。"
    several = len(pairs) > 1  # each pair is then headed by its two stages
    parts, lines = [_lines([], lead=lead)] if several else [], [lead]  # the text always says which stage decides
    for c in pairs:
        a, b = c.self_assessed, c.verified
        first, then = a.header.stage, b.header.stage
        rows = [
            ("考核评估结论", verdict_mark(a.passed, a.verdict), verdict_mark(b.passed, b.verdict), "—", "—"),
            ("评分项得分", format_decimal(a.score), format_decimal(b.score), "—", "—"),
            *(
                (d.place, d.self_assessed, d.verified, "是" if d.changes_verdict else "否", d.opinion or "—")
                for d in c.differences
            ),
        ]
        pair_lead = f"{first} → {then}：差异 {len(c.differences)} 处" + (f"，{then}改变了结论" if c.verdicts_differ else "")
        if several:
            lines.append(pair_lead)
        lines += [
            f"{d.place}：{first} {d.self_assessed}，{then} {d.verified}{'（改变结论）' if d.changes_verdict else ''}"
            + (f"；{then}意见：{d.opinion}" if d.opinion else "")
            for d in c.differences
        ]
        note = (
            f"“是否改变结论”指只把这一处改为{then}值时，{first}结论是否随之改变；"
            f"“{then}意见”为评估小组对该行的核查意见（未写时为{then}文件中该行的说明）。"
        )
        widths = ("30%", "17%", "17%", "10%", "26%")
        headers = ["项目", first, then, "是否改变结论", f"{then}意见"]
        parts.append(_table(headers, rows, widths=widths, lead=f"{pair_lead}。" if several else lead, note=note))
    return Html("".join(parts), "\n".join(lines))


#: Column widths of the verification tables, by their first header (see minesafe.rendering).
_RECORD_WIDTHS = {
    ("姓名", 3): ("18%", "52%", "30%"),
    ("现场抽查的矿山", 4): ("22%", "12%", "30%", "36%"),
    ("编号", 4): ("7%", "35%", "10%", "48%"),
    ("编号", 5): ("7%", "10%", "43%", "30%", "10%"),
}


def render_verification(report: Report) -> Html:
    """现场抽查核实与佐证材料: each stage's verification record (the evaluation group, the dates,
    the mines checked on site with what was checked and found, the group's opinion per row) and
    every evidence file the stages list, per row, with whether it was found (its SHA-256 is in the
    appendix)."""
    parts: list[str] = []
    lines: list[str] = []
    for result in report.unit.stages:
        if not isinstance(result, CountyResult):
            continue
        if result.verification is not None:
            parts.append(_lines([], lead=describe_verification(result)))
            lines.append(describe_verification(result))
        for title, headers, rows in tabulate_records(result):
            parts.append(_table(headers, rows, widths=_RECORD_WIDTHS[headers[0], len(headers)], lead=title))
            lines += [f"{title}：" + "，".join(row) for row in rows]
    if not parts:
        note = "提交文件未附核查记录（现场抽查核实），各行未列佐证材料。"
        return Html(_lines([], note=note), note)
    return Html("".join(parts), "\n".join(lines))


def render_status(folder: str | Path, calendar_file: str | Path = "") -> Html:
    """报送情况: the season's status table of a folder (see :mod:`minesafe.status`, the same as
    ``minesafe status``), judged as of today: each unit's stages in with their dates, what is
    missing and late, and the count of each state."""
    from minesafe.status import STATUS_HEADERS, collect_status, describe_counts, read_calendar, status_frame, status_lines

    calendar = read_calendar(Path(calendar_file) if str(calendar_file).strip() else None)
    rows, unreadable = collect_status(Path(folder), calendar=calendar)
    lead = describe_counts(rows) + f"期限依据：{calendar.source}。"
    note = "；".join(f"未计入：{u}" for u in unreadable)
    state = STATUS_HEADERS.index("状态")
    lines = []
    for row, line in zip(rows, status_lines(rows), strict=True):
        # late or invalid in red, something still missing in amber, complete in green
        colour = (
            palette.FAIL
            if row.late or row.state in ("逾期未交", "文件有误")
            else palette.PENDING
            if row.missing
            else palette.PASS
        )
        lines.append((*line[:state], Mark(str(line[state]), colour), *line[state + 1 :]))
    body = _table(STATUS_HEADERS, lines, lead=lead, note=note)
    return Html(body, "\n".join([lead, status_frame(rows).to_string(index=False), *([note] if note else [])]))


def render_list_proposal(history_file: str | Path = "", results: str | Path = "") -> Html:
    """Next year's key-unit list proposed from a list-history file (see minesafe.lists) and, with
    ``results`` (a reports folder), the results of its ``result.json`` files — without a history
    file, the national list shipped for their form; each proposal names the result it rests on."""
    from minesafe.lists import ADD, PENDING_CHECK, STAY, exit_action, name_bases, name_list_proposal, propose_next_list
    from minesafe.results import read_list_history

    history, bases = read_list_history(history_file, results)
    proposals = name_bases(propose_next_list(history), bases)
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
    exits, unchecked, stays, adds = (
        sum(p.action == action for p in proposals) for action in (exit_word, PENDING_CHECK, STAY, ADD)
    )
    head = (
        f"{name_list_proposal(history)}：{exit_word} {exits} 个，"
        + (f"{PENDING_CHECK} {unchecked} 个，" if unchecked else "")
        + f"保留 {stays} 个，增补 {adds} 个；"
        f"名单共 {unchecked + stays + adds} 个（{exit_word}的单位不计入"
        + ("，待核查的单位暂计入" if unchecked else "")
        + f"），其中驻点式督导帮扶 {sum(p.stationed_supervision for p in proposals)} 个"
    )
    headers = ["单位", "本年度在名单内", "评估结果", "建议", "理由", "连续列入年数", "驻点式督导帮扶"]
    body = _table(headers, rows, widths=("14%", "9%", "9%", "8%", "42%", "9%", "9%"), lead=head)
    text = "\n".join([head, *(f"{r[0]} {r[3]} {r[6]}".strip() for r in rows)])
    return Html(body, text, {EXPORT_KEY: {"title": name_list_proposal(history)}})  # the page's title on export
