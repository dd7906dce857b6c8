"""Re-execute the report notebooks in place on their default (demo) parameters, so that nbval
compares future runs against today's outputs.

Run it after an intended change to what the reports show, then review the diff of notebooks/
before committing: every changed number in it is a changed verdict, score or target value.

It seals each notebook it writes (``metadata.minesafe.references``: a digest of every code cell's
source, outputs and execution count), so that a notebook saved from JupyterLab after a run (an
evaluator's own submission, autosave) is refused loudly instead of silently becoming nbval's new
reference (``tests/test_notebooks.py`` and the repository's ``conftest.py`` check the seal).

    python scripts/refresh_notebook_references.py
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

import nbformat
import papermill
from nbval.plugin import get_sanitize_patterns

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
#: nbval never compares these, so the repository does not need to carry them.
UNCOMPARED = ("image/png", "image/jpeg", "application/vnd.jupyter.widget-view+json")
#: Volatile parts (times, revisions) are stored already sanitized, so a refresh shows only real changes.
PATTERNS = get_sanitize_patterns((NOTEBOOKS / "sanitize.cfg").read_text(encoding="utf-8"))


def _sanitize(value):
    if isinstance(value, str):
        for regex, replace in PATTERNS:
            value = re.sub(regex, replace, value)
        return value
    if isinstance(value, list):
        return [_sanitize(v) for v in value]
    return value


def digest_references(notebook: nbformat.NotebookNode) -> str:
    """SHA-256 of what a run changes and nbval compares: each code cell's source, outputs and count."""
    cells = [[c.source, c.get("outputs", []), c.get("execution_count")] for c in notebook.cells if c.cell_type == "code"]
    return hashlib.sha256(json.dumps(cells, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()


def check_references(path: Path) -> str:
    """Why the notebook at ``path`` is not the reference this script wrote (empty when it is)."""
    notebook = nbformat.read(path, as_version=4)
    if (
        notebook.metadata.get("minesafe", {}).get("references") == digest_references(notebook)
        and "widgets" not in notebook.metadata
    ):
        return ""
    return (
        f"{path.name} is not the nbval reference scripts/refresh_notebook_references.py wrote: it was run and "
        "saved (JupyterLab autosave?) or edited by hand. Its outputs would become the reference nbval compares "
        f"against. Restore it (git checkout notebooks/{path.name}) and work in a copy (minesafe demo DIR writes "
        "one), or, after an intended change, run scripts/refresh_notebook_references.py."
    )


def refresh(path: Path) -> None:
    notebook = papermill.execute_notebook(str(path), None, cwd=str(path.parent), kernel_name="python3", progress_bar=False)
    for cell in notebook.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if "nbval-ignore-output" in cell.metadata.get("tags", []):
            # Not compared (times, versions): stored empty, so a notebook opened before running
            # shows no stale or placeholder values.
            cell.outputs = []
            cell.execution_count = None
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            for mime in UNCOMPARED:
                data.pop(mime, None)
            for mime in data:
                data[mime] = _sanitize(data[mime])
    notebook.metadata.pop("papermill", None)
    notebook.metadata.pop("widgets", None)
    notebook.metadata["minesafe"] = {"references": digest_references(notebook)}
    nbformat.write(notebook, str(path))


def main() -> int:
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        refresh(path)
        print(f"refreshed {path.relative_to(NOTEBOOKS.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
