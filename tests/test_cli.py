"""The minesafe command: JSON contract, readable text, exit status, the installed console script."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from minesafe.cli import main

from .conftest import DEMO

COUNTIES = sorted((DEMO / "counties").glob("*.yaml"))


def _expected_verdict(path):
    """Each demo file's first line documents its verdict: “…：合格” or “…：不合格”."""
    first = path.read_text(encoding="utf-8").splitlines()[0]
    return re.search(r"：(不?合格)$", first).group(1)


@pytest.mark.parametrize("path", [*COUNTIES, DEMO / "province.yaml"], ids=lambda p: p.stem)
def test_demo_submissions_reach_their_documented_verdicts(path, capsys):
    assert main(["evaluate", "--json", str(path)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["verdict"] == _expected_verdict(path)
    assert result["passed"] is (result["verdict"] == "合格")
    assert result["demo"] is True


def test_demo_covers_every_verdict_branch(capsys):
    main(["evaluate", "--json", *map(str, COUNTIES)])
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    kinds = {r["kind"] for result in results for r in result["reasons"]}
    assert {"target", "veto", "score", "points", "flag"} <= kinds
    assert any(r["passed"] and r["score"] == r["pass_score"] for r in results)
    assert any(t["result"] == "不涉及" for r in results for t in r["targets"].values())


def test_county_json_contract(capsys):
    assert main(["evaluate", "--json", str(DEMO / "counties" / "ding.yaml")]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1  # one object, one line
    result = json.loads(out)
    for key in (
        "rubric",
        "province",
        "county",
        "year",
        "passed",
        "verdict",
        "score",
        "veto",
        "targets",
        "items",
        "summary",
        "reasons",
    ):
        assert key in result
    assert set(result["veto"]) == {"completed", "failed", "not_applicable"}
    assert set(result["targets"]) == {f"T{i}" for i in range(1, 8)}
    assert len(result["items"]) == 65
    assert {"category", "result", "points"} <= set(result["items"]["1-1c"])
    assert result["summary"].startswith("否决项完成的有 ")
    assert result["targets"]["T1"]["value"] == 0.2  # exactly at the bound in the demo


def test_province_json_lists_counties(capsys):
    assert main(["evaluate", "--json", str(DEMO / "province.yaml")]) == 0
    result = json.loads(capsys.readouterr().out)
    assert "county" not in result
    assert len(result["counties"]) == len(COUNTIES)
    assert set(next(iter(result["counties"].values()))) == {"passed", "verdict", "score"}


def test_readable_text_shows_verdict_summary_and_reasons(capsys):
    assert main(["evaluate", str(DEMO / "counties" / "yi.yaml")]) == 0
    out = capsys.readouterr().out
    assert "【示例数据】" in out
    assert "考核评估结论：不合格" in out
    assert "评估结果汇总：否决项完成的有" in out
    assert "否决项 4-2c" in out


def test_params_switch_the_reading(tmp_path, county_data, capsys):
    county_data["items"]["3-7a"] = {"result": "未完成"}
    county = tmp_path / "county.yaml"
    county.write_text(yaml.safe_dump(county_data, allow_unicode=True), encoding="utf-8")
    params = tmp_path / "alternative.yaml"
    params.write_text("evaluation:\n  categories: {2-3c: reference, 3-7a: veto}\n", encoding="utf-8")
    main(["evaluate", "--json", str(county)])
    main(["evaluate", "--json", "--params", str(params), str(county)])
    default, alternative = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert default["passed"] and not alternative["passed"]
    assert alternative["items"]["3-7a"]["category"] == "veto"


def test_console_script_runs_and_exits_2_on_bad_input(tmp_path):
    exe = shutil.which("minesafe", path=str(Path(sys.executable).parent))
    assert exe, "the minesafe console script is installed beside this Python"
    ok = subprocess.run([exe, "evaluate", str(DEMO / "counties" / "jia.yaml")], capture_output=True, text=True, check=False)
    assert ok.returncode == 0 and "考核评估结论：合格" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("rubric: noncoal-county\nyear: 1999\n", encoding="utf-8")
    failed = subprocess.run([exe, "evaluate", str(bad)], capture_output=True, text=True, check=False)
    assert failed.returncode == 2 and "键 year" in failed.stderr and failed.stdout == ""
