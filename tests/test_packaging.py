"""The package builds with the oldest build backend it declares, and ships its licences."""

import os
import subprocess
import sys
import tomllib
import zipfile

import pytest
from packaging.requirements import Requirement

from .conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _oldest_setuptools() -> str:
    (spec,) = (Requirement(r) for r in PYPROJECT["build-system"]["requires"] if Requirement(r).name == "setuptools")
    (lower,) = (s.version for s in spec.specifier if s.operator == ">=")
    return lower


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """A wheel built in pip's isolated build environment, with setuptools pinned to its declared minimum."""
    out = tmp_path_factory.mktemp("wheel")
    constraint = out / "constraint.txt"
    constraint.write_text(f"setuptools=={_oldest_setuptools()}.*\n", encoding="utf-8")
    env = {**os.environ, "PIP_CONSTRAINT": str(constraint)}
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (path,) = out.glob("*.whl")
    with zipfile.ZipFile(path) as archive:
        return set(archive.namelist())


def test_builds_with_the_oldest_declared_setuptools(wheel):
    assert "minesafe/__init__.py" in wheel


def test_wheel_ships_both_licences_and_the_typing_marker(wheel):
    licences = {name.split("/licenses/", 1)[1] for name in wheel if "/licenses/" in name}
    assert licences == set(PYPROJECT["project"]["license-files"])
    assert "minesafe/py.typed" in wheel


def test_wheel_ships_the_report_notebooks_and_the_demo_data(wheel):
    """`minesafe batch` and `minesafe app` work after a plain `pip install`, from any folder."""
    assert {f"minesafe/notebooks/{p.name}" for p in (ROOT / "notebooks").glob("*.ipynb")} <= wheel
    assert {
        f"minesafe/data/demo/{p.relative_to(ROOT / 'data' / 'demo')}" for p in (ROOT / "data" / "demo").rglob("*.yaml")
    } <= wheel
    assert "minesafe/apps/whatif_app.ipynb" in wheel
    assert "minesafe/data/profiles/wuhai-2023.yaml" in wheel  # named by submissions such as the demo's 甲
    # `minesafe demo` writes the readings and its README.txt into the workspace
    assert {f"minesafe/data/readings/{p.name}" for p in (ROOT / "params" / "readings").glob("*.yaml")} <= wheel
    assert "minesafe/templates/workspace/README.txt" in wheel
