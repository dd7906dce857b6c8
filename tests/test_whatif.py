"""What-if analysis headless: scenarios, the widget panel driven from Python, scenario export."""

import base64
import html
import json
import re
from pathlib import Path

import nbformat
import papermill
import pytest
import yaml

from minesafe.cli import main
from minesafe.export import WIDGET_VIEW, export_html
from minesafe.provenance import file_sha256
from minesafe.rubric import Outcome
from minesafe.whatif import (
    STATIC_NOTE,
    Change,
    Outlook,
    Scenario,
    StaticNote,
    WhatIfPanel,
    build_whatif_panel,
    render_outlook,
    render_verdict_bar,
)

from .conftest import DEMO, ROOT, TWO_YEARS_BEFORE

DING = DEMO / "counties" / "ding.yaml"  # passes with exactly 80 points


@pytest.fixture
def scenario():
    return Scenario.from_file(DING)


@pytest.fixture
def panel(scenario):
    return WhatIfPanel(scenario, chart=False)


def test_scenario_starts_as_the_submission(scenario):
    outlook = scenario.evaluate()
    assert outlook.result.passed and outlook.result.score == 80
    assert scenario.changes() == []
    assert scenario.sha256 == file_sha256(DING)


def test_failing_one_row_flips_the_verdict_and_back(scenario):
    scenario.set_row("4-4a", Outcome.FAILED)
    outlook = scenario.evaluate()
    assert not outlook.result.passed and outlook.result.score == 77
    assert [str(c) for c in scenario.changes()] == ["第 4-4a 行：完成 → 未完成"]
    scenario.set_row("4-4a", Outcome.COMPLETED)  # the submitted result again: the submitted entry is restored
    assert scenario.changes() == [] and scenario.data == scenario.original


def test_target_change_and_invalid_input(scenario):
    t1 = next(f for f in scenario.fields if f.path == ("underground_mines", "current"))
    scenario.set_target(t1, 41)
    outlook = scenario.evaluate()
    assert not outlook.result.passed
    assert any("须再减少 1 座" in line for line in [g.text for g in outlook.gap.targets])
    share = next(f for f in scenario.fields if f.path == ("large_medium_mines", "current"))
    scenario.set_target(share, 10_000)  # more large mines than mines: not judged, explained
    bad = scenario.evaluate()
    assert bad.result is None and any("超过了" in p for p in bad.problems)


def test_panel_reads_out_the_engine(panel):
    assert "考核评估结论：合格" in panel.verdict_bar.value
    assert "否决项完成的有" in panel.verdict_bar.value
    assert "ms-sticky" in panel.verdict_bar._dom_classes  # stays in view while rows below are edited
    panel.row_inputs["1-1a"].value = "未完成"  # a veto row
    assert "考核评估结论：不合格" in panel.verdict_bar.value
    assert "完成否决项 1-1a" in panel.readout.value
    assert "第 1-1a 行：完成 → 未完成" in panel.readout.value
    assert "ms-changed" in panel.row_inputs["1-1a"]._dom_classes


def test_panel_target_input_and_reset(panel):
    box = panel.target_inputs[("misreported_accidents", "count")]
    box.value = 1
    assert "考核评估结论：不合格" in panel.verdict_bar.value
    assert "ms-changed" in box._dom_classes
    panel.row_inputs["5-5b"].value = "未完成"
    panel.reset_button.click()
    assert box.value == 0 and panel.row_inputs["5-5b"].value == "完成"
    assert "考核评估结论：合格" in panel.verdict_bar.value
    assert not any("ms-changed" in w._dom_classes for w in [*panel.target_inputs.values(), *panel.row_inputs.values()])


def test_a_negative_number_is_refused_not_taken_as_zero(panel):
    """A negative count typed in a target box reaches the engine, which refuses it in Chinese: no
    verdict, no export, never a silent 0 ("50 → 0")."""
    box = panel.target_inputs[("underground_mines", "baseline")]
    box.value = -5
    assert box.value == -5  # as typed, not clamped
    assert "当前输入有误，无法评估" in panel.verdict_bar.value and "应为非负整数（当前值：-5" in panel.verdict_bar.value
    assert "考核评估结论" not in panel.verdict_bar.value
    assert panel.export() is None and "当前输入有误，不能导出" in panel.status.value
    box.value = 50
    assert "考核评估结论：合格" in panel.verdict_bar.value


def test_a_shipped_demo_files_scenarios_go_to_the_working_folder(tmp_path):
    """The demo files live in the package: the app writes their scenarios in the folder it was
    started in, a notebook in its own folder, never into the package's data folder."""
    panel = WhatIfPanel(Scenario.from_file(DING), chart=False, standalone=True, working_folder=tmp_path)
    assert panel.export_path.value == "ding-假设情景.yaml"
    assert panel.export() == tmp_path.resolve() / "ding-假设情景.yaml"
    assert not DING.with_name("ding-假设情景.yaml").exists()
    notebook = WhatIfPanel(Scenario.from_file(DING), chart=False)  # in a notebook: the current folder
    assert Path(notebook.export_path.value) == Path.cwd().resolve() / "ding-假设情景.yaml"


def test_the_apps_head_names_the_params_profile_in_force():
    coal = WhatIfPanel(Scenario.from_file(DEMO / "coal" / "county-jia.yaml"), chart=False, standalone=True)
    assert "<b>参数方案：</b>wuhai-2023" in coal.widget.children[0].value
    given = WhatIfPanel(Scenario.from_file(DING, TWO_YEARS_BEFORE), chart=False, standalone=True)
    assert "<b>参数方案：</b>未使用（参数文件 two-years-before.yaml）" in given.widget.children[0].value


def test_panel_chart_updates(scenario):
    panel = WhatIfPanel(scenario, chart=True)
    before = panel.chart.value
    panel.row_inputs["1-1c"].value = "完成"
    assert bytes(panel.chart.value).startswith(b"\x89PNG") and bytes(panel.chart.value) != bytes(before)


def test_exported_scenario_round_trips_through_evaluate(panel, tmp_path, capsys):
    panel.row_inputs["4-4a"].value = "未完成"
    panel.note.value = "若尾矿库在线监测未全部建成"
    out = tmp_path / "情景.yaml"
    panel.export_path.value = str(out)
    panel.export_button.click()
    assert "已导出" in panel.status.value
    data = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert data["scenario"]["based_on_sha256"] == file_sha256(DING)
    assert data["scenario"]["note"] == "若尾矿库在线监测未全部建成"
    assert data["scenario"]["changes"] == ["第 4-4a 行：完成 → 未完成"]
    assert _download(panel.status.value) == ("情景.yaml", out.read_bytes())  # the same file, for the browser
    assert main(["evaluate", "--json", str(out)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["verdict"] == "不合格" and result["score"] == 77
    written = out.read_bytes()
    panel.export_button.click()  # never overwrites, still offers the download
    assert "文件已存在" in panel.status.value and out.read_bytes() == written
    assert _download(panel.status.value)[0] == "情景.yaml"


def test_export_where_nothing_can_be_written_still_downloads(panel, tmp_path):
    panel.export_path.value = str(tmp_path / "not-a-folder.txt" / "情景.yaml")
    (tmp_path / "not-a-folder.txt").write_text("x", encoding="utf-8")
    assert panel.export() is None
    assert "无法写入" in panel.status.value
    name, content = _download(panel.status.value)
    assert name == "情景.yaml" and yaml.safe_load(content)["scenario"]["based_on"] == str(DING)


def _download(status: str) -> tuple[str, bytes]:
    """The file name and content of the download link in the export status."""
    link = re.search(r'download="([^"]+)" href="data:application/x-yaml;charset=utf-8;base64,([^"]+)"', status)
    return html.unescape(link.group(1)), base64.b64decode(link.group(2))


HOSTILE = "<img src=x onerror=alert(1)> & \"引号\" '单引号'"  # no slash: it also names a file
ESCAPED = "&lt;img src=x onerror=alert(1)&gt; &amp; &#34;引号&#34; &#39;单引号&#39;"


def test_every_user_text_in_the_panel_is_escaped(county_data, tmp_path):
    """Unit names, problems, changes and file names come from users; none may become markup."""
    county_data["county"] = HOSTILE
    source = tmp_path / "county.yaml"
    source.write_text(yaml.safe_dump(county_data, allow_unicode=True), encoding="utf-8")
    panel = WhatIfPanel(Scenario.from_file(source), chart=False, standalone=True)
    panel.export_path.value = str(tmp_path / f"{HOSTILE}.yaml")
    assert panel.export() is not None
    outlook = Scenario.from_file(DING).evaluate()
    shown = {
        "head": panel.widget.children[0].value,
        "status": panel.status.value,
        "problems": render_verdict_bar(Outlook(None, None, (HOSTILE,))),
        "changes": render_outlook(outlook, [Change(HOSTILE, "完成", HOSTILE)]),
    }
    for place, text in shown.items():
        # the head names the unit as minesafe reads names (docs/submission.md "Names"): brackets full-width
        assert (ESCAPED.replace("(1)", "（1）") if place == "head" else ESCAPED) in text, place
        assert "<img" not in text, place


def test_the_app_page_names_the_unit_and_carries_the_notices():
    county = WhatIfPanel(Scenario.from_file(DING), chart=False, standalone=True).widget.children[0].value
    assert "假设分析：示例省 示例丁县（重点县）" in county and "被评估地区：" in county and "【示例数据】" in county
    enterprise_file = DEMO / "coal" / "enterprise.yaml"
    enterprise = WhatIfPanel(Scenario.from_file(enterprise_file), chart=False, standalone=True).widget.children[0].value
    assert "（重点企业）" in enterprise and "被评估企业：" in enterprise and "被评估地区" not in enterprise
    assert "【暂行评估表】" in enterprise and "【示例数据】" in enterprise
    in_report = WhatIfPanel(Scenario.from_file(DING), chart=False).widget.children[0].value
    assert "【示例数据】" not in in_report  # the report's own top carries the notices once


def test_disabled_panel_and_static_fallback(panel):
    assert repr(build_whatif_panel(DING, enabled=False)) == STATIC_NOTE.format(notebook="noncoal_county_report")
    assert isinstance(build_whatif_panel(DING, enabled=False), StaticNote)
    bundle = panel._repr_mimebundle_()
    assert WIDGET_VIEW in bundle
    assert "minesafe app" in bundle["text/plain"] and "minesafe app" in bundle["text/html"]
    # a report's reader gets no developer instruction (a notebook path, JupyterLab)
    assert "notebooks/" not in bundle["text/plain"] and "JupyterLab" not in bundle["text/html"]


@pytest.mark.parametrize(
    ("submission", "notebook"),
    [
        (DING, "noncoal_county_report"),
        (DEMO / "coal" / "county-jia.yaml", "coal_county_report"),
        (DEMO / "coal" / "enterprise.yaml", "coal_enterprise_report"),
    ],
    ids=["county", "coal-county", "enterprise"],
)
def test_the_static_note_names_the_units_notebook(submission, notebook):
    from minesafe.report import load_report

    for shown in (
        build_whatif_panel(load_report(submission), enabled=False),
        WhatIfPanel(Scenario.from_file(submission), chart=False),
    ):
        assert f"报告笔记本 {notebook}.ipynb" in repr(shown)
        assert (ROOT / "notebooks" / f"{notebook}.ipynb").is_file()


def test_html_of_a_live_notebook_shows_the_note_not_a_blank(tmp_path):
    notebooks = ROOT / "notebooks"
    notebook = papermill.execute_notebook(
        str(notebooks / "noncoal_county_report.ipynb"), None, cwd=str(notebooks), kernel_name="python3", progress_bar=False
    )
    assert any(WIDGET_VIEW in o.get("data", {}) for c in notebook.cells for o in c.get("outputs", []))
    page = export_html(notebook, "live")
    assert "本页为静态报告，不含假设分析面板" in page
    assert WIDGET_VIEW not in page
    assert any(WIDGET_VIEW in o.get("data", {}) for c in notebook.cells for o in c.get("outputs", []))  # not changed
    nbformat.validate(notebook)


def test_panel_labels_name_the_baseline_year_used(wu_in_2026):
    """Under two-years-before the 2026 panel's target inputs and read-out name 2024, not 2020."""
    panel = WhatIfPanel(Scenario.from_file(wu_in_2026, TWO_YEARS_BEFORE), chart=False)
    labels = [box.description for box in panel.target_inputs.values()]
    assert "T1 2024年非煤地下矿山数量（座）" in labels and "T3 2024年全部非煤矿山数量（座）" in labels
    assert "T1 地下矿山数量比2024年下降比例" in panel.readout.value
    panel.target_inputs[("underground_mines", "baseline")].value = 51
    assert "T1 2024年非煤地下矿山数量（座）：50 → 51" in panel.readout.value
    assert not [text for text in (*labels, panel.readout.value, panel.verdict_bar.value) if "2020" in text]


@pytest.mark.parametrize(
    "field", ["../逃出.yaml", "{tmp}/别处/情景.yaml", "/tmp/情景.yaml", ".隐藏.yaml", "情景.txt", "链接.yaml"]
)
def test_the_apps_export_writes_only_beside_the_submission(tmp_path, field):
    """The app's page is open to whoever holds its address: its 导出到 field cannot make the server
    write anywhere but a visible .yaml file in the submission's folder; the download is still offered."""
    folder = tmp_path / "提交"
    folder.mkdir()
    source = folder / "ding.yaml"
    source.write_bytes(DING.read_bytes())
    (tmp_path / "别处").mkdir()
    (folder / "链接.yaml").symlink_to(tmp_path / "别处" / "目标.yaml")  # a link in the folder leading out of it
    panel = WhatIfPanel(Scenario.from_file(source), chart=False, standalone=True)
    assert panel.export_path.value == "ding-假设情景.yaml"  # a name: the folder is the submission's
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    panel.export_path.value = field.format(tmp=tmp_path)
    assert panel.export() is None
    assert f"页面只能把情景文件写在文件夹 {folder} 中" in panel.status.value
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert yaml.safe_load(_download(panel.status.value)[1])["scenario"]["based_on"] == str(source)
    panel.export_path.value = "情景.yaml"
    assert panel.export() == folder / "情景.yaml"
