"""The on-site verification record (现场抽查核实) of a 核查 and each row's evidence (佐证材料)."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
import yaml

from minesafe import documents, report
from minesafe.evaluation import evaluate_county
from minesafe.exceptions import InputError
from minesafe.provenance import read_provenance
from minesafe.rendering import tabulate_records
from minesafe.results import evaluate, evaluate_unit, find_input_files
from minesafe.submission import build_county_submission
from minesafe.verification import EVIDENCE_FOLDER, parse_date
from tests.conftest import DEMO

SOUTH = DEMO / "south" / "counties"


def _load(name: str) -> dict:
    return yaml.safe_load((SOUTH / name).read_text(encoding="utf-8"))


@pytest.fixture
def verified() -> dict:
    """示例南甲县's 核查 with its record and evidence (the demo's)."""
    return _load("nanjia-verified.yaml")


@pytest.fixture
def county_folder(tmp_path: Path) -> Path:
    """A county's folder as it arrives: its 自评, the province's 核查 and the evidence subfolder."""
    folder = tmp_path / "示例南甲县"
    folder.mkdir()
    shutil.copy(SOUTH / "nanjia.yaml", folder / "自评.yaml")
    shutil.copy(SOUTH / "nanjia-verified.yaml", folder / "核查.yaml")
    shutil.copytree(SOUTH / EVIDENCE_FOLDER, folder / EVIDENCE_FOLDER)
    return folder


def _flags(result) -> list[str]:
    return [r.text for r in result.reasons if r.kind == "flag"]


def _problems(data: dict, rubric) -> str:
    with pytest.raises(InputError) as caught:
        build_county_submission(data, rubric, "核查.yaml")
    return str(caught.value)


def test_the_demo_verification_record_is_read(county_rubric, verified):
    result = evaluate(SOUTH / "nanjia-verified.yaml")
    record = result.verification
    assert record is not None
    assert [m.name for m in record.group] == ["王示例", "李示例", "赵示例"]
    assert record.dates == "2023-02-13至2023-02-15"
    assert [m.name for m in record.mines] == ["示例南甲县一号铁矿", "示例南甲县二号金矿", "示例南甲县三号尾矿库"]
    assert record.mines[0].findings.startswith("1名特种作业人员未持证上岗")
    assert set(record.opinions) == {"3-4c", "3-7a", "4-4a"}
    assert not any("现场抽查核实的矿山" in f for f in _flags(result))


def test_a_check_without_any_mine_checked_on_site_is_a_notice_not_a_verdict(county_rubric, verified):
    with_record = evaluate_county(build_county_submission(verified, county_rubric), county_rubric)
    for record in (None, {"group": [{"name": "王示例"}], "start": "2023-02-13"}):
        data = copy.deepcopy(verified)
        data.pop("verification")
        if record:
            data["verification"] = record
        result = evaluate_county(build_county_submission(data, county_rubric), county_rubric)
        assert any(
            "核查未记录现场抽查核实的矿山" in f and "到现场进行抽查核实" in f and "请在核查记录的现场抽查中写明" in f
            for f in _flags(result)
        )
        assert result.passed is with_record.passed and result.score == with_record.score
    for stage in ("自评", "认定"):  # only the 核查 goes on site (认定 is the national review)
        data = copy.deepcopy(verified) | {"stage": stage}
        data.pop("verification")
        result = evaluate_county(build_county_submission(data, county_rubric), county_rubric)
        assert not any("现场抽查核实的矿山" in f for f in _flags(result))


def test_a_mine_checked_twice_is_an_input_error(county_rubric, verified):
    mines = verified["verification"]["mines"]
    mines.append(dict(mines[0], date="2023-02-15"))
    message = _problems(verified, county_rubric)
    assert "键 verification.mines[3].name" in message
    assert "矿山“示例南甲县一号铁矿”在现场抽查中记录了两次（第 1 项已有）" in message


@pytest.mark.parametrize(
    ("first", "written"),
    [(0, "示例南甲县一号铁矿\u200b"), (0, "\ufeff示例南甲县一号铁矿"), (1, "示例南甲县二号\uf90a矿")],  # U+F90A: 金
)
def test_a_mine_written_with_invisible_or_look_alike_characters_is_the_same_mine(county_rubric, verified, first, written):
    mines = verified["verification"]["mines"]
    mines.append(dict(mines[first], name=written, date="2023-02-15"))
    message = _problems(verified, county_rubric)
    name = mines[first]["name"]
    assert f"键 verification.mines[3].name：矿山“{name}”在现场抽查中记录了两次（第 {first + 1} 项已有）" in message
    assert "名称比较时不计不可见字符" in message and "<U+" in message  # the name as written, made visible


def test_a_mine_name_of_invisible_characters_only_is_an_input_error(county_rubric, verified):
    verified["verification"]["mines"][0]["name"] = "\u200b\u200b"
    assert "键 verification.mines[0].name：现场抽查的矿山名称只含不可见字符" in _problems(verified, county_rubric)


@pytest.mark.parametrize(
    ("day", "accepted"),
    [("2022-12-31", False), ("2023-01-01", True), ("2023年12月31日", True), ("2024-01-01", False), ("2023-02-30", None)],
)
def test_every_date_lies_in_the_year_after_the_evaluated_one(county_rubric, verified, day, accepted):
    verified["verification"].pop("start")
    verified["verification"].pop("end")
    verified["verification"]["mines"][0]["date"] = day
    if accepted:
        build_county_submission(verified, county_rubric)
        return
    message = _problems(verified, county_rubric)
    assert "键 verification.mines[0].date" in message
    if accepted is None:
        assert "现场抽查日期写法有误" in message
    else:
        assert "现场抽查日期不在2022年度的评估期内" in message and "2023-01-01 至 2023-12-31" in message


def test_a_mine_checked_outside_the_verification_dates_is_an_input_error(county_rubric, verified):
    verified["verification"]["mines"][2]["date"] = "2023-02-16"
    message = _problems(verified, county_rubric)
    assert "键 verification.mines[2].date：现场抽查日期不在核查日期之内" in message
    assert "2023-02-13 至 2023-02-15" in message


def test_an_opinion_for_a_row_the_form_lacks_and_other_problems_are_all_reported(county_rubric, verified):
    verified["verification"]["opinions"]["9-9z"] = "没有这一行"
    verified["verification"]["end"] = "2023-02-01"
    verified["verification"]["group"][0].pop("name")
    message = _problems(verified, county_rubric)
    assert "键 verification.opinions.9-9z：核查意见所对应的行在评估表中没有" in message
    assert "键 verification.end：核查结束日期早于开始日期" in message
    assert "键 verification.group[0].name：缺少评估小组成员姓名" in message


def test_a_self_assessment_carries_no_verification_record(county_rubric, verified):
    verified["stage"] = "自评"
    assert "评估阶段为“自评”的文件不能含核查记录" in _problems(verified, county_rubric)


def test_the_submitted_date_is_read_and_checked(county_rubric, verified):
    assert build_county_submission(verified, county_rubric).header.submitted.isoformat() == "2023-02-24"
    verified["submitted"] = "上周"
    assert "键 submitted：提交日期写法有误" in _problems(verified, county_rubric)
    assert parse_date("2023/2/4").isoformat() == "2023-02-04"


def test_evidence_found_is_hashed_into_provenance_and_missing_evidence_is_a_notice(county_folder):
    unit = evaluate_unit([county_folder / "自评.yaml", county_folder / "核查.yaml"])
    found = [f for i in unit.deciding.items for f in i.supporting]
    assert len(found) == 3 and all(f.sha256 and len(f.sha256) == 64 for f in found)
    evidence = [i for i in read_provenance(unit, None)["inputs"] if i["role"] == "佐证材料"]
    assert [Path(i["path"]).name for i in evidence] == [Path(f.file).name for f in found]
    assert not any("找不到" in f for f in _flags(unit.deciding))
    province = evaluate_unit([DEMO / "south" / "province.yaml"])  # a province's appendix names its counties' evidence too
    county_evidence = [i for i in read_provenance(province, None)["inputs"] if i["role"] == "佐证材料"]
    assert {i["unit"] for i in county_evidence} == {"示例南甲县"} and len(county_evidence) == 3
    (county_folder / found[1].file).unlink()
    result = evaluate(county_folder / "核查.yaml")
    assert f"所列佐证材料找不到：4-4a 行的 {found[1].file}（相对于提交文件所在文件夹）。" in _flags(result)
    assert result.passed is unit.passed


def test_evidence_outside_the_submission_folder_is_refused(county_rubric, verified):
    verified["items"]["1-1a"]["evidence"] = ["../别处/台账.pdf", "/etc/passwd", {"file": "", "description": "空"}]
    message = _problems(verified, county_rubric)
    assert message.count("佐证材料须在提交文件所在的文件夹之内") == 2
    assert "键 items.1-1a.evidence[2].file：佐证材料文件名写法有误" in message


def test_a_veto_row_passed_without_evidence_at_a_check_is_a_notice(county_rubric, verified):
    result = evaluate_county(build_county_submission(verified, county_rubric), county_rubric)
    notice = next(f for f in _flags(result) if "未列佐证材料" in f)
    assert "1-1b" in notice and "1-1a" not in notice  # 1-1a lists its evidence
    assert notice.endswith("但未列佐证材料，请列出各该行所依据的材料。")  # no YAML key: a reviewer reads it
    veto = [row.id for row in county_rubric.rows if row.category.key == "veto"]
    for row_id in veto:
        entry = verified["items"][row_id]
        verified["items"][row_id] = (entry if isinstance(entry, dict) else {"result": entry}) | {"evidence": [f"{row_id}.pdf"]}
    result = evaluate_county(build_county_submission(verified, county_rubric), county_rubric)
    assert not any("未列佐证材料" in f for f in _flags(result))
    verified["stage"] = "自评"
    verified.pop("verification")
    for row_id in veto:
        verified["items"][row_id].pop("evidence")
    result = evaluate_county(build_county_submission(verified, county_rubric), county_rubric)
    assert not any("未列佐证材料" in f for f in _flags(result))  # the county's own 自评: no notice


def test_a_county_folder_is_handed_to_the_batch_as_it_is(county_folder):
    (county_folder / EVIDENCE_FOLDER / "统计表.xlsx").write_bytes(b"not a submission")
    (county_folder / EVIDENCE_FOLDER / "会议纪要.yaml").write_text("只是佐证材料\n", encoding="utf-8")
    assert [p.name for p in find_input_files([county_folder.parent])] == ["核查.yaml", "自评.yaml"]


def test_the_report_and_the_document_show_the_record_and_the_group_opinion(county_folder):
    loaded = report.load_report(county_folder / "自评.yaml", verification=county_folder / "核查.yaml")
    text = report.render_verification(loaded).text
    assert "现场抽查核实记录（核查）：核查日期 2023-02-13至2023-02-15，评估小组 3 人，现场抽查矿山 3 座，核查意见 3 条。" in text
    assert (
        "现场抽查核实（3 座矿山）：示例南甲县三号尾矿库，2023-02-15，尾矿库在线监测系统运行，在线监测正常运行，与填报一致" in text
    )
    assert (
        "核查所列佐证材料（3 份）：4-4a，完成，佐证材料/示例南甲县-尾矿库在线监测记录.txt，三号尾矿库在线监测运行记录（现场抽查），已找到"
        in text
    )
    comparison = report.render_stage_comparison(loaded).text
    assert "自评 完成，核查 未完成；核查意见：现场抽查2座矿山，各有1名特种作业人员未持证上岗" in comparison
    words = "\n".join(
        cell.text
        for table in documents.build_document(loaded.unit, loaded.provenance).tables
        for row in table.rows
        for cell in row.cells
    )
    assert "示例南甲县二号金矿" in words and "王示例" in words and "佐证材料/示例南甲县-矿权设置台账.txt" in words
    assert "自评“完成”不成立，改为未完成" in words


def test_the_record_tables_count_their_rows_in_words(county_folder):
    """评估小组（3 人）, not 评估小组（3）: each table's title says what it counts."""
    result = evaluate(county_folder / "核查.yaml")
    assert [title for title, _, _ in tabulate_records(result)] == [
        "评估小组（3 人）",
        "现场抽查核实（3 座矿山）",
        "核查意见（3 条）",
        "核查所列佐证材料（3 份）",
    ]


def test_the_evidence_count_says_when_a_file_serves_two_rows_or_is_missing(county_folder):
    data = yaml.safe_load((county_folder / "核查.yaml").read_text(encoding="utf-8"))
    shared = "佐证材料/示例南甲县-矿权设置台账.txt"
    data["items"]["1-1b"] = (data["items"]["1-1b"] if isinstance(data["items"]["1-1b"], dict) else {"result": "完成"}) | {
        "evidence": [shared, "佐证材料/没有这个文件.pdf"]
    }
    changed = county_folder / "核查-改.yaml"
    changed.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    titles = [title for title, _, _ in tabulate_records(evaluate(changed))]
    assert titles[-1] == "核查所列佐证材料（4 份，列于 4 行，其中 1 份找不到）"
    data["items"]["1-1b"]["evidence"] = [shared]
    changed.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert [title for title, _, _ in tabulate_records(evaluate(changed))][-1] == "核查所列佐证材料（3 份，列于 4 行）"


def test_a_report_without_a_record_says_so():
    loaded = report.load_report(SOUTH / "nanyi.yaml")
    assert report.render_verification(loaded).text == "提交文件未附核查记录（现场抽查核实），各行未列佐证材料。"  # no YAML key


def test_a_check_workbook_carries_its_record_and_evidence(county_folder):
    import openpyxl

    from minesafe.files import read_prefill
    from minesafe.storage import write_workbook
    from minesafe.workbook import MINES, OPINIONS, build_workbook

    data, rubric = read_prefill(county_folder / "核查.yaml")
    workbook = county_folder / "核查.xlsx"
    write_workbook(build_workbook(rubric, data), workbook)
    from_yaml, from_workbook = evaluate(county_folder / "核查.yaml"), evaluate(workbook)
    assert from_workbook.verification == from_yaml.verification
    assert [i.supporting for i in from_workbook.items] == [i.supporting for i in from_yaml.items]
    assert from_workbook.reasons == from_yaml.reasons
    wb = openpyxl.load_workbook(workbook)
    for column, value in enumerate([4, "示例南甲县一号铁矿", "2023-02-15", "复查", "无"], start=1):
        wb[MINES].cell(5, column, value)
    for column, value in enumerate(["9-9z", "没有这一行"], start=1):
        wb[OPINIONS].cell(5, column, value)
    wb.save(workbook)
    with pytest.raises(InputError) as caught:
        evaluate(workbook)
    message = str(caught.value)
    assert f"工作表「{MINES}」单元格 B5：矿山“示例南甲县一号铁矿”在现场抽查中记录了两次" in message
    assert f"工作表「{OPINIONS}」单元格 A5：核查意见所对应的行在评估表中没有" in message


def test_a_link_in_the_evidence_folder_to_a_file_elsewhere_is_not_evidence(county_folder):
    """A path with .. is refused on reading, but a link inside 佐证材料 led outside the folder all the
    same: /etc/passwd was hashed into provenance as the row's evidence. It is not found there."""
    data = yaml.safe_load((county_folder / "核查.yaml").read_text(encoding="utf-8"))
    listed = data["items"]["1-1a"]["evidence"][0]["file"]
    (county_folder / listed).unlink()
    (county_folder / listed).symlink_to("/etc/passwd")
    (county_folder / EVIDENCE_FOLDER / "loop").symlink_to(county_folder / EVIDENCE_FOLDER / "loop")
    data["items"]["1-2a"]["evidence"] = [f"{EVIDENCE_FOLDER}/loop"]
    (county_folder / "核查.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    unit = evaluate_unit([county_folder / "核查.yaml"])
    assert f"所列佐证材料找不到：1-1a 行的 {listed}、1-2a 行的 {EVIDENCE_FOLDER}/loop（相对于提交文件所在文件夹）。" in _flags(
        unit.deciding
    )
    hashed = [Path(i["path"]).name for i in read_provenance(unit, None)["inputs"] if i["role"] == "佐证材料"]
    assert Path(listed).name not in hashed and len(hashed) == 2


def test_evidence_written_with_windows_separators_is_found(county_folder):
    """A county on Windows writes 佐证材料\\台账.txt: the file is there, but on Linux or macOS it was
    "找不到" (and not hashed into provenance)."""
    data = yaml.safe_load((county_folder / "核查.yaml").read_text(encoding="utf-8"))
    listed = data["items"]["1-1a"]["evidence"][0]["file"]
    data["items"]["1-1a"]["evidence"][0]["file"] = listed.replace("/", "\\")
    (county_folder / "核查.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    unit = evaluate_unit([county_folder / "核查.yaml"])
    assert not any("找不到" in f for f in _flags(unit.deciding))
    assert len([i for i in read_provenance(unit, None)["inputs"] if i["role"] == "佐证材料"]) == 3
