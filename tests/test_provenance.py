"""Tests of minesafe.provenance."""

import hashlib
import json
import os
import re
from pathlib import Path

import pytest

from minesafe import files, report
from minesafe.cli import main
from minesafe.provenance import read_provenance
from minesafe.results import evaluate_unit

from .conftest import DEMO, ROOT


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_provenance_names_the_swapped_rubric_file_and_its_hash(tmp_path, capsys, monkeypatch):
    shipped = ROOT / "minesafe" / "rubrics" / "noncoal-county.yaml"
    swapped = tmp_path / "official.yaml"
    swapped.write_text(shipped.read_text(encoding="utf-8") + "\n# 正式印发版（测试用副本）\n", encoding="utf-8")
    params = tmp_path / "params.yaml"
    params.write_text("evaluation:\n  rubric_file: official.yaml\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    county = DEMO / "counties" / "jia.yaml"
    assert main(["evaluate", "--json", str(county), "--params", "params.yaml"]) == 0
    provenance = json.loads(capsys.readouterr().out)["provenance"]
    (rubric,) = provenance["rubrics"]
    assert rubric["sha256"] == _sha(swapped) != _sha(shipped)
    assert rubric["path"] == "official.yaml"
    assert provenance["params"] == {"path": "params.yaml", "sha256": _sha(params)}
    (submission,) = provenance["inputs"]
    assert submission["sha256"] == _sha(county)
    assert submission["path"] == os.path.relpath(county, tmp_path)  # relative to where the run started
    appendix = report.render_provenance(report.load_report(county, params)).text
    assert (
        f"评估表数据：《非煤矿山重点地区安全生产攻坚克难工作评估表》评估表文件 official.yaml，版本 2023.1（SHA-256 {_sha(swapped)}）"
        in appendix.splitlines()
    )
    assert _sha(shipped) not in appendix


def test_provenance_names_the_profile_a_submission_names_and_its_hash(tmp_path, capsys, monkeypatch):
    """A profile loaded by name (``profile: wuhai-2023``) is an input like the rubric: its file and
    SHA-256 are in the JSON's provenance and in the report's appendix, and another profile file
    under the same name shows another hash."""
    county = DEMO / "coal" / "county-jia.yaml"
    shipped = ROOT / "params" / "profiles" / "wuhai-2023.yaml"
    monkeypatch.chdir(ROOT)
    assert main(["evaluate", "--json", str(county)]) == 0
    (profile,) = json.loads(capsys.readouterr().out)["provenance"]["profiles"]
    assert profile == {"name": "wuhai-2023", "path": "params/profiles/wuhai-2023.yaml", "sha256": _sha(shipped)}

    altered = tmp_path / "profiles" / "wuhai-2023.yaml"
    altered.parent.mkdir()
    altered.write_text(shipped.read_text(encoding="utf-8") + "\n# 修订版（测试用副本）\n", encoding="utf-8")
    monkeypatch.setattr(files, "profile_folder", lambda: altered.parent)
    monkeypatch.chdir(tmp_path)
    assert main(["evaluate", "--json", str(county)]) == 0
    (profile,) = json.loads(capsys.readouterr().out)["provenance"]["profiles"]
    assert profile == {"name": "wuhai-2023", "path": "profiles/wuhai-2023.yaml", "sha256": _sha(altered)}
    assert _sha(altered) != _sha(shipped)
    appendix = report.render_provenance(report.load_report(county)).text
    document = "乌能局发〔2023〕17号《全市煤矿安全生产重点旗县（市、区）、重点企业督导工作方案》"
    assert f"参数方案：{document}，minesafe 内置参数方案（SHA-256 {_sha(altered)}）" in appendix.splitlines()


def test_provenance_names_no_profile_when_none_is_named(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert read_provenance(evaluate_unit([DEMO / "coal" / "county-yi.yaml"]), None)["profiles"] == []


def test_provenance_of_a_province_lists_every_county_file(monkeypatch):
    monkeypatch.chdir(ROOT)
    unit = evaluate_unit([DEMO / "province.yaml"])
    provenance = read_provenance(unit, None)
    files = [(i["role"], i["path"]) for i in provenance["inputs"]]
    assert files[0] == ("提交文件", "data/demo/province.yaml")
    assert sorted(p for role, p in files if role == "重点县文件") == sorted(
        f"data/demo/counties/{p.name}" for p in (DEMO / "counties").glob("*.yaml")
    )
    assert all(i["sha256"] == _sha(ROOT / i["path"]) for i in provenance["inputs"])
    assert {r["id"] for r in provenance["rubrics"]} == {"noncoal-province", "noncoal-county"}
    assert not any(Path(i["path"]).is_absolute() for i in provenance["inputs"])


#: What a reader outside the project would not understand: form keys, package and checkout paths.
DEVELOPER_WORDS = re.compile(
    r"noncoal-|coal-county|coal-enterprise|wuhai|minesafe/|params/|profiles/|rubrics/|\.venv|site-packages"
)


@pytest.mark.parametrize(
    ("stages", "params"),
    [
        ((DEMO / "south" / "province.yaml",), None),
        ((DEMO / "south" / "counties" / "nanjia.yaml", DEMO / "south" / "counties" / "nanjia-verified.yaml"), None),
        ((DEMO / "coal" / "county-jia.yaml", DEMO / "coal" / "county-jia-verified.yaml"), None),
        ((DEMO / "coal" / "enterprise.yaml",), None),
        ((DEMO / "counties" / "bing.yaml",), ROOT / "params" / "readings" / "alternative-reading.yaml"),
    ],
    ids=["province", "county-verified", "coal-county-profile", "enterprise", "params"],
)
def test_the_appendix_names_files_and_forms_in_the_readers_words(tmp_path, monkeypatch, stages, params):
    """附录：数据来源与版本 names the form by its title, a shipped file as minesafe 内置…, each
    submitted file by its name and each evidence file as its submission lists it, with every
    SHA-256 of the JSON record, which keeps its keys and paths."""
    monkeypatch.chdir(tmp_path)  # a run started elsewhere: paths in the record climb out of it
    loaded = report.load_report(*stages[:1], params, verification=stages[1] if len(stages) > 1 else "")
    appendix = report.render_provenance(loaded).text
    assert not DEVELOPER_WORDS.search(appendix), DEVELOPER_WORDS.findall(appendix)
    assert "../" not in appendix
    record = loaded.provenance
    for entry in [*record["inputs"], *record["rubrics"], *record["profiles"], *([record["params"]] if params else [])]:
        assert f"SHA-256 {entry['sha256']}）" in appendix
    for entry in record["inputs"]:
        shown = Path(entry["path"]).name if entry["role"] != "佐证材料" else f"佐证材料/{Path(entry['path']).name}"
        assert f"{shown}（SHA-256 {entry['sha256']}）" in appendix
    for rubric in record["rubrics"]:  # the record keeps its keys and paths
        assert rubric["path"] == f"minesafe/rubrics/{rubric['id']}.yaml"
        assert f"minesafe 内置评估表，版本 {rubric['version']}（SHA-256 {rubric['sha256']}）" in appendix
    assert f"评估表：{loaded.result.rubric.title}（版本 {loaded.result.rubric.version}）" in appendix.splitlines()


def test_a_form_file_in_a_folder_named_minesafe_is_not_called_the_built_in_form(tmp_path, monkeypatch):
    """A county's own form file kept in a folder it named ``minesafe`` has a path beginning
    ``minesafe/`` as the shipped forms do: the appendix names it by its file, never as the form
    shipped with minesafe (that is said only of a file with the shipped form's SHA-256)."""
    shipped = ROOT / "minesafe" / "rubrics" / "noncoal-county.yaml"
    (tmp_path / "minesafe").mkdir()
    own = tmp_path / "minesafe" / "county-form.yaml"
    own.write_text(shipped.read_text(encoding="utf-8") + "\n# 本县修改版\n", encoding="utf-8")
    params = tmp_path / "minesafe" / "params.yaml"
    params.write_text("evaluation:\n  rubric_file: county-form.yaml\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    loaded = report.load_report(DEMO / "counties" / "jia.yaml", "minesafe/params.yaml")
    (rubric,) = loaded.provenance["rubrics"]
    assert rubric["path"] == "minesafe/county-form.yaml" and rubric["sha256"] == _sha(own)  # the record as it was
    appendix = report.render_provenance(loaded).text
    assert "内置评估表" not in appendix
    assert f"评估表文件 county-form.yaml，版本 2023.1（SHA-256 {_sha(own)}）" in appendix
