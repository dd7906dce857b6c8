"""Tests of minesafe.parsing."""

import json
import os

import pytest
import yaml

from minesafe.cli import main
from minesafe.exceptions import InputError
from minesafe.parsing import PythonYamlLoader, YamlLoader, parse_yaml
from minesafe.results import evaluate

from .conftest import DATA, ROOT

YAML_FILES = sorted(
    p
    for folder in (DATA / "invalid", ROOT / "data", ROOT / "params", ROOT / "minesafe" / "rubrics")
    for p in folder.rglob("*")
    if p.suffix in (".yaml", ".yml")
)


def _parse_with(loader, path):
    """What a loader makes of a file: its data, or the problems it reports."""
    try:
        return parse_yaml(path.read_bytes().decode("utf-8-sig", errors="replace"), str(path), loader)[0]
    except InputError as exc:
        return [(p.path, p.message, p.expected) for p in exc.problems]


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_libyaml_and_python_loaders_agree(path):
    assert _parse_with(YamlLoader, path) == _parse_with(PythonYamlLoader, path)


class _PyYamlConstructionLoader(YamlLoader):
    """The libyaml loader with PyYAML's general construction only (the fallback of the direct one)."""

    construct_document = yaml.constructor.BaseConstructor.construct_document


TRICKY_YAML = [
    "a: 1\nb: true\nc: ~\nd: 1.5\ne: .inf\nf: -.inf\ng: .nan\nh: 0o17\ni: 0x1f\nj: '010'\nk: []\nl: {}\n",
    "a: 1\na: 2\n",
    "1: x\nTrue: y\n",
    "? [a, b]\n: 1\n",
    "? {a: 1}\n: 1\n",
    "a: !!int abc\n",
    "a: !!str 5\nb: !!float 1\nc: !!bool true\nd: !!null ''\n",
    "a: !!binary aGk=\n",
    "a: !custom x\n",
    "!!int 5\n",
    "!!map {a: 1}\n",
    "!!str {a: 1}\n",
    "a: 12345678901234567890\n",
    "<<: {a: 1}\n",
    "- [1, [2, [3]]]\n- {a: {b: {c: null}}}\n",
    "a: " + "[" * 40 + "]" * 40 + "\n",
    "x: " + "{a: " * 70 + "1" + "}" * 70 + "\n",
    "",
    "plain text\n",
]


@pytest.mark.parametrize("text", TRICKY_YAML, ids=range(len(TRICKY_YAML)))
def test_direct_construction_agrees_with_pyyamls(text, tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text(text, encoding="utf-8")
    assert repr(_parse_with(YamlLoader, path)) == repr(_parse_with(_PyYamlConstructionLoader, path))


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_direct_construction_agrees_with_pyyamls_on_every_yaml_file(path):
    # repr, not ==: 1 == True == 1.0 would hide a wrong type
    assert repr(_parse_with(YamlLoader, path)) == repr(_parse_with(_PyYamlConstructionLoader, path))


def test_the_libyaml_loader_is_used():
    assert yaml.__with_libyaml__ and YamlLoader is not PythonYamlLoader


@pytest.mark.parametrize("loader", [YamlLoader, PythonYamlLoader], ids=["libyaml", "python"])
def test_yaml_1_2_meaning_never_yaml_1_1(loader):
    text = "a: 010\nb: 0o10\nc: 1:30\nd: yes\ne: on\nf: true\ng: ~\nh: 2022-12-31\ni: 1e3\nj: 0x1F\nk: 1_000\nl: .5\n"
    data, _ = parse_yaml(text, "x.yaml", loader)
    assert data == {
        "a": 10, "b": 8, "c": "1:30", "d": "yes", "e": "on", "f": True, "g": None,
        "h": "2022-12-31", "i": 1000.0, "j": 31, "k": "1_000", "l": 0.5,
    }  # fmt: skip


@pytest.mark.parametrize("loader", [YamlLoader, PythonYamlLoader], ids=["libyaml", "python"])
def test_anchors_are_refused_before_anything_is_expanded(loader):
    laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{k}: &{k} [{', '.join([f'*{p}'] * 10)}]\n" for p, k in zip("abcdefgh", "bcdefghi", strict=True)
    )  # 10**9 strings if expanded
    with pytest.raises(InputError, match="不支持 YAML 锚点") as info:
        parse_yaml(laughs, "laughs.yaml", loader)
    assert len(info.value.problems) == 10  # the first places, not one per alias


def test_a_pipe_or_device_is_refused_without_blocking(tmp_path, capsys):
    for name in ("county.yaml", "county.xlsx"):
        fifo = tmp_path / name
        os.mkfifo(fifo)
        assert main(["evaluate", str(fifo)]) == 2
        assert "不是普通文件" in capsys.readouterr().err


def test_json_input_is_accepted(tmp_path, county_data):
    path = tmp_path / "county.json"
    path.write_text(json.dumps(county_data, ensure_ascii=False), encoding="utf-8")
    assert evaluate(path).passed


def test_broken_json_names_the_line(tmp_path):
    path = tmp_path / "county.json"
    path.write_text('{"rubric": "noncoal-county",\n "year": }', encoding="utf-8")
    with pytest.raises(InputError, match="第 2 行"):
        evaluate(path)
