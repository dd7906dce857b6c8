"""Charts draw every Chinese character with a real glyph (warnings are errors in this suite)."""

import dataclasses

import pytest

from minesafe import charts
from minesafe.exceptions import FontError
from minesafe.files import evaluate_file

from .conftest import DEMO

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def county():
    return evaluate_file(DEMO / "counties" / "ding.yaml")


@pytest.fixture(scope="module")
def province():
    return evaluate_file(DEMO / "province.yaml")


def test_county_charts_render(county):
    for chart in (charts.plot_section_points(county), charts.plot_targets(county)):
        assert chart.png.startswith(PNG_MAGIC)
        assert "示例丁县" in repr(chart)


def test_province_charts_render(province):
    assert charts.plot_counties(province).png.startswith(PNG_MAGIC)
    assert charts.plot_targets(province).png.startswith(PNG_MAGIC)


def test_rare_place_name_characters_have_glyphs(county):
    """Place names use characters outside GB2312 (硚口区, 鄌郚镇): the chart must still draw them."""
    renamed = dataclasses.replace(county, county="硚口区鄌郚")
    assert charts.plot_section_points(renamed).png.startswith(PNG_MAGIC)


def test_the_bundled_font_comes_first():
    assert charts.chinese_font_families()[0] == "Noto Sans SC"


def test_no_chinese_font_says_what_to_install(monkeypatch, county):
    monkeypatch.setattr(charts, "bundled_font_path", lambda: None)
    monkeypatch.setattr(charts, "SYSTEM_CJK_FONTS", ())
    with pytest.raises(FontError, match="fonts-noto-cjk"):
        charts.plot_targets(county)
