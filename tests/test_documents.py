"""The Word documents: what they say (read back with python-docx), their layout properties, the
filled 评估表 annex row by row against the rubric, and their PDF from LibreOffice headless (text
extracted with pypdfium2: verdict, counties, filled blanks, page numbers, signature block, pages).

Without LibreOffice the conversions are skipped, saying what to install; in CI (``CI`` set) a
missing LibreOffice fails them instead.
"""

import dataclasses
import io
import os
import re
import zipfile
from pathlib import Path

import pytest
import yaml
from docx import Document
from docx.shared import Pt

from minesafe.annex import build_annex
from minesafe.documents import (
    NARRATIVE,
    SIGNATURE,
    TO_FILL,
    build_county_document,
    build_document,
    build_province_document,
    document_title,
    failing_rows,
    write_document,
)
from minesafe.files import read_rubric
from minesafe.provenance import read_provenance
from minesafe.report import load_report, render_provenance
from minesafe.results import evaluate, evaluate_unit
from minesafe.word import MONO_FONT, SIZE_3, to_bytes

from .conftest import DATA, DEMO
from .office import convert, find_soffice

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
THREE_STAGES = sorted((DATA / "three_stages").glob("*.yaml"))
YI = DEMO / "counties" / "yi.yaml"


def _read(document) -> Document:
    return Document(io.BytesIO(to_bytes(document)))


def _texts(document) -> list[str]:
    return [p.text for p in document.paragraphs]


def _table_rows(table) -> list[list[str]]:
    rows = []
    for row in table.rows:
        cells = []
        for cell in row.cells:  # a merged cell repeats: keep it once
            if not cells or cell._tc is not cells[-1][0]:
                cells.append((cell._tc, cell.text))
        rows.append([text for _, text in cells])
    return rows


def _provenance(*files) -> dict:
    """The provenance record the commands write for a unit of these stage files (no params file)."""
    return read_provenance(evaluate_unit(list(files)), None)


def _document_of(*files):
    """A unit's document as the commands make it, from its stage files, read back."""
    unit = evaluate_unit(list(files))
    return _read(build_document(unit, read_provenance(unit, None)))


@pytest.fixture(scope="module")
def yi():
    return evaluate(YI)


@pytest.fixture(scope="module")
def yi_provenance():
    return _provenance(YI)


@pytest.fixture(scope="module")
def yi_document(yi, yi_provenance):
    return _read(build_county_document(yi, provenance=yi_provenance))


def test_the_county_report_opens_with_its_title_and_verdict(yi, yi_document):
    texts = _texts(yi_document)
    assert texts[:3] == ["示例省示例乙县2022年度", "非煤矿山重点地区安全生产攻坚克难工作", "自评估报告"] == document_title(yi)
    assert texts[3] == "（2022年度　自评（自评估））"
    verdict = next(i for i, t in enumerate(texts) if "考核评估结论" in t)
    assert texts[verdict] == "考核评估结论：不合格。"
    assert texts[verdict + 1] == "被评估地区：示例省 示例乙县；评估年度：2022年；评估阶段：自评（自评估）。"
    assert texts[verdict - 1] == "一、评估结论" and verdict < 8
    assert any(t.startswith("1. 否决项 4-2c") for t in texts)
    assert "否决项完成的有  27  项，未完成的有  1  项，不涉及的有  1  项；评分项共计得分  100  分" in texts


def test_the_county_report_has_its_sections_and_signature_block(yi_document):
    texts = _texts(yi_document)
    report = texts[: texts.index("附件：1. 非煤矿山重点地区安全生产攻坚克难工作评估表（填报）")]
    headings = [t for t in report if re.match(r"^[一二三四五六七八九十]、", t)]
    assert headings == [
        "一、评估结论",
        "二、工作目标完成情况",
        "三、评估结果汇总",
        "四、未完成及不涉及的事项",
        "五、距合格的差距",
        "六、工作开展情况",
        "七、存在的主要问题",
        "八、下一步整改措施",
    ]
    # without narrative in the submission, each section is there for the office to complete
    assert texts.count(TO_FILL) == len(NARRATIVE)
    for label in SIGNATURE:
        assert any(t.startswith(f"{label}：") for t in texts), label
    # GB/T 9704: the annex note under the body, before the signature (never alone on the last page)
    signature = next(i for i, t in enumerate(texts) if t.startswith(f"{SIGNATURE[0]}："))
    assert texts.index("附件：1. 非煤矿山重点地区安全生产攻坚克难工作评估表（填报）") < signature


def test_the_failed_and_not_applicable_rows_carry_their_notes(yi, yi_document):
    table = next(t for t in yi_document.tables if t.rows[0].cells[0].text == "编号")
    rows = _table_rows(table)
    assert [r[0] for r in rows[1:]] == [i.row.id for i in yi.items if i.outcome.value != "完成"]
    failed = next(r for r in rows if r[0] == "4-2c")
    assert failed[3] == "未完成" and "说明：在用单次提升超过9人的单绳缠绕式提升机1台未按期淘汰" in failed[4]


def test_narrative_given_is_printed_instead_of_the_blank(yi, yi_provenance):
    narrative = {"work": "全年开展执法检查 120 次。", "problems": "", "measures": "年底前淘汰提升机。\n加强督导。"}
    texts = _texts(_read(build_county_document(yi, narrative, provenance=yi_provenance)))
    assert "全年开展执法检查 120 次。" in texts and "加强督导。" in texts
    assert texts.count(TO_FILL) == 1  # 存在的主要问题 still to fill


def test_every_page_has_the_running_header_and_a_page_number(yi_document):
    section = yi_document.sections[0]
    assert section.header.paragraphs[0].text == "示例省 示例乙县　2022年度　自评（自评估）　自评估报告"
    footer = section.footer.paragraphs[0]._p.xml
    assert "PAGE" in footer and footer.count("—") == 2
    assert all(s.header.is_linked_to_previous for s in yi_document.sections[1:])
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)
    assert [round(x.mm) for x in (section.top_margin, section.bottom_margin, section.left_margin, section.right_margin)] == [
        37,
        35,
        28,
        26,
    ]
    assert [s.orientation for s in yi_document.sections] == [0, 1, 0]  # the report, the form landscape, the record


def test_tables_repeat_their_header_and_keep_rows_whole(yi_document):
    for table in yi_document.tables:
        rows = table._tbl.findall(f"{W}tr")
        assert rows[0].find(f"{W}trPr/{W}tblHeader") is not None
        assert all(r.find(f"{W}trPr/{W}cantSplit") is not None for r in rows)


def test_the_fonts_are_named_with_fallbacks_every_windows_has(yi, yi_provenance):
    data = to_bytes(build_county_document(yi, provenance=yi_provenance))
    with zipfile.ZipFile(io.BytesIO(data)) as docx:
        fonts = docx.read("word/fontTable.xml").decode()
        used = docx.read("word/document.xml").decode() + docx.read("word/styles.xml").decode()
        names = [n for n in docx.namelist() if n.startswith("word/fonts/")]
    assert not names  # nothing embedded
    for face, fallback in (("方正小标宋简体", "宋体"), ("仿宋", "FangSong"), ("黑体", "SimHei"), ("宋体", "SimSun")):
        assert re.search(rf'w:name="{face}".*?<w:altName w:val="{fallback}"/>', fonts), face
        assert f'w:eastAsia="{face}"' in used, face  # each face is used (by a style or a run)
    # the check values' fixed-width face (数据来源与版本), Courier New where Consolas is missing
    assert re.search(r'w:name="Consolas"><w:altName w:val="Courier New"/>.*?<w:pitch w:val="fixed"/>', fonts)
    assert 'w:ascii="Consolas"' in used and 'w:eastAsia="Consolas"' not in used


def _annex_rows(document):
    table = next(t for t in document.tables if [c.text for c in t.rows[0].cells][:3] == ["序号", "重点任务", "类别"])
    return _table_rows(table)


def test_the_annex_table_is_the_national_form_row_by_row(yi, yi_document):
    """Every row of the rubric, in order, under its section, with the form's mark, its words with
    the blanks filled, and its result."""
    rubric = read_rubric("noncoal-county")
    rows = _annex_rows(yi_document)
    assert rows[0] == ["序号", "重点任务", "类别", "任务分解", "完成情况", "评估结果"]
    annex = build_annex(yi)
    expected = []
    for (heading, section_rows), section in zip(annex.sections, rubric.sections, strict=True):
        assert heading.endswith(section.name)
        expected.append([heading])
        expected += [
            [r.mark, r.row.requirement, r.filled.text, r.result + (f"\n说明：{r.note}" if r.note else "")] for r in section_rows
        ]
    shown = [r if len(r) == 1 else r[-4:] for r in rows[1:]]
    assert shown == expected
    assert len([r for r in shown if len(r) == 4]) == len(rubric.rows) == 65


def test_the_annex_targets_and_summary_line_are_filled(yi_document):
    table = next(t for t in yi_document.tables if t.rows[0].cells[1].text == "总体目标")
    rows = _table_rows(table)
    assert rows[0] == ["序号", "总体目标", "类别/\n分值", "目标", "2020年\n数量/座", "2022年12月\n数量/座", "%", "评估结果"]
    assert rows[1] == [
        "1",
        "地下矿山数量比2020年下降比例",
        "■",
        "20%以上",
        "2020年非煤地下矿山数量（60）",
        "2022年非煤地下矿山数量（45）",
        "下降比例（25.00%）",
        "完成",
    ]
    assert rows[5] == [
        "5",
        "较大事故和盗采事件",
        "■",
        "未发生",
        "较大事故起数（0）、死亡人数（0），较大盗采事件起数（0）、死亡人数（0）",
        "完成",
    ]
    texts = _texts(yi_document)
    assert "评估结果汇总：否决项完成的有 27 项，未完成的有 1 项，不涉及的有 1 项；评分项共计得分 100 分" in texts
    assert "考核评估结论：☐ 合格　　☑ 不合格　（不合格）" in texts
    assert "被评估地区：示例省 示例乙县　　评估年度：2022年　　评估阶段：自评（自评估）" in texts


def test_a_verified_stage_is_an_evaluation_report_saying_what_changed():
    texts = _texts(_document_of(*THREE_STAGES[:2]))
    assert texts[:3] == ["示例省示例煤矿县甲2023年度", "煤矿安全生产重点县(市、区)综合评估", "报告"]  # 综合评估报告
    assert texts[3] == "（2023年度　核查（实施评估，到现场抽查核实））"
    assert any("本结论以核查结论为准；核查结论不合格，与自评（合格）不同。" in t for t in texts[:10])
    heading = texts.index("六、与前一评估阶段相比的变化")
    assert texts[heading + 1] == "自评 → 核查：核查结论不合格，得分 90 分；自评结论合格，得分 100 分，结论改变。"


SOUTH = DEMO / "south" / "counties"


@pytest.fixture(scope="module")
def nanjia_document():
    """示例南甲县 at 核查, with its verification record and evidence (the demo's)."""
    return _document_of(SOUTH / "nanjia.yaml", SOUTH / "nanjia-verified.yaml")


def test_the_verification_sub_titles_say_what_they_count(nanjia_document):
    """（一）评估小组（3 人）, not 评估小组（3）: each sub-title a （一） heading kept on its table's page."""
    texts = _texts(nanjia_document)
    start = texts.index("六、现场抽查核实与佐证材料")
    titles = [p for p in nanjia_document.paragraphs[start:] if p.text.startswith("（")]
    assert [p.text for p in titles] == [
        "（一）评估小组（3 人）",
        "（二）现场抽查核实（3 座矿山）",
        "（三）核查意见（3 条）",
        "（四）核查所列佐证材料（3 份）",
    ]
    assert all(p.paragraph_format.keep_with_next for p in titles)
    assert not any(re.search(r"（\d+）", t) for t in texts)  # no bare count anywhere


#: What a reader outside the project would not understand: form keys, profile keys, package paths.
DEVELOPER_WORDS = re.compile(
    r"noncoal-|coal-county|coal-enterprise|coal-province|wuhai|minesafe/|params/|profiles/|rubrics/|\.ya?ml|site-packages|\.\./"
)
#: Every demo unit as the batch makes its document: each file alone, and the two units given at two stages.
DEMO_UNITS = [
    *([path] for path in sorted(DEMO.rglob("*.yaml")) if "lists" not in path.parts and "verified" not in path.name),
    [SOUTH / "nanjia.yaml", SOUTH / "nanjia-verified.yaml"],
    [DEMO / "coal" / "county-jia.yaml", DEMO / "coal" / "county-jia-verified.yaml"],
]


def _all_text(document) -> str:
    """Every word of a document: body paragraphs, table cells and the running header."""
    body = "".join(t.text or "" for t in document.element.body.iter(f"{W}t"))
    return body + "".join(p.text for s in document.sections for p in s.header.paragraphs)


@pytest.mark.parametrize("stages", DEMO_UNITS, ids=lambda stages: "+".join(p.stem for p in stages))
def test_no_demo_document_shows_a_form_key_or_a_package_path(stages):
    """What a county or province signs speaks its reader's words: the form by its title, a profile
    by its document (市级参数方案 乌能局发〔2023〕17号), never a key or a path."""
    unit = evaluate_unit(stages)
    provenance = read_provenance(unit, None)
    text = _all_text(_read(build_document(unit, provenance)))
    assert "考核评估结论" in text and "数据来源与版本" in text
    assert not DEVELOPER_WORDS.findall(_without_own_files(text, provenance))


def _without_own_files(text: str, provenance: dict) -> str:
    """``text`` without the names of the unit's own files (its submissions, its key counties', its
    evidence, its params file), which 数据来源与版本 names on purpose: ``yi.yaml`` is the reader's file."""
    files = [*provenance["inputs"], *([provenance["params"]] if provenance["params"] else [])]
    for name in sorted({Path(f["path"]).name for f in files}, key=len, reverse=True):
        text = text.replace(name, "")
    return text


def test_a_profile_threshold_is_named_by_its_document_in_the_document():
    text = _all_text(_document_of(DEMO / "coal" / "county-jia.yaml", DEMO / "coal" / "county-jia-verified.yaml"))
    assert "监管人员中专业技术人员的比例下限 75%（市级参数方案 乌能局发〔2023〕17号）" in text
    assert (
        "参数方案（乌能局发〔2023〕17号《全市煤矿安全生产重点旗县（市、区）、重点企业督导工作方案》）适用于2023年的乌海市海南区"
        in text
    )


def test_the_province_report_lists_every_key_county_and_the_rows_failing_most():
    province = evaluate(DEMO / "province.yaml")
    document = _read(build_province_document(province, provenance=_provenance(DEMO / "province.yaml")))
    texts = _texts(document)
    assert texts[:3] == ["示例省2022年度", "非煤矿山重点省(区)综合评估", "报告"]
    assert (
        "考核评估结论：不合格。" in texts
        and "被评估地区：示例省（重点省）；评估年度：2022年；评估阶段：自评（自评估）。" in texts
    )
    counties = next(t for t in document.tables if t.rows[0].cells[1].text == "重点县")
    rows = _table_rows(counties)
    assert [r[1] for r in rows[1:]] == list(yaml.safe_load((DEMO / "province.yaml").read_text(encoding="utf-8"))["key_counties"])
    assert {r[3] for r in rows[1:]} == {"合格", "不合格"}
    failing = failing_rows(province.counties)
    assert failing[0][2] and len(failing[0][2]) >= len(failing[-1][2])
    # one filled form per key county, each on its own landscape pages
    forms = [t for t in document.tables if [c.text for c in t.rows[0].cells][:3] == ["序号", "重点任务", "类别"]]
    assert len(forms) == len(province.counties) == 6
    assert sum(t.startswith("被评估地区：示例省 ") for t in texts) == 6
    listed = next(i for i, t in enumerate(texts) if t.startswith("附件："))
    assert texts[listed].startswith("附件：1. 示例省 ") and texts[listed + 6] == "7. 数据来源与版本"
    # GB/T 9704: each further number under the first, past 附件：
    notes = document.paragraphs[listed : listed + 7]
    assert len({p.paragraph_format.left_indent for p in notes}) == 1
    assert notes[0].paragraph_format.first_line_indent == -Pt(SIZE_3 * 3) and notes[1].paragraph_format.first_line_indent == 0
    assert listed < texts.index(f"{SIGNATURE[0]}：　　　　　　　　　　　　")


def test_documents_are_written_whole(tmp_path, yi, yi_provenance):
    path = tmp_path / "report.docx"
    write_document(build_county_document(yi, provenance=yi_provenance), path)
    assert Document(str(path)).paragraphs[2].text == "自评估报告"
    assert [p.name for p in tmp_path.iterdir()] == ["report.docx"]  # no temporary file left


# --- 数据来源与版本: the last 附件 ------------------------------------------------------------

#: A county at 自评, a county at 核查 with its evidence, a county at three stages, the province.
SOURCE_UNITS = {
    "county": [YI],
    "verified": [SOUTH / "nanjia.yaml", SOUTH / "nanjia-verified.yaml"],
    "three-stages": THREE_STAGES,
    "province": [DEMO / "province.yaml"],
}


def _sources_annex(document) -> tuple[list[str], list[list[str]]]:
    """数据来源与版本 as printed: its paragraphs from its 附件N line on, and its file table's rows."""
    texts = _texts(document)
    start = texts.index("数据来源与版本", texts.index("二、重点工作任务完成情况")) - 1
    table = document.tables[-1]
    return texts[start:], _table_rows(table)


def _record_digests(provenance: dict) -> list[str]:
    """Every SHA-256 of a provenance record, in its order."""
    files = [*provenance["inputs"], *provenance["rubrics"], *provenance["profiles"]]
    return [f["sha256"] for f in files] + ([provenance["params"]["sha256"]] if provenance["params"] else [])


@pytest.mark.parametrize("case", SOURCE_UNITS)
def test_the_last_annex_records_every_file_of_the_provenance(case):
    """Every file of the unit's record (its stage files, its key counties', its evidence, the forms)
    with its SHA-256 in the document's last 附件, listed in the 附件 note, after every filled form."""
    unit = evaluate_unit(SOURCE_UNITS[case])
    provenance = read_provenance(unit, None)
    document = _read(build_document(unit, provenance))
    paragraphs, rows = _sources_annex(document)
    forms = len(unit.deciding.counties) if case == "province" else 1
    assert paragraphs[:2] == [f"附件{forms + 1}", "数据来源与版本"]
    assert f"{'附件：' if forms == 0 else ''}{forms + 1}. 数据来源与版本" in _texts(document)
    assert rows[0] == ["文件", "说明", "SHA-256"]
    assert [r[2].replace("\n", "") for r in rows[1:]] == _record_digests(provenance)
    assert all(len(line) == 32 for r in rows[1:] for line in r[2].split("\n"))  # two lines of 32
    assert len(rows) - 1 >= {"county": 2, "verified": 6, "three-stages": 4, "province": 8}[case]  # files and the form
    assert paragraphs[-1].startswith("SHA-256 是文件内容的校验值")


def test_a_province_counts_its_counties_evidence_which_their_own_documents_list():
    """The province's record stays one row per file it and its counties submitted: a key county's
    evidence files are counted (each county's own document lists them with their SHA-256)."""
    unit = evaluate_unit([DEMO / "south" / "province.yaml"])
    provenance = read_provenance(unit, None)
    _, rows = _sources_annex(_read(build_document(unit, provenance)))
    evidence = [i for i in provenance["inputs"] if i["role"] == "佐证材料"]
    assert len(evidence) == 3  # 示例南甲县's, at 核查
    counted = ["佐证材料 3 份（文件名及 SHA-256 见该县评估报告的“数据来源与版本”）", "佐证材料（示例南甲县，核查）", "—"]
    assert rows[1:5] == [
        ["province.yaml", "提交文件（示例南省，自评）", rows[1][2]],
        ["nanjia.yaml", "重点县文件（示例南甲县，自评）", rows[2][2]],
        ["nanjia-verified.yaml", "重点县文件（示例南甲县，核查）", rows[3][2]],
        counted,
    ]
    listed = [r[2].replace("\n", "") for r in rows[1:] if r[2] != "—"]
    assert listed == [d for d in _record_digests(provenance) if d not in {e["sha256"] for e in evidence}]
    county = evaluate_unit([SOUTH / "nanjia.yaml", SOUTH / "nanjia-verified.yaml"])
    _, county_rows = _sources_annex(_read(build_document(county, read_provenance(county, None))))
    assert {e["sha256"] for e in evidence} <= {r[2].replace("\n", "") for r in county_rows[1:]}


def test_the_annex_says_what_the_html_appendix_says():
    """One wording: every line of the HTML report's 附录 is a line or a table row of the Word 附件
    (the generation time aside: each is made at its own moment)."""
    loaded = load_report(SOUTH / "nanjia.yaml", verification=SOUTH / "nanjia-verified.yaml")
    paragraphs, rows = _sources_annex(_read(build_document(loaded.unit, loaded.provenance)))
    word = {p for p in paragraphs if "：" in p} | {
        f"{item}：{name}（SHA-256 {sha.replace(chr(10), '')}）" for name, item, sha in rows[1:]
    }
    html = [line for line in render_provenance(loaded).text.splitlines() if not line.startswith("生成时间：")]
    assert [line for line in html if line in word] == html, "a line of the HTML appendix missing from the Word annex"
    assert sum(line.startswith("生成时间：") for line in word) == 1
    assert any(line.startswith("佐证材料（示例南甲县，核查）：佐证材料/") for line in html)


def test_the_annex_names_no_key_or_path_even_for_files_outside_the_run_folder(tmp_path, monkeypatch):
    """Files elsewhere than the folder a run started in are recorded as ``../…`` in result.json; the
    document names them by their names, the forms by their titles, params settings in the form's words."""
    params = tmp_path / "参数.yaml"
    params.write_text("evaluation:\n  categories:\n    2-3c: reference\n    3-7a: veto\n", encoding="utf-8")
    run = tmp_path / "run" / "here"
    run.mkdir(parents=True)
    monkeypatch.setenv("MINESAFE_RUN_FOLDER", str(run))
    unit = evaluate_unit([SOUTH / "nanjia.yaml", SOUTH / "nanjia-verified.yaml"], params)
    provenance = read_provenance(unit, params)
    assert provenance["inputs"][0]["path"].startswith("../")  # the machine record keeps its paths
    paragraphs, rows = _sources_annex(_read(build_document(unit, provenance)))
    text = "\n".join(paragraphs) + "\n".join("\n".join(r) for r in rows)
    assert "评估参数：第 2-3c 行类别：参考项；第 3-7a 行类别：否决项" in paragraphs
    assert ["参数.yaml", "参数文件", f"{provenance['params']['sha256'][:32]}\n{provenance['params']['sha256'][32:]}"] in rows
    assert rows[2][:2] == ["nanjia-verified.yaml", "提交文件（示例南甲县，核查）"]
    assert rows[3][0].startswith("佐证材料/") and rows[-2][0].startswith(
        "《非煤矿山重点地区安全生产攻坚克难工作评估表》minesafe 内置评估表"
    )
    assert not DEVELOPER_WORDS.findall(_without_own_files(text, provenance))
    assert "/work" not in text and "{" not in text and "_" not in text


def test_the_check_values_are_in_a_fixed_width_face_with_a_fallback(yi_document):
    """SHA-256 in Consolas (Courier New where missing, named in the font table), the annex portrait."""
    table = yi_document.tables[-1]
    fonts = {run.font.name for row in table.rows[1:] for run in row.cells[2].paragraphs[0].runs}
    assert fonts == {MONO_FONT}
    assert yi_document.sections[-1].page_width < yi_document.sections[-1].page_height
    assert yi_document.sections[-2].page_width > yi_document.sections[-2].page_height  # the form before it


# --- PDF through LibreOffice ------------------------------------------------------------------


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory, yi, yi_provenance):
    """The county 自评 report, a county 核查 report and the province report as PDF."""
    if find_soffice() is None:
        message = "没有可用的 LibreOffice：请安装 libreoffice-writer-nogui 和 fonts-noto-cjk 软件包后再运行本测试"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    folder = tmp_path_factory.mktemp("documents")
    documents = {
        "county": build_county_document(yi, provenance=yi_provenance),
        "verified": build_document(evaluate_unit(THREE_STAGES[:2]), _provenance(*THREE_STAGES[:2])),
        "province": build_province_document(evaluate(DEMO / "province.yaml"), provenance=_provenance(DEMO / "province.yaml")),
    }
    for name, document in documents.items():
        write_document(document, folder / f"{name}.docx")
    from minesafe.office import convert as convert_all

    return dict(zip(documents, convert_all([folder / f"{n}.docx" for n in documents], "pdf", folder), strict=True))


def _pages(path) -> list[str]:
    import pypdfium2

    pdf = pypdfium2.PdfDocument(path)
    try:
        return [pdf[i].get_textpage().get_text_range() for i in range(len(pdf))]
    finally:
        pdf.close()


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_the_county_pdf_reads_its_verdict_blanks_page_numbers_and_signature(pdfs):
    pages = [_flat(p) for p in _pages(pdfs["county"])]
    assert "考核评估结论：不合格" in pages[0]
    assert "示例省示例乙县2022年度自评（自评估）自评估报告" in pages[0]  # the running header
    for n, page in enumerate(pages, 1):
        assert f"—{n}—" in page, n
        assert "示例省示例乙县" in page, n
    annex = next(i for i, p in enumerate(pages) if p.startswith("示例省示例乙县2022年度自评（自评估）自评估报告附件"))
    assert annex <= 6  # the report itself: at most six pages
    assert len(pages) - annex <= 12  # the form: sane
    text = "".join(pages)
    for label in ("评估人员：", "审核人：", "单位（盖章）：", "日期：年月日"):
        assert label in "".join(pages[:annex]), label
    assert "2020年非煤地下矿山数量（60）" in text and "一个采矿证范围内只有一个独立生产系统的数量（38）" in text
    assert "否决项完成的有27项，未完成的有1项，不涉及的有1项；评分项共计得分100分" in text
    assert "考核评估结论：" in text and "☐" in text and "☑" in text and "不合格（不合格）" in text


def test_the_verified_pdf_is_an_evaluation_report(pdfs):
    pages = [_flat(p) for p in _pages(pdfs["verified"])]
    assert "评估报告" in pages[0] and "考核评估结论：不合格" in pages[0]
    assert "自评→核查" in "".join(pages)


def test_the_province_pdf_names_every_key_county(pdfs):
    pages = [_flat(p) for p in _pages(pdfs["province"])]
    text = "".join(pages)
    assert "考核评估结论：不合格" in pages[0]
    for county in yaml.safe_load((DEMO / "province.yaml").read_text(encoding="utf-8"))["key_counties"]:
        assert f"被评估地区：示例省{county}" in text, county
    assert all(f"—{n}—" in page for n, page in enumerate(pages, 1))


def test_the_pdfs_end_with_the_record_of_every_file_on_few_pages(pdfs):
    """数据来源与版本 on the last page(s), each SHA-256 readable in the PDF's text: one page for a
    county, at most two for the province with its six counties' files."""
    for name, stages in (("county", [YI]), ("verified", THREE_STAGES[:2]), ("province", [DEMO / "province.yaml"])):
        pages = [_flat(p) for p in _pages(pdfs[name])]
        start = max(i for i, p in enumerate(pages) if "数据来源与版本" in p and "附件" in p)
        assert len(pages) - start <= (2 if name == "province" else 1), name
        text = "".join(pages[start:])
        for digest in _record_digests(_provenance(*stages)):
            assert digest in text, (name, digest)


def test_the_pdfs_embed_their_fonts(pdfs):
    for path in pdfs.values():
        data = path.read_bytes()
        descriptors = len(re.findall(rb"/Type\s*/FontDescriptor", data))
        assert descriptors >= 2 and len(re.findall(rb"/FontFile[23]?\s", data)) == descriptors, path


def test_convert_is_the_one_used_by_the_workbook_tests():
    assert convert.__module__ == "tests.office"


# --- narrative from the submission ----------------------------------------------------------


def test_narrative_in_the_submission_reaches_the_document(tmp_path):
    data = yaml.safe_load((DEMO / "counties" / "yi.yaml").read_text(encoding="utf-8"))
    data["narrative"] = {"work": "开展执法检查 120 次。\n关闭矿山 3 座。", "measures": "年底前淘汰提升机。"}
    path = tmp_path / "yi.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = evaluate(path)
    assert result.header.narrative == {"work": "开展执法检查 120 次。\n关闭矿山 3 座。", "measures": "年底前淘汰提升机。"}
    texts = _texts(_read(build_county_document(result, provenance=_provenance(path))))
    assert "开展执法检查 120 次。" in texts and "关闭矿山 3 座。" in texts and "年底前淘汰提升机。" in texts
    assert texts.count(TO_FILL) == 1


def test_a_control_character_in_the_narrative_is_refused_naming_its_key(tmp_path):
    """Word's manual line break (U+000B) and other control characters are refused on reading."""
    from minesafe.exceptions import InputError

    data = yaml.safe_load((DEMO / "counties" / "yi.yaml").read_text(encoding="utf-8"))
    data["narrative"] = {"measures": "年底前淘汰提升机。\x07"}
    path = tmp_path / "yi.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InputError, match="U\\+0007") as error:
        evaluate(path)
    assert "narrative.measures" in str(error.value)


def test_a_control_character_given_through_the_api_does_not_stop_the_document(yi_provenance):
    """XML cannot hold U+0007: a result built in Python with one still makes its document."""
    result = evaluate(YI)
    header = dataclasses.replace(result.header, narrative={"measures": "年底前淘汰提升机。\x07"})
    texts = _texts(_read(build_county_document(dataclasses.replace(result, header=header), provenance=yi_provenance)))
    assert "年底前淘汰提升机。\ufffd" in texts


@pytest.mark.parametrize(
    ("narrative", "message"),
    [("一段话", "报告文字部分写法有误"), ({"work": 3}, "工作开展情况应为一段文字"), ({"summary": "x"}, "未知的键")],
)
def test_a_bad_narrative_is_refused_naming_its_key(tmp_path, narrative, message):
    from minesafe.exceptions import InputError

    data = yaml.safe_load((DEMO / "counties" / "yi.yaml").read_text(encoding="utf-8")) | {"narrative": narrative}
    path = tmp_path / "yi.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(InputError, match=message) as error:
        evaluate(path)
    assert "narrative" in str(error.value)


def test_a_submission_named_in_gbk_is_listed_escaped_in_the_sources(tmp_path, monkeypatch):
    """A file name from a Chinese-Windows zip that is not UTF-8 (GBK 甲.yaml) is kept by Python as
    lone surrogates, which no Word file can hold: 数据来源与版本 shows its bytes as the console
    does (``\\xbc\\xd7.yaml``), and the document is made."""
    name = os.fsdecode(b"\xbc\xd7.yaml")
    (tmp_path / name).write_bytes((DEMO / "counties" / "jia.yaml").read_bytes())
    monkeypatch.chdir(tmp_path)
    unit = evaluate_unit([Path(name)])
    text = _all_text(_read(build_document(unit, read_provenance(unit, None))))
    assert "\\xbc\\xd7.yaml" in text
