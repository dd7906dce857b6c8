"""Charts draw every Chinese character with a real glyph (warnings are errors in this suite)."""

import dataclasses

import pytest

from minesafe import charts
from minesafe.exceptions import FontError
from minesafe.results import evaluate

from .conftest import DEMO

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def county():
    return evaluate(DEMO / "counties" / "ding.yaml")


@pytest.fixture(scope="module")
def province():
    return evaluate(DEMO / "province.yaml")


def test_county_charts_render(county):
    for chart in (charts.plot_section_points(county), charts.plot_targets(county)):
        assert chart.png.startswith(PNG_MAGIC)
        assert "示例丁县" in repr(chart)


def test_section_chart_data(county):
    """The series drawn, written out by hand for the 丁县 demo (80 points)."""
    data = charts.plot_section_points(county).data
    assert [(d["earned"], d["available"]) for d in data] == [(12, 20), (14, 14), (27, 39), (18, 18), (9, 9)]
    assert data[3]["section"].startswith("(4) 全面淘汰国家明令禁止使用的设备和工艺")  # whole, not cut off


def test_target_chart_data_and_alt_text(county):
    chart = charts.plot_targets(county)
    first = chart.data[0]
    assert (first["id"], first["value"], first["bound"], first["outcome"]) == ("T1", 20, 20, "完成")
    assert [d["id"] for d in chart.data if d["events"]] == ["T5", "T6", "T7"]
    bundle, metadata = chart._repr_mimebundle_()
    assert bundle["text/plain"] == "图表：示例丁县 工作目标完成情况"
    assert metadata["image/png"]["alt"].startswith("示例丁县 工作目标完成情况。T1 实际 20.00%，目标 ≥ 20%，完成")


def test_county_scores_chart_data(province):
    data = charts.plot_counties(province).data
    assert [(d["county"], d["score"], d["verdict"]) for d in data] == [
        ("示例甲县", 100, "合格"), ("示例乙县", 100, "不合格"), ("示例丙县", 78, "不合格"),
        ("示例丁县", 80, "合格"), ("示例戊县", 100, "不合格"), ("示例己县", 100, "合格"),
    ]  # fmt: skip


def test_only_quiet_event_targets_draw_no_empty_panel():
    coal = evaluate(DEMO / "coal" / "enterprise.yaml")
    chart = charts.plot_targets(coal)
    assert all(d["events"] and d["value"] == 0 for d in chart.data)
    assert chart.png.startswith(PNG_MAGIC)


def test_province_charts_render(province):
    assert charts.plot_counties(province).png.startswith(PNG_MAGIC)
    assert charts.plot_targets(province).png.startswith(PNG_MAGIC)


def test_rare_place_name_characters_have_glyphs(county):
    """Place names use characters outside GB2312 (硚口区, 鄌郚镇): the chart must still draw them."""
    renamed = dataclasses.replace(county, county="硚口区鄌郚")
    assert charts.plot_section_points(renamed).png.startswith(PNG_MAGIC)


def test_the_bundled_font_comes_first():
    assert charts.chinese_font_families()[0] == "Noto Sans SC"


@pytest.fixture
def fresh_fonts():
    """A process that has registered no font yet (and the registration left as found after)."""
    charts.chinese_font_families.cache_clear()
    yield
    charts.chinese_font_families.cache_clear()


def test_no_chinese_font_says_what_to_install(monkeypatch, county, fresh_fonts):
    monkeypatch.setattr(charts, "bundled_font_path", lambda: None)
    monkeypatch.setattr(charts, "SYSTEM_CJK_FONTS", ())
    with pytest.raises(FontError, match="fonts-noto-cjk"):
        charts.plot_targets(county)


def test_the_font_is_registered_once_per_process_not_per_chart(monkeypatch, county, fresh_fonts):
    """Registering a font clears matplotlib's font look-up cache: every chart would pay for it again."""
    from matplotlib import font_manager

    registered = []
    add = font_manager.fontManager.addfont
    monkeypatch.setattr(font_manager.fontManager, "addfont", lambda path: registered.append(path) or add(path))
    for _ in range(3):
        charts.plot_targets(county)
        charts.plot_section_points(county)
    assert len(registered) == 1
