"""The package builds with the oldest build backend it declares, ships its licences and every file of
its tree, and works installed from the wheel alone (no editable install, no repository beside it)."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tomllib
import urllib.request
import zipfile
from pathlib import Path

import nbformat
import pytest
from packaging.requirements import Requirement

import minesafe

from .conftest import ROOT, start_app, stop_app

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _oldest_setuptools() -> str:
    (spec,) = (Requirement(r) for r in PYPROJECT["build-system"]["requires"] if Requirement(r).name == "setuptools")
    (lower,) = (s.version for s in spec.specifier if s.operator == ">=")
    return lower


@pytest.fixture(scope="module")
def wheel_file(tmp_path_factory) -> Path:
    """A wheel built in pip's isolated build environment, with setuptools pinned to its declared minimum,
    from a copy of the repository's files (tracked or new, not ignored): a stale ``build/`` folder of an
    earlier build would otherwise slip its files into the wheel."""
    out = tmp_path_factory.mktemp("wheel")
    source = tmp_path_factory.mktemp("source")
    files = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    constraint = out / "constraint.txt"
    constraint.write_text(f"setuptools=={_oldest_setuptools()}.*\n", encoding="utf-8")
    env = {**os.environ, "PIP_CONSTRAINT": str(constraint)}
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (path,) = out.glob("*.whl")
    return path


@pytest.fixture(scope="module")
def wheel(wheel_file) -> set[str]:
    with zipfile.ZipFile(wheel_file) as archive:
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


#: Repository folders installed inside the package (pyproject.toml's package-dir), by their place in the wheel.
INSTALLED_AS = {
    "minesafe": "minesafe",
    "notebooks": "minesafe/notebooks",
    "data/demo": "minesafe/data/demo",
    "data/lists": "minesafe/data/lists",
    "params/profiles": "minesafe/data/profiles",
    "params/readings": "minesafe/data/readings",
}


def test_wheel_holds_every_file_of_the_package_tree(wheel):
    """A module or resource left out of the wheel works in the repository and fails once installed
    (as minesafe.apps did): every tracked file of the installed folders is in the wheel."""
    tracked = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", *INSTALLED_AS], capture_output=True, text=True, check=True
    ).stdout.split("\0")
    expected = set()
    for name in filter(None, tracked):
        folder = max((f for f in INSTALLED_AS if name.startswith(f + "/")), key=len)
        expected.add(INSTALLED_AS[folder] + name.removeprefix(folder))
    assert expected, "git lists no file of the package"
    assert sorted(expected - wheel) == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def installed(wheel_file, tmp_path_factory) -> Path:
    """A throw-away environment with the wheel installed (no editable install): its own site-packages
    first, then this environment's libraries (a plain path entry, so its editable minesafe stays out)
    and their Jupyter data files (nbconvert's and Voilà's templates)."""
    venv = tmp_path_factory.mktemp("installed")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel_file)]
    done = subprocess.run(install, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    (venv / "share").mkdir(exist_ok=True)
    (venv / "share" / "jupyter").symlink_to(Path(sys.prefix) / "share" / "jupyter")
    return venv


def _run(venv: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(venv / "bin" / "minesafe"), *args], cwd=cwd, capture_output=True, text=True, timeout=1200)


@pytest.mark.timeout(2400)
def test_installed_wheel_evaluates_batches_the_demo_and_serves_the_app(installed, tmp_path):
    python = installed / "bin" / "python"
    where = subprocess.run(
        [str(python), "-c", "import minesafe, minesafe.apps.server as s; print(minesafe.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert where.returncode == 0, where.stderr
    package = Path(where.stdout.strip()).parent
    assert package.is_relative_to(installed), f"minesafe imported from {package}, not from the wheel"

    county = package / "data" / "demo" / "counties" / "jia.yaml"
    evaluated = _run(installed, tmp_path, "evaluate", str(county))
    assert evaluated.returncode == 0, evaluated.stderr
    assert "合格" in evaluated.stdout

    batch = _run(installed, tmp_path, "batch")  # the README's first command: the shipped demo
    assert batch.returncode == 0, batch.stdout[-3000:] + batch.stderr[-3000:]
    summary = json.loads((tmp_path / "reports" / "batch-summary.json").read_text(encoding="utf-8"))
    assert summary["failed"] == 0, summary
    demo_units = set(minesafe.load_results(ROOT / "data" / "demo")["单位"])  # every shipped demo unit, no argument needed
    assert demo_units <= {u["单位"] for u in summary["units"]}
    assert all(Path(tmp_path / u["报告"]).is_file() for u in summary["units"])

    server, url = start_app(str(county), "--port", str(_free_port()), exe=str(installed / "bin" / "minesafe"), cwd=tmp_path)
    try:
        with urllib.request.urlopen(url, timeout=300) as page:  # Voilà runs the app notebook for the page
            assert page.status == 200
            assert "假设分析" in page.read().decode("utf-8")
    finally:
        status, errors = stop_app(server, signal.SIGINT)
    assert status == 130, errors


def test_installed_wheel_writes_the_report_notebooks_to_a_folder(installed, tmp_path):
    """A pip install has no notebooks/ folder to open: ``minesafe demo DIR`` (docs/reports.md)
    writes every report notebook to DIR/笔记本/, its parameters pointing at files beside it."""
    written = _run(installed, tmp_path, "demo", "演示")
    assert written.returncode == 0, written.stderr
    notebooks = tmp_path / "演示" / "笔记本"
    assert sorted(p.name for p in notebooks.glob("*.ipynb")) == sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    for path in notebooks.glob("*.ipynb"):
        (parameters,) = [c for c in nbformat.read(path, as_version=4).cells if "parameters" in c.metadata.get("tags", [])]
        assert all((notebooks / default).exists() for default in re.findall(r'= "([^"]+)"', parameters.source)), path.name


def test_installed_wheel_enables_the_jupyter_server_extension(installed, tmp_path):
    """The wheel installs the configuration that enables minesafe.lab (a saved what-if panel
    reopens as its note) in the environment's Jupyter servers, and the module loads."""
    listed = subprocess.run(
        [str(installed / "bin" / "python"), "-m", "jupyter_server", "extension", "list"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    found = re.search(r"minesafe\.lab \S*enabled.*?minesafe\.lab +\S*OK", listed.stdout + listed.stderr, re.DOTALL)
    assert found, listed.stdout + listed.stderr


#: Private names of other projects the package once used; each is a break waiting for an upgrade.
PRIVATE_USES = {
    "jupyter_client's kernel_info handler": r"_handle_kernel_info_reply",
    "ProcessPoolExecutor's process table": r"\._processes\b",
    "openpyxl's row counter": r"_current_row",
    "openpyxl's cell table": r"\._cells\b",
    "argparse's module-level gettext": r"argparse\.(_\b|ngettext)",
    "argparse's groups and actions": r"\._(positionals|optionals|actions|option_string_actions|subparsers)\b",
    "multiprocessing's internals": r"multiprocessing\.(util|connection|reduction)\._|\._popen\b",
    "PyYAML's extension module": r"yaml\._yaml\b",
}


@pytest.mark.parametrize("what", PRIVATE_USES)
def test_no_private_attribute_of_another_project_is_used(what):
    """Other projects are used through their public APIs only (known private names grepped for)."""
    import re

    pattern = re.compile(PRIVATE_USES[what])
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / "minesafe").rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if pattern.search(line)
    ]
    assert found == []
