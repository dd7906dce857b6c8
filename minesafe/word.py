"""Word (.docx) layout of the evaluation documents, in the style of Chinese official documents
(GB/T 9704 党政机关公文格式): A4, 公文 margins, a 小标宋-class title, 黑体/楷体 headings, 仿宋
body, 宋体 tables, page numbers ``— 1 —`` and a running header naming the unit, stage and year.

Only layout lives here (python-docx and the few WordprocessingML properties it has no API for:
East Asian fonts, repeated table headers, rows kept whole, page-number fields, font fallbacks);
what the documents say is :mod:`minesafe.documents`. Fonts are named, never embedded: every face
is one that Word or WPS on a plain Chinese Windows has, or has a fallback that it has (see
:data:`FONT_FALLBACKS` and docs/reports.md).
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from docx import Document as new_document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from lxml import etree

from minesafe.names import escape_undecodable

if TYPE_CHECKING:
    from docx.document import Document
    from docx.oxml.text.font import CT_RPr
    from docx.section import Section
    from docx.table import Table, _Cell
    from docx.text.paragraph import Paragraph
    from docx.text.run import Run

#: The faces used, by role. 小标宋 titles, 黑体 and 楷体 headings, 仿宋 body, 宋体 tables.
TITLE_FONT = "方正小标宋简体"
HEADING_FONT = "黑体"
SUBHEADING_FONT = "楷体"
BODY_FONT = "仿宋"
TABLE_FONT = "宋体"
LATIN_FONT = "Times New Roman"
#: Fixed-width Latin face for check values (SHA-256), each character as wide as the next, so two
#: values are compared column by column; Word and WPS on Windows have it, else Courier New.
MONO_FONT = "Consolas"
MONO_FALLBACK = "Courier New"
#: Where a face is missing, Word and WPS use the font table's ``altName``: faces every Chinese
#: Windows has (方正小标宋简体 is installed with WPS and on most government machines, not with Windows).
FONT_FALLBACKS = {
    TITLE_FONT: "宋体",
    HEADING_FONT: "SimHei",
    SUBHEADING_FONT: "KaiTi",
    BODY_FONT: "FangSong",
    TABLE_FONT: "SimSun",
}
#: Sizes by their Chinese names: 二号 22 pt, 三号 16 pt, 四号 14 pt, 小四 12 pt, 五号 10.5 pt, 小五 9 pt.
SIZE_2, SIZE_3, SIZE_4, SIZE_SMALL_4, SIZE_5, SIZE_SMALL_5 = 22, 16, 14, 12, 10.5, 9
#: GB/T 9704 margins: top 37 mm, bottom 35 mm, left 28 mm, right 26 mm (a 156 × 225 mm text block).
MARGINS_MM = (37, 35, 28, 26)
RED = RGBColor(0xB0, 0x00, 0x20)
#: The paragraph style of table text, by size (name, style id): a style, not each run's own font,
#: keeps the forms fast to build.
TABLE_STYLES = {SIZE_5: ("表格文字", "msTable5"), SIZE_SMALL_5: ("表格文字（小五）", "msTableSmall5")}


def create_document() -> Document:
    """An empty A4 portrait document with the 公文 styles and font fallbacks."""
    document = new_document()
    _set_margins(document.sections[0], landscape=False)
    normal = document.styles["Normal"]
    normal.font.size = Pt(SIZE_3)
    _set_fonts(normal.element.get_or_add_rPr(), BODY_FONT)
    paragraph = normal.paragraph_format
    paragraph.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    paragraph.line_spacing = Pt(28)
    paragraph.space_after = Pt(0)
    paragraph.space_before = Pt(0)
    paragraph.widow_control = True
    for size, (name, style_id) in TABLE_STYLES.items():
        style = document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.style_id = style_id
        style.base_style = normal
        style.font.size = Pt(size)
        _set_fonts(style.element.get_or_add_rPr(), TABLE_FONT)
        style.paragraph_format.line_spacing = Pt(size * 1.35)
        style.paragraph_format.first_line_indent = Pt(0)
    return document


def _set_fonts(rpr: CT_RPr, east_asian: str) -> None:
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attribute in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(attribute), LATIN_FONT)
    fonts.set(qn("w:eastAsia"), east_asian)
    for attribute in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attribute), None)


def _font_entry(name: str, properties: Sequence[tuple[str, str]]) -> Any:
    """One ``w:font`` of the font table: the face's name and its properties (tag, value)."""
    font = OxmlElement("w:font")
    font.set(qn("w:name"), name)
    for tag, value in properties:
        child = OxmlElement(tag)
        child.set(qn("w:val"), value)
        font.append(child)
    return font


def _font_table_entries() -> list:
    """Each Chinese face for the font table, with its fallback (``altName``) and the GB2312
    character set, so a machine without the face substitutes a Chinese one, not a Latin one; and
    the check values' fixed-width Latin face with its own fallback."""
    fonts = [
        _font_entry(
            name,
            (("w:altName", fallback), ("w:charset", "86"), ("w:family", "modern" if name == HEADING_FONT else "roman")),
        )
        for name, fallback in FONT_FALLBACKS.items()
    ]
    fonts.append(
        _font_entry(MONO_FONT, (("w:altName", MONO_FALLBACK), ("w:charset", "00"), ("w:family", "modern"), ("w:pitch", "fixed")))
    )
    return fonts


def _set_margins(section: Section, landscape: bool) -> None:
    top, bottom, left, right = MARGINS_MM
    section.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = (Mm(297), Mm(210)) if landscape else (Mm(210), Mm(297))
    if landscape:  # the form's wide table: the short margins of a landscape page
        top, bottom, left, right = 25, 22, 20, 20
    section.top_margin, section.bottom_margin = Mm(top), Mm(bottom)
    section.left_margin, section.right_margin = Mm(left), Mm(right)
    section.header_distance, section.footer_distance = Mm(15), Mm(15) if not landscape else Mm(10)


def start_section(document: Document, landscape: bool) -> None:
    """A new page, landscape for the form's wide table or portrait again after it (header and
    footer carry on)."""
    from docx.enum.section import WD_SECTION

    _set_margins(document.add_section(WD_SECTION.NEW_PAGE), landscape=landscape)


def set_running_header(document: Document, text: str) -> None:
    """Every page: ``text`` (unit, stage, year) at the top, the page number ``— 1 —`` at the bottom."""
    section = document.sections[0]
    header = section.header.paragraphs[0]
    header.text = ""
    run = header.add_run(xml_safe(text))
    _style_run(run, BODY_FONT, SIZE_SMALL_5)
    header.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for piece in ("— ", None, " —"):
        if piece is None:
            _page_field(footer)
        else:
            _style_run(footer.add_run(piece), LATIN_FONT, SIZE_4)


def _page_field(paragraph: Paragraph) -> None:
    """A PAGE field: Word, WPS and LibreOffice put each page's number there."""
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"), ("end", None)):
        run = paragraph.add_run()
        _style_run(run, LATIN_FONT, SIZE_4)
        if kind is not None:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run.element.append(char)
        elif text == " PAGE ":
            instruction = OxmlElement("w:instrText")
            instruction.set(qn("xml:space"), "preserve")
            instruction.text = text
            run.element.append(instruction)
        else:
            run.text = text or ""


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """Text Word can hold: a control character a submission smuggled in (which XML cannot carry)
    becomes U+FFFD, so one odd note never stops a document; the bytes of a file name that are not
    UTF-8 (lone surrogates, GBK 甲.yaml) are shown as the console shows them (``\\xbc\\xd7.yaml``,
    :func:`minesafe.names.escape_undecodable`)."""
    return _NOT_XML.sub("\ufffd", escape_undecodable(text))


def _style_run(run: Run, font: str = BODY_FONT, size: float = SIZE_3, bold: bool = False, colour: RGBColor | None = None) -> None:
    """A run's own formatting where it differs from its paragraph's style (the body's 仿宋 三号 by default)."""
    if size != SIZE_3:
        run.font.size = Pt(size)
    if bold:
        run.font.bold = True
    if colour is not None:
        run.font.color.rgb = colour
    if font != BODY_FONT:
        _set_fonts(run.element.get_or_add_rPr(), font)


def add_title(document: Document, lines: Sequence[str]) -> None:
    """The document's title, centred, in 二号小标宋, one paragraph per line."""
    for i, line in enumerate(lines):
        paragraph = document.add_paragraph()
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        paragraph.paragraph_format.line_spacing = Pt(36)
        paragraph.paragraph_format.keep_with_next = True
        if i == 0:
            paragraph.paragraph_format.space_before = Pt(12)
        _style_run(paragraph.add_run(xml_safe(line)), TITLE_FONT, SIZE_2)


def add_subtitle(document: Document, text: str) -> None:
    """A centred line under the title (stage and year), 楷体."""
    paragraph = document.add_paragraph()
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.space_after = Pt(12)
    _style_run(paragraph.add_run(xml_safe(text)), SUBHEADING_FONT, SIZE_4)


def add_heading(document: Document, text: str, level: int = 1) -> None:
    """一、 headings in 黑体, （一） headings in 楷体; kept with what follows."""
    paragraph = document.add_paragraph()
    paragraph.paragraph_format.first_line_indent = Pt(SIZE_3 * 2)
    paragraph.paragraph_format.keep_with_next = True
    _style_run(paragraph.add_run(xml_safe(text)), HEADING_FONT if level == 1 else SUBHEADING_FONT, SIZE_3)


@dataclass(frozen=True)
class Span:
    """A piece of a paragraph: ``bold`` for a value the reader must see, ``colour`` for a verdict,
    ``font`` a Latin face of its own (:data:`MONO_FONT` for a check value)."""

    text: str
    bold: bool = False
    colour: RGBColor | None = None
    underline: bool = False
    font: str = ""


def add_paragraph(document: Document, *pieces: str | Span, indent: bool = True, size: float = SIZE_3) -> Paragraph:
    """A body paragraph (仿宋, first line indented two characters)."""
    paragraph = document.add_paragraph()
    if indent:
        paragraph.paragraph_format.first_line_indent = Pt(size * 2)
    if size != SIZE_3:
        paragraph.paragraph_format.line_spacing = Pt(size * 1.5)
    for piece in pieces:
        span = piece if isinstance(piece, Span) else Span(piece)
        run = paragraph.add_run(xml_safe(span.text))
        _style_run(run, BODY_FONT, size, span.bold, span.colour)
        if span.underline:
            run.font.underline = True
    return paragraph


def add_page_break(document: Document) -> None:
    document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)


Cell = str | Sequence[Span]


def add_table(
    document: Document,
    headers: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    widths_mm: Sequence[float],
    size: float = SIZE_5,
    centred: Sequence[int] = (),
) -> Table:
    """A bordered table in 宋体: its header row repeated on every page, no row split across pages."""
    table: Table = document.add_table(rows=1, cols=len(headers))
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for cell, header in zip(table.rows[0].cells, headers, strict=True):
        write_cell(cell, [Span(header, bold=True)], size, centre=True)
    for values in rows:
        row = table.add_row()
        for i, (cell, value) in enumerate(zip(row.cells, values, strict=True)):
            write_cell(cell, [Span(value)] if isinstance(value, str) else value, size, centre=i in centred)
    set_widths(table, widths_mm)
    return table


def set_widths(table: Table, widths_mm: Sequence[float]) -> None:
    """Column widths in millimetres (the grid LibreOffice and WPS lay out by, and every cell)."""
    for column, width in zip(table.columns, widths_mm, strict=True):
        column.width = Mm(width)
    for row in table.rows:
        for cell, width in zip(row.cells, widths_mm, strict=False):
            cell.width = Mm(width)


def write_cell(cell: _Cell, spans: Sequence[Span], size: float = SIZE_5, centre: bool = False) -> None:
    """A table cell's text (the cell is new and empty), line breaks kept."""
    paragraph = cell.paragraphs[0]
    if centre:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    styled = False
    for span in (s for s in spans if s.text):  # an empty cell stays empty (merging it adds no blank line)
        for i, line in enumerate(span.text.split("\n")):
            run = paragraph.add_run()
            if not styled:  # by its id: python-docx's look-up of a style by name scans every style each time
                run.element.getparent().get_or_add_pPr().style = TABLE_STYLES[size][1]
                styled = True
            if i:
                run.add_break()
            run.add_text(xml_safe(line))
            if span.bold:
                run.font.bold = True
            if span.colour is not None:
                run.font.color.rgb = span.colour
            if span.underline:
                run.font.underline = True
            if span.font:
                run.font.name = span.font  # the Latin faces (ascii, hAnsi); Chinese keeps the style's


@dataclass(frozen=True)
class FastCell:
    """A cell of :func:`append_rows`: its text, centred or not, the columns it spans, and whether it
    starts (``restart``) or continues (``continue``) a vertical merge."""

    spans: Sequence[Span] = ()
    centre: bool = False
    columns: int = 1
    merge: str = ""


_W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def _run_xml(span: Span) -> str:
    props = f'<w:rFonts w:ascii="{escape(span.font)}" w:hAnsi="{escape(span.font)}"/>' if span.font else ""
    props += ("<w:b/>" if span.bold else "") + (f'<w:color w:val="{span.colour}"/>' if span.colour is not None else "")
    props += '<w:u w:val="single"/>' if span.underline else ""
    text = "<w:br/>".join(f'<w:t xml:space="preserve">{escape(line)}</w:t>' for line in xml_safe(span.text).split("\n"))
    return f"<w:r>{f'<w:rPr>{props}</w:rPr>' if props else ''}{text}</w:r>"


def append_rows(document: Document, rows: Sequence[Sequence[FastCell]], widths_mm: Sequence[float], size: float = SIZE_5) -> None:
    """Rows for the table last added, written as WordprocessingML in one parse: the filled form has
    hundreds of cells, which python-docx's cell by cell API builds about ten times slower. Each row
    is kept whole (``cantSplit``), like :func:`finish_tables` does for every table."""
    style = TABLE_STYLES[size][1]
    widths = [round(w / 25.4 * 1440) for w in widths_mm]  # twentieths of a point
    parts = []
    for row in rows:
        cells, column = [], 0
        for cell in row:
            width = sum(widths[column : column + cell.columns])
            column += cell.columns
            span = f'<w:gridSpan w:val="{cell.columns}"/>' if cell.columns > 1 else ""
            merge = {"restart": '<w:vMerge w:val="restart"/>', "continue": "<w:vMerge/>"}.get(cell.merge, "")
            centre = '<w:jc w:val="center"/>' if cell.centre else ""
            runs = "".join(_run_xml(s) for s in cell.spans if s.text)
            cells.append(
                f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/>{span}{merge}</w:tcPr>'
                f'<w:p><w:pPr><w:pStyle w:val="{style}"/>{centre}</w:pPr>{runs}</w:p></w:tc>'
            )
        parts.append(f"<w:tr><w:trPr><w:cantSplit/></w:trPr>{''.join(cells)}</w:tr>")
    table = list(document.element.body.iterchildren(qn("w:tbl")))[-1]
    for row in etree.fromstring(f"<w:tbl {_W}>{''.join(parts)}</w:tbl>"):
        table.append(row)


def finish_tables(document: Document) -> None:
    """Every table: its first row repeated at the top of each page it runs onto, and no row split
    across two pages (python-docx has no API for these two row properties)."""
    for table in document.element.body.iter(qn("w:tbl")):
        for i, row in enumerate(table.iterchildren(qn("w:tr"))):
            properties = row.find(qn("w:trPr"))
            if properties is None:
                properties = OxmlElement("w:trPr")
                row.insert(1 if row.find(qn("w:tblPrEx")) is not None else 0, properties)
            for name in ("w:cantSplit", "w:tblHeader") if i == 0 else ("w:cantSplit",):
                if properties.find(qn(name)) is None:
                    properties.append(OxmlElement(name))


def to_bytes(document: Document) -> bytes:
    """The .docx file's bytes: tables finished (:func:`finish_tables`) and the font table naming
    each Chinese face's fallback."""
    finish_tables(document)
    saved = io.BytesIO()
    document.save(saved)
    out = io.BytesIO()
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "word/fontTable.xml":
                root = etree.fromstring(data)
                root.extend(_font_table_entries())
                data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
            target.writestr(item, data)
    return out.getvalue()
