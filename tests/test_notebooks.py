"""The report notebooks: narrative, literal parameters and calls only; nbval guards their outputs."""

import ast
import copy
import shutil
import subprocess
import sys

import nbformat
import pytest

from conftest import check_reference

from .conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_one_parameters_cell_of_annotated_literals(path):
    notebook = nbformat.read(path, as_version=4)
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    for statement in ast.parse(tagged[0].source).body:
        assert isinstance(statement, ast.AnnAssign), ast.unparse(statement)
        ast.literal_eval(statement.value)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_cells_hold_no_logic(path):
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code":
            for node in ast.walk(ast.parse(cell.source)):
                assert not isinstance(node, ast.FunctionDef | ast.ClassDef | ast.If | ast.For | ast.While | ast.Lambda), (
                    cell.source
                )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_outputs_carry_no_images(path):
    """nbval does not compare images, so the repository does not carry them."""
    for cell in nbformat.read(path, as_version=4).cells:
        for output in cell.get("outputs", []):
            assert "image/png" not in output.get("data", {})


def _nbval(notebook):
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "--rootdir",
            str(notebook.parent.parent),
            "--nbval",
            "--nbval-current-env",
            f"--nbval-sanitize-with={ROOT / 'notebooks' / 'sanitize.cfg'}",
            str(notebook),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=notebook.parent.parent,
    )


def test_nbval_catches_a_changed_threshold(tmp_path):
    """On a copy, make T1 stricter: nbval must report that the key numbers no longer match."""
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    shutil.copytree(ROOT / "data" / "demo", tmp_path / "data" / "demo")
    copy = tmp_path / "notebooks" / "noncoal_county_report.ipynb"
    assert _nbval(copy).returncode == 0  # the untouched copy passes: any failure below is the threshold's

    (tmp_path / "stricter.yaml").write_text(
        "evaluation:\n  national: false\n  name: 更严的试行口径\n  targets: {T1: {bound: 30%}}\n", encoding="utf-8"
    )
    notebook = nbformat.read(copy, as_version=4)
    cell = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    cell.source = cell.source.replace('params_file: str = ""', 'params_file: str = "../stricter.yaml"')
    nbformat.write(notebook, copy)
    run = _nbval(copy)
    assert run.returncode == 1
    assert "Cell 3: Cell outputs differ" in run.stdout  # the key numbers cell
    assert "考核评估结论：不合格" in run.stdout


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_references_are_sealed(path):
    """Each reference is as scripts/refresh_notebook_references.py wrote it, not saved after a run."""
    assert check_reference(path) == ""


def test_a_reference_saved_after_a_run_is_refused(tmp_path):
    """An evaluator's run saved over a reference (another submission's outputs, new execution
    counts, the provenance filled in) breaks its seal: nbval's cells fail, saying how to restore it."""
    notebook = nbformat.read(NOTEBOOKS[0], as_version=4)
    parameters = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    parameters.execution_count += 10
    saved = tmp_path / NOTEBOOKS[0].name
    nbformat.write(notebook, saved)
    assert check_reference.__wrapped__(saved).startswith(f"{saved.name} is not the nbval reference")
    notebook.metadata["widgets"] = {}  # JupyterLab's saved widget state
    parameters.execution_count -= 10
    nbformat.write(notebook, saved)
    assert "git checkout notebooks/" in check_reference.__wrapped__(saved)


def _displays_a_value(source: str) -> bool:
    """The cell ends with an expression, other than the parameter check (which returns None)."""
    last = ast.parse(source).body[-1]
    return isinstance(last, ast.Expr) and "check_parameters" not in ast.unparse(last)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_references_are_stored(path):
    """nbval compares only what is stored: every cell that shows something must carry its output,
    or the regression check passes vacuously."""
    for cell in nbformat.read(path, as_version=4).cells:
        if "nbval-ignore-output" in cell.metadata.get("tags", []):
            assert not cell.outputs, "an uncompared cell stores no output: it would show stale values before a run"
        elif cell.cell_type == "code" and _displays_a_value(cell.source):
            assert cell.outputs, f"no stored output for: {cell.source}"


UNIT_NOTEBOOKS = ["noncoal_county_report", "coal_county_report", "coal_enterprise_report"]


def _code_and_words(name: str) -> list[str]:
    """A unit notebook's cells without its title and parameter defaults (the parts that differ)."""
    cells = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4).cells
    return [c.source for c in cells[1:] if "parameters" not in c.metadata.get("tags", [])]


def test_the_unit_notebooks_do_not_drift_apart():
    """The county, coal county and coal enterprise notebooks are kept as three files (see
    docs/reports.md); apart from the title and the demo defaults they are the same cells, and the
    non-coal form alone has no threshold section."""
    noncoal, coal_county, enterprise = map(_code_and_words, UNIT_NOTEBOOKS)
    assert coal_county == enterprise
    assert [c for c in coal_county if "量化阈值" not in c and "render_thresholds" not in c] == noncoal


def _run_county_notebook(tmp_path, **parameters):
    import papermill

    notebooks = ROOT / "notebooks"
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        papermill.execute_notebook(str(notebooks / "noncoal_county_report.ipynb"), str(tmp_path / "out.ipynb"),
                                   parameters=parameters, cwd=str(notebooks), kernel_name="python3", progress_bar=False)  # fmt: skip
    return caught.value


def test_a_missing_file_shows_the_chinese_message_alone(tmp_path):
    error = _run_county_notebook(tmp_path, submission="../data/没有这个文件.yaml")
    assert error.ename == "InputError" and "文件不存在" in error.evalue
    assert error.traceback == str(error.evalue).splitlines()  # the message, no Python traceback


def test_a_misspelled_papermill_parameter_is_refused(tmp_path):
    """papermill -p submision …: refused, never the demo county's report."""
    error = _run_county_notebook(tmp_path, submision="../data/demo/counties/bing.yaml")
    assert error.ename == "ParameterError" and "submision" in error.evalue


def _displayed(cells) -> list[str]:
    """What the cells show as text, leaving out the widget and the uncompared provenance."""
    return [
        output["data"].get("text/plain", "")
        for cell in cells
        if cell.cell_type == "code" and "nbval-ignore-output" not in cell.metadata.get("tags", [])
        for output in cell.outputs
        if output.output_type in ("execute_result", "display_data")
        and "application/vnd.jupyter.widget-view+json" not in output["data"]
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_run_all_twice_in_one_kernel(path):
    """The help says: change the parameters, then Run All. Run All, add a cell of one's own and
    run it, Run All again, in one kernel: the second run works and shows what the first showed."""
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    user = nbformat.v4.new_code_cell("from pathlib import Path\n\nnote = Path('我的笔记.txt')")
    client = NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            client.execute_cell(cell, index)
        first = copy.deepcopy(notebook.cells)
        notebook.cells.append(user)  # the evaluator's own cell at the end, run
        client.execute_cell(user, len(first))
        for index, cell in enumerate(notebook.cells):  # Run All again: raises at the first error
            client.execute_cell(cell, index)
    assert _displayed(first) and _displayed(notebook.cells) == _displayed(first)
