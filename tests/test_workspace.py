"""``minesafe demo DIR``: the demo workspace the documentation's commands run in."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
import yaml

from minesafe import workspace
from minesafe.cli import main
from minesafe.intake import load_batch_runs
from minesafe.parsing import read_document
from minesafe.rendering import result_to_dict
from minesafe.resources import demo_folder
from minesafe.results import evaluate, evaluate_files
from minesafe.workspace import (
    CALENDAR_NAME,
    LIST_DATA,
    NOTEBOOK_FOLDER,
    PARAMS_FOLDER,
    README,
    RUN_FOLDER,
    WORKBOOK_FOLDER,
    list_demo_submissions,
    workbook_name,
    write_demo_workspace,
)

from .conftest import ROOT


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("workspace") / "演示"
    assert main(["demo", str(folder)]) == 0
    return folder


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_every_demo_submission_is_there_as_yaml_and_as_workbook_named_by_its_unit(demo):
    submissions = list_demo_submissions()
    shipped = [p for p in demo_folder().rglob("*.yaml") if "rubric" in read_document(p)[0]]
    assert len(submissions) == len(shipped)
    files = _files(demo)
    for s in submissions:
        data = s.data
        unit = data.get("county") or data.get("enterprise") or data["province"]
        assert s.name.name.startswith(unit), s.name
        assert (data.get("stage", "自评") == "自评") != s.name.stem.endswith(f"-{data.get('stage')}")
        assert str(s.name) in files
        assert str(workbook_name(s)) in files
        assert (demo / s.name).read_text(encoding="utf-8").splitlines()[0] == s.source.read_text(encoding="utf-8").splitlines()[0]
    assert "收件/示例省/煤矿/示例煤矿县甲-核查.yaml" in files  # the names the documentation uses
    assert {"收件/示例省/煤矿/示例煤矿县乙-2023.yaml", "收件/示例省/煤矿/示例煤矿县乙-2024.yaml"} <= files


def test_yaml_and_workbooks_evaluate_alike_and_like_the_shipped_files(demo):
    """Each workspace file gives the shipped file's evaluation; its workbook gives the same."""
    for s in list_demo_submissions():
        shipped = result_to_dict(evaluate(s.source))
        assert result_to_dict(evaluate(demo / s.name)) == shipped, s.name
        assert result_to_dict(evaluate(demo / workbook_name(s))) == shipped, s.name


def test_the_province_lists_its_counties_by_their_workspace_names(demo):
    data = yaml.safe_load((demo / "收件" / "示例省" / "示例省.yaml").read_text(encoding="utf-8"))
    assert data["counties"] == [f"{name}.yaml" for name in data["key_counties"]]
    text = (demo / "收件" / "示例省" / "示例省.yaml").read_text(encoding="utf-8")
    assert text.startswith("# 示例数据")  # its comments are kept
    south = yaml.safe_load((demo / "收件" / "示例南省" / "示例南省.yaml").read_text(encoding="utf-8"))
    assert "示例南甲县-核查.yaml" in south["counties"]


def test_run_files_are_valid_and_cover_every_unit_and_the_list(demo, monkeypatch):
    monkeypatch.chdir(demo)
    runs, overview = load_batch_runs([Path(RUN_FOLDER)], Path("reports"), ROOT / "notebooks")
    assert overview is not None
    units = evaluate_files([s.name for s in list_demo_submissions()])
    assert len([r for r in runs if "submission" in r.parameters]) == len(units)
    assert [r.parameters["history_file"] for r in runs if "history_file" in r.parameters] == [str((demo / LIST_DATA).resolve())]
    verified = sorted(Path(r.parameters["verification"]).name for r in runs if r.parameters.get("verification"))
    assert verified == ["示例南甲县-核查.yaml", "示例煤矿县甲-核查.yaml"]


def test_params_hold_every_reading_and_profile(demo):
    shipped = {p.name for p in (ROOT / "params" / "readings").glob("*.yaml")} | {
        p.name for p in (ROOT / "params" / "profiles").glob("*.yaml")
    }
    assert {p.name for p in (demo / PARAMS_FOLDER).iterdir()} == shipped | {CALENDAR_NAME}
    assert (demo / PARAMS_FOLDER / CALENDAR_NAME).read_bytes() == (ROOT / "data" / "lists" / "season-calendar.yaml").read_bytes()
    assert (demo / LIST_DATA).read_bytes() == (demo_folder() / "lists" / "coal-county-history.yaml").read_bytes()


def test_notebooks_point_at_the_workspace_and_carry_no_outputs(demo):
    shipped = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert sorted(p.name for p in (demo / NOTEBOOK_FOLDER).iterdir()) == shipped
    for path in (demo / NOTEBOOK_FOLDER).iterdir():
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        assert not any(c.get("outputs") for c in notebook.cells), path.name
        (parameters,) = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
        defaults = re.findall(r'= "([^"]+)"', parameters.source)
        assert defaults, path.name
        for default in defaults:  # a notebook's kernel starts in its own folder
            assert (demo / NOTEBOOK_FOLDER / default).exists(), (path.name, default)
        assert "data/demo" not in parameters.source
        assert "minesafe" not in notebook.metadata  # the reference seal stays in the repository


def test_readme_is_chinese_and_names_what_is_there(demo):
    text = (demo / README).read_text(encoding="utf-8")
    assert "示例数据" in text and "source .venv/bin/activate" in text
    for folder in (WORKBOOK_FOLDER, RUN_FOLDER, PARAMS_FOLDER, NOTEBOOK_FOLDER, "收件/示例省/煤矿"):
        assert f"{folder}/" in text and (demo / folder).is_dir()
    assert LIST_DATA in text


def test_a_folder_that_is_not_empty_is_refused_without_force(demo, capsys):
    before = {p: p.read_bytes() for p in demo.rglob("*") if p.is_file()}
    assert main(["demo", str(demo)]) == 2
    assert "--force" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in demo.rglob("*") if p.is_file()} == before


def test_force_replaces_the_demo_files_and_keeps_the_others(tmp_path):
    folder = tmp_path / "演示"
    assert main(["demo", str(folder)]) == 0
    (folder / "收件" / "示例省" / "示例丙县.yaml").write_text("changed", encoding="utf-8")
    (folder / "reports").mkdir()
    (folder / "reports" / "mine.txt").write_text("kept", encoding="utf-8")
    assert main(["demo", str(folder), "--force"]) == 0
    assert (folder / "收件" / "示例省" / "示例丙县.yaml").read_bytes() == (demo_folder() / "counties" / "bing.yaml").read_bytes()
    assert (folder / "reports" / "mine.txt").read_text(encoding="utf-8") == "kept"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_a_file_is_refused(tmp_path, capsys):
    path = tmp_path / "演示"
    path.write_text("x", encoding="utf-8")
    assert main(["demo", str(path)]) == 2
    assert "不是文件夹" in capsys.readouterr().err


def test_a_failed_write_leaves_nothing_half_written(tmp_path, monkeypatch):
    """The workspace appears whole or not at all."""

    def fail(submissions):
        raise OSError("disk full")

    monkeypatch.setattr(workspace, "plan_notebooks", fail)
    with pytest.raises(OSError):
        write_demo_workspace(tmp_path / "演示")
    assert list(tmp_path.iterdir()) == []


def test_an_empty_folder_is_filled(tmp_path):
    folder = tmp_path / "演示"
    folder.mkdir()
    written = write_demo_workspace(folder)
    assert set(written) == _files(folder)
    assert json.loads((folder / NOTEBOOK_FOLDER / "overview_report.ipynb").read_text(encoding="utf-8"))["cells"]
