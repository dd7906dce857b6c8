"""HTML reports: code hidden, Chinese readable offline, nothing loaded from elsewhere."""

import re

import nbformat
import papermill
import pytest

from minesafe.export import FONT_FAMILY, export_html

from .conftest import ROOT

NOTEBOOKS = ROOT / "notebooks"
# Anything a browser would fetch: src/href attributes, CSS url() and @import.
EXTERNAL_LOAD = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|@import""", re.IGNORECASE)


@pytest.fixture(scope="module")
def county_html():
    notebook = papermill.execute_notebook(
        str(NOTEBOOKS / "noncoal_county_report.ipynb"), None, cwd=str(NOTEBOOKS), kernel_name="python3", progress_bar=False
    )
    return export_html(notebook, "示例甲县 2022年度综合评估报告（示例数据）")


def test_html_loads_nothing_from_the_internet(county_html):
    assert not EXTERNAL_LOAD.findall(county_html)
    assert "<script src" not in county_html


def test_html_hides_code_and_keeps_results(county_html):
    assert "report.render_header" not in county_html
    assert "考核评估结论：合格" in county_html
    assert "评估结果汇总：否决项完成的有" in county_html
    assert "【示例数据】" in county_html
    assert '<html lang="zh">' in county_html
    assert "<title>示例甲县 2022年度综合评估报告（示例数据）</title>" in county_html


def test_html_embeds_a_chinese_font_and_the_charts(county_html):
    assert f'font-family: "{FONT_FAMILY}"' in county_html
    assert "data:font/woff;base64," in county_html
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', county_html)) == 2


def test_the_check_would_catch_an_external_script():
    page = export_html(nbformat.v4.new_notebook(), "空")
    assert not EXTERNAL_LOAD.findall(page)
    assert EXTERNAL_LOAD.findall(page.replace("</head>", '<script src="https://cdn.example/x.js"></script></head>'))
