"""自评 beside 核查: every difference, and whether it alone changes the verdict."""

import copy
import json
import shutil
from pathlib import Path

import pytest
import yaml

from minesafe.cli import main
from minesafe.evaluation import decide_stages, evaluate_county
from minesafe.exceptions import InputError
from minesafe.files import read_county_rubric
from minesafe.parsing import read_document
from minesafe.report import load_report, render_stage_comparison, render_verdict
from minesafe.stages import compare_stages
from minesafe.submission import build_county_submission

from .conftest import DATA, DEMO, ROOT

COAL = DEMO / "coal"
PROFILE = ROOT / "params" / "profiles" / "wuhai-2023.yaml"
#: One coal county at its three stages: 自评 合格 100, 核查 不合格 90 (veto 2-1c and 2-2a), 认定 不合格 100
#: (2-2a found met again, 2-1c still failed): the 认定 decides.
THREE = DATA / "three_stages"
THREE_FILES = sorted(THREE.glob("*.yaml"))


def _data(name):
    return read_document(COAL / name)[0]


def test_demo_verification_differs_in_two_rows_one_decisive():
    rubric = read_county_rubric("coal-county", profile="wuhai-2023")  # 甲 is filled against the Wuhai profile
    c = compare_stages(_data("county-jia.yaml"), _data("county-jia-verified.yaml"), rubric)
    assert (c.self_assessed.verdict, c.verified.verdict) == ("合格", "不合格")
    assert c.verdicts_differ
    assert [(d.place[:6], d.changes_verdict) for d in c.differences] == [("第 2-1c", True), ("第 2-2a", False)]


def test_target_differences_are_listed(county_data, county_rubric):
    verified = copy.deepcopy(county_data)
    verified["stage"] = "核查"
    verified["targets"]["underground_mines"]["current"] = 50  # 60 -> 50 is below 20 %
    c = compare_stages(county_data, verified, county_rubric)
    (d,) = c.differences
    assert d.place.startswith("T1") and (d.self_assessed, d.verified, d.changes_verdict) == ("45", "50", True)


def test_identical_stages_have_no_differences(county_data, county_rubric):
    assert compare_stages(county_data, dict(county_data, stage="核查"), county_rubric).differences == ()


def test_other_units_are_refused(county_data, county_rubric):
    with pytest.raises(InputError, match="不是同一单位"):
        compare_stages(county_data, dict(county_data, county="别的县"), county_rubric)


def test_cli_compare(capsys):
    assert main(["compare", str(COAL / "county-jia.yaml"), str(COAL / "county-jia-verified.yaml")]) == 0
    out = capsys.readouterr().out
    assert "自评 合格 100分；核查 不合格 90分；差异 2 处" in out and "（改变结论）" in out


def test_cli_compare_three_stages(capsys):
    stages = sorted((DATA / "three_stages").glob("*.yaml"))
    assert main(["compare", *map(str, stages)]) == 0
    out = capsys.readouterr().out
    assert "自评 合格 100分；核查 不合格 90分；认定 不合格 100分" in out and "以认定结论为准" in out
    assert "自评 → 核查" in out and "核查 → 认定" in out


def test_cli_compare_refuses_three_files_that_are_not_three_stages(capsys):
    stages = sorted((DATA / "three_stages").glob("*.yaml"))
    assert main(["compare", str(stages[0]), str(stages[1]), str(stages[1])]) == 2
    err = capsys.readouterr().err
    assert str(stages[1]) in err and "Traceback" not in err


def test_the_same_meaning_written_differently_is_no_difference(county_data, county_rubric):
    verified = copy.deepcopy(county_data)
    verified["stage"] = "核查"
    verified["targets"]["underground_mines"]["baseline"] = "60"  # 60 written as text
    verified["targets"]["deaths"]["previous_5_years"] = [str(n) for n in county_data["targets"]["deaths"]["previous_5_years"]]
    verified["items"]["1-1b"] = "完成"  # shorthand for {result: 完成}
    verified["items"]["1-2a"] = {"result": "完成", "note": "核查时补充的说明"}
    assert county_data["targets"]["underground_mines"]["baseline"] == 60 and county_data["items"]["1-1b"] == {"result": "完成"}
    assert compare_stages(county_data, verified, county_rubric).differences == ()


def test_province_files_are_refused_in_chinese(capsys):
    assert main(["compare", str(DEMO / "province.yaml"), str(DEMO / "province.yaml")]) == 2
    err = capsys.readouterr().err
    assert "只适用于重点县或重点企业的提交文件" in err and str(DEMO / "province.yaml") in err and "Traceback" not in err


def test_a_province_file_as_the_verification_is_refused(capsys):
    assert main(["compare", str(DEMO / "counties" / "jia.yaml"), str(DEMO / "province.yaml")]) == 2
    err = capsys.readouterr().err
    assert "核查文件与自评文件所用的评估表不同" in err and "当前值：“noncoal-province”" in err


# --- the latest stage decides, everywhere -------------------------------------------------------

JIA, JIA_VERIFIED = COAL / "county-jia.yaml", COAL / "county-jia-verified.yaml"
OVERTURNED = "核查结论不合格，与自评（合格）不同"


def _stage_copy(tmp_path, data, stage, name):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(dict(data, stage=stage), allow_unicode=True), encoding="utf-8")
    return path


def test_decide_stages_takes_the_latest_whatever_the_order(county_data, county_rubric):
    self_assessed = evaluate_county(build_county_submission(county_data, county_rubric), county_rubric)
    failing = dict(county_data, stage="核查", items=dict(county_data["items"], **{"1-1a": "未完成"}))
    verified = evaluate_county(build_county_submission(failing, county_rubric), county_rubric)
    confirmed = evaluate_county(build_county_submission(dict(county_data, stage="认定"), county_rubric), county_rubric)
    for results in ([self_assessed, verified], [verified, self_assessed]):
        unit = decide_stages(results)
        assert [r.header.stage for r in unit.stages] == ["自评", "核查"]
        assert (unit.stage, unit.verdict, unit.passed) == ("核查", "不合格", False)
        assert unit.stage_change == OVERTURNED
    final = decide_stages([verified, confirmed, self_assessed])
    assert (final.stage, final.verdict) == ("认定", "合格")
    assert final.stage_change == "认定结论合格，与核查（不合格）不同"
    assert decide_stages([self_assessed]).stage_change == ""


def test_decide_stages_refuses_one_stage_twice_and_other_units(county_data, county_rubric):
    one = evaluate_county(build_county_submission(county_data, county_rubric), county_rubric)
    with pytest.raises(InputError, match="“自评”阶段提交了两份"):
        decide_stages([one, one], ["a.yaml", "b.yaml"])
    other = evaluate_county(build_county_submission(dict(county_data, county="别县", stage="核查"), county_rubric), county_rubric)
    with pytest.raises(InputError, match="不是同一单位同一年度"):
        decide_stages([one, other], ["a.yaml", "b.yaml"])


@pytest.mark.parametrize("order", [(JIA, JIA_VERIFIED), (JIA_VERIFIED, JIA)])
def test_evaluate_text_shows_the_verified_verdict(order, capsys):
    assert main(["evaluate", *map(str, order), "--params", str(PROFILE)]) == 0
    out = capsys.readouterr().out
    assert out.count("== ") == 1  # one unit, one verdict
    assert "考核评估结论：不合格（以核查结论为准）" in out
    assert f"【结论变化】{OVERTURNED}。" in out
    assert "考核评估结论：合格" not in out


def test_evaluate_json_shows_the_verified_verdict(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["evaluate", "--json", str(JIA), str(JIA_VERIFIED), "--params", str(PROFILE)]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    result = json.loads(line)
    assert (result["passed"], result["verdict"], result["stage"]) == (False, "不合格", "核查")
    assert result["stage_change"] == OVERTURNED
    assert {k: v["verdict"] for k, v in result["stages"].items()} == {"自评": "合格", "核查": "不合格"}
    assert [(i["stage"], i["path"]) for i in result["provenance"]["inputs"]] == [
        ("自评", "data/demo/coal/county-jia.yaml"),  # absolute paths were given: shown relative to the run folder
        ("核查", "data/demo/coal/county-jia-verified.yaml"),
    ]


def test_the_same_stage_twice_is_an_input_error(tmp_path, capsys):
    copy_ = _stage_copy(tmp_path, read_document(JIA)[0], "自评", "again.yaml")
    assert main(["evaluate", str(JIA), str(copy_)]) == 2
    assert "“自评”阶段提交了两份" in capsys.readouterr().err


def test_a_later_stage_that_passes_says_so(tmp_path, capsys):
    confirmed = _stage_copy(tmp_path, read_document(JIA)[0], "认定", "confirmed.yaml")
    assert main(["evaluate", str(JIA), str(JIA_VERIFIED), str(confirmed), "--params", str(PROFILE)]) == 0
    out = capsys.readouterr().out
    assert "考核评估结论：合格（以认定结论为准）" in out and "认定结论合格，与核查（不合格）不同" in out


def test_report_headline_shows_the_verified_verdict():
    evaluation = load_report(JIA, PROFILE, verification=JIA_VERIFIED)
    assert evaluation.submission == JIA_VERIFIED
    verdict = render_verdict(evaluation)
    lines = verdict.text.splitlines()
    assert lines[lines.index("考核评估结论：不合格（核查）") + 1] == f"{OVERTURNED}。"
    assert "考核评估结论：不合格（核查）" in verdict.html and "#c62828" in verdict.html
    comparison = render_stage_comparison(evaluation).text
    assert comparison.startswith("自评 合格 100分；核查 不合格 90分；差异 2 处")


@pytest.fixture(scope="module")
def coal_batch(tmp_path_factory):
    """The shipped demo run of county 甲 (自评 with its 核查), run as `minesafe batch` runs it."""
    out = tmp_path_factory.mktemp("reports")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        assert main(["batch", "params/runs/demo/coal-county-jia.yaml", "--out", str(out), "--jobs", "1"]) == 0
    return out


def test_batch_result_summary_and_report_show_the_verified_verdict(coal_batch):
    summary = json.loads((coal_batch / "batch-summary.json").read_text(encoding="utf-8"))
    assert [(u["阶段"], u["以此阶段为准"], u["结论"]) for u in summary["units"]] == [
        ("自评", False, "合格"),
        ("核查", True, "不合格"),
    ]
    folder = coal_batch / "2023" / "示例省" / "示例煤矿县甲（煤矿）"  # a coal county's folder carries the form
    result = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    assert (result["verdict"], result["stage"], result["stage_change"]) == ("不合格", "核查", OVERTURNED)
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "考核评估结论：不合格（核查）" in page and f"{OVERTURNED}。" in page
    assert "考核评估结论：合格" not in page
    assert str(ROOT) not in page and str(ROOT) not in json.dumps(result, ensure_ascii=False)  # no absolute path


# --- three stages: every stage in order, the latest decides ---------------------------------------

STAFF_ROW = "第 2-2a 行 加强煤矿安全监管能力建设（以监管人员中专业技术人员的比例衡量）"
STAFF = "（监管人员中的专业技术人员数量 {n} ÷ 监管人员数量 20 = {share}.00%，监管人员中专业技术人员的比例下限 75%（市级参数方案 乌能局发〔2023〕17号））"


def test_three_stages_are_compared_each_beside_the_one_before():
    evaluation = load_report(*THREE_FILES[:1], verification=THREE_FILES[1], confirmation=THREE_FILES[2])
    comparison = render_stage_comparison(evaluation)
    lines = comparison.text.splitlines()
    assert lines[0] == "自评 合格 100分；核查 不合格 90分；认定 不合格 100分；差异 3 处，核查改变了结论，以认定结论为准。"
    assert lines[1] == "自评 → 核查：差异 2 处，核查改变了结论"
    assert lines[2].startswith("第 2-1c 行") and lines[2].endswith("（改变结论）")
    assert lines[3] == f"{STAFF_ROW}：自评 完成{STAFF.format(n=16, share=80)}，核查 未完成{STAFF.format(n=14, share=70)}"
    assert lines[4] == "核查 → 认定：差异 1 处"
    assert lines[5] == f"{STAFF_ROW}：核查 未完成{STAFF.format(n=14, share=70)}，认定 完成{STAFF.format(n=16, share=80)}"
    assert len(lines) == 6
    page = comparison.html
    assert "差异 3 处，核查改变了结论，以认定结论为准。" in page
    assert page.index("自评 → 核查") < page.index("核查 → 认定")
    assert "考核评估结论：不合格（认定）" in render_verdict(evaluation).text


def test_a_folder_with_three_stages_makes_one_run_with_every_stage(tmp_path):
    from minesafe.intake import collect_run_documents

    (run,) = collect_run_documents([THREE], tmp_path / "reports")
    assert run[1]["parameters"] == {
        "submission": str(THREE / "1_self_assessed_pass_100.yaml"),
        "verification": str(THREE / "2_verified_fail_90.yaml"),
        "confirmation": str(THREE / "3_confirmed_fail_100.yaml"),
    }
    extra = tmp_path / "inputs"
    shutil.copytree(THREE, extra)
    (extra / "4_unknown_stage.yaml").write_text(
        (THREE / "3_confirmed_fail_100.yaml").read_text(encoding="utf-8").replace("stage: 认定", "stage: 复核"), encoding="utf-8"
    )
    with pytest.raises(InputError, match="同一单位同一年度的提交文件多于评估阶段数"):
        collect_run_documents([extra], tmp_path / "reports")


@pytest.fixture(scope="module")
def three_stage_batch(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        assert main(["batch", str(THREE), "--out", str(out), "--jobs", "1"]) == 0
    return out


def test_batch_of_three_stages_shows_every_stage_and_the_latest_decides(three_stage_batch):
    folder = three_stage_batch / "2023" / "示例省" / "示例煤矿县甲（煤矿）"
    result = json.loads((folder / "result.json").read_text(encoding="utf-8"))
    assert (result["verdict"], result["stage"], result["score"]) == ("不合格", "认定", 100)
    assert [(k, v["verdict"], v["score"]) for k, v in result["stages"].items()] == [
        ("自评", "合格", 100),
        ("核查", "不合格", 90),
        ("认定", "不合格", 100),
    ]
    assert [i["stage"] for i in result["provenance"]["inputs"]] == ["自评", "核查", "认定"]
    summary = json.loads((three_stage_batch / "batch-summary.json").read_text(encoding="utf-8"))
    assert [(u["阶段"], u["以此阶段为准"], u["结论"]) for u in summary["units"]] == [
        ("自评", False, "合格"),
        ("核查", False, "不合格"),
        ("认定", True, "不合格"),
    ]
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "自评 合格 100分；核查 不合格 90分；认定 不合格 100分；差异 3 处，核查改变了结论，以认定结论为准。" in page
    assert page.index("自评 → 核查") < page.index("核查 → 认定")


def test_stages_judged_under_different_profiles_are_refused_naming_both_files(tmp_path, capsys):
    """One unit's stages are judged by one form: a 认定 filled without the 自评's city profile
    (its rows and thresholds) is refused before a verdict or a comparison is made, both files named."""
    self_assessed = THREE_FILES[0]
    data = yaml.safe_load(THREE_FILES[2].read_text(encoding="utf-8"))
    del data["profile"]
    national = read_county_rubric(data["rubric"])
    data["items"] = {
        row.id: {"result": "完成"} if row.measure else data["items"][row.id] for row in national.rows if row.id in data["items"]
    }
    confirmed = tmp_path / "confirmed_without_profile.yaml"
    confirmed.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert main(["evaluate", str(confirmed)]) == 0  # valid on its own, under the national form
    capsys.readouterr()
    for order in ((self_assessed, confirmed), (confirmed, self_assessed)):
        assert main(["evaluate", *map(str, order)]) == 2
        err = capsys.readouterr().err
        assert str(self_assessed) in err and str(confirmed) in err and "参数方案" in err and "wuhai-2023" in err
    with pytest.raises(InputError, match="参数方案"):
        load_report(self_assessed, verification=confirmed)


def test_stages_that_differ_only_in_counts_are_listed(county_data, county_rubric):
    """The same result (完成) from other counts is still a difference between the stages."""
    verified = copy.deepcopy(county_data)
    verified["stage"] = "核查"
    verified["items"]["1-1c"] = dict(verified["items"]["1-1c"], single_system_licences=39)
    (d,) = compare_stages(county_data, verified, county_rubric).differences
    assert d.place.startswith("第 1-1c 行") and not d.changes_verdict
    assert d.self_assessed.startswith("完成") and d.verified.startswith("完成") and d.self_assessed != d.verified


def test_a_years_deaths_in_the_history_are_compared(county_data, county_rubric):
    verified = copy.deepcopy(county_data)
    verified["stage"] = "核查"
    history = verified["targets"]["deaths"]["previous_5_years"]
    history[2] += 1
    (d,) = compare_stages(county_data, verified, county_rubric).differences
    assert d.place.startswith("T") and (d.self_assessed, d.verified) == (str(history[2] - 1), str(history[2]))


def test_a_self_assessment_without_a_stage_goes_before_the_verification(tmp_path):
    """No ``stage:`` means 自评: beside a 核查 of the same unit it is the submission, the 核查 decides."""
    from minesafe.intake import load_batch_runs
    from minesafe.results import evaluate_unit

    data = yaml.safe_load((DEMO / "counties" / "jia.yaml").read_text(encoding="utf-8"))
    data.pop("stage")
    (tmp_path / "b-自评.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    failing = dict(data, stage="核查", items=dict(data["items"], **{"1-1a": {"result": "未完成"}}))
    (tmp_path / "a-核查.yaml").write_text(yaml.safe_dump(failing, allow_unicode=True), encoding="utf-8")
    (run,), _ = load_batch_runs([tmp_path], tmp_path / "reports", ROOT / "notebooks")
    assert Path(run.parameters["submission"]).name == "b-自评.yaml"
    assert Path(run.parameters["verification"]).name == "a-核查.yaml"
    unit = evaluate_unit([tmp_path / "a-核查.yaml", tmp_path / "b-自评.yaml"])
    assert [r.header.stage for r in unit.stages] == ["自评", "核查"] and unit.verdict == "不合格"


def test_cli_compare_under_a_non_national_rule_set_says_so_first(tmp_path, capsys):
    """compare printed each stage's 合格 under a params file that lowers the pass score (national:
    false) without a word of it; the notice every other output carries comes first."""
    params = tmp_path / "口径.yaml"
    params.write_text("evaluation:\n  national: false\n  name: 某省试行口径\n  pass_score: 60\n", encoding="utf-8")
    south = DEMO / "south" / "counties"
    assert main(["compare", str(south / "nanjia.yaml"), str(south / "nanjia-verified.yaml"), "--params", str(params)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == "【非国家评估表口径：某省试行口径（合格分数线 80分→60分）】", first
