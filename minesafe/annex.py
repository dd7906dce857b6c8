"""The official 评估表 filled in: every row of the form as the notice prints it, each blank of its
完成情况 text filled with the submitted value and its 评估结果 filled from the engine.

This is data, not layout: :mod:`minesafe.documents` lays it out in Word. A filled text keeps the
form's own words exactly; only the blanks (``( )``, ``(是/否)``, ``(什么)``, ``(多少)``) are
replaced by values, so a reader recognises the national form. A value the submission did not give
(a row it judged by its result alone) fills its blank with :data:`NOT_GIVEN`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from minesafe.decimals import format_decimal, format_exact
from minesafe.evaluation import CountyResult, ItemResult
from minesafe.rubric import Category, FieldKind, FillField, Row, Rubric, Target, TargetRule
from minesafe.submission import CountPair, DeathHistory, Occurrences, Value
from minesafe.targets import TargetResult

#: A blank of the form's text: ``( )``, ``(是/否)``, ``(什么)``, ``(多少)``, half- or full-width.
BLANK = re.compile(r"[(（]\s*(是/否|什么|多少)?\s*[)）]")
#: What fills a blank the submission gave no value for.
NOT_GIVEN = "—"
#: What fills a further ``(什么)`` blank of one text answer (``在当地(什么)媒体或(什么)网站``).
SAME_AS_BEFORE = "同上"
#: The form's category marks (备注: “■”否决项，“△/3”“△/4”评分项，“/”参考项).
CATEGORY_MARKS = {Category.VETO: "■", Category.REFERENCE: "/"}
#: After the mark of a row whose marker the transcription lost (its category is inferred).
INFERRED_SHORT = "（推断）"
CHINESE_NUMERALS = "一二三四五六七八九十"


def category_mark(row: Row) -> str:
    """The form's mark of a row: ``■``, ``△/4`` or ``/``."""
    return CATEGORY_MARKS.get(row.category) or f"△/{row.points}"


def section_heading(number: int, name: str) -> str:
    """A section of the form as it prints it: ``(一) 优化产业结构``."""
    numeral = CHINESE_NUMERALS[number - 1] if 0 < number <= len(CHINESE_NUMERALS) else str(number)
    return f"（{numeral}）{name}"


@dataclass(frozen=True)
class Filled:
    """A form text with its blanks filled: ``parts`` alternate the form's words (``False``) and the
    values put into its blanks (``True``), in reading order."""

    parts: tuple[tuple[str, bool], ...]

    @property
    def text(self) -> str:
        return "".join(text for text, _ in self.parts)

    @property
    def values(self) -> tuple[str, ...]:
        """The filled values, in reading order (each shown in the text inside full-width brackets)."""
        return tuple(text.removeprefix("（").removesuffix("）") for text, value in self.parts if value)


def fill_blanks(text: str, values: Sequence[str], extra: Sequence[str] = ()) -> Filled:
    """``text`` with its i-th blank replaced by ``（values[i]）`` (:data:`NOT_GIVEN` when there is
    no i-th value). ``extra`` values have no blank of their own in the form (``死亡人数`` without
    ``( )``): they follow the text, before a closing ``(评分标准：…)``."""
    parts: list[tuple[str, bool]] = []
    at = 0
    for i, blank in enumerate(BLANK.finditer(text)):
        parts.append((text[at : blank.start()], False))
        parts.append((f"（{values[i] if i < len(values) else NOT_GIVEN}）", True))
        at = blank.end()
    rest = text[at:]
    if extra:
        standard = re.search(r"[(（]评分标准", rest)
        cut = standard.start() if standard else len(rest)
        parts.append((rest[:cut], False))
        parts += [(f"（{value}）", True) for value in extra]
        rest = rest[cut:]
    parts.append((rest, False))
    return Filled(tuple((t, v) for t, v in parts if t))


def show_value(field: FillField, value: Value | None) -> str:
    """A submitted fill-in value as the form's blank shows it: ``12``, ``12.5%``, ``是``, text."""
    if value is None or value == "":
        return NOT_GIVEN
    if field.kind is FieldKind.FLAG:
        return "是" if value else "否"
    if field.kind is FieldKind.RATIO:
        return f"{typed_decimal(Fraction(value))}%"
    return str(value)


def typed_decimal(value: Fraction) -> str:
    """A number as the person typed it: ``12.5`` stays ``12.5`` (not ``12.50``); a value no decimal
    holds exactly (never typed) is shown rounded down to two places."""
    for places in range(16):
        scaled = value * 10**places
        if scaled.denominator == 1:
            digits = f"{abs(scaled.numerator):0{places + 1}d}"
            text = digits[:-places] + "." + digits[-places:] if places else digits
            return ("-" if value < 0 else "") + text
    return format_decimal(value)


def fill_row(row: Row, values: Mapping[str, Value]) -> Filled:
    """A row's 完成情况 with its blanks filled by the submitted values, field by field in the
    form's order. A text answer fills a run of ``(什么)`` blanks (the first with the answer, the
    others :data:`SAME_AS_BEFORE`); a field with no blank left follows the text when given."""
    kinds = [m.group(1) or "" for m in BLANK.finditer(row.fill_in)]
    shown: list[str] = []
    extra: list[str] = []
    for field in row.fields:
        value = show_value(field, values.get(field.key))
        if len(shown) < len(kinds):
            shown.append(value)
            if field.kind is FieldKind.TEXT and kinds[len(shown) - 1] == "什么":
                while len(shown) < len(kinds) and kinds[len(shown)] == "什么":
                    shown.append(SAME_AS_BEFORE if value != NOT_GIVEN else NOT_GIVEN)
        elif value != NOT_GIVEN:
            extra.append(value)
    return fill_blanks(row.fill_in, shown, extra)


@dataclass(frozen=True)
class AnnexRow:
    """One row of 二、重点工作任务完成情况, filled."""

    row: Row
    first_of_task: bool  # the form prints 序号 and 重点任务 on a task's first row only
    mark: str
    filled: Filled
    result: str  # 评估结果: 完成 / 未完成 / 不涉及, a scored row with its points
    note: str  # the submission's 说明 of the row


@dataclass(frozen=True)
class AnnexTarget:
    """One row of 一、工作目标完成情况, filled. ``columns`` holds the form's three value columns
    (baseline, current, %) or, for a target the form writes in one merged cell, one text."""

    target: Target
    goal: str
    columns: tuple[Filled, ...]
    result: str
    note: str  # numbers the form has no blank for but the result rests on (all mines, for a share)


@dataclass(frozen=True)
class Annex:
    """The filled 评估表 of one county (or enterprise) result."""

    rubric: Rubric
    unit: str  # 被评估地区 as the form's first line names it
    year: int
    stage: str  # the stage as the form's rubric names it: 自评（自评估）
    baseline_year: int
    targets: tuple[AnnexTarget, ...]
    sections: tuple[tuple[str, tuple[AnnexRow, ...]], ...]
    summary: str  # 评估结果汇总, filled
    passed: bool

    @property
    def target_headers(self) -> tuple[str, str, str]:
        """The form's value columns for the evaluated year: ``2020年 数量/座``, ``2022年12月 数量/座``, ``%``."""
        return (f"{self.baseline_year}年\n数量/座", f"{self.year}年12月\n数量/座", "%")

    @property
    def rows(self) -> tuple[AnnexRow, ...]:
        return tuple(r for _, rows in self.sections for r in rows)


def _target_years(text: str, rubric: Rubric, baseline: int, year: int) -> str:
    """A target's form text for the evaluated year: the form's baseline year (2020) becomes the
    baseline used, any other year (the form's 2022) the evaluated year."""
    named = rubric.named_baseline_year or rubric.baseline_year

    def replace(match: re.Match[str]) -> str:
        return f"{baseline if int(match.group(1)) == named else year}年"

    return re.sub(r"(\d{4})年", replace, text)


def target_values(result: TargetResult) -> tuple[list[str], str]:
    """The values of a target's blanks in the form's order, and a note of what else decided it."""
    t = result.target
    inputs = list(result.inputs.values())
    ratio = result.value_text or NOT_GIVEN
    if t.rule is TargetRule.DECREASE and isinstance(inputs[0], CountPair):
        return [str(inputs[0].baseline), str(inputs[0].current), ratio], ""
    if t.rule is TargetRule.SHARE_INCREASE and all(isinstance(i, CountPair) for i in inputs):
        part, whole = (i for i in inputs if isinstance(i, CountPair))
        labels = list(t.inputs.values())
        note = f"{labels[1]}：{result.baseline_year}年 {whole.baseline} 座，评估年度年末 {whole.current} 座"
        return [str(part.baseline), str(part.current), ratio], note
    if t.rule is TargetRule.AVERAGE_DECREASE and isinstance(inputs[0], DeathHistory):
        history = inputs[0]
        average = NOT_GIVEN if result.base is None else format_exact(result.base)
        return [average, str(history.current), ratio], "前{}年逐年：{}".format(
            len(history.previous), "、".join(map(str, history.previous))
        )
    values = []
    for i in inputs:
        if isinstance(i, Occurrences):
            values += [str(i.count), str(i.deaths)]
    return values, ""


def fill_target(result: TargetResult, rubric: Rubric, year: int) -> AnnexTarget:
    """One target of the form, filled: three columns when the form's text has three parts (``；``),
    else one."""
    text = _target_years(result.target.fill_in, rubric, result.baseline_year or rubric.baseline_for(year), year)
    values, note = target_values(result)
    pieces = text.split("；")
    if len(pieces) == 3:
        counts = [len(BLANK.findall(p)) for p in pieces]
        starts = [sum(counts[:i]) for i in range(3)]
        columns = tuple(fill_blanks(p, values[s : s + n]) for p, s, n in zip(pieces, starts, counts, strict=True))
    else:
        blanks = len(BLANK.findall(text))
        columns = (fill_blanks(text, values[:blanks], values[blanks:]),)
    return AnnexTarget(result.target, result.target.goal, columns, result.outcome.value, note)


def row_result(item: ItemResult) -> str:
    """评估结果 of a row: the outcome, a scored row with its points (``完成，得 4 分``)."""
    if item.row.category is Category.SCORED and item.earned is not None:
        return f"{item.outcome.value}，得 {format_decimal(item.earned)} 分"
    return item.outcome.value


def build_annex(result: CountyResult) -> Annex:
    """The filled form of a county (or enterprise) result."""
    rubric = result.rubric
    year = result.header.year
    targets = tuple(fill_target(t, rubric, year) for t in result.targets)
    sections = []
    for section in rubric.sections:
        rows = []
        previous_task = None
        for item in (i for i in result.items if i.row.section == section.number):
            row = item.row
            rows.append(
                AnnexRow(
                    row,
                    row.task != previous_task,
                    category_mark(row) + (INFERRED_SHORT if row.inferred else ""),  # the form lost this row's mark
                    fill_row(row, item.values),
                    row_result(item),
                    item.note,
                )
            )
            previous_task = row.task
        sections.append((section_heading(section.number, section.name), tuple(rows)))
    return Annex(
        rubric,
        f"{result.header.province} {result.county}",
        year,
        rubric.stage_label(result.header.stage),
        rubric.baseline_for(year),
        targets,
        tuple(sections),
        result.summary,
        result.passed,
    )
