"""A batch's inputs: submissions and run files found in folders, one run per unit, problems first."""

import shutil

import pytest

from minesafe.exceptions import InputError, InputErrors
from minesafe.intake import COUNTY_REPORT_LINK, OVERVIEW_NOTEBOOK, collect_run_documents, report_notebook

from .conftest import DEMO, ROOT


def _by_notebook(runs):
    return sorted((data["notebook"], tuple(sorted(data["parameters"].items()))) for _, data in runs)


def test_each_rubric_picks_its_report_notebook():
    for rubric in ("noncoal-county", "noncoal-province", "coal-county", "coal-enterprise"):
        assert (ROOT / "notebooks" / f"{report_notebook(rubric)}.ipynb").is_file()


def test_a_folder_of_submissions_makes_one_run_per_unit_and_the_overview(tmp_path):
    out = tmp_path / "reports"
    runs = collect_run_documents([DEMO / "coal"], out)
    notebooks = [data["notebook"] for _, data in runs]
    assert notebooks.count("coal_county_report") == 3  # 甲 (two stages, one report), 乙 2023, 乙 2024
    assert notebooks[-1] == OVERVIEW_NOTEBOOK and runs[-1][1]["parameters"] == {"results": str(out.resolve())}
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
    assert len(runs) == len(list((ROOT / "params" / "runs").rglob("*.yaml"))) + 1  # and the overview


def test_the_output_folder_is_not_an_input(tmp_path):
    shutil.copy(DEMO / "counties" / "jia.yaml", tmp_path / "jia.yaml")
    (tmp_path / "reports" / "2022").mkdir(parents=True)
    (tmp_path / "reports" / "2022" / "result.json").write_text(
        '{"rubric": "noncoal-county", "verdict": "合格"}', encoding="utf-8"
    )
    (tmp_path / "reports" / "batch-summary.json").write_text("{}", encoding="utf-8")
    runs = collect_run_documents([tmp_path], tmp_path / "reports")
    assert [d["notebook"] for _, d in runs] == ["noncoal_county_report", OVERVIEW_NOTEBOOK]


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


def test_an_empty_folder_is_refused(tmp_path):
    with pytest.raises(InputError, match="没有找到提交文件"):
        collect_run_documents([tmp_path], tmp_path / "out")


def test_a_submission_with_an_unknown_rubric_is_refused(tmp_path):
    (tmp_path / "x.yaml").write_text("rubric: noncoal-town\nprovince: 示例省\n", encoding="utf-8")
    with pytest.raises(InputError, match="缺少或写错了评估表编号"):
        collect_run_documents([tmp_path], tmp_path / "out")
