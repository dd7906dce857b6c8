"""The papermill route (docs/reports.md): each report notebook run by the papermill CLI and exported
with ``minesafe export`` gives the page and the Word document ``minesafe batch`` makes for the same
unit, offline; the notebooks' usage text shows in no export, not even a plain nbconvert one."""

from __future__ import annotations

import html
import io
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from minesafe.export import NOTEBOOK_HELP_TAG

from .conftest import ROOT, minesafe_exe

#: Each report notebook: the demo workspace's run file whose unit it reports on (``None``: the
#: overview, run on the batch's output folder) and the batch's report folder for it.
ROUTES = {
    "noncoal_county_report": ("运行/示例南甲县.yaml", "2022/示例南省/示例南甲县"),  # two stages
    "coal_county_report": ("运行/示例煤矿县甲.yaml", "2023/示例省/示例煤矿县甲（煤矿）"),  # 核查 overturns 自评
    "coal_enterprise_report": ("运行/示例矿业有限公司.yaml", "2023/示例省/示例矿业有限公司"),
    "noncoal_province_report": ("运行/示例南省.yaml", "2022/示例南省/省级评估"),
    "list_management": ("运行/名单建议.yaml", "2026/名单管理/煤矿安全生产重点县(市、区)"),
    "overview_report": (None, "总览"),
}
EVALUATION_REPORTS = ("noncoal_county_report", "coal_county_report", "coal_enterprise_report", "noncoal_province_report")
#: Anything that would reach the network: a URL of any scheme-relative or http(s) form.
URL = re.compile(r"https?://|(?<![:\w])//[a-z0-9.-]+\.[a-z]{2,}", re.IGNORECASE)
GENERATED = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4}")


def _run(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(process: subprocess.Popen, what: str) -> str:
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, f"{what} exited {process.returncode}:\n{err[-3000:]}"
    return out


def papermill_arguments(workspace: Path, notebook: str) -> list[str]:
    """``-p NAME VALUE`` for every parameter the run file gives (the overview: the batch's folder)."""
    run_file = ROUTES[notebook][0]
    parameters = (
        {"results": "reports"} if run_file is None else yaml.safe_load((workspace / run_file).read_text("utf-8"))["parameters"]
    )
    return [word for name, value in parameters.items() for word in ("-p", name, str(value))]


@pytest.fixture(scope="module")
def route(tmp_path_factory) -> Path:
    """A demo workspace where the batch made the run files' reports and the papermill CLI ran every
    report notebook with the same parameters into ``导出/``, each then exported by ``minesafe export``."""
    workspace = tmp_path_factory.mktemp("route") / "演示"
    subprocess.run([minesafe_exe(), "demo", str(workspace)], check=True, capture_output=True, timeout=300)
    runs = [run for run, _ in ROUTES.values() if run]
    _finish(_run([minesafe_exe(), "batch", *runs, "--out", "reports", "--jobs", "2"], workspace), "minesafe batch")
    papermill = str(Path(sys.executable).parent / "papermill")
    (workspace / "导出").mkdir()
    executed = {
        name: _run([papermill, f"笔记本/{name}.ipynb", f"导出/{name}.ipynb", *papermill_arguments(workspace, name)], workspace)
        for name in ROUTES
    }
    for name, process in executed.items():
        _finish(process, f"papermill {name}")
    exports = {name: _run([minesafe_exe(), "export", f"导出/{name}.ipynb"], workspace) for name in ROUTES}
    for name, process in exports.items():
        _finish(process, f"minesafe export {name}")
    return workspace


def page_text(page: str) -> list[str]:
    """What a reader sees of a page, line by line (the generation time masked)."""
    page = re.sub(r"<style.*?</style>", "", page, flags=re.DOTALL)
    page = re.sub(r"data:[^\"')]+", "DATA", page)
    text = html.unescape(re.sub(r"<[^>]+>", "\n", page))
    return [GENERATED.sub("GENERATED-AT", line.strip()) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("notebook", list(ROUTES))
def test_the_exported_page_is_the_batch_page_and_offline(route, notebook):
    exported = (route / "导出" / f"{notebook}.html").read_text("utf-8")
    batch = (route / "reports" / ROUTES[notebook][1] / "report.html").read_text("utf-8")
    assert not URL.findall(exported), URL.findall(exported)[:5]
    assert page_text(exported) == page_text(batch)
    assert "使用方法" not in exported
    title = re.search(r"<title>(.*?)</title>", batch).group(1)
    assert f"<title>{title}</title>" in exported


@pytest.mark.parametrize("notebook", EVALUATION_REPORTS)
def test_an_evaluation_report_exports_the_batch_word_document(route, notebook):
    from docx import Document

    def text(path: Path) -> list[str]:
        document = Document(io.BytesIO(path.read_bytes()))
        cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
        return [GENERATED.sub("", p.text) for p in document.paragraphs] + cells

    exported = route / "导出" / f"{notebook}.docx"
    assert text(exported) == text(route / "reports" / ROUTES[notebook][1] / "report.docx")


def test_a_plain_nbconvert_export_leaves_the_usage_text_out(route):
    """`jupyter nbconvert --to html --no-input` (nbconvert's defaults otherwise) shows no usage text:
    the cell is marked ``transient.remove_source``, which nbconvert's templates honour."""
    from nbconvert import HTMLExporter

    notebook = nbformat.read(route / "导出" / "noncoal_county_report.ipynb", as_version=4)
    assert "使用方法" in "".join(c.source for c in notebook.cells)  # JupyterLab users still see it
    page, _ = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True).from_notebook_node(notebook)
    assert "使用方法" not in page
    assert "考核评估结论" in page


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_every_usage_text_is_tagged_and_hidden(path):
    """A markdown cell telling how to use the notebook is tagged and removed from any nbconvert export."""
    for cell in nbformat.read(path, as_version=4).cells:
        if "使用方法" in cell.source or NOTEBOOK_HELP_TAG in cell.metadata.get("tags", []):
            assert cell.cell_type == "markdown"
            assert NOTEBOOK_HELP_TAG in cell.metadata.get("tags", [])
            assert cell.metadata.get("transient") == {"remove_source": True}
