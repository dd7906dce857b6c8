"""A batch's inputs: submissions and run files found in folders, one run per unit, problems first."""

import shutil

import pytest

from minesafe.exceptions import InputError, InputErrors
from minesafe.intake import COUNTY_REPORT_LINK, collect_run_documents, find_left_out_files, report_notebook

from .conftest import DEMO, ROOT


def _by_notebook(runs):
    return sorted((data["notebook"], tuple(sorted(data["parameters"].items()))) for _, data in runs)


def test_each_rubric_picks_its_report_notebook():
    for rubric in ("noncoal-county", "noncoal-province", "coal-county", "coal-enterprise"):
        assert (ROOT / "notebooks" / f"{report_notebook(rubric)}.ipynb").is_file()


def test_a_folder_of_submissions_makes_one_run_per_unit(tmp_path):
    runs = collect_run_documents([DEMO / "coal"], tmp_path / "reports")
    notebooks = [data["notebook"] for _, data in runs]
    assert notebooks.count("coal_county_report") == 3  # 甲 (two stages, one report), 乙 2023, 乙 2024
    (jia,) = [d["parameters"] for _, d in runs if d["parameters"].get("verification")]
    assert jia == {
        "submission": str(DEMO / "coal" / "county-jia.yaml"),
        "verification": str(DEMO / "coal" / "county-jia-verified.yaml"),
    }


def test_a_province_file_brings_in_its_counties_and_links_their_reports(tmp_path):
    runs = collect_run_documents([DEMO / "province.yaml"], tmp_path / "out")
    (province,) = [d["parameters"] for _, d in runs if d["notebook"] == "noncoal_province_report"]
    assert province["county_report_link"] == COUNTY_REPORT_LINK
    counties = sorted(d["parameters"]["submission"] for _, d in runs if d["notebook"] == "noncoal_county_report")
    assert counties == sorted(str(p) for p in (DEMO / "counties").glob("*.yaml"))


def test_run_files_are_taken_as_written(tmp_path):
    runs = collect_run_documents([ROOT / "params" / "runs"], tmp_path / "out")
    assert len(runs) == len(list((ROOT / "params" / "runs").rglob("*.yaml")))


def test_the_output_folder_is_not_an_input(tmp_path):
    shutil.copy(DEMO / "counties" / "jia.yaml", tmp_path / "jia.yaml")
    (tmp_path / "reports" / "2022").mkdir(parents=True)
    (tmp_path / "reports" / "2022" / "result.json").write_text(
        '{"rubric": "noncoal-county", "verdict": "合格"}', encoding="utf-8"
    )
    (tmp_path / "reports" / "batch-summary.json").write_text("{}", encoding="utf-8")
    runs = collect_run_documents([tmp_path], tmp_path / "reports")
    assert [d["notebook"] for _, d in runs] == ["noncoal_county_report"]


def test_evidence_files_are_not_listed_as_files_left_out(tmp_path):
    """The 佐证材料 a submission lists sit in its folder's 佐证材料/ (the demo's 示例南甲县-核查 does):
    they are evidence, not files the batch failed to take; any other file still is."""
    shutil.copy(DEMO / "counties" / "jia.yaml", tmp_path / "jia.yaml")
    (tmp_path / "佐证材料").mkdir()
    (tmp_path / "佐证材料" / "2-1a 台账.pdf").write_bytes(b"%PDF")
    (tmp_path / "说明.pdf").write_bytes(b"%PDF")
    left = find_left_out_files([tmp_path], tmp_path / "reports")
    assert [path.name for path, _ in left] == ["说明.pdf"]


def test_files_that_are_neither_are_all_reported_before_anything_runs(tmp_path):
    shutil.copy(DEMO / "counties" / "jia.yaml", tmp_path / "jia.yaml")
    (tmp_path / "notes.yaml").write_text("title: 会议纪要\n", encoding="utf-8")
    (tmp_path / "result.json").write_text('{"rubric": "noncoal-county", "verdict": "合格"}', encoding="utf-8")
    with pytest.raises(InputErrors) as caught:
        collect_run_documents([tmp_path], tmp_path / "out")
    messages = {e.source: str(e) for e in caught.value.errors}
    assert "既不是提交文件" in messages[str(tmp_path / "notes.yaml")]
    assert "这是评估结果，此处不能使用" in messages[str(tmp_path / "result.json")]


def test_two_files_for_one_stage_of_a_unit_are_refused(tmp_path):
    shutil.copy(DEMO / "counties" / "jia.yaml", tmp_path / "a.yaml")
    shutil.copy(DEMO / "counties" / "jia.yaml", tmp_path / "b.yaml")
    with pytest.raises(InputError, match="同一阶段有多个提交文件"):
        collect_run_documents([tmp_path], tmp_path / "out")


def test_stages_naming_their_unit_with_spaces_around_are_one_unit_as_the_engine_reads_them(tmp_path):
    """The engine reads " 示例煤矿县甲 " and 2023 as "2023": so does the batch, which made two runs for
    one report folder of these stages (refused) while ``minesafe evaluate`` took them as one unit."""
    stages = sorted((ROOT / "tests" / "data" / "three_stages").glob("*.yaml"))
    shutil.copy(stages[0], tmp_path / "self.yaml")
    text = stages[2].read_text(encoding="utf-8")
    spaced = text.replace("county: 示例煤矿县甲", 'county: " 示例煤矿县甲 "').replace("year: 2023", 'year: "2023"')
    assert spaced.count('"') == 4
    (tmp_path / "confirmed.yaml").write_text(spaced, encoding="utf-8")
    ((_, run),) = collect_run_documents([tmp_path], tmp_path / "out")
    assert run["parameters"] == {"submission": str(tmp_path / "self.yaml"), "verification": str(tmp_path / "confirmed.yaml")}


def test_an_empty_folder_is_refused(tmp_path):
    with pytest.raises(InputError, match="没有找到提交文件"):
        collect_run_documents([tmp_path], tmp_path / "out")


def test_a_submission_with_an_unknown_rubric_is_refused(tmp_path):
    (tmp_path / "x.yaml").write_text("rubric: noncoal-town\nprovince: 示例省\n", encoding="utf-8")
    with pytest.raises(InputError, match="缺少或写错了评估表编号"):
        collect_run_documents([tmp_path], tmp_path / "out")


@pytest.fixture(scope="module")
def folder_batch(tmp_path_factory):
    """A season's folder as a province collects it: YAML and Excel county submissions, a province
    file naming them and the province's 认定 file, and nothing else; batched with no run file."""
    import yaml

    from minesafe.cli import main

    folder = tmp_path_factory.mktemp("season")
    (folder / "counties").mkdir()
    shutil.copy(DEMO / "counties" / "jia.yaml", folder / "counties" / "jia.yaml")
    assert (
        main(["template", "--from", str(DEMO / "counties" / "bing.yaml"), "--out", str(folder / "counties" / "bing.xlsx")]) == 0
    )
    # 甲县's 核查, which the province file does not list, fails the county: its report and the province decide by it
    verified = yaml.safe_load((DEMO / "counties" / "jia.yaml").read_text(encoding="utf-8")) | {"stage": "核查"}
    verified["items"]["4-2c"] = {"result": "未完成", "note": "现场抽查发现1座矿山未按设计开采"}
    (folder / "counties" / "jia-verified.yaml").write_text(yaml.safe_dump(verified, allow_unicode=True), encoding="utf-8")
    province = yaml.safe_load((DEMO / "province.yaml").read_text(encoding="utf-8"))
    province["counties"] = ["counties/jia.yaml", "counties/bing.xlsx"]
    (folder / "province.yaml").write_text(yaml.safe_dump(province, allow_unicode=True), encoding="utf-8")
    confirmed = province | {"stage": "认定"}
    (folder / "province-confirmed.yaml").write_text(yaml.safe_dump(confirmed, allow_unicode=True), encoding="utf-8")
    out = folder / "reports"
    status = main(["batch", str(folder), "--out", str(out), "--jobs", "2"])
    return folder, out, status


def test_a_folder_batch_makes_every_report_and_the_overview(folder_batch):
    _, out, status = folder_batch
    assert status == 0
    for unit in ("示例甲县", "示例丙县", "省级评估"):
        assert sorted(p.name for p in (out / "2022" / "示例省" / unit).iterdir()) == [
            "report.docx",  # the 评估报告 in Word (the province's with its counties' forms)
            "report.html",
            "report.ipynb",
            "result.json",
        ]
    province = (out / "2022" / "示例省" / "省级评估" / "report.html").read_text(encoding="utf-8")
    assert 'href="../示例丙县/report.html"' in province
    overview = out / "总览"
    assert sorted(p.name for p in overview.iterdir()) == ["report.html", "report.ipynb"]  # no result of its own
    page = (overview / "report.html").read_text(encoding="utf-8")
    assert "综合评估总览" in page and "示例丙县" in page


def test_load_results_of_the_reports_folder_agrees_with_the_batch_summary(folder_batch):
    import json

    import minesafe

    _, out, _ = folder_batch
    table = minesafe.load_results(out)
    summary = json.loads((out / "batch-summary.json").read_text(encoding="utf-8"))
    columns = ["单位", "阶段", "以此阶段为准", "结论", "得分", "文件"]
    assert [{k: u[k] for k in columns} for u in summary["units"]] == [
        {k: (None if v != v else v) for k, v in row.items()} for row in table[columns].astype(object).to_dict("records")
    ]
    assert sorted(table["单位"]) == ["示例丙县", "示例甲县", "示例甲县", "示例省", "示例省"]  # 甲 and the province at two stages


def test_a_province_at_two_stages_makes_one_report_decided_by_the_latest(folder_batch):
    """A province's 自评 and 认定 files are one unit, as a county's stages are: one report (not two
    runs writing one folder), its verdict the 认定's."""
    import json

    folder, out, _ = folder_batch
    (run,) = [d for _, d in collect_run_documents([folder], out) if d["notebook"] == "noncoal_province_report"]
    assert run["parameters"] == {
        "submission": str(folder / "province.yaml"),
        "verification": str(folder / "province-confirmed.yaml"),
        "county_report_link": COUNTY_REPORT_LINK,
        "county_files": [str(folder / "counties" / "jia-verified.yaml")],
    }
    report = out / "2022" / "示例省" / "省级评估"
    result = json.loads((report / "result.json").read_text(encoding="utf-8"))
    assert (result["stage"], list(result["stages"])) == ("认定", ["自评", "认定"])
    assert "考核评估结论：不合格（认定）" in (report / "report.html").read_text(encoding="utf-8")


def test_a_province_decides_each_county_by_the_stage_of_that_countys_report(folder_batch):
    """甲县's 核查 is in the batch but not in the province's list: the county's report says 不合格
    (核查), and the province, its result.json and load_results say the same of 甲县 — never a
    province built on the 自评 beside a linked report that says 不合格."""
    import json

    import minesafe

    _, out, _ = folder_batch
    county = json.loads((out / "2022" / "示例省" / "示例甲县" / "result.json").read_text(encoding="utf-8"))
    assert (county["stage"], county["verdict"]) == ("核查", "不合格")
    province = json.loads((out / "2022" / "示例省" / "省级评估" / "result.json").read_text(encoding="utf-8"))
    jia = province["counties"]["示例甲县"]
    assert (jia["stage"], jia["verdict"], jia["verified"]) == ("核查", "不合格", True)
    assert any(r["id"] == "示例甲县" and "核查" in r["text"] for r in province["reasons"] if r["kind"] == "county")
    page = (out / "2022" / "示例省" / "省级评估" / "report.html").read_text(encoding="utf-8")
    assert "不合格（核查）" in page
    table = minesafe.load_results(out)
    deciding = table[(table["单位"] == "示例甲县") & table["以此阶段为准"]]
    assert deciding[["阶段", "结论"]].values.tolist() == [["核查", "不合格"]]
