"""environment.yml (conda) and pyproject.toml list the same dependencies, with the same ranges, and
they hold every library the package imports; CI installs the versions tested (constraints.txt)."""

import ast
import importlib.metadata
import re
import sys
import tomllib

import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from minesafe.kernels import PRELOAD

from .conftest import ROOT

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _pyproject_requirements() -> dict[str, SpecifierSet]:
    specs = PROJECT["dependencies"] + [r for extra in PROJECT["optional-dependencies"].values() for r in extra]
    return {canonicalize_name(Requirement(s).name): Requirement(s).specifier for s in specs}


def _conda_requirements() -> dict[str, SpecifierSet]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    found = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str) and not re.match(r"(python|pip)(=|\s|$)", dep):
            name, spec = re.match(r"([A-Za-z0-9_.\-]+)\s*(.*)", dep).groups()
            found[canonicalize_name(name)] = SpecifierSet(spec.replace(" ", ""))
    return found


def test_conda_and_pip_dependencies_agree():
    assert _conda_requirements() == _pyproject_requirements()


def test_conda_environment_installs_the_package_itself():
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert "--editable ." in pip


def _imported_top_level_names() -> set[str]:
    """Every module the package imports (statements and the kernel template's preload list), by top-level name."""
    names = {name.split(".")[0] for name in PRELOAD}
    for path in (ROOT / "minesafe").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"minesafe"}


def test_every_imported_library_is_declared_with_a_range():
    runtime = {canonicalize_name(Requirement(s).name): Requirement(s).specifier for s in PROJECT["dependencies"]}
    providers = importlib.metadata.packages_distributions()
    missing = {}
    for name in sorted(_imported_top_level_names()):
        distributions = {canonicalize_name(d) for d in providers.get(name, [name])}
        if not distributions & set(runtime):
            missing[name] = sorted(distributions)
    assert not missing, f"imported but not in pyproject.toml's dependencies: {missing}"
    # a range: a lower bound and a bound below the next major release, so a new major cannot arrive unseen
    unbounded = [name for name, spec in runtime.items() if not {s.operator for s in spec} >= {">=", "<"}]
    assert not unbounded


def test_constraints_pin_every_declared_dependency_inside_its_range():
    """CI installs from constraints.txt (`pip freeze` of a tested environment): each declared library
    is pinned there, to a version its declared range accepts."""
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version.strip()
    for name, spec in _pyproject_requirements().items():
        assert name in pins, f"{name} is not pinned in constraints.txt"
        assert spec.contains(pins[name], prereleases=True), f"{name}=={pins[name]} is outside {spec}"
