"""One unit, one name: a name copied with a zero-width space, a BOM or a compatibility ideograph
(U+F90A for 金) is the same unit everywhere — stages, province membership, batch grouping, lists,
the overview — and a name with nothing visible is refused."""

import json
import os
import shutil
import subprocess

import openpyxl
import pytest
import yaml

import minesafe
from minesafe.batch import identify_submission
from minesafe.cli import main
from minesafe.exceptions import InputError
from minesafe.files import read_rubric
from minesafe.frames import results_frame
from minesafe.intake import collect_run_documents
from minesafe.lists import build_history, propose_next_list
from minesafe.names import escape_undecodable, normalize_name, reveal_characters
from minesafe.overview import decide_units, trace_trends
from minesafe.rendering import result_to_dict
from minesafe.results import evaluate_unit
from minesafe.stages import compare_stages
from minesafe.storage import dump_json
from minesafe.workbook import INFO, KEY_COUNTIES, build_workbook

from .conftest import DEMO, ROOT, minesafe_exe

ZWSP, BOM, JIN = "\u200b", "\ufeff", "\uf90a"  # JIN: CJK COMPATIBILITY IDEOGRAPH-F90A, drawn as 金

#: The same county as written in three files: typed, copied from a web page, from a PDF.
SPELLINGS = {
    "zwsp": f"示例{ZWSP}金县",
    "bom": f"{BOM}示例金县",
    "compatibility": f"示例{JIN}县",
    "space": "示例 金县",  # a space between two ideographs means nothing in Chinese
    "ideographic_space": "示例\u3000金县",
}


def _write(path, data):
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _county(county="示例金县", **changes):
    """示例甲县's passing submission (自评) under another name."""
    data = yaml.safe_load((DEMO / "counties" / "jia.yaml").read_text(encoding="utf-8"))
    return data | {"county": county} | changes


def _verified(county):
    """The 核查 that overturns the 自评: 1-1a was not done."""
    data = _county(county, stage="核查")
    data["items"]["1-1a"] = {"result": "未完成", "note": "核查发现"}
    return data


def test_a_name_has_one_form_whatever_was_typed():
    for spelling in SPELLINGS.values():
        assert normalize_name(spelling) == "示例金县"
    assert normalize_name("  示例\u3000金县\u00a0(煤矿)\u2060 ") == "示例金县（煤矿）"  # spaces of any kind; brackets
    assert normalize_name("ＡＢ１号矿") == "AB1号矿"
    assert normalize_name("葛\U000e0100") == "葛"  # an ideograph with a variation selector is that ideograph
    assert normalize_name("e\u200b\u0301") == "\u00e9"  # composed once the invisible character is gone
    assert normalize_name("\ud800示例金县\udcbc") == "示例金县"  # lone surrogates: no character at all
    for invisible in (ZWSP, BOM, "\u2060\u200d", "\u3164", "\x07", " \u200b\t", "\ud800"):
        assert normalize_name(invisible) == ""
    for name in ("示例金县", "甲县（煤矿）", "A B", "ABC Mining有限公司", "A 1"):
        assert normalize_name(normalize_name(name)) == normalize_name(name) == name


@pytest.mark.parametrize(
    "written",
    ["示例\u3000\u0301甲县", "\uff76\u2002\uff9e", "〕A\uff9e\u00a8", "A\uff9e\u00a8甲", "\u3231 \uff9e"],
    ids=["acute-after-ideographic-space", "half-width-kana", "voiced-mark-and-diaeresis", "before-ideograph", "bracketed"],
)
def test_a_name_normalised_twice_is_the_same(written):
    """A name is stored normalised and read again through the same function (a result.json, the
    overview): it must come back unchanged. A combining mark (the half-width voiced mark ﾞ is
    one once NFKC has read it) after a space beside a Chinese character joins its neighbour once the
    space is removed, and composes with it at once (カ ﾞ is ガ)."""
    once = normalize_name(written)
    assert normalize_name(once) == once


@pytest.mark.parametrize("space", [" ", "\u3000", "\u00a0", "\t", "\u2002", " \u3000\t", "\u200b "])
def test_a_space_beside_a_chinese_character_is_no_part_of_a_name(space):
    """White space of any kind (full-width U+3000, no-break, tab, en space, several) means nothing
    beside a Chinese character: 示例 甲县 is 示例甲县; between Latin words and numbers it is one space."""
    assert normalize_name(f"示例{space}甲县") == "示例甲县"
    assert normalize_name(f"{space}示例甲县{space}") == "示例甲县"
    assert normalize_name(f"ABC{space}Mining{space}有限公司") == "ABC Mining有限公司"  # Latin beside Chinese too
    assert normalize_name(f"示例{space}ABC{space}Mining") == "示例ABC Mining"
    assert normalize_name(f"2{space}号矿井{space}A{space}1") == "2号矿井A 1"
    assert normalize_name(f"示例县{space}(煤矿)") == normalize_name(f"示例县{space}（煤矿）") == "示例县（煤矿）"
    assert normalize_name(f"ABC{space}(煤矿)") == "ABC（煤矿）"  # the bracket is a Chinese one, whatever was typed
    assert normalize_name(f"阿拉善{space}·{space}左旗") == "阿拉善·左旗"  # a middle dot beside Chinese


def test_invisible_and_look_alike_characters_are_shown_by_their_code_points():
    assert reveal_characters(SPELLINGS["zwsp"]) == "示例<U+200B>金县"
    assert reveal_characters(SPELLINGS["compatibility"]) == "示例<U+F90A>县"
    assert reveal_characters("甲\u3000县\v") == "甲<U+3000>县<U+000B>"
    assert reveal_characters("甲县（煤矿）\n乙县") == "甲县（煤矿）\n乙县"  # what is seen stays as it is


@pytest.mark.parametrize("spelling", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_the_verification_of_a_look_alike_name_decides_over_the_self_assessment(tmp_path, spelling):
    own = _write(tmp_path / "自评.yaml", _county())
    checked = _write(tmp_path / "核查.yaml", _verified(spelling))
    unit = evaluate_unit([own, checked])
    assert (unit.name, unit.stage, unit.verdict) == ("示例金县", "核查", "不合格")
    assert unit.stage_change == "核查结论不合格，与自评（合格）不同"
    comparison = compare_stages(_county(), _verified(spelling), read_rubric("noncoal-county"))
    assert comparison.verdicts_differ and [d.place.split()[0] for d in comparison.differences] == ["第"]


@pytest.mark.parametrize("spelling", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_a_county_is_a_member_of_its_province_whatever_the_spelling(tmp_path, spelling):
    (tmp_path / "counties").mkdir()
    _write(tmp_path / "counties" / "jin.yaml", _county(spelling))
    province = yaml.safe_load((DEMO / "province.yaml").read_text(encoding="utf-8"))
    province |= {"key_counties": [SPELLINGS["compatibility"]], "counties": ["counties/jin.yaml"]}
    result = minesafe.evaluate(_write(tmp_path / "province.yaml", province | {"province": f"示例省{ZWSP}"}))
    assert [c.county for c in result.counties] == ["示例金县"] and result.missing == ()
    assert result.header.province == "示例省"
    assert list(result_to_dict(result)["counties"]) == ["示例金县"]


def test_a_key_county_listed_twice_under_two_spellings_is_refused_showing_both(tmp_path):
    province = yaml.safe_load((DEMO / "province.yaml").read_text(encoding="utf-8"))
    province["key_counties"] = ["示例甲县", f"示例甲县{ZWSP}", ZWSP]
    path = _write(tmp_path / "province.yaml", province)
    with pytest.raises(InputError) as caught:
        minesafe.evaluate(path)
    lines = caught.value.lines
    assert any(
        line.startswith("键 key_counties[1]：重点县名称重复（当前值：“示例甲县<U+200B>”；") and "与“示例甲县”是同一名称" in line
        for line in lines
    ), lines
    assert "键 key_counties[2]：重点县名称只含不可见字符（如零宽空格），没有名称（当前值：“<U+200B>”；" in "\n".join(lines)


def test_the_batch_makes_one_report_of_the_stages_of_one_unit_spelled_two_ways(tmp_path):
    _write(tmp_path / "自评.yaml", _county())
    _write(tmp_path / "核查.yaml", _verified(SPELLINGS["zwsp"]) | {"province": f"{BOM}示例省"})
    ((_, run),) = collect_run_documents([tmp_path], tmp_path / "out")
    assert run["parameters"] == {"submission": str(tmp_path / "自评.yaml"), "verification": str(tmp_path / "核查.yaml")}


def test_a_province_in_a_batch_is_given_the_verification_of_its_county_spelled_another_way(tmp_path):
    (tmp_path / "counties").mkdir()
    _write(tmp_path / "counties" / "jin.yaml", _county())
    _write(tmp_path / "jin-核查.yaml", _verified(SPELLINGS["compatibility"]))
    province = yaml.safe_load((DEMO / "province.yaml").read_text(encoding="utf-8"))
    province |= {"key_counties": [SPELLINGS["zwsp"]], "counties": ["counties/jin.yaml"]}
    _write(tmp_path / "province.yaml", province)
    runs = [d["parameters"] for _, d in collect_run_documents([tmp_path], tmp_path / "out")]
    (province_run,) = [p for p in runs if "county_report_link" in p]
    assert province_run["county_files"] == [str(tmp_path / "jin-核查.yaml")]


@pytest.mark.parametrize("key", ["county", "province"])
def test_a_name_with_nothing_visible_is_refused_naming_the_key(tmp_path, capsys, key):
    path = tmp_path / "x.json"  # JSON writes the zero-width space as \u200b: nothing to see in an editor
    path.write_text(json.dumps(_county() | {key: f" {ZWSP}{BOM} "}, default=str), encoding="utf-8")
    assert main(["evaluate", str(path)]) == 2
    err = capsys.readouterr().err
    what = "县（市、区）名称" if key == "county" else "省（区）名称"
    assert f"键 {key}：{what}只含不可见字符（如零宽空格），没有名称（当前值：“ <U+200B><U+FEFF> ”" in err


def test_a_workbook_name_with_nothing_visible_is_refused_naming_the_cell(tmp_path, capsys):
    wb = build_workbook(read_rubric("noncoal-county"), _county())
    info = wb[INFO]
    (row,) = [r for r in range(1, info.max_row + 1) if info.cell(r, 1).value == "county"]
    info.cell(row, 3).value = ZWSP  # as pasted into the cell
    path = tmp_path / "x.xlsx"
    wb.save(path)
    assert main(["evaluate", str(path)]) == 2
    assert f"工作表「{INFO}」单元格 C{row}：县（市、区）名称只含不可见字符" in capsys.readouterr().err


def test_a_province_workbook_reads_its_key_counties_as_one_name_each(tmp_path):
    (tmp_path / "counties").mkdir()
    _write(tmp_path / "counties" / "jin.yaml", _county(SPELLINGS["bom"]))
    province = yaml.safe_load((DEMO / "province.yaml").read_text(encoding="utf-8"))
    province |= {"key_counties": ["示例金县"], "counties": ["counties/jin.yaml"]}
    wb = build_workbook(read_rubric("noncoal-province"), province)
    (cell,) = [row[1] for row in wb[KEY_COUNTIES].iter_rows() if row[1].value == "示例金县"]
    cell.value = SPELLINGS["compatibility"]  # as pasted into the cell
    wb.save(tmp_path / "province.xlsx")
    assert [c.county for c in minesafe.evaluate(tmp_path / "province.xlsx").counties] == ["示例金县"]


def test_a_list_names_each_unit_once_whatever_the_spelling():
    units = {"示例县甲": {"listed": [2025], "result": "合格", "stage": "核查"}, f"示例县{JIN}": {"listed": [2025]}}
    history = build_history({"kind": "coal-county", "year": 2025, "units": units})
    assert [p.unit for p in propose_next_list(history)] == ["示例县甲", "示例县金"]
    units |= {f"示例县甲{ZWSP}": {"listed": [2024, 2025], "result": "不合格"}, BOM: {"listed": []}}
    with pytest.raises(InputError) as caught:
        build_history({"kind": "coal-county", "year": 2025, "units": units})
    text = str(caught.value)
    assert (
        "键 units.示例县甲<U+200B>：单位名称重复（当前值：“示例县甲<U+200B>”；应为：每个只列一次：与“示例县甲”是同一名称" in text
    )
    assert "单位名称只含不可见字符（如零宽空格），没有名称（当前值：“<U+FEFF>”" in text


def _result(path, **changes):
    data = result_to_dict(minesafe.evaluate(path))
    return data | changes


def test_the_overview_counts_a_unit_once_whatever_an_older_result_file_wrote(tmp_path):
    """Result files written before names were normalised hold them as typed: the overview still
    sees one unit in two years, and one unit twice in one year is still refused."""
    jia = DEMO / "counties" / "jia.yaml"
    results = [(_result(jia, year=2022), "2022.json"), (_result(jia, year=2023, county=f"示例甲县{ZWSP}"), "2023.json")]
    trends = trace_trends(results_frame(results))
    assert list(trends.index.get_level_values("单位名称")) == ["示例省 示例甲县"] and list(trends.columns) == [2022, 2023]
    twice = [*results, (_result(jia, year=2023, province=f"{BOM}示例省"), "copy.json")]
    with pytest.raises(InputError, match="示例省 示例甲县 2023年有 2 份评估结果"):
        decide_units(results_frame(twice))


def test_the_command_line_decides_the_stages_of_one_unit_spelled_two_ways(tmp_path, capsys):
    own = _write(tmp_path / "自评.yaml", _county())
    checked = _write(tmp_path / "核查.yaml", _verified(SPELLINGS["zwsp"]) | {"province": f"{BOM}示例省"})
    assert main(["evaluate", "--json", str(own), str(checked)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["county"], shown["province"], shown["stage"], shown["verdict"]) == ("示例金县", "示例省", "核查", "不合格")


RADICAL = "\u2ed3"  # CJK RADICAL C-SIMPLIFIED LONG: drawn like 长, and NFKC keeps it apart


def test_names_that_only_look_the_same_are_told_apart_by_their_code_points(tmp_path, capsys):
    """Not every look-alike is one character for Unicode: a message that calls two names
    different shows where they differ, never two names that look identical."""
    assert normalize_name(f"示例{RADICAL}县") != "示例长县"
    own = _write(tmp_path / "自评.yaml", _county(f"示例{RADICAL}县"))
    checked = _write(tmp_path / "核查.yaml", _verified("示例长县"))
    assert main(["compare", str(own), str(checked)]) == 2
    assert "键 county：自评与核查不是同一单位（当前值：“示例长县”；应为：示例<U+2ED3>县）" in capsys.readouterr().err
    with pytest.raises(InputError) as caught:
        evaluate_unit([checked, own])
    assert "当前值：“noncoal-county 示例省 示例<U+2ED3>县 2022”；应为：noncoal-county 示例省 示例长县 2022" in str(caught.value)
    with pytest.raises(InputError) as caught:
        evaluate_unit([own, checked])
    assert "当前值：“noncoal-county 示例省 示例长县 2022”；应为：noncoal-county 示例省 示例<U+2ED3>县 2022" in str(caught.value)
    (tmp_path / "counties").mkdir()
    _write(tmp_path / "counties" / "long.yaml", _county(f"示例{RADICAL}县"))
    province = yaml.safe_load((DEMO / "province.yaml").read_text(encoding="utf-8"))
    province |= {"key_counties": ["示例长县"], "counties": ["counties/long.yaml"]}
    assert main(["evaluate", str(_write(tmp_path / "province.yaml", province))]) == 2
    assert "文件中的重点县“示例<U+2ED3>县”不在本省 key_counties 所列重点县之中" in capsys.readouterr().err


def test_a_workbook_made_from_a_file_holds_its_names_as_minesafe_reads_them(tmp_path):
    """A worksheet cannot store a control character (Word's manual line break, U+000B): the
    pre-filled names are the normalised ones, and the workbook evaluates as the file does."""
    source = tmp_path / "x.json"
    source.write_text(json.dumps(_county("示例\v金\x07县", province=f"示例{ZWSP}省"), default=str), encoding="utf-8")
    book = tmp_path / "x.xlsx"
    assert main(["template", "--from", str(source), "--out", str(book)]) == 0
    info = openpyxl.load_workbook(book)[INFO]
    values = {r[0]: r[2] for r in info.iter_rows(values_only=True)}
    assert (values["province"], values["county"]) == ("示例省", "示例金县")  # the line break: no space between ideographs
    assert result_to_dict(minesafe.evaluate(book)) == result_to_dict(minesafe.evaluate(source))
    province = yaml.safe_load((DEMO / "province.yaml").read_text(encoding="utf-8"))
    province["key_counties"][0] = f"{BOM}示例甲县\v"
    wb = build_workbook(read_rubric("noncoal-province"), province)
    assert [r[1] for r in wb[KEY_COUNTIES].iter_rows(min_row=2, max_row=2, values_only=True)] == ["示例甲县"]


#: 甲县.yaml as a Chinese-Windows zip names it (GBK): not UTF-8, so Python holds lone surrogates.
GBK_NAME = os.fsdecode("甲县".encode("gbk") + b".yaml")
GBK_SHOWN = "\\xbc\\xd7\\xcf\\xd8.yaml"


def test_bytes_of_a_file_name_that_are_not_utf8_are_escaped():
    assert escape_undecodable(GBK_NAME) == GBK_SHOWN
    assert escape_undecodable("甲县.yaml") == "甲县.yaml"
    assert json.loads(dump_json({GBK_NAME: [GBK_NAME, "甲"]})) == {GBK_SHOWN: [GBK_SHOWN, "甲"]}


def _run(*argv: str, cwd) -> subprocess.CompletedProcess:
    """``minesafe`` as a desktop terminal runs it: standard output strict UTF-8, not the C locale's escape."""
    env = os.environ | {"PYTHONIOENCODING": "utf-8"}
    return subprocess.run([minesafe_exe(), *argv], cwd=cwd, env=env, capture_output=True, timeout=300, check=False)


def test_a_file_name_that_is_not_utf8_is_shown_escaped_and_written_safely_in_json(tmp_path):
    shutil.copy(DEMO / "counties" / "jia.yaml", tmp_path / GBK_NAME)
    shown = _run("evaluate", GBK_NAME, cwd=tmp_path)
    assert shown.returncode == 0 and not shown.stderr, shown.stderr.decode("utf-8", "replace")
    assert shown.stdout.decode("utf-8").startswith(f"== {GBK_SHOWN} ==")
    as_json = _run("evaluate", "--json", GBK_NAME, cwd=tmp_path)
    assert as_json.returncode == 0
    assert json.loads(as_json.stdout.decode("utf-8"))["provenance"]["inputs"][0]["path"] == GBK_SHOWN


def test_a_batch_of_a_file_named_in_gbk_makes_its_report_and_writes_its_summaries(tmp_path):
    (tmp_path / "收件").mkdir()
    shutil.copy(DEMO / "counties" / "jia.yaml", tmp_path / "收件" / GBK_NAME)
    (tmp_path / "笔记本").mkdir()  # the county's report alone: no overview to make
    shutil.copy(ROOT / "notebooks" / "noncoal_county_report.ipynb", tmp_path / "笔记本")
    done = _run("batch", "收件", "--out", "报告", "--notebooks", "笔记本", "--jobs", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    assert "[成功] 示例省 示例甲县" in done.stdout.decode("utf-8")
    summary = json.loads((tmp_path / "报告" / "batch-summary.json").read_text(encoding="utf-8"))
    assert [u["参数文件"] for u in summary["units"]] == [f"收件/{GBK_SHOWN}"]
    assert openpyxl.load_workbook(tmp_path / "报告" / "batch-summary.xlsx").active.max_row > 1
    report = tmp_path / "报告" / "2022" / "示例省" / "示例甲县"
    result = json.loads((report / "result.json").read_text(encoding="utf-8"))
    assert result["provenance"]["inputs"][0]["path"] == f"收件/{GBK_SHOWN}"
    json.loads((report / "report.ipynb").read_text(encoding="utf-8"))
    again = _run("batch", "收件", "--out", "报告", "--notebooks", "笔记本", "--jobs", "1", cwd=tmp_path)
    assert "（其中沿用上次报告 1 份）" in again.stdout.decode("utf-8")  # the cache knows the file by its name


def test_a_profile_governs_its_unit_whatever_the_spelling_of_either(tmp_path):
    """The Wuhai profile names the unit it governs; a copy naming it with a zero-width space still
    governs 乌海市海南区 (no caveat that the profile is not this unit's)."""
    profile = (ROOT / "params" / "profiles" / "wuhai-2023.yaml").read_text(encoding="utf-8")
    assert "units: [乌海市海南区]" in profile
    params = tmp_path / "wuhai.yaml"
    params.write_text(profile.replace("units: [乌海市海南区]", 'units: ["乌海市\\u200B海南区"]'), encoding="utf-8")
    data = yaml.safe_load((DEMO / "coal" / "county-jia.yaml").read_text(encoding="utf-8"))
    for county in ("乌海市海南区", f"乌海市海南区{BOM}"):
        result = minesafe.evaluate(_write(tmp_path / "jia.yaml", data | {"county": county, "year": 2023}), params)
        assert [r.text for r in result.reasons if r.id == "profile"] == []


def test_a_unit_whose_evaluation_fails_is_named_in_the_batch_as_the_engine_names_it(tmp_path):
    """A unit the batch cannot make is named from its file alone: by its normalised names, so its
    summary line is the same unit as its other stages' (and a control character cannot reach a cell)."""
    path = _write(tmp_path / "x.yaml", _county(f"示例{ZWSP}金\x07县", province=f"{BOM}示例省", items="坏"))
    assert identify_submission(path)[:3] == ("示例金县", "重点县", "示例省")
