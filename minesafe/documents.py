"""The 评估报告 as Word documents an office signs, seals and submits.

* :func:`build_county_document`: a key county's (or enterprise's) 自评估报告 (at 自评) or
  评估报告 (at 核查 and 认定): the verdict and its reasons first, the targets, the form's summary
  line, the failed and 不涉及 rows with their 说明, the gap to pass, what changed against the
  earlier stage, the narrative an office writes itself, the signature and seal block, the filled
  评估表 as its 附件1 (:mod:`minesafe.annex`) and 数据来源与版本 as its 附件2.
* :func:`build_province_document`: a key province's 评估报告: its own targets, every key county's
  result, the counts, the rows failing most across counties, the province's verdict and why, its
  signature block, each county's filled 评估表 as an annex and 数据来源与版本 as the last.

数据来源与版本 (:func:`add_sources`) is the last 附件, listed in the 附件 note under the body like the
forms: GB/T 9704 puts every attachment after the signature, each on a page of its own headed
附件N, and the record belongs with them — the forms an official expects first keep their numbers,
and the record of what they rest on closes the document. Its lines are the HTML report's appendix
(:func:`minesafe.sources.list_sources`), from the provenance record the commands write to
``result.json``.

Everything comes from the engine's results; layout is :mod:`minesafe.word`. Narrative fields the
submission leaves out (工作开展情况, 存在的主要问题, 下一步整改措施) are headed sections reading
:data:`TO_FILL`, so the office completes them in Word: never a silent omission.
"""

from __future__ import annotations

import datetime as dt
import string
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docx.shared import Mm, Pt

from minesafe.annex import NOT_GIVEN, SAME_AS_BEFORE, Annex, Filled, build_annex, category_mark
from minesafe.decimals import format_decimal
from minesafe.evaluation import CountyResult, ItemResult, ProvinceResult, Result, UnitResult, describe_failure
from minesafe.rendering import DEMO_BANNER, describe_unit, describe_verification, tabulate_records, unit_label
from minesafe.rubric import INFERRED_MARK, Category, Outcome, Rubric
from minesafe.sources import SourceLine, list_sources
from minesafe.submission import NARRATIVE_KEYS
from minesafe.word import (
    MONO_FONT,
    RED,
    SIZE_3,
    SIZE_5,
    SIZE_SMALL_4,
    SIZE_SMALL_5,
    Cell,
    FastCell,
    Span,
    add_heading,
    add_paragraph,
    add_subtitle,
    add_table,
    add_title,
    append_rows,
    create_document,
    set_running_header,
    start_section,
    to_bytes,
    write_cell,
)

if TYPE_CHECKING:
    from docx.document import Document

#: What a narrative section the submission left out reads, for the office to complete in Word.
TO_FILL = "【待填写】"
#: The narrative an office writes itself: submission key -> heading.
NARRATIVE = NARRATIVE_KEYS
SIGNATURE = ("评估人员", "审核人", "单位（盖章）", "日期")
HEADING_NUMBERS = "一二三四五六七八九十"
#: The last 附件's title (:func:`add_sources`): the HTML report's 附录：数据来源与版本.
SOURCES_TITLE = "数据来源与版本"
#: The width of a portrait page's text block (A4 less the 公文 margins), in millimetres.
TEXT_WIDTH = 156
#: The width of a landscape page's text block, for the form.
FORM_WIDTH = 257


def report_kind(result: Result) -> str:
    """What the document is called at its stage: a unit's own 自评估报告 at 自评, the 评估报告 of
    the province's review (核查) and of the determination (认定); a province's is its 评估报告."""
    if isinstance(result, CountyResult) and result.header.stage == "自评":
        return "自评估报告"
    return "评估报告"


def report_subject(rubric: Rubric) -> str:
    """The work a form evaluates, from its title: ``非煤矿山重点地区安全生产攻坚克难工作``."""
    subject = rubric.title.removesuffix("（暂行）").removesuffix("评估表")
    return subject + "评估" if subject.endswith("综合") else subject


def document_title(result: Result) -> list[str]:
    """The title's lines: the unit, the year and the work, the kind of report."""
    unit = result.header.province + (result.county if isinstance(result, CountyResult) else "")
    subject, kind = report_subject(result.rubric), report_kind(result)
    if subject.endswith("评估"):  # 综合评估 / 报告, never 综合评估评估报告
        kind = kind.removeprefix("评估")
    return [f"{unit}{result.header.year}年度", subject, kind]


def running_header(result: Result) -> str:
    """The line at the top of every page: unit, year, stage and kind of report."""
    return f"{describe_unit(result)}　{result.header.year}年度　{result.rubric.stage_label(result.header.stage)}　{report_kind(result)}"


class _Numbering:
    """一、二、三、… for the document's headings, whichever sections it has."""

    def __init__(self) -> None:
        self.count = 0

    def next(self, text: str) -> str:
        self.count += 1
        return f"{HEADING_NUMBERS[self.count - 1]}、{text}"


def _verdict_span(passed: bool | None, verdict: str) -> Span:
    """A verdict in words, bold; 不合格 also in red (待定 and 合格 in the text's colour)."""
    return Span(verdict, bold=True, colour=RED if passed is False else None)


def _add_notices(document: Document, result: Result) -> None:
    notices = ([DEMO_BANNER] if result.header.demo else []) + result.rubric.notices
    for notice in notices:
        add_paragraph(document, Span(notice, bold=True), size=SIZE_SMALL_4)


def _add_opening(document: Document, result: Result) -> None:
    add_title(document, document_title(result))
    add_subtitle(
        document,
        f"（{result.header.year}年度　{result.rubric.stage_label(result.header.stage)}）",
    )
    _add_notices(document, result)


def _add_verdict(document: Document, numbering: _Numbering, result: Result, unit: UnitResult) -> None:
    """The verdict in words, then every reason for it, then the points to check."""
    add_heading(document, numbering.next("评估结论"))
    # the verdict on a line of its own: a wrapped line must never break 不合格 apart
    add_paragraph(document, Span("考核评估结论：", bold=True), _verdict_span(unit.passed, unit.verdict), "。")
    add_paragraph(
        document,
        f"{unit_label(result.rubric)}：{describe_unit(result)}；评估年度：{result.header.year}年；"
        f"评估阶段：{result.rubric.stage_label(result.header.stage)}。"
        + (
            f"本结论以{unit.stage}结论为准" + (f"；{unit.stage_change}" if unit.stage_change else "") + "。"
            if len(unit.stages) > 1
            else ""
        ),
    )
    decisive = [r.text for r in result.reasons if r.kind not in ("flag", "pending")]
    pending = [r.text for r in result.reasons if r.kind == "pending"]
    flags = [r.text for r in result.reasons if r.kind == "flag"]
    for lead, texts in (("不合格或失分的原因：", decisive), ("结论待定的原因：", pending)):
        if texts:
            add_paragraph(document, lead)
            for i, text in enumerate(texts, 1):
                add_paragraph(document, f"{i}. {text}")
    if not decisive and not pending and isinstance(result, CountyResult):
        add_paragraph(document, "全部工作目标和否决项已完成，评分项得分达到合格分数线。")
    for text in flags:
        add_paragraph(document, Span("请核实：", bold=True), text)
    add_paragraph(document, f"合格标准：{result.rubric.pass_rule}")


def _add_targets(document: Document, numbering: _Numbering, result: Result, title: str = "工作目标完成情况") -> None:
    add_heading(document, numbering.next(title))
    rows: list[list[Cell]] = [
        [
            t.target.id,
            t.target.name,
            t.goal_text,
            t.value_text or "—",
            [Span(t.outcome.value, bold=True, colour=RED if t.outcome is Outcome.FAILED else None)],
            t.explanation,
        ]
        for t in result.targets
    ]
    add_table(
        document,
        ["序号", "工作目标", "目标", "实际", "评估结果", "填报数据与计算"],
        rows,
        (12, 30, 22, 18, 20, 54),
        centred=(0, 4),
    )


def _add_summary(document: Document, numbering: _Numbering, result: CountyResult) -> None:
    add_heading(document, numbering.next("评估结果汇总"))
    add_paragraph(document, *_summary_spans(result))


def _summary_spans(result: CountyResult) -> list[Span]:
    """The form's summary line with its blanks filled (values underlined)."""
    values = {
        "completed": str(result.veto.completed),
        "failed": str(result.veto.failed),
        "not_applicable": str(result.veto.not_applicable),
        "score": format_decimal(result.score),
    }
    spans = []
    for literal, field, _, _ in string.Formatter().parse(result.rubric.summary_template):
        if literal:
            spans.append(Span(literal))
        if field:
            spans.append(Span(f" {values[field]} ", bold=True, underline=True))
    return spans


def _basis(item: ItemResult) -> str:
    """Why a row has its result, and its 说明."""
    basis = "评估认定" if item.source == "explicit" else f"由填报数量判定：{item.evidence}"
    return "；".join(x for x in (basis, f"说明：{item.note}" if item.note else "") if x)


def _add_open_rows(document: Document, numbering: _Numbering, result: CountyResult) -> None:
    """The rows not completed (未完成 and 不涉及), with their 说明."""
    add_heading(document, numbering.next("未完成及不涉及的事项"))
    open_items = [i for i in result.items if i.outcome is not Outcome.COMPLETED]
    if not open_items:
        add_paragraph(document, "评估表各行均为“完成”，无未完成或不涉及的事项。")
        return
    failed = sum(i.outcome is Outcome.FAILED for i in open_items)
    add_paragraph(document, f"未完成 {failed} 项，不涉及 {len(open_items) - failed} 项（评估表附后）：")
    rows: list[list[Cell]] = [
        [
            i.row.id,
            f"{category_mark(i.row)} {i.row.category.value}" + (INFERRED_MARK if i.row.inferred else ""),
            i.row.requirement,
            [Span(i.outcome.value, bold=True, colour=RED if i.outcome is Outcome.FAILED else None)],
            _basis(i),
        ]
        for i in open_items
    ]
    add_table(document, ["编号", "类别", "任务分解", "评估结果", "依据与说明"], rows, (14, 22, 50, 16, 54), centred=(0, 3))


def _add_gap(document: Document, numbering: _Numbering, result: CountyResult) -> None:
    from minesafe.gap import compute_gap, describe_gap

    add_heading(document, numbering.next("距合格的差距"))
    lines = describe_gap(compute_gap(result))
    add_paragraph(document, lines[0])
    for i, line in enumerate(lines[1:], 1):
        add_paragraph(document, f"{i}. {line}")


def _add_stage_changes(document: Document, numbering: _Numbering, unit: UnitResult) -> None:
    """What each stage changed against the one before it (the 核查 against the 自评, …)."""
    add_heading(document, numbering.next("与前一评估阶段相比的变化"))
    for before, after, source in zip(unit.stages[:-1], unit.stages[1:], _stage_pairs(unit), strict=True):
        line = (
            f"{after.header.stage}结论{after.verdict}，得分 {_score(after)}；"
            f"{before.header.stage}结论{before.verdict}，得分 {_score(before)}"
            + ("，结论改变。" if after.passed != before.passed else "，结论未变。")
        )
        add_paragraph(document, Span(f"{before.header.stage} → {after.header.stage}：", bold=True), line)
        if source is None:
            continue
        differences = source.differences
        if not differences:
            add_paragraph(document, "两阶段填报的数值和评估结果相同。")
            continue
        rows = [
            [d.place, d.self_assessed, d.verified, "是" if d.changes_verdict else "否", d.opinion or "—"] for d in differences
        ]
        add_table(
            document,
            ["项目", before.header.stage, after.header.stage, "是否改变结论", f"{after.header.stage}意见"],
            rows,
            (44, 28, 28, 14, 42),
            centred=(3,),
        )
        add_paragraph(
            document,
            f"“是否改变结论”指只把这一处改为{after.header.stage}值时，{before.header.stage}结论是否随之改变；"
            f"“{after.header.stage}意见”为评估小组对该行的核查意见（未写时为该行的说明）。",
            size=SIZE_5,
        )


def _add_verification(document: Document, numbering: _Numbering, unit: UnitResult) -> None:
    """现场抽查核实与佐证材料: each stage's verification record and evidence list, when given."""
    stages = [r for r in unit.stages if isinstance(r, CountyResult) and (r.verification or tabulate_records(r))]
    if not stages:
        return
    add_heading(document, numbering.next("现场抽查核实与佐证材料"))
    count = 0
    for result in stages:
        if result.verification is not None:
            add_paragraph(document, describe_verification(result))
        for title, headers, rows in tabulate_records(result):
            # a （一） heading counting its rows in words (评估小组（3 人）), kept on its table's page
            count += 1
            add_heading(document, f"（{HEADING_NUMBERS[count - 1]}）{title}", level=2)
            add_table(document, headers, [list(row) for row in rows], _RECORD_WIDTHS[headers[0], len(headers)])


#: Column widths (mm) of the verification tables, by their first header and width (see minesafe.rendering).
_RECORD_WIDTHS = {
    ("姓名", 3): (28, 80, 48),
    ("现场抽查的矿山", 4): (34, 26, 44, 52),
    ("编号", 4): (12, 46, 20, 78),
    ("编号", 5): (12, 20, 58, 44, 22),
}


def _stage_pairs(unit: UnitResult) -> list:
    """Each stage compared with the one before it from their files (``None`` without files)."""
    from minesafe.parsing import read_document
    from minesafe.stages import compare_stages

    if len(unit.sources) != len(unit.stages):
        return [None] * (len(unit.stages) - 1)
    documents = [read_document(Path(source))[0] for source in unit.sources]
    rubric = unit.deciding.rubric
    return [
        compare_stages(documents[i], documents[i + 1], rubric, (unit.sources[i], unit.sources[i + 1]))
        for i in range(len(documents) - 1)
    ]


def _score(result: Result) -> str:
    return f"{format_decimal(result.score)} 分" if isinstance(result, CountyResult) else "—"


def _add_narrative(document: Document, numbering: _Numbering, narrative: Mapping[str, str]) -> None:
    """工作开展情况, 存在的主要问题, 下一步整改措施: the office's own words, or :data:`TO_FILL`."""
    for key, heading in NARRATIVE.items():
        add_heading(document, numbering.next(heading))
        text = (narrative.get(key) or "").strip()
        if not text:
            add_paragraph(document, Span(TO_FILL, bold=True, colour=RED))
            continue
        for line in text.splitlines():
            if line.strip():
                add_paragraph(document, line.strip())


def _add_annex_note(document: Document, names: Sequence[str]) -> None:
    """The 附件 note as GB/T 9704 places it: under the body after a blank line, before the signature,
    ``附件：1. …`` with each further number under the first and a long name's next line under its
    number (a hanging indent past ``附件：``), kept on the signature's page with the body's last
    paragraph (so neither the note nor the signature stands on a page without body text)."""
    if document.paragraphs:
        document.paragraphs[-1].paragraph_format.keep_with_next = True
    add_paragraph(document, "").paragraph_format.keep_with_next = True
    for n, name in enumerate(names, 1):
        paragraph = add_paragraph(document, f"{'附件：' if n == 1 else ''}{n}. {name}")
        paragraph.paragraph_format.keep_with_next = True
        paragraph.paragraph_format.left_indent = Pt(SIZE_3 * 5)  # two characters' indent and 附件：
        paragraph.paragraph_format.first_line_indent = Pt(-SIZE_3 * 3 if n == 1 else 0)


def _add_signature(document: Document) -> None:
    """评估人员 / 审核人 / 单位（盖章） / 日期, kept together on one page."""
    add_paragraph(document, "").paragraph_format.keep_with_next = True
    blanks = {"日期": "　　　　年　　月　　日"}
    for label in SIGNATURE:
        paragraph = add_paragraph(document, f"{label}：", Span(blanks.get(label, "　" * 12), underline=label != "日期"))
        paragraph.paragraph_format.keep_with_next = label != SIGNATURE[-1]
        paragraph.paragraph_format.left_indent = Mm(TEXT_WIDTH / 3)
        paragraph.paragraph_format.first_line_indent = Mm(0)
        paragraph.paragraph_format.line_spacing = Pt(40)  # room to sign


def add_annex(document: Document, annex: Annex, number: int) -> None:
    """附件``number``: the filled 评估表 on landscape pages, as the notice prints the form."""
    start_section(document, landscape=True)
    add_paragraph(document, Span(f"附件{number}", bold=True), indent=False)
    add_title_line(document, annex.rubric.title)
    add_paragraph(
        document,
        f"{'被评估企业' if annex.rubric.unit == 'enterprise' else '被评估地区'}：",
        Span(annex.unit, underline=True),
        f"　　评估年度：{annex.year}年　　评估阶段：{annex.stage}",
        indent=False,
        size=SIZE_SMALL_4,
    )
    add_paragraph(document, Span("一、工作目标完成情况", bold=True), indent=False, size=SIZE_SMALL_4)
    _add_form_targets(document, annex)
    add_paragraph(document, Span("二、重点工作任务完成情况", bold=True), indent=False, size=SIZE_SMALL_4)
    _add_form_rows(document, annex)
    add_paragraph(document, Span("评估结果汇总：", bold=True), *_filled_summary(annex), indent=False, size=SIZE_SMALL_4)
    marks = ("☑", "☐") if annex.passed else ("☐", "☑")
    add_paragraph(
        document,
        Span("考核评估结论：", bold=True),
        f"{marks[0]} 合格　　{marks[1]} 不合格　（",
        _verdict_span(annex.passed, "合格" if annex.passed else "不合格"),
        "）",
        indent=False,
        size=SIZE_SMALL_4,
    )
    if annex.rubric.footnote:
        add_paragraph(document, Span("备注：", bold=True), annex.rubric.footnote, indent=False, size=SIZE_5)
    add_paragraph(
        document,
        f"填表说明：括号内为提交文件填报的数值；“{NOT_GIVEN}”表示提交文件未填报该数值（该行评估结果由评估认定），"
        f"“{SAME_AS_BEFORE}”表示与前一空的填报内容相同。评分项的评估结果注明所得分值；“说明”为提交文件对该行的说明。",
        indent=False,
        size=SIZE_5,
    )


#: Column widths (mm) of 数据来源与版本's file table: 文件, 说明, SHA-256 (two lines of 32 characters
#: in :data:`~minesafe.word.MONO_FONT` 小五, Courier New's wider letters included).
_SOURCE_WIDTHS = (44, 44, 68)
#: How a reader checks a file against the table (Windows' own certutil; sha256sum elsewhere).
SOURCES_NOTE = (
    "SHA-256 是文件内容的校验值（64 位，分两行印出）：文件有任何改动，其值即不同。核对时对该文件计算 SHA-256"
    "（Windows 命令提示符：certutil -hashfile 文件名 SHA256），与本表相同即为评估所用的同一文件。"
)


def add_sources(document: Document, lines: Sequence[SourceLine], number: int) -> None:
    """附件``number`` 数据来源与版本 on a portrait page: the lines naming no file (the form, its basis,
    the params settings, the program, when it was made) as ``项目：内容``, then every file in a
    table 文件 / 说明 / SHA-256, the value in a fixed-width face on two lines (a key county's
    evidence counted, "—"), then how to check it."""
    start_section(document, landscape=False)
    add_paragraph(document, Span(f"附件{number}", bold=True), indent=False)
    add_title_line(document, SOURCES_TITLE)
    for line in lines:
        if not line.file:
            add_paragraph(document, Span(f"{line.item}：", bold=True), line.text, indent=False, size=SIZE_5)
    rows: list[list[Cell]] = [
        [line.text, line.item, [Span(f"{line.sha256[:32]}\n{line.sha256[32:]}" if line.sha256 else "—", font=MONO_FONT)]]
        for line in lines
        if line.file
    ]
    add_table(document, ["文件", "说明", "SHA-256"], rows, _SOURCE_WIDTHS, size=SIZE_SMALL_5)
    add_paragraph(document, SOURCES_NOTE, indent=False, size=SIZE_5).paragraph_format.space_before = Pt(6)


def add_title_line(document: Document, text: str) -> None:
    add_title(document, [text])


def _filled_spans(filled: Filled) -> list[Span]:
    return [Span(text, bold=value, underline=value) for text, value in filled.parts]


def _filled_summary(annex: Annex) -> list[Span]:
    """The summary line as filled, its numbers underlined."""
    spans = []
    for piece in _split_numbers(annex.summary):
        spans.append(
            Span(piece, bold=piece.strip().replace(".", "").isdigit(), underline=piece.strip().replace(".", "").isdigit())
        )
    return spans


def _split_numbers(text: str) -> list[str]:
    import re

    return [p for p in re.split(r"(\s*\d+(?:\.\d+)?\s*)", text) if p]


def _result_spans(result: str, note: str) -> list[Span]:
    failed = result.startswith(Outcome.FAILED.value)
    spans = [Span(result, bold=True, colour=RED if failed else None)]
    if note:
        spans.append(Span(f"\n说明：{note}"))
    return spans


def _add_form_targets(document: Document, annex: Annex) -> None:
    """一、工作目标完成情况 as the form prints it: three value columns, merged into one for a target
    the form writes in one text."""
    headers = ["序号", "总体目标", "类别/\n分值", "目标", *annex.target_headers, "评估结果"]
    widths = (12, 44, 14, 18, 52, 52, 40, 25)
    rows: list[list[Cell]] = [
        [str(n), t.target.name, "■", t.goal, "", "", "", _result_spans(t.result, "")] for n, t in enumerate(annex.targets, 1)
    ]
    table = add_table(document, headers, rows, widths, size=SIZE_SMALL_5, centred=(0, 2, 3, 7))
    for n, t in enumerate(annex.targets, 1):
        columns = [_filled_spans(c) for c in t.columns]
        if t.note:
            columns[-1].append(Span(f"\n（{t.note}）"))
        cells = table.rows[n].cells
        places = [cells[4].merge(cells[6])] if len(columns) == 1 else cells[4:7]
        for cell, spans in zip(places, columns, strict=True):
            write_cell(cell, spans, SIZE_SMALL_5)


def _add_form_rows(document: Document, annex: Annex) -> None:
    """二、重点工作任务完成情况 as the form prints it: a row per section heading, then the section's
    rows, 序号 and 重点任务 merged down over each task's rows."""
    headers = ["序号", "重点任务", "类别", "任务分解", "完成情况", "评估结果"]
    widths = (12, 28, 14, 62, 103, 38)
    add_table(document, headers, [], widths, size=SIZE_SMALL_5)
    rows: list[list[FastCell]] = []
    for heading, section_rows in annex.sections:
        rows.append([FastCell([Span(heading, bold=True)], columns=len(headers))])
        for n, r in enumerate(section_rows):
            last_of_task = n + 1 == len(section_rows) or section_rows[n + 1].first_of_task
            merge = "" if r.first_of_task and last_of_task else "restart" if r.first_of_task else "continue"
            task = [Span(str(r.row.task)), Span(r.row.task_name)] if r.first_of_task else [Span(""), Span("")]
            rows.append(
                [
                    FastCell([task[0]], centre=True, merge=merge),
                    FastCell([task[1]], merge=merge),
                    FastCell([Span(r.mark)], centre=True),
                    FastCell([Span(r.row.requirement)]),
                    FastCell(_filled_spans(r.filled)),
                    FastCell(_result_spans(r.result, r.note)),
                ]
            )
    append_rows(document, rows, widths, SIZE_SMALL_5)


def _open_document(unit: UnitResult) -> tuple[Document, _Numbering]:
    """A new document with its running header, title, notices and verdict (its first section)."""
    result = unit.deciding
    document = create_document()
    set_running_header(document, running_header(result))
    _add_opening(document, result)
    numbering = _Numbering()
    _add_verdict(document, numbering, result, unit)
    return document, numbering


def build_county_document(
    unit: UnitResult | CountyResult, narrative: Mapping[str, str] | None = None, *, provenance: Mapping[str, Any]
) -> Document:
    """The county's (or enterprise's) report with its filled 评估表 as 附件1 and 数据来源与版本 (from
    ``provenance``, :func:`minesafe.provenance.read_provenance`) as 附件2."""
    unit = unit if isinstance(unit, UnitResult) else UnitResult((unit,))
    result = unit.deciding
    if not isinstance(result, CountyResult):
        raise TypeError("build_county_document needs a county or enterprise result")
    document, numbering = _open_document(unit)
    _add_targets(document, numbering, result)
    _add_summary(document, numbering, result)
    _add_open_rows(document, numbering, result)
    if not result.passed:
        _add_gap(document, numbering, result)
    if len(unit.stages) > 1:
        _add_stage_changes(document, numbering, unit)
    _add_verification(document, numbering, unit)
    _add_narrative(document, numbering, narrative if narrative is not None else _narrative_of(result))
    _add_annex_note(document, [f"{result.rubric.title}（填报）", SOURCES_TITLE])
    _add_signature(document)
    add_annex(document, build_annex(result), 1)
    add_sources(document, list_sources(unit, provenance, dt.datetime.now().astimezone()), 2)
    return document


def _narrative_of(result: Result) -> Mapping[str, str]:
    return result.header.narrative


def failing_rows(counties: Sequence[CountyResult]) -> list[tuple[str, str, list[str]]]:
    """The targets and rows that fail in most counties, most first: (id, what, counties)."""
    failing: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for c in counties:
        for t in c.targets:
            if t.outcome is Outcome.FAILED:
                failing.setdefault(t.target.id, []).append(c.county)
                names[t.target.id] = f"工作目标 {t.target.name}"
        for i in c.items:
            if i.outcome is Outcome.FAILED:
                failing.setdefault(i.row.id, []).append(c.county)
                names[i.row.id] = f"{category_mark(i.row)} {i.row.category.value}：{i.row.requirement}"
    order = Counter({key: len(value) for key, value in failing.items()})
    return [(key, names[key], failing[key]) for key, _ in order.most_common()]


def _failed_veto(county: CountyResult) -> str:
    ids = [t.target.id for t in county.targets if t.outcome is Outcome.FAILED]
    ids += [i.row.id for i in county.items if i.row.category is Category.VETO and i.outcome is Outcome.FAILED]
    return "、".join(ids) or "无"


def build_province_document(
    province: UnitResult | ProvinceResult, narrative: Mapping[str, str] | None = None, *, provenance: Mapping[str, Any]
) -> Document:
    """The province's 评估报告 with every key county's filled 评估表 as an annex and 数据来源与版本
    (from ``provenance``, :func:`minesafe.provenance.read_provenance`) as the last."""
    unit = province if isinstance(province, UnitResult) else UnitResult((province,))
    result = unit.deciding
    if not isinstance(result, ProvinceResult):
        raise TypeError("build_province_document needs a province result")
    document, numbering = _open_document(unit)
    _add_targets(document, numbering, result, "本省工作目标完成情况")
    _add_counties(document, numbering, result)
    _add_failing_rows(document, numbering, result)
    _add_narrative(document, numbering, narrative if narrative is not None else _narrative_of(result))
    counties = result.counties
    _add_annex_note(document, [*(f"{c.header.province} {c.county} {c.rubric.title}（填报）" for c in counties), SOURCES_TITLE])
    _add_signature(document)
    for n, c in enumerate(counties, 1):
        add_annex(document, build_annex(c), n)
    # the counties' evidence counted, not listed: each county's own document lists its files
    lines = list_sources(unit, provenance, dt.datetime.now().astimezone(), county_evidence=False)
    add_sources(document, lines, len(counties) + 1)
    return document


def _add_counties(document: Document, numbering: _Numbering, result: ProvinceResult) -> None:
    add_heading(document, numbering.next("重点县评估结果"))
    counts = county_counts(result)
    total = len(result.units) + len(result.missing)
    add_paragraph(
        document,
        f"本省重点县共 {total} 个：合格 {counts['合格']} 个，不合格 {counts['不合格']} 个，待定 {counts['待定']} 个"
        + (
            f"（只有自评结果 {len(result.pending)} 个，无评估结果 {len(result.missing)} 个）"
            if result.pending or result.missing
            else ""
        )
        + "。",
    )
    rows: list[list] = []
    for n, (u, c) in enumerate(zip(result.units, result.counties, strict=True), 1):
        unchecked = "只有自评结果，尚未经核查或认定：本省结论待定" if u.name in result.pending else ""
        reason = "；".join(x for x in (describe_failure(c), u.stage_change, unchecked) if x) or "—"
        rows.append(
            [str(n), c.county, u.stage, [_verdict_span(u.passed, u.verdict)], format_decimal(c.score), _failed_veto(c), reason]
        )
    for name in result.missing:
        rows.append(
            [
                str(len(rows) + 1),
                name,
                "—",
                [_verdict_span(None, "无评估结果")],
                "—",
                "—",
                "未提交该重点县的评估文件：本省结论待定",
            ]
        )
    add_table(
        document,
        ["序号", "重点县", "以此阶段为准", "结论", "得分", "未完成的否决项", "原因"],
        rows,
        (10, 24, 16, 16, 12, 26, 52),
        centred=(0, 2, 3, 4),
    )


def county_counts(result: ProvinceResult) -> Counter[str]:
    """The province's key counties by what they mean for it: 合格 (checked on site or confirmed),
    不合格, and 待定 (a 合格 at 自评 only, or no result at all)."""
    counts: Counter[str] = Counter({"合格": 0, "不合格": 0, "待定": len(result.missing)})
    for u in result.units:
        counts["待定" if u.name in result.pending else "合格" if u.passed else "不合格"] += 1
    return counts


def _add_failing_rows(document: Document, numbering: _Numbering, result: ProvinceResult) -> None:
    add_heading(document, numbering.next("各重点县未完成较多的事项"))
    rows = failing_rows(result.counties)
    if not rows:
        add_paragraph(document, "各重点县的工作目标和评估表各行均无未完成事项。")
        return
    shown = rows[:10]
    add_paragraph(
        document, f"各重点县未完成的工作目标和评估表行共 {len(rows)} 项，按未完成的县数由多到少列出前 {len(shown)} 项："
    )
    add_table(
        document,
        ["编号", "事项", "未完成的县数", "重点县"],
        [[key, what, str(len(names)), "、".join(names)] for key, what, names in shown],
        (14, 78, 20, 44),
        centred=(0, 2),
    )


def build_document(unit: UnitResult, provenance: Mapping[str, Any]) -> Document:
    """A unit's report: a province's 评估报告, or a county's or enterprise's report; ``provenance``
    (:func:`minesafe.provenance.read_provenance`, as ``result.json`` holds it) is its 数据来源与版本."""
    if isinstance(unit.deciding, ProvinceResult):
        return build_province_document(unit, provenance=provenance)
    return build_county_document(unit, provenance=provenance)


def document_name(result: Result) -> str:
    """A document's file name without extension: its title on one line, ``示例省示例乙县2022年度…自评估报告``,
    made safe as a file name."""
    import re

    name = "".join(document_title(result))
    return re.sub(r'[\\/:*?"<>|\x00-\x1f\x7f]', "_", name).strip(" .")[:80] or "评估报告"


def add_front_notice(document: Document, lines: Sequence[str]) -> None:
    """``lines`` in bold before the document's first numbered section (a resubmission's notice:
    the first line, then each change)."""
    anchor = next(p for p in document.paragraphs if p.text.startswith(f"{HEADING_NUMBERS[0]}、"))
    for i, line in enumerate(lines):
        added = add_paragraph(document, Span(line, bold=i == 0), size=SIZE_SMALL_4)
        anchor._p.addprevious(added._p)


def document_files(
    unit: UnitResult, provenance: Mapping[str, Any], pdf: bool = False, stem: str = "report", notice: Sequence[str] = ()
) -> dict[str, bytes]:
    """The files of a unit's report: ``{stem}.docx`` and, with ``pdf``, ``{stem}.pdf`` made from
    it by LibreOffice (:func:`minesafe.office.pdf_of`; raises :class:`~minesafe.exceptions.OfficeError`).
    ``provenance``: the unit's record (:func:`build_document`); ``notice``: lines the document
    opens with (:func:`add_front_notice`)."""
    document = build_document(unit, provenance)
    if notice:
        add_front_notice(document, notice)
    docx = to_bytes(document)
    files = {f"{stem}.docx": docx}
    if pdf:
        from minesafe.office import pdf_of

        files[f"{stem}.pdf"] = pdf_of({stem: docx})[stem]
    return files


def write_document(document: Document, path: Path) -> None:
    """Write a document atomically (a reader never sees half a file)."""
    from minesafe.storage import atomic_write

    with atomic_write(path) as handle:
        handle.write(to_bytes(document))


__all__ = [
    "NARRATIVE",
    "SIGNATURE",
    "SOURCES_TITLE",
    "TO_FILL",
    "build_county_document",
    "build_document",
    "build_province_document",
    "document_files",
    "document_name",
    "document_title",
    "failing_rows",
    "report_kind",
    "to_bytes",
    "write_document",
]
