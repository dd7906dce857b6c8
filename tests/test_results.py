"""The public API: ``minesafe.evaluate`` and ``minesafe.load_results``."""

import json
import shutil

import pytest

import minesafe
from minesafe.exceptions import InputError, InputErrors
from minesafe.rendering import result_to_dict
from minesafe.results import FileKind, classify_files, find_input_files

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
    result.write_text(json.dumps({"rubric": "noncoal-county", "verdict": "合格"}), encoding="utf-8")
    shutil.copy(DEMO / "counties" / "jia.yaml", tmp_path / "jia.yaml")
    (tmp_path / "~$jia.xlsx").write_bytes(b"lock")  # an Excel lock file is not an input
    kinds = {p.name: k for p, (k, _) in classify_files(find_input_files([tmp_path])).items()}
    assert kinds == {"run.yaml": FileKind.RUN, "result.json": FileKind.RESULT, "jia.yaml": FileKind.SUBMISSION}


def test_demo_folder_holds_the_demo_submissions():
    assert (minesafe.demo_folder() / "province.yaml").is_file()
    assert minesafe.evaluate(minesafe.demo_folder() / "province.yaml").header.demo
