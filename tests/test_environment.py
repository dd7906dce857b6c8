"""environment.yml (conda) and pyproject.toml list the same dependencies."""

import re
import tomllib

import yaml
from packaging.requirements import Requirement

from .conftest import ROOT


def _pyproject_requirements():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    return {Requirement(s).name.lower(): str(Requirement(s).specifier) for s in specs}


def _conda_requirements():
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    found = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str) and not re.match(r"(python|pip)(=|\s|$)", dep):
            name, spec = re.match(r"([A-Za-z0-9_.\-]+)\s*(.*)", dep).groups()
            found[name.lower()] = spec.replace(" ", "")
    return found


def test_conda_and_pip_dependencies_agree():
    assert _conda_requirements() == _pyproject_requirements()


def test_conda_environment_installs_the_package_itself():
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "--editable ." in pip
