"""The public API: ``minesafe.evaluate`` (a province judged on all of its key counties) and
``minesafe.load_results``."""

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

import minesafe
from minesafe.cli import main
from minesafe.exceptions import InputError, InputErrors
from minesafe.rendering import result_to_dict
from minesafe.results import FileKind, classify_files, evaluate, find_input_files

from .conftest import DATA, DEMO


def test_public_names():
    assert set(minesafe.__all__) >= {"evaluate", "load_results", "CountyResult", "ProvinceResult", "InputError"}
    for name in minesafe.__all__:
        assert hasattr(minesafe, name)


def test_evaluate_gives_a_short_repr_and_a_verdict_banner():
    county = minesafe.evaluate(DEMO / "counties" / "bing.yaml")
    assert repr(county) == "<CountyResult 示例省 示例丙县 2022年 自评：不合格，得分 78>"
    shown = county._repr_html_()
    assert "不合格" in shown and county.summary in shown and "示例数据" in shown
    assert len(shown) < 3000  # the key numbers, not the whole rubric
    province = minesafe.evaluate(DEMO / "province.yaml")
    assert repr(province).startswith("<ProvinceResult 示例省 2022年")
    assert "不合格的重点县" in province._repr_html_()


def test_evaluate_reports_bad_input_in_chinese():
    with pytest.raises(InputError, match="文件不存在"):
        minesafe.evaluate(DATA / "no-such-file.yaml")


def test_load_results_reads_submissions_and_results_alike(tmp_path):
    county = DEMO / "counties" / "ding.yaml"
    (tmp_path / "县").mkdir()
    (tmp_path / "县" / "result.json").write_text(
        json.dumps(result_to_dict(minesafe.evaluate(county)), ensure_ascii=False), encoding="utf-8"
    )
    (tmp_path / "batch-summary.json").write_text("{}", encoding="utf-8")  # passed over in a folder
    (tmp_path / "batch-summary.xlsx").write_bytes(b"not a submission")
    from_results = minesafe.load_results(tmp_path).drop(columns="文件")
    from_submission = minesafe.load_results(county).drop(columns="文件")
    assert from_results.equals(from_submission)
    assert from_results.loc[0, "单位"] == "示例丁县"


def test_load_results_of_a_demo_folder_has_a_line_per_unit_and_stage():
    frame = minesafe.load_results(DEMO)
    jia = frame[frame["单位"] == "示例煤矿县甲"]
    assert list(jia["阶段"]) == ["自评", "核查"]  # the process's order, whatever the file names
    assert list(jia["以此阶段为准"]) == [False, True]  # the engine's rule: the latest stage decides
    keys = frame[["年度", "省", "单位", "阶段"]].apply(tuple, axis=1)
    assert keys.is_unique and list(keys) == sorted(keys, key=lambda k: (k[0], k[1], k[2], k[3] != "自评"))
    assert frame["示例数据"].all()


def test_load_results_reports_every_bad_file_at_once(tmp_path):
    shutil.copy(DEMO / "counties" / "jia.yaml", tmp_path / "good.yaml")
    (tmp_path / "broken.yaml").write_text("rubric: noncoal-county\nprovince: [\n", encoding="utf-8")
    (tmp_path / "other.yaml").write_text("rubric: no-such-rubric\n", encoding="utf-8")
    with pytest.raises(InputErrors) as caught:
        minesafe.load_results(tmp_path)
    assert {e.source for e in caught.value.errors} == {str(tmp_path / "broken.yaml"), str(tmp_path / "other.yaml")}


def test_a_file_named_directly_must_be_a_submission_or_a_result(tmp_path):
    notes = tmp_path / "notes.yaml"
    notes.write_text("title: 会议纪要\n", encoding="utf-8")
    with pytest.raises(InputError, match="既不是提交文件"):
        minesafe.load_results(notes)
    assert minesafe.load_results(tmp_path).empty  # in a folder it is passed over


def test_classify_files_tells_the_kinds_apart(tmp_path):
    run = tmp_path / "run.yaml"
    run.write_text("notebook: noncoal_county_report\n", encoding="utf-8")
    result = tmp_path / "result.json"
    result.write_text(
        json.dumps({"rubric": "noncoal-county", "verdict": "合格", "passed": True, "year": 2022, "province": "示例省"}),
        encoding="utf-8",
    )
    shutil.copy(DEMO / "counties" / "jia.yaml", tmp_path / "jia.yaml")
    (tmp_path / "~$jia.xlsx").write_bytes(b"lock")  # an Excel lock file is not an input
    kinds = {p.name: k for p, (k, _) in classify_files(find_input_files([tmp_path])).items()}
    assert kinds == {"run.yaml": FileKind.RUN, "result.json": FileKind.RESULT, "jia.yaml": FileKind.SUBMISSION}


def test_demo_folder_holds_the_demo_submissions():
    assert (minesafe.demo_folder() / "province.yaml").is_file()
    assert minesafe.evaluate(minesafe.demo_folder() / "province.yaml").header.demo


# --- a province is judged on all of its key counties --------------------------------------------


def _province_folder(tmp_path, key_counties, counties):
    """A copy of the demo province in tmp_path naming ``key_counties`` and listing ``counties``."""
    shutil.copytree(DEMO / "counties", tmp_path / "counties")
    data = yaml.safe_load((DEMO / "province.yaml").read_text(encoding="utf-8"))
    data |= {"key_counties": key_counties, "counties": counties}
    path = tmp_path / "province.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_a_key_county_without_a_file_keeps_the_province_pending_naming_it(tmp_path):
    path = _province_folder(tmp_path, ["示例甲县", "示例己县", "示例庚县", "示例辛县"], ["counties/jia.yaml", "counties/ji.yaml"])
    result = evaluate(path)
    assert [c.county for c in result.counties] == ["示例甲县", "示例己县"] and all(c.passed for c in result.counties)
    assert result.passed is None and result.verdict == "待定" and result.missing == ("示例庚县", "示例辛县")
    assert [r.id for r in result.reasons if r.kind == "pending"] == ["示例庚县", "示例辛县", "示例甲县", "示例己县"]


def test_a_file_for_a_county_the_province_does_not_name_is_an_input_error(tmp_path):
    path = _province_folder(tmp_path, ["示例甲县"], ["counties/jia.yaml", "counties/ji.yaml"])
    with pytest.raises(InputError) as info:
        evaluate(path)
    assert "键 counties[1]：文件中的重点县“示例己县”不在本省 key_counties 所列重点县之中" in str(info.value)


@pytest.mark.parametrize("variant", ["spelling", "symlink", "copy"])
def test_the_same_county_twice_is_an_input_error(tmp_path, variant, capsys):
    """Another spelling of the path, a symlink, or a second file naming the same county (same stage)."""
    second = {"spelling": "./counties/../counties/jia.yaml", "symlink": "link.yaml", "copy": "copy.yaml"}[variant]
    path = _province_folder(tmp_path, ["示例甲县"], ["counties/jia.yaml", second])
    if variant == "symlink":
        (tmp_path / "link.yaml").symlink_to(tmp_path / "counties" / "jia.yaml")
    if variant == "copy":
        shutil.copy(tmp_path / "counties" / "jia.yaml", tmp_path / "copy.yaml")
    expected = "是同一重点县“示例甲县”的同一评估阶段（自评）" if variant == "copy" else "是同一个文件（路径写法不同或为符号链接）"
    with pytest.raises(InputError, match=re.escape(f"键 counties[1]：与第 1 项（counties/jia.yaml）{expected}")):
        evaluate(path)
    assert main(["evaluate", "--json", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and expected in err  # never a double count, never a lost result


def test_a_countys_stages_side_by_side_in_a_province_count_the_latest(tmp_path):
    data = yaml.safe_load((DEMO / "counties" / "jia.yaml").read_text(encoding="utf-8"))
    data["stage"] = "核查"
    data["items"]["1-1a"] = {"result": "未完成", "note": "核查发现"}
    path = _province_folder(tmp_path, ["示例甲县"], ["counties/jia.yaml", "jia-verified.yaml"])
    (tmp_path / "jia-verified.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = evaluate(path)
    (unit,) = result.units
    assert (unit.stage, unit.verdict, result.verdict) == ("核查", "不合格", "不合格")
    assert [r.header.stage for r in unit.stages] == ["自评", "核查"]


def test_a_province_off_the_key_list_gets_a_notice_not_an_error(tmp_path):
    path = _province_folder(tmp_path, ["示例甲县"], ["counties/jia.yaml"])
    notices = [r.text for r in evaluate(path).reasons if r.id == "province"]
    assert notices == [
        "示例省不在2021年确定的非煤矿山重点省（区）名单（河北、内蒙古、辽宁、山东、广西、四川、陕西、山西）中，请核实（名单可能已调整）。"
    ]
    data = yaml.safe_load(path.read_text(encoding="utf-8")) | {"province": "河北省"}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    for county in (tmp_path / "counties").glob("*.yaml"):
        county.write_text(county.read_text(encoding="utf-8").replace("province: 示例省", "province: 河北省"), encoding="utf-8")
    assert [r for r in evaluate(path).reasons if r.id == "province"] == []


def test_the_demo_province_names_all_its_key_counties():
    result = evaluate(DEMO / "province.yaml")
    assert result.missing == () and len(result.counties) == 6


def test_province_reports_problems_of_every_file():
    with pytest.raises(InputErrors) as info:
        evaluate(DATA / "invalid" / "province_bad_counties.yaml")
    text = str(info.value)
    assert "找不到重点县文件" in text and "no_such_county.yaml" in text
    assert "评估年度与本省文件不一致" in text and "当前值：2023" in text
    assert "county_negative_count.yaml" in text and "当前值：-3" in text


def test_a_province_with_several_bad_county_files_is_refused_naming_each(tmp_path):
    """A province's county files are evaluated with it: two bad ones are both named, never a province
    that silently drops out of the frame."""
    shutil.copytree(DEMO / "counties", tmp_path / "counties")
    shutil.copy(DEMO / "province.yaml", tmp_path / "province.yaml")
    for name in ("yi", "wu"):
        path = tmp_path / "counties" / f"{name}.yaml"
        path.write_text(path.read_text(encoding="utf-8").replace("year: 2022", "year: 1999"), encoding="utf-8")
    with pytest.raises(InputErrors) as caught:
        minesafe.load_results(tmp_path / "province.yaml")
    named = " ".join(str(e) for e in caught.value.errors)
    assert "yi.yaml" in named and "wu.yaml" in named


def test_hidden_files_in_nested_folders_are_not_inputs(tmp_path):
    """JupyterLab's .ipynb_checkpoints/ (and any hidden folder at any depth) holds copies, not submissions."""

    shutil.copy(DEMO / "counties" / "jia.yaml", tmp_path / "jia.yaml")
    for hidden in ("sub/.ipynb_checkpoints/jia-checkpoint.yaml", ".cache/jia.yaml", "sub/.jia.yaml", "sub/~$jia.xlsx"):
        (tmp_path / hidden).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(DEMO / "counties" / "jia.yaml", tmp_path / hidden)
    assert find_input_files([tmp_path]) == [tmp_path / "jia.yaml"]
    assert len(minesafe.load_results(tmp_path)) == 1


# --- a province's key-county files found by the names inside them (issue 20 §4) ----------------


def _unlisted_province(tmp_path: Path) -> Path:
    """示例省 with no ``counties:``: its six key counties' files beside it, two in a subfolder."""
    folder = tmp_path / "示例省"
    (folder / "第二批").mkdir(parents=True)
    data = yaml.safe_load((DEMO / "province.yaml").read_text(encoding="utf-8"))
    data.pop("counties")
    (folder / "省级.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    for name in ("jia", "yi", "bing", "ding"):
        shutil.copy(DEMO / "counties" / f"{name}.yaml", folder / f"{name}.yaml")
    for name in ("wu", "ji"):
        shutil.copy(DEMO / "counties" / f"{name}.yaml", folder / "第二批" / f"{name}.yaml")
    return folder


def test_a_province_finds_its_key_counties_by_the_names_in_their_files(tmp_path):
    folder = _unlisted_province(tmp_path)
    (folder / "别省的县.yaml").write_text(
        (DEMO / "south" / "counties" / "nanyi.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )  # another province's county: not taken
    found = evaluate(folder / "省级.yaml")
    listed = evaluate(DEMO / "province.yaml")
    assert sorted(u.name for u in found.units) == sorted(u.name for u in listed.units)
    assert found.verdict == listed.verdict and found.missing == ()
    (folder / "第二批" / "ji.yaml").unlink()
    assert evaluate(folder / "省级.yaml").missing == ("示例己县",)


def test_a_key_county_file_present_but_invalid_is_reported_with_its_problems(tmp_path):
    folder = _unlisted_province(tmp_path)
    broken = folder / "第二批" / "wu.yaml"
    broken.write_text(broken.read_text(encoding="utf-8").replace("current: ", "current: -", 1), encoding="utf-8")
    with pytest.raises(InputError) as caught:
        evaluate(folder / "省级.yaml")
    message = str(caught.value)
    assert str(broken) in message and "应为非负整数" in message and "未提交" not in message
    broken.write_text("rubric: [未闭合\n", encoding="utf-8")  # cannot be read at all: still not 未提交
    with pytest.raises(InputError) as caught:
        evaluate(folder / "省级.yaml")
    assert str(broken) in str(caught.value)


def test_two_files_found_for_one_county_and_stage_are_refused(tmp_path):
    folder = _unlisted_province(tmp_path)
    shutil.copy(folder / "jia.yaml", folder / "第二批" / "jia-副本.yaml")
    with pytest.raises(InputError) as caught:
        evaluate(folder / "省级.yaml")
    message = str(caught.value)
    assert "是同一重点县“示例甲县”的同一评估阶段（自评）" in message and "jia-副本.yaml" in message


def test_an_empty_key_county_sheet_is_one_clear_message(tmp_path):
    import openpyxl

    from minesafe.files import read_prefill
    from minesafe.storage import write_workbook
    from minesafe.workbook import KEY_COUNTIES, build_workbook

    data, rubric = read_prefill(DEMO / "province.yaml")
    workbook = tmp_path / "省.xlsx"
    write_workbook(build_workbook(rubric, {**data, "key_counties": [], "counties": []}), workbook)
    with pytest.raises(InputError) as caught:
        evaluate(workbook)
    assert len(caught.value.problems) == 1
    assert f"工作表「{KEY_COUNTIES}」单元格 B2：「{KEY_COUNTIES}」工作表没有填写任何重点县名称" in str(caught.value)
    wb = openpyxl.load_workbook(workbook)
    del wb["重点县文件"]  # the county files sheet is optional: names find them
    wb.save(workbook)
    with pytest.raises(InputError, match="没有填写任何重点县名称"):
        evaluate(workbook)


@pytest.mark.parametrize(
    ("damage", "key"),
    [
        (lambda r: r.update(year="x"), "year"),
        (lambda r: r.pop("year"), "year"),
        (lambda r: r.update(counties=5), "counties"),
        (lambda r: r.update(items=[1]), "items"),
        (lambda r: r.update(provenance={"inputs": [{"role": "提交文件", "path": "a.yaml"}]}), "provenance"),
    ],
)
def test_a_result_json_edited_by_hand_is_an_input_error_naming_its_key(tmp_path, damage, key):
    """load_results, the batch's summary and lists --results read a result.json as it is: one
    edited by hand (a year that is no number, counties that are no mapping) was a KeyError or
    AttributeError; it is an input error naming the file and the key."""
    result = result_to_dict(evaluate(DEMO / "counties" / "jia.yaml"))
    damage(result)
    (tmp_path / "县").mkdir()
    (tmp_path / "县" / "result.json").write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(InputError) as refused:
        minesafe.load_results(tmp_path)
    (line,) = refused.value.lines
    assert line.startswith(f"键 {key}：评估结果文件") and "请重新运行批量评估" in line, line
