"""Dynamic list management on constructed histories: coal exits are proposals, non-coal lists follow
the non-coal plan, the three-year rule."""

import json
from pathlib import Path

import openpyxl
import pytest

from minesafe.cli import main
from minesafe.exceptions import InputError
from minesafe.lists import (
    ADD,
    COAL_EXIT_CONDITION,
    EXIT,
    EXIT_PROPOSED,
    NONCOAL_COUNTY_PRINCIPLES,
    NONCOAL_PROVINCE_CRITERIA,
    PENDING_CHECK,
    STAY,
    apply_results,
    build_history,
    build_proposal_workbook,
    history_from_list,
    propose_next_list,
)
from minesafe.rubric import VERIFIED_STAGES

from .conftest import DEMO, REFERENCE, ROOT
from .test_rubric import _normalise


def _propose(kind, units, year=2025):
    proposals = propose_next_list(build_history({"kind": kind, "year": year, "units": units}))
    return {p.unit: p for p in proposals}


def test_exits_stays_and_additions():
    p = _propose(
        "coal-county",
        {
            "合格县": {"listed": [2025], "result": "合格", "stage": "认定"},
            "不合格县": {"listed": [2025], "result": "不合格"},
            "未评估县": {"listed": [2025]},
            "事故县": {"listed": [], "larger_accidents": 2},
            "认定县": {"listed": [], "province_flag": "灾害重"},
            "提名县": {"listed": [], "nomination": "省级提名"},
            "无关县": {"listed": []},
            "合格但有事故县": {"listed": [2025], "result": "合格", "stage": "认定", "larger_accidents": 1},
        },
    )
    assert p["合格县"].action == EXIT_PROPOSED  # "可调出": a proposal, never a firm 调出
    assert COAL_EXIT_CONDITION in p["合格县"].reasons[0] and "由国家矿山安全监察局认定" in p["合格县"].reasons[0]
    assert p["不合格县"].action == STAY
    assert p["未评估县"].action == STAY and "缺少2025年度评估结果" in p["未评估县"].reasons[-1]
    assert p["事故县"].action == ADD and "较大及以上事故 2 起" in p["事故县"].reasons[0]
    assert p["认定县"].action == ADD and p["提名县"].action == ADD
    assert p["无关县"].action == ""
    assert p["合格但有事故县"].action == STAY


def test_three_consecutive_years_flag_stationed_supervision():
    p = _propose(
        "coal-enterprise",
        {
            "第三年": {"listed": [2024, 2025], "result": "不合格"},
            "第四年": {"listed": [2023, 2024, 2025], "result": "不合格"},
            "中断过": {"listed": [2023, 2025], "result": "不合格"},
            "调出的": {"listed": [2023, 2024, 2025], "result": "合格", "stage": "核查"},
            "重新增补": {"listed": [2023, 2024], "larger_accidents": 1},
        },
    )
    assert (p["第三年"].consecutive_years, p["第三年"].stationed_supervision) == (3, True)
    assert p["第四年"].stationed_supervision and "连续第 4 年" in p["第四年"].reasons[-1]
    assert (p["中断过"].consecutive_years, p["中断过"].stationed_supervision) == (2, False)
    assert not p["调出的"].stationed_supervision  # leaves the list
    assert (p["重新增补"].consecutive_years, p["重新增补"].stationed_supervision) == (1, False)  # 2025 broke the run
    # how long each has been on the list up to 2025, whatever next year brings
    assert {name: q.years_listed for name, q in p.items()} == {"第三年": 2, "第四年": 3, "中断过": 1, "调出的": 3, "重新增补": 0}


@pytest.mark.skipif(not REFERENCE.exists(), reason="the reference text (../shared/reference) is not beside this checkout")
def test_quoted_criteria_are_the_references_words():
    text = _normalise(REFERENCE.read_text(encoding="utf-8"))
    for quoted in (COAL_EXIT_CONDITION, NONCOAL_PROVINCE_CRITERIA, *NONCOAL_COUNTY_PRINCIPLES.values()):
        assert _normalise(quoted) in text, quoted


def test_non_coal_lists_follow_the_non_coal_plan():
    p = _propose(
        "noncoal-county",
        {
            "合格县": {"listed": [2025], "result": "合格", "stage": "核查"},
            "不合格县": {"listed": [2025], "result": "不合格"},
            "原则县": {"listed": [], "principles": [3, 1]},
            "无关县": {"listed": []},
        },
    )
    assert p["合格县"].action == EXIT and "对完成目标任务的地区调出名单" in p["合格县"].reasons[0]
    assert p["不合格县"].action == STAY and "攻坚克难" in p["不合格县"].reasons[0]
    added = p["原则县"]
    assert added.action == ADD and "定期增补" in added.reasons[-1]
    assert [NONCOAL_COUNTY_PRINCIPLES[1] in added.reasons[0], NONCOAL_COUNTY_PRINCIPLES[3] in added.reasons[1]] == [True, True]
    assert p["无关县"].action == ""
    province = _propose("noncoal-province", {"某省": {"listed": [], "finding": "尾矿库数量多、事故多发"}})["某省"]
    assert province.action == ADD and NONCOAL_PROVINCE_CRITERIA in province.reasons[0]


@pytest.mark.parametrize(
    ("kind", "record", "message"),
    [
        ("noncoal-county", {"listed": [], "larger_accidents": 1}, "煤矿重点县、重点企业的纳入条件"),
        ("noncoal-province", {"listed": [], "nomination": "省级提名"}, "煤矿重点县、重点企业的纳入条件"),
        ("coal-county", {"listed": [], "principles": [1]}, "非煤矿山重点地区的选取原则"),
        ("noncoal-county", {"listed": [], "principles": [4]}, "重点县确定原则的编号写法有误"),
    ],
)
def test_criteria_of_the_other_plan_are_input_errors(kind, record, message):
    with pytest.raises(InputError, match=message):
        build_history({"kind": kind, "year": 2025, "units": {"某地": record}})


@pytest.mark.parametrize("kind", ["coal-county", "coal-enterprise", "noncoal-county", "noncoal-province"])
@pytest.mark.parametrize("stage", [None, "自评"])
def test_an_exit_is_proposed_on_a_checked_result_only(kind, stage):
    """A 合格 the unit gave itself (or of no stage) is 待核查: it stays until 核查 or 认定 confirms it."""
    record = {"listed": [2024, 2025], "result": "合格"} | ({"stage": stage} if stage else {})
    unit = _propose(kind, {"某地": record})["某地"]
    assert unit.action == PENDING_CHECK and unit.consecutive_years == 3
    assert "尚未经省级评估小组核查或国家认定" in unit.reasons[0] and (stage or "未注明评估阶段") in unit.reasons[0]
    for checked in VERIFIED_STAGES:
        assert _propose(kind, {"某地": record | {"stage": checked}})["某地"].action in (EXIT, EXIT_PROPOSED)


def test_a_pending_province_stays():
    unit = _propose("noncoal-province", {"某省": {"listed": [2025], "result": "待定", "stage": "认定"}})["某省"]
    assert unit.action == STAY and "评估结论待定" in unit.reasons[0]


@pytest.mark.parametrize("finding", [{"province_flag": "灾害重、管理弱、事故多"}, {"nomination": "省级认为应当作为重点"}])
def test_a_coal_unit_the_province_still_finds_weak_stays_though_it_passed(finding):
    """二(四): leaving needs "安全管理水平显著提升"; a province finding 管理弱 (or nominating it) says the opposite."""
    unit = _propose("coal-county", {"某县": {"listed": [2025], "result": "合格", "stage": "认定"} | finding})["某县"]
    assert unit.action == STAY
    assert next(iter(finding.values())) in unit.reasons[0] and "安全管理水平显著提升" in unit.reasons[-1]


def test_non_coal_lists_have_no_stationed_supervision():
    p = _propose("noncoal-county", {"县": {"listed": [2023, 2024, 2025], "result": "不合格"}})
    assert p["县"].action == STAY and not p["县"].stationed_supervision


def test_bad_history_reports_every_problem():
    with pytest.raises(InputError) as info:
        build_history(
            {"kind": "coal", "year": 2025, "units": {"甲": {"listed": [2026], "result": "良好", "larger_accidents": -1}}}
        )
    text = str(info.value)
    for place in ("键 kind", "键 units.甲.listed", "键 units.甲.result", "键 units.甲.larger_accidents"):
        assert place in text


def test_cli_writes_the_workbook(tmp_path, capsys):
    out = tmp_path / "名单建议.xlsx"
    assert main(["lists", str(DEMO / "lists" / "coal-county-history.yaml"), "--out", str(out)]) == 0
    assert "2026年名单建议：可调出 1 个，待核查 1 个，保留 5 个，增补 3 个" in capsys.readouterr().out
    sheet = openpyxl.load_workbook(out).active
    assert sheet.cell(2, 4).value == "建议"
    stationed = [sheet.cell(r, 1).value for r in range(3, sheet.max_row + 1) if sheet.cell(r, 7).value == "是"]
    assert stationed == ["示例县甲", "示例县丙"]
    assert main(["lists", str(DEMO / "lists" / "coal-county-history.yaml"), "--out", str(out)]) == 2  # never overwrites


def test_workbook_is_built_without_files():
    history = build_history(
        {"kind": "noncoal-province", "year": 2023, "units": {"河北": {"listed": [2023], "result": "合格", "stage": "认定"}}}
    )
    wb = build_proposal_workbook(history, propose_next_list(history))
    assert wb.active.cell(3, 4).value == EXIT


# --- lists from results, not retyped (issue 20 §6) ---------------------------------------------


def _reports(tmp_path, units: dict[str, tuple[str, str]]) -> Path:
    """A reports folder as a batch leaves it: one result.json per unit, each evaluated from a demo
    coal county's file renamed to a county of the 2023 national list (name -> (demo file, stage))."""
    import yaml as _yaml

    from minesafe.provenance import read_provenance
    from minesafe.rendering import result_to_dict
    from minesafe.results import evaluate_unit

    folder = tmp_path / "报告"
    for name, (demo, stage) in units.items():
        data = _yaml.safe_load((DEMO / "coal" / demo).read_text(encoding="utf-8")) | {"county": name, "stage": stage}
        data.pop("verification", None)
        source = tmp_path / f"{name}.yaml"
        source.write_text(_yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        unit = evaluate_unit([source])
        (folder / name).mkdir(parents=True)
        (folder / name / "result.json").write_text(
            json.dumps(result_to_dict(unit, read_provenance(unit, None)), ensure_ascii=False), encoding="utf-8"
        )
    return folder


def test_lists_from_a_reports_folder_rest_on_checked_results_of_the_shipped_list(tmp_path, monkeypatch):
    from minesafe.lists import name_bases
    from minesafe.results import read_list_history

    reports = _reports(
        tmp_path,
        {"阳城县": ("county-jia.yaml", "核查"), "沁源县": ("county-yi.yaml", "核查"), "平鲁区": ("county-jia.yaml", "自评")},
    )
    monkeypatch.chdir(tmp_path)  # the result files are named relative to the folder the run started in
    history, bases = read_list_history("", reports)
    assert history.kind == "coal-county" and history.year == 2023 and len(history.units) == 38
    proposals = {p.unit: p for p in name_bases(propose_next_list(history), bases)}
    yangcheng = proposals["阳城县"]
    assert yangcheng.action == "可调出" and yangcheng.reasons[0] == "依据2023年度核查结论合格（报告/阳城县/result.json）"
    assert proposals["沁源县"].action == "保留" and proposals["沁源县"].reasons[0].startswith("依据2023年度核查结论不合格")
    pinglu = proposals["平鲁区"]  # its 合格 is its own 自评: not taken, no exit
    assert pinglu.action == "保留" and "只有自评结论合格" in pinglu.reasons[0] and "不作为依据" in pinglu.reasons[0]
    assert "没有该单位2023年度的核查或认定结果" in proposals["临县"].reasons[0]


def test_lists_from_results_and_a_history_file(tmp_path, capsys):
    import yaml as _yaml

    history_file = tmp_path / "名单数据.yaml"
    history_file.write_text(
        _yaml.safe_dump(
            {"kind": "coal-county", "year": 2023, "units": {"阳城县": {"listed": [2022, 2023], "result": "不合格"}}},
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    reports = _reports(tmp_path, {"阳城县": ("county-jia.yaml", "认定")})
    assert main(["lists", str(history_file), "--results", str(reports)]) == 0
    printed = capsys.readouterr().out
    assert "阳城县 可调出" in printed
    assert main(["lists"]) == 2
    assert main(["lists", "--results", str(tmp_path / "无此文件夹")]) == 2


def test_a_list_run_is_remade_when_a_result_is_added_to_its_reports_folder(tmp_path):
    """The batch's reuse of a list run: a result.json added to (or removed from) its reports folder
    changes the proposal, so it changes the unit's key, as a changed result does."""
    import yaml as _yaml

    from minesafe.batch import job_outcome, plan_unit
    from minesafe.cache import OUTPUT_NAMES, cache_entry, reuse_unit
    from minesafe.provenance import file_sha256
    from minesafe.runs import build_run, declared_parameters
    from minesafe.summary import STATUS_OK

    history_file = tmp_path / "名单数据.yaml"
    history = {"kind": "coal-county", "year": 2023, "units": {"阳城县": {"listed": [2022, 2023]}, "沁源县": {"listed": [2023]}}}
    history_file.write_text(_yaml.safe_dump(history, allow_unicode=True), encoding="utf-8")
    reports = _reports(tmp_path, {"阳城县": ("county-jia.yaml", "核查")})
    parameters = {"history_file": str(history_file), "results": str(reports)}
    run = build_run(
        {"notebook": "list_management", "parameters": parameters}, tmp_path / "run.yaml", ROOT / "notebooks", declared_parameters
    )
    job = plan_unit(run, tmp_path / "out")
    job.folder.mkdir(parents=True)
    for name in OUTPUT_NAMES:
        (job.folder / name).write_text("{}", encoding="utf-8")
    entry = cache_entry(job, job_outcome(job, STATUS_OK, 0.0), {n: file_sha256(job.folder / n) for n in OUTPUT_NAMES})
    assert reuse_unit(run, entry) is not None
    _reports(tmp_path, {"沁源县": ("county-yi.yaml", "核查")})
    assert reuse_unit(run, entry) is None
    (reports / "沁源县" / "result.json").unlink()
    assert reuse_unit(run, entry) is not None


def _checked(name: str, verdict: str, stage: str = "核查", **extra) -> dict:
    """A result.json mapping of a 2023 coal county, as far as apply_results reads it."""
    return {"rubric": "coal-county", "year": 2023, "county": name, "stage": stage, "verdict": verdict} | extra


def test_a_result_under_a_non_national_rule_set_is_no_ground_for_an_exit():
    history = history_from_list("coal-county", 2023, ["阳城县"])
    loosened = _checked("阳城县", "合格", rule_set="某省试行口径")
    taken, bases = apply_results(history, [("报告/阳城县/result.json", loosened)])
    assert not taken.units[0].result and not taken.units[0].stage
    assert "非国家评估表口径" in bases["阳城县"] and "不作为依据" in bases["阳城县"], bases
    assert propose_next_list(taken)[0].action != EXIT


def test_two_results_of_one_unit_at_one_stage_that_disagree_are_refused():
    history = history_from_list("coal-county", 2023, ["阳城县"])
    results = [("旧/阳城县/result.json", _checked("阳城县", "合格")), ("新/阳城县/result.json", _checked("阳城县", "不合格"))]
    with pytest.raises(InputError) as caught:
        apply_results(history, results)
    text = str(caught.value)
    assert "阳城县有两个核查结果" in text and "旧/阳城县/result.json" in text and "新/阳城县/result.json" in text, text
    same = [("a/result.json", _checked("阳城县", "合格")), ("b/result.json", _checked("阳城县", "合格"))]
    assert apply_results(history, same)[0].units[0].result == "合格"  # the same result twice: no doubt
