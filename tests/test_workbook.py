"""The Excel fill-in workbook: template contents, YAML <-> Excel equivalence, errors with cells."""

import datetime as dt

import openpyxl
import pytest
import yaml

from minesafe.cli import main
from minesafe.exceptions import InputError
from minesafe.files import read_county_rubric
from minesafe.rendering import result_to_dict
from minesafe.results import evaluate
from minesafe.storage import write_workbook
from minesafe.submission import target_fields
from minesafe.workbook import EVIDENCE, FIELDS, GROUP, INFO, INSTRUCTIONS, ITEMS, MINES, OPINIONS, TARGETS, build_workbook

from .conftest import DEMO, TWO_YEARS_BEFORE

COUNTIES = sorted((DEMO / "counties").glob("*.yaml"))


@pytest.fixture
def template(tmp_path):
    path = tmp_path / "模板.xlsx"
    assert main(["template", "--out", str(path)]) == 0
    return path


def _row_of(ws, key, column=1):
    return next(r for r in range(2, ws.max_row + 1) if ws.cell(r, column).value == key)


def test_template_has_every_row_with_rule_texts_and_dropdowns(template, county_rubric):
    wb = openpyxl.load_workbook(template)
    assert wb.sheetnames == [INSTRUCTIONS, INFO, TARGETS, ITEMS, FIELDS, GROUP, MINES, OPINIONS, EVIDENCE]
    items = wb[ITEMS]
    assert [items.cell(r, 1).value for r in range(2, items.max_row + 1)] == [r.id for r in county_rubric.rows]
    first = county_rubric.rows[0]
    assert items.cell(2, 5).value == first.requirement and items.cell(2, 6).value == first.fill_in
    assert items.cell(2, 4).value == "■ 否决项"
    validations = {dv.formula1 for dv in items.data_validations.dataValidation}
    assert '"完成,未完成,不涉及"' in validations
    assert any("G2" in str(dv.sqref) for dv in items.data_validations.dataValidation)
    fields = wb[FIELDS]
    assert fields.max_row - 1 == sum(len(r.fields) for r in county_rubric.rows)
    assert "合格标准" in " ".join(str(c.value) for c in wb[INSTRUCTIONS]["A"])


def test_template_refuses_to_overwrite(template, capsys):
    before = template.read_bytes()
    assert main(["template", "--out", str(template)]) == 2
    assert "--force" in capsys.readouterr().err
    assert template.read_bytes() == before
    assert main(["template", "--out", str(template), "--force"]) == 0


@pytest.mark.parametrize("county", COUNTIES, ids=lambda p: p.stem)
def test_yaml_and_excel_evaluate_identically(county, tmp_path):
    """The same content as YAML and as a workbook written from it gives the same evaluation."""
    book = tmp_path / f"{county.stem}.xlsx"
    assert main(["template", "--from", str(county), "--out", str(book)]) == 0
    assert result_to_dict(evaluate(book)) == result_to_dict(evaluate(county))


def test_a_workbook_filled_by_hand_evaluates_like_yaml(template, county_data, tmp_path, county_rubric):
    """Fill the blank template cell by cell, as an evaluator would, with Excel's own value types."""
    wb = openpyxl.load_workbook(template)
    info = wb[INFO]
    for key in ("province", "county", "year"):
        info.cell(_row_of(info, key), 3).value = str(county_data[key]) if key == "year" else county_data[key]
    info.cell(_row_of(info, "demo"), 3).value = "是"
    if "submitted" in county_data:  # a date typed in Excel is a date cell: read back as its ISO text
        info.cell(_row_of(info, "submitted"), 3).value = dt.date.fromisoformat(str(county_data["submitted"]))
    targets = wb[TARGETS]
    for r in range(2, targets.max_row + 1):
        node = county_data["targets"]
        for part in targets.cell(r, 1).value.split("."):
            node = node[int(part)] if part.isdigit() else node[part]
        targets.cell(r, 6).value = float(node)  # Excel stores numbers as floats
    items, fields = wb[ITEMS], wb[FIELDS]
    for row_id, entry in county_data["items"].items():
        entry = {"result": entry} if isinstance(entry, str) else entry
        r = _row_of(items, row_id)
        items.cell(r, 7).value = entry.get("result")
        items.cell(r, 8).value = entry.get("note")
        for key, value in entry.items():
            if key not in ("result", "note"):
                fr = next(
                    x
                    for x in range(2, fields.max_row + 1)
                    if fields.cell(x, 1).value == row_id and fields.cell(x, 2).value == key
                )
                fields.cell(fr, 5).value = ("是" if value else "否") if isinstance(value, bool) else value
    book = tmp_path / "filled.xlsx"
    wb.save(book)
    yaml_path = tmp_path / "same.yaml"
    yaml_path.write_text(yaml.safe_dump(county_data, allow_unicode=True), encoding="utf-8")
    assert result_to_dict(evaluate(book)) == result_to_dict(evaluate(yaml_path))


def test_blank_template_is_refused_in_one_clear_line(template):
    with pytest.raises(InputError) as info:
        evaluate(template)
    (problem,) = info.value.problems
    assert "尚未填写" in problem.message


def test_half_filled_workbook_names_sheet_and_cell(template):
    wb = openpyxl.load_workbook(template)
    info = wb[INFO]
    info.cell(_row_of(info, "province"), 3).value = "示例省"
    info.cell(_row_of(info, "year"), 3).value = 2022
    targets = wb[TARGETS]
    targets.cell(_row_of(targets, "underground_mines.baseline"), 6).value = 60
    targets.cell(_row_of(targets, "underground_mines.current"), 6).value = -2
    items = wb[ITEMS]
    items.cell(_row_of(items, "1-1a"), 7).value = "完成了"
    wb.save(template)
    with pytest.raises(InputError) as info_:
        evaluate(template)
    text = str(info_.value)
    county_row = _row_of(info, "county")
    assert f"工作表「基本信息」单元格 C{county_row}：缺少县（市、区）名称" in text
    assert f"工作表「工作目标」单元格 F{_row_of(targets, 'underground_mines.current')}" in text and "当前值：-2" in text
    assert f"工作表「工作目标」单元格 F{_row_of(targets, 'tailings_ponds.baseline')}" in text
    assert f"工作表「重点任务」单元格 G{_row_of(items, '1-1a')}" in text and "“完成了”" in text
    assert f"工作表「重点任务」单元格 G{_row_of(items, '1-1b')}" in text
    assert len(info_.value.problems) > 60  # every missing row and target is listed, not just the first


def test_workbook_missing_a_sheet(template):
    wb = openpyxl.load_workbook(template)
    del wb[FIELDS]
    wb.save(template)
    with pytest.raises(InputError, match="缺少工作表「填报数量」"):
        evaluate(template)


def test_province_workbook_round_trip(tmp_path):
    province = DEMO / "province.yaml"
    book = tmp_path / "province.xlsx"
    assert main(["template", "--from", str(province), "--out", str(book)]) == 0
    for county in COUNTIES:  # county paths are relative to the workbook's folder
        (tmp_path / "counties").mkdir(exist_ok=True)
        (tmp_path / "counties" / county.name).write_bytes(county.read_bytes())
    assert result_to_dict(evaluate(book)) == result_to_dict(evaluate(province))
    sheet = openpyxl.load_workbook(book)["重点县名单"]
    names = [sheet.cell(r, 2).value for r in range(2, sheet.max_row + 1) if sheet.cell(r, 2).value]
    assert names == yaml.safe_load(province.read_text(encoding="utf-8"))["key_counties"]
    assert not sheet.cell(len(names) + 2, 2).protection.locked  # room to add a county


def test_build_workbook_is_pure(county_rubric, tmp_path):
    wb = build_workbook(county_rubric)
    path = tmp_path / "a.xlsx"
    write_workbook(wb, path)
    assert path.exists() and not list(tmp_path.glob(".*.tmp"))


def test_values_are_put_and_found_by_the_same_paths(county_rubric):
    from minesafe.submission import put_value, value_at

    tree: dict = {}
    for i, field in enumerate(target_fields(county_rubric)):
        put_value(tree, field.path, i)
    assert [value_at(tree, f.path) for f in target_fields(county_rubric)] == list(range(len(target_fields(county_rubric))))
    put_value(tree, ("x", 2), "z")
    assert tree["x"] == [None, None, "z"]
    assert value_at(tree, ("x", 5), None) is None and value_at({"d": "12345"}, ("d", 0), None) is None
    with pytest.raises(KeyError):
        value_at(tree, ("nope",))


def _cells(ws) -> list[str]:
    return [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]


def test_template_labels_name_the_baseline_year_of_the_reading(wu_in_2026):
    """Under two-years-before a workbook pre-filled for 2026 names 2024 in its target names and
    labels; a blank one, whose year is not known yet, says 评估年度前2年. Never the table's 2020."""
    rubric = read_county_rubric("noncoal-county", TWO_YEARS_BEFORE)
    filled = build_workbook(rubric, yaml.safe_load(wu_in_2026.read_text(encoding="utf-8")))
    targets = filled[TARGETS]
    row = _row_of(targets, "underground_mines.baseline")
    assert (targets.cell(row, 3).value, targets.cell(row, 5).value) == (
        "地下矿山数量比2024年下降比例",
        "2024年非煤地下矿山数量（座）",
    )
    blank = build_workbook(rubric)
    row = _row_of(blank[TARGETS], "large_medium_mines.baseline")
    assert blank[TARGETS].cell(row, 3).value == "大中型矿山占比评估年度前2年提高"
    assert blank[TARGETS].cell(row, 5).value == "评估年度前2年大中型非煤矿山数量（座）"
    assert any("基准年为评估年度前2年" in text for text in _cells(blank[INSTRUCTIONS]))
    for wb in (filled, blank):
        assert not [text for ws in wb.worksheets for text in _cells(ws) if "2020" in text]


def test_the_reports_own_words_go_through_the_workbook(tmp_path):
    """narrative.* rows of 基本信息: filled from a submission, read back exactly as written (free text)."""
    data = yaml.safe_load((DEMO / "counties" / "yi.yaml").read_text(encoding="utf-8"))
    data["narrative"] = {"work": "  全年检查 120 次。\n关闭矿山 3 座。", "measures": "年底前淘汰。"}
    source = tmp_path / "yi.yaml"
    source.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    book = tmp_path / "yi.xlsx"
    assert main(["template", "--from", str(source), "--out", str(book)]) == 0
    info = openpyxl.load_workbook(book)[INFO]
    keys = [info.cell(r, 1).value for r in range(1, info.max_row + 1)]
    assert {"narrative.work", "narrative.problems", "narrative.measures"} <= set(keys)
    result = evaluate(book)
    assert result.header.narrative == {"work": "全年检查 120 次。\n关闭矿山 3 座。", "measures": "年底前淘汰。"}
