"""Report pieces: escaping of everything a submission supplies, the reading order's contents,
the folded rows, the province's gap to pass and the notebook parameter check."""

import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from minesafe import report
from minesafe.evaluation import Reason, UnitResult
from minesafe.exceptions import ParameterError
from minesafe.rubric import Category, Outcome

from .conftest import DEMO, ROOT, TWO_YEARS_BEFORE

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>&'


@pytest.fixture(scope="module")
def ding():
    return report.load_report(DEMO / "counties" / "ding.yaml")


@pytest.fixture(scope="module")
def province():
    return report.load_report(DEMO / "province.yaml")


def _hostile(rep):
    """Every text a submission can supply set to markup: unit and province names, notes, reasons,
    file names in the provenance."""
    r = rep.result
    header = dataclasses.replace(r.header, province=EVIL)
    changes = {"header": header, "reasons": (*r.reasons, Reason("veto", EVIL, EVIL), Reason("flag", "x", EVIL))}
    if hasattr(r, "items"):
        changes |= {"county": EVIL, "items": tuple(dataclasses.replace(i, note=EVIL) for i in r.items)}
    else:
        changes["units"] = tuple(UnitResult((dataclasses.replace(u.deciding, county=EVIL),)) for u in r.units)
    provenance = rep.provenance | {"inputs": [{"role": EVIL, "unit": EVIL, "stage": "自评", "path": EVIL, "sha256": "0"}]}
    unit = UnitResult((dataclasses.replace(r, **changes),), rep.unit.sources)
    return dataclasses.replace(rep, unit=unit, provenance=provenance)


def _county_pieces(rep):
    return [report.render_verdict(rep), report.render_items(rep), report.render_failures(rep), report.render_provenance(rep)]


def _assert_escaped(piece):
    assert "<script" not in piece.html and "<img" not in piece.html, piece.html[:300]
    assert "&lt;script&gt;" in piece.html


def test_every_county_piece_escapes_submitted_text(ding):
    hostile = _hostile(ding)
    for piece in _county_pieces(hostile):
        _assert_escaped(piece)
    for piece in (report.render_key_numbers(hostile), report.render_targets(hostile)):  # no submitted text shown
        assert "<script" not in piece.html


def test_every_province_piece_escapes_submitted_text(province):
    rep = _hostile(province)
    for piece in (report.render_verdict(rep), report.render_counties(rep, "../{county}/report.html"),
                  report.render_failures(rep), report.render_provenance(rep)):  # fmt: skip
        _assert_escaped(piece)
    linked = report.render_counties(rep, "../{county}/report.html").html
    assert 'href="../&lt;script&gt;' in linked  # the link target is escaped as well


def test_verdict_comes_first_with_one_notice_each(ding):
    text = report.render_verdict(ding).text
    lines = text.splitlines()
    assert lines[0].startswith("【示例数据】") and text.count("【示例数据】") == 1
    assert lines[1] == "被评估地区：示例省 示例丁县  2022年  自评（自评估）"
    assert lines[2] == "考核评估结论：合格"
    html = report.render_verdict(ding).html
    assert html.count(ding.result.rubric.pass_rule) == 1 and html.count("ms-notice") == 1
    assert "SHA-256" not in html  # provenance lives in the appendix


def test_an_enterprise_is_named_as_one():
    rep = report.load_report(DEMO / "coal" / "enterprise.yaml")
    assert "被评估企业：" in report.render_verdict(rep).text
    assert "被评估地区" not in report.render_verdict(rep).html


def test_key_numbers_are_a_table_not_a_dict(ding):
    piece = report.render_key_numbers(ding)
    assert "{" not in piece.text and "{" not in piece.html
    assert piece.text.splitlines()[:3] == ["考核评估结论：合格", "评分项得分：80 分", "否决项：完成 28，未完成 0，不涉及 1"]
    assert "工作目标 T1：完成 20.00%" in piece.text


def test_folded_rows_keep_every_row(ding):
    """Completed veto and reference rows are folded, never dropped: all 65 rows are in the page."""
    piece = report.render_items(ding)
    rows = ding.result.items
    ids = re.findall(r"<tr><td[^>]*><span class=\"ms-word\">(\d-\d[a-z])</span></td>", piece.html)
    assert sorted(ids) == sorted(i.row.id for i in rows)
    folded = re.findall(r"<details.*?</details>", piece.html, re.S)
    folded_ids = {
        i for block in folded for i in re.findall(r"<tr><td[^>]*><span class=\"ms-word\">(\d-\d[a-z])</span></td>", block)
    }
    assert folded_ids == {i.row.id for i in rows if i.outcome is Outcome.COMPLETED and i.row.category is not Category.SCORED}


def test_the_score_reason_reads_in_chinese():
    rep = report.load_report(DEMO / "counties" / "bing.yaml")  # 78 points: fails on its score
    piece = report.render_failures(rep)
    assert ">score<" not in piece.html and "总分" in piece.html


def test_province_gap_lists_each_failing_county(province):
    text = report.render_province_gap(province).text
    failing = [c.county for c in province.result.counties if not c.passed]
    assert failing == ["示例乙县", "示例丙县", "示例戊县"]
    for county in failing:
        assert f"重点县 {county}：结论为不合格。要达到合格，须同时做到：" in text
    assert "重点县 示例甲县：结论为" not in text  # a passing county has no gap to show
    assert "重点县 示例甲县：只有自评结果，须经省级评估小组核查（或国家认定）" in text  # but it is not checked yet
    assert "本省工作目标：" in text


def test_signature_block(ding):
    assert report.render_signature(ding).text == "评估人员：　审核人：　日期："


PARAMETERS_CELL = 'submission: str = "x.yaml"  # required\nparams_file: str = ""'
LOAD_CELL = "evaluation = report.load_report(submission, params_file, namespace=globals())"


def _kernel_namespace(*cells: str) -> dict[str, object]:
    """globals() of a kernel that ran these cells, the last one running now (IPython's ``In``
    starts with an empty entry)."""
    return {"In": ["", *cells], "_": None, "report": report, "evaluation": None, "Path": Path}


def test_a_misspelled_parameter_is_refused():
    """papermill -p submision …: its injected cell follows the parameters cell."""
    namespace = _kernel_namespace(PARAMETERS_CELL, '# Parameters\nsubmision = "mine.yaml"\n', LOAD_CELL)
    with pytest.raises(ParameterError, match=r"不认识参数 submision.*可用的参数：params_file、submission。"):
        report.load_report(DEMO / "counties" / "ding.yaml", namespace=namespace)


@pytest.mark.parametrize(
    "cells",
    [
        (PARAMETERS_CELL, LOAD_CELL),  # Run All in JupyterLab: no injected cell
        (PARAMETERS_CELL, LOAD_CELL, "from pathlib import Path", PARAMETERS_CELL, LOAD_CELL),  # Run All again
        (PARAMETERS_CELL, '# Parameters\nsubmission = "mine.yaml"\n', LOAD_CELL),  # papermill -p submission
        # a user's own cell between the injected cell and the report: interactive work, not papermill's
        (PARAMETERS_CELL, '# Parameters\nsubmission = "mine.yaml"\n', "x = 1", LOAD_CELL),
        (LOAD_CELL,),  # the report cell run alone
    ],
    ids=["run-all", "run-all-twice", "papermill", "user-cell", "alone"],
)
def test_the_notebooks_own_names_are_not_parameters(cells):
    """Only papermill's injected cell is compared with the parameters cell: the notebook's results
    (``evaluation``), a user's imports (``Path``) and a second run are no parameters."""
    report.check_parameters(_kernel_namespace(*cells))


def test_errors_show_without_a_traceback_in_notebooks():
    error = ParameterError("参数有误")
    assert error._render_traceback_() == ["参数有误"]


def test_html_repr_is_not_prose(ding):
    piece = report.render_verdict(ding)
    assert repr(piece).startswith("Html(") and str(piece) == piece.text


def test_parameters_read_as_text_not_a_mapping():
    rep = report.load_report(DEMO / "coal" / "county-jia.yaml", ROOT / "params" / "profiles" / "wuhai-2023.yaml")
    shown = dict(line.split("：", 1) for line in report.render_provenance(rep).text.splitlines())["评估参数"]
    assert "{" not in shown and "'" not in shown
    assert shown.startswith(
        "参数方案：乌能局发〔2023〕17号《全市煤矿安全生产重点旗县（市、区）、重点企业督导工作方案》（市级）；"
    )
    assert "wuhai" not in shown
    assert "增补的阈值：" in shown and "增补的评估行：1-1b、" in shown
    assert not re.search(r"[a-z]+_[a-z_]+", shown)  # thresholds by their labels, no keys


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"categories": {"2-3c": "reference", "3-7a": "veto"}}, "第 2-3c 行类别：参考项；第 3-7a 行类别：否决项"),
        (
            {"field_roles": {"1-1a": {"in_progress": "compliant"}}},
            "第 1-1a 行填报项 正在实施“一个矿体设置一个矿权”的矿山数量：数量大于0即完成（符合要求的情形）",
        ),
        ({"not_applicable_scoring": "rescale"}, "不涉及评分项的计分方式：不涉及的评分项不计入，得分按适用分值折算为百分制"),
        ({"baseline_reading": "two-years-before"}, "基准年读法：基准年取评估年度的2年前（方案正文“较2年前”）"),
        ({"targets": {"T3": {"mode": "points"}}}, "工作目标 T3（大中型矿山占比2020年提高）计算方式：按提高的百分点"),
    ],
    ids=["categories", "field_roles", "not_applicable_scoring", "baseline_reading", "targets"],
)
def test_the_parameters_read_in_the_forms_words_not_params_keys(tmp_path, params, expected):
    """The appendix's 评估参数 names each setting as the form does (第 3-7a 行类别：否决项), never the
    params file's keys (categories.3-7a = veto)."""
    path = tmp_path / "参数.yaml"
    path.write_text(yaml.safe_dump({"evaluation": params}, allow_unicode=True), encoding="utf-8")
    rep = report.load_report(DEMO / "counties" / "bing.yaml", path)
    shown = dict(line.split("：", 1) for line in report.render_provenance(rep).text.splitlines())["评估参数"]
    assert shown == expected


def test_a_results_table_reads_as_the_report_tables_do():
    import pandas as pd

    frame = pd.DataFrame({"单位名称": ["<script>甲县", "示例省"], "得分": [100.0, float("nan")], "否决项未完成数": [1, 0]})
    shown = report.render_frame(frame)
    assert shown.text.splitlines() == ["单位名称 | 得分 | 否决项未完成数", "<script>甲县 | 100 | 1", "示例省 | — | 0"]
    assert "&lt;script&gt;" in shown.html and "<script>" not in shown.html
    headers = re.findall(r"<th\b[^>]*>([^<]*)</th>", shown.html)
    cells = re.findall(r"<td\b[^>]*>([^<]*)</td>", shown.html)
    assert headers == ["单位名称", "得分", "否决项未完成数"]  # no column of pandas row numbers
    assert cells == ["&lt;script&gt;甲县", "100", "1", "示例省", "—", "0"]


def test_short_columns_stay_on_one_line_beside_long_text():
    """Chinese may break after any character: a 结论 column beside a long 理由 would read 不/合/格."""
    import pandas as pd

    frame = pd.DataFrame(
        {"结论": ["不合格", "合格"], "理由": ["评估不合格，未完成目标任务，继续列入，进一步加强督促和指导", "—"]}
    )
    cells = re.findall(r'<td style="([^"]*)"', report.render_frame(frame).html)
    assert ["white-space:nowrap" in style for style in cells] == [True, False, True, False]
    assert ["min-width:8em" in style for style in cells] == [False, True, False, True]  # never a character a line


def test_a_named_index_becomes_a_column():
    import pandas as pd

    frame = pd.DataFrame({"年度": [2022], "合格": [3]}).set_index("年度")
    assert report.render_frame(frame).text.splitlines()[0] == "年度 | 合格"


def test_every_label_names_the_baseline_year_used(wu_in_2026):
    """Under two-years-before a 2026 evaluation is compared with 2024: the targets table, the
    reasons, the gap and the stage comparison name 2024 (the form's "比2020年" re-worded), never
    the table's 2020."""
    verified = wu_in_2026.with_name("wu-2026-核查.yaml")
    verified.write_text(
        wu_in_2026.read_text(encoding="utf-8").replace("stage: 自评", "stage: 核查").replace("baseline: 50", "baseline: 51"),
        encoding="utf-8",
    )
    rep = report.load_report(wu_in_2026, TWO_YEARS_BEFORE, verification=verified)
    pieces = [
        report.render_verdict(rep),
        report.render_key_numbers(rep),
        report.render_targets(rep),
        report.render_failures(rep),
        report.render_gap(rep),
        report.render_stage_comparison(rep),
    ]
    caveat = rep.result.rubric.baseline_caveat(2026)  # names the table's 2020 as the other reading
    assert caveat.startswith("基准年按方案正文“较2年前”取2024年")
    for piece in pieces:
        assert "2020" not in piece.text.replace(caveat, "") and "2020" not in piece.html.replace(caveat, "")
    text = "\n".join(p.text for p in pieces)
    assert "工作目标 T1“地下矿山数量比2024年下降比例”未完成" in text
    assert "T1 地下矿山数量比2024年下降比例：非煤地下矿山数量须再减少" in text
    assert "T1 2024年非煤地下矿山数量（座）：自评 50，核查 51" in text
    assert "地下矿山数量比2024年下降比例" in pieces[2].html and "大中型矿山占比2024年提高" in pieces[2].html
    frame = rep.result.targets_frame()
    assert frame.loc["T2", "总体目标"] == "尾矿库数量比2024年下降比例"
    default = report.load_report(wu_in_2026)  # the table's reading: 2020, with its caveat
    assert "工作目标 T1“地下矿山数量比2020年下降比例”未完成" in report.render_failures(default).text
    assert default.result.targets_frame().loc["T2", "总体目标"] == "尾矿库数量比2020年下降比例"
