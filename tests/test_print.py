"""A county report printed by a real browser: Chromium prints the exported HTML to PDF on A4.
The page count is sane, nothing is wider than the printable width (no clipped text), the folded
rows are printed, table headers repeat on every page a table continues on, and the report ends
with the signature block."""

import re

import nbformat
import papermill
import pytest

from minesafe.export import export_html

from .conftest import DEMO, ROOT
from .test_browser import CHROMIUM_FLAGS, chromium  # noqa: F401  (the browser fixture)

A4_PRINTABLE_PX = 703  # 210 mm less the 12 mm side margins of the print stylesheet, at 96 px per inch


@pytest.fixture(scope="module")
def county_report(tmp_path_factory):
    notebook = papermill.execute_notebook(
        str(ROOT / "notebooks" / "noncoal_county_report.ipynb"), None, cwd=str(ROOT / "notebooks"), kernel_name="python3",
        parameters={"submission": str(DEMO / "counties" / "ding.yaml"), "whatif_panel": False}, progress_bar=False,
    )  # fmt: skip
    path = tmp_path_factory.mktemp("print") / "report.html"
    path.write_text(export_html(nbformat.from_dict(notebook), "示例丁县 2022年度综合评估报告"), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def printed(chromium, county_report):  # noqa: F811
    """The PDF and what the page measured in print layout at the printable width."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": A4_PRINTABLE_PX, "height": 1000})
            page.goto(county_report.as_uri())
            page.emulate_media(media="print")
            layout = page.evaluate(
                """() => ({
                    width: document.documentElement.scrollWidth,
                    overflowing: [...document.querySelectorAll('td, th, pre, img, p, li')]
                        .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent.slice(0, 40)),
                    folded: [...document.querySelectorAll('details.ms-folded table')].map(t => t.getBoundingClientRect().height),
                    broken: [...document.querySelectorAll('.ms-mark, .ms-word')]
                        .filter(e => e.getClientRects().length > 1).map(e => e.textContent),
                    words: document.querySelectorAll('.ms-mark, .ms-word').length,
                })"""
            )
            pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
        finally:
            browser.close()
    return pdf, layout


def _pages(pdf: bytes) -> list[str]:
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    try:
        return [document[i].get_textpage().get_text_range() for i in range(len(document))]
    finally:
        document.close()


def test_nothing_is_clipped_at_the_printable_width(printed):
    _, layout = printed
    assert layout["width"] <= A4_PRINTABLE_PX
    assert layout["overflowing"] == []


def test_folded_rows_are_printed(printed, county_rubric):
    """The rows folded on screen are all on paper: every row id of the form is in the PDF."""
    _, layout = printed
    assert layout["folded"]  # the report does fold rows
    printed_ids = set(re.findall(r"^(\d-\d[a-z])\s", "\n".join(_pages(printed[0])), re.M))
    assert printed_ids == {row.id for row in county_rubric.rows}


def test_the_report_prints_on_a_sane_number_of_pages(printed):
    pages = _pages(printed[0])
    assert 4 <= len(pages) <= 14, len(pages)
    assert "考核评估结论：合格" in pages[0]  # the verdict on the first page
    assert all(label in pages[-1] for label in ("评估人员", "审核人", "日期"))  # signed at the end


def test_table_headers_repeat_on_continued_pages(printed):
    """A page that carries rows of the task table also carries its header."""
    for text in _pages(printed[0]):
        if re.search(r"^\d-\d[a-z]\s", text, re.M):
            assert "任务分解" in text


def test_every_printed_page_names_the_report_and_carries_its_number(printed):
    for n, text in enumerate(_pages(printed[0]), 1):
        assert "示例丁县 2022年度综合评估报告" in text, n
        assert f"— {n} —" in text, n


def test_nothing_only_for_the_screen_is_printed(printed):
    text = "".join(_pages(printed[0]))
    for screen_only in ("点击展开", "JupyterLab", "notebooks/", "假设分析面板", "假设分析（交互）"):
        assert screen_only not in text, screen_only


def test_short_words_are_not_broken_across_lines(printed):
    _, layout = printed
    assert layout["words"] > 60  # every result and category mark is one
    assert layout["broken"] == []


def test_a_title_cannot_end_the_page_style(tmp_path):
    page = export_html(nbformat.v4.new_notebook(), 'a"b\\</style><script>alert(1)</script>\n')
    assert "<script>alert" not in page
    assert 'content: "a\\"b\\\\\\3c /style>\\3c script>alert(1)\\3c /script> "' in page
