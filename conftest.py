"""The repository's own pytest hook: nbval refuses a reference notebook that a run overwrote.

The report notebooks in ``notebooks/`` are nbval's references. A notebook an evaluator ran and saved
in JupyterLab (autosave) would otherwise become the new reference and pass silently: every one of
its cells fails instead, saying how to restore it (the seal is written by
``scripts/refresh_notebook_references.py``).
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent


@functools.cache
def load_refresh_script() -> ModuleType:
    """``scripts/refresh_notebook_references.py`` as a module (scripts/ is no package)."""
    spec = importlib.util.spec_from_file_location(
        "refresh_notebook_references", ROOT / "scripts" / "refresh_notebook_references.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def check_reference(path: Path) -> str:
    return str(load_refresh_script().check_references(path))


def pytest_runtest_setup(item: pytest.Item) -> None:
    notebook = Path(str(item.path))
    if notebook.suffix == ".ipynb" and notebook.parent == ROOT / "notebooks":
        problem = check_reference(notebook)
        if problem:
            pytest.fail(problem, pytrace=False)
