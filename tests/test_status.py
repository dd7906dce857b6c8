"""Who has reported, by when: ``minesafe status`` over a season folder."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import openpyxl
import pytest
import yaml

from minesafe.cli import main
from minesafe.exceptions import InputError, ProblemCollector
from minesafe.season import Calendar, Expected, Filing, build_calendar, count_states, tabulate_status
from minesafe.status import collect_status, read_calendar, read_expected
from tests.conftest import DEMO

MARCH_10 = dt.date(2023, 3, 10)


def _write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def season(tmp_path: Path) -> Path:
    """示例南省's season: the province names 3 key counties; 南甲县 filed its 自评 and the province's
    核查 (in time), 南乙县 only its 自评, 南丙县 nothing, and a county file that is invalid."""
    folder = tmp_path / "收件"
    folder.mkdir()
    province = yaml.safe_load((DEMO / "south" / "province.yaml").read_text(encoding="utf-8"))
    province["key_counties"] = ["示例南甲县", "示例南乙县", "示例南丙县", "示例南丁县"]
    _write(folder / "省.yaml", province)
    for name in ("nanjia.yaml", "nanjia-verified.yaml", "nanyi.yaml"):
        shutil.copy(DEMO / "south" / "counties" / name, folder / name)
    shutil.copytree(DEMO / "south" / "counties" / "佐证材料", folder / "佐证材料")
    broken = yaml.safe_load((DEMO / "south" / "counties" / "nanyi.yaml").read_text(encoding="utf-8"))
    broken |= {"county": "示例南丁县", "submitted": "2023-02-27"}
    broken["targets"]["underground_mines"]["current"] = -3
    _write(folder / "nanding.yaml", broken)
    return folder


def _row(rows, unit: str):
    return next(r for r in rows if r.unit == unit)


def test_every_expected_unit_has_its_stages_dates_and_state(season):
    rows, unreadable = collect_status(season, today=MARCH_10)
    assert unreadable == []
    assert [r.unit for r in rows] == ["示例南省", "示例南丙县", "示例南丁县", "示例南乙县", "示例南甲县"]
    jia = _row(rows, "示例南甲县")
    assert (jia.state, jia.missing, jia.late) == ("已核查", (), ())
    assert jia.filed["核查"].day == dt.date(2023, 2, 24) and not jia.filed["核查"].dated_by_file
    yi = _row(rows, "示例南乙县")
    assert yi.state == "待核查" and yi.missing == ("核查",) and yi.late == ("核查逾期未交（期限 2023-03-01）",)
    bing = _row(rows, "示例南丙县")
    assert bing.state == "逾期未交" and bing.missing == ("自评", "核查") and "不合格" not in bing.note
    ding = _row(rows, "示例南丁县")
    assert ding.state == "文件有误" and "自评文件有 1 处问题" in ding.note
    assert count_states(rows)["逾期"] == 3


def test_nothing_is_late_on_the_deadline_itself(season):
    on_the_day = {r.unit: r for r in collect_status(season, today=dt.date(2023, 3, 1))[0]}
    assert on_the_day["示例南丙县"].state == "待提交" and on_the_day["示例南乙县"].late == ()
    calendar = Calendar({"核查": (3, 1)})
    filing = Filing("重点县", "省", "县", 2022, "核查", dt.date(2023, 3, 1), False, "x.yaml")
    (row,) = tabulate_status([Expected("重点县", "省", "县", "名单")], [filing], calendar, MARCH_10)
    assert row.late == () and row.state == "已核查"
    late = Filing("重点县", "省", "县", 2022, "核查", dt.date(2023, 3, 2), False, "x.yaml")
    (row,) = tabulate_status([Expected("重点县", "省", "县", "名单")], [late], calendar, MARCH_10)
    assert row.late == ("核查逾期提交（2023-03-02，期限 2023-03-01）",)


def test_a_file_without_a_submitted_date_is_dated_by_the_file(season):
    data = yaml.safe_load((season / "nanyi.yaml").read_text(encoding="utf-8"))
    data.pop("submitted")
    _write(season / "nanyi.yaml", data)
    stamp = dt.datetime(2023, 2, 9, 10).timestamp()
    import os

    os.utime(season / "nanyi.yaml", (stamp, stamp))
    yi = _row(collect_status(season, today=MARCH_10)[0], "示例南乙县")
    assert yi.filed["自评"].day == dt.date(2023, 2, 9) and yi.filed["自评"].dated_by_file


def test_a_calendar_sets_other_dates_and_its_mistakes_are_located(tmp_path, season):
    calendar_file = _write(
        tmp_path / "日程.yaml",
        {"season": {"source": "省通知", "deadlines": {"自评": "02-01"}, "years": {2022: {"核查": "2023-02-20"}}}},
    )
    calendar = read_calendar(calendar_file)
    assert calendar.due("自评", 2022) == dt.date(2023, 2, 1) and calendar.due("核查", 2022) == dt.date(2023, 2, 20)
    assert calendar.due("核查", 2023) is None  # not the default's: a calendar given is the whole calendar
    rows = collect_status(season, calendar=calendar, today=MARCH_10)[0]
    assert "核查逾期提交（2023-02-24，期限 2023-02-20）" in _row(rows, "示例南甲县").late
    assert "自评逾期提交（2023-02-08，期限 2023-02-01）" in _row(rows, "示例南乙县").late
    problems = ProblemCollector()
    build_calendar({"deadlines": {"自评": "二月初", "复核": "03-01"}, "years": {2022: {"核查": "2022-03-01"}}}, problems)
    shown = [(p.path, p.message) for p in problems.problems]
    assert (("season", "deadlines", "自评"), "期限应为月-日") in shown
    assert (("season", "deadlines", "复核"), "评估阶段写法有误") in shown
    assert (("season", "years", "2022", "核查"), "期限写法有误") in shown
    problems = ProblemCollector()  # 29 February as a yearly deadline: most years have none (was a traceback)
    build_calendar({"deadlines": {"核查": "02-29"}}, problems)
    assert [(p.path, p.value) for p in problems.problems] == [(("season", "deadlines", "核查"), "02-29")]
    assert "2月29日" in problems.problems[0].message
    assert read_calendar().due("核查", 2022) == dt.date(2023, 3, 1)  # the shipped calendar: the notice's date


def test_expected_units_from_a_shipped_list_or_a_list_file(tmp_path, season):
    coal = read_expected("煤矿重点县2023")
    assert len(coal) == 38 and coal[0].kind == "煤矿重点县"
    listed = tmp_path / "名单.csv"
    listed.write_text("province,county\n示例南省,示例南甲县\n示例南省,示例南戊县\n", encoding="utf-8")
    rows = collect_status(season, str(listed), today=MARCH_10)[0]
    assert _row(rows, "示例南戊县").state == "逾期未交"
    assert "不在应报名单中" in _row(rows, "示例南乙县").note and "不在应报名单中" not in _row(rows, "示例南甲县").note
    (tmp_path / "坏.csv").write_text("省,县\n", encoding="utf-8")
    with pytest.raises(InputError, match="名单文件缺少列"):
        read_expected(str(tmp_path / "坏.csv"))


def test_the_command_prints_and_writes_a_safe_workbook(tmp_path, season, capsys):
    evil = yaml.safe_load((season / "nanyi.yaml").read_text(encoding="utf-8")) | {"county": '=HYPERLINK("http://x")'}
    _write(season / "evil.yaml", evil)
    out = tmp_path / "status.xlsx"
    assert main(["status", str(season), "--today", "2023-03-10", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "2022  示例南省  示例南丙县  重点县  —  —  —  0  逾期未交" in printed
    assert "期限依据：矿安〔2023〕9号" in printed
    wb = openpyxl.load_workbook(out)
    cells = [c for row in wb["报送情况"].iter_rows() for c in row]
    evil_cell = next(c for c in cells if str(c.value).startswith("=HYPERLINK"))
    assert evil_cell.data_type == "s"
    assert {r[0].value: r[1].value for r in wb["统计"].iter_rows(min_row=2)}["逾期未交"] == 1
    assert main(["status", str(season / "nothing"), "--out", str(out)]) == 2
    with pytest.raises(SystemExit) as refused:
        main(["status", str(season), "--today", "三月", "--out", str(out)])
    assert refused.value.code == 2 and "日期写法有误：三月" in capsys.readouterr().err


def test_a_file_whose_year_is_a_typo_or_unread_is_shown_with_no_deadline(season):
    """year: 9999 (a typo) made the deadline of 10000-03-01 a ValueError that ended minesafe status;
    a year that cannot be read (abc) was held to the deadline of 0001-03-01. Both files are shown as
    they are (文件有误), with no deadline and nothing late."""
    for name, year in (("typo.yaml", 9999), ("unread.yaml", "abc")):
        data = yaml.safe_load((season / "nanyi.yaml").read_text(encoding="utf-8"))
        _write(season / name, data | {"county": f"示例{name}", "year": year})
    rows = collect_status(season, today=MARCH_10)[0]
    for unit in ("示例typo.yaml", "示例unread.yaml"):
        row = _row(rows, unit)
        assert row.state == "文件有误" and not row.late, row


@pytest.mark.parametrize(
    "damage",
    [
        lambda r: r.update(year="x"),
        lambda r: r.pop("year"),
        lambda r: r.update(versions="many"),
        lambda r: r.update(provenance=[1]),
        lambda r: r["provenance"].update(inputs="abc"),
        lambda r: [entry.pop("stage") for entry in r["provenance"]["inputs"]],
        lambda r: r.update(counties=5),
    ],
)
def test_a_result_json_edited_by_hand_is_named_not_a_traceback(tmp_path, season, damage):
    """A batch's result.json edited or damaged (a year that is no number, provenance that is no
    mapping, an entry without its stage) ended minesafe status with a traceback; it is listed
    among the files not counted, and the others are tabulated."""
    import json

    from minesafe.provenance import read_provenance
    from minesafe.rendering import result_to_dict
    from minesafe.results import evaluate_unit

    unit = evaluate_unit([season / "nanjia.yaml", season / "nanjia-verified.yaml"])
    result = result_to_dict(unit, read_provenance(unit, None))
    damage(result)
    reports = tmp_path / "报告" / "示例南甲县"
    reports.mkdir(parents=True)
    (reports / "result.json").write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
    shutil.copy(season / "nanyi.yaml", tmp_path / "报告" / "nanyi.yaml")
    rows, unreadable = collect_status(tmp_path / "报告", today=MARCH_10)
    assert [line.split("：", 1)[1] for line in unreadable] == ["评估结果文件内容不完整或已被改动（请重新运行批量评估）"]
    assert [r.unit for r in rows] == ["示例南乙县"]
