"""Executed notebooks as self-contained HTML reports with the code hidden.

The ``minesafe_report`` template (``minesafe/templates``) is nbconvert's lab template without
MathJax, RequireJS, Mermaid or widget scripts, so the HTML loads nothing from the internet.
"""

from __future__ import annotations

import base64
import copy
import functools
import html as html_lib
import io
import re
from importlib import resources

import nbformat

from minesafe.files import bundled_font_path

FONT_FAMILY = "minesafe-cjk"
NOTEBOOK_HELP_TAG = "notebook-help"
LAYOUT_TABLES = ("GSUB", "GPOS", "GDEF", "vhea", "vmtx", "VORG")


def export_html(notebook: nbformat.NotebookNode, title: str) -> str:
    """The report as one HTML page: code cells' inputs and prompts hidden, outputs and text kept."""
    body, _ = _exporter().from_notebook_node(without_live_widgets(notebook), resources={"metadata": {"name": title}})
    face = embedded_font_face(body)
    return body.replace("</head>", f"{face}</head>", 1) if face else body


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def without_live_widgets(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy without widget views and widget state: a static page shows each widget's
    fallback (the what-if panel's note on how to open it live), never a blank area."""
    notebook = copy.deepcopy(notebook)
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            output.get("data", {}).pop(WIDGET_VIEW, None)
    return notebook


@functools.cache
def _exporter():
    """One exporter per process: batch workers reuse its compiled templates for every report."""
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    exporter = HTMLExporter(
        template_name="minesafe_report",
        extra_template_basedirs=[str(resources.files("minesafe") / "templates")],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        language_code="zh",
    )
    # How to use the notebook is for its users in JupyterLab, not for readers of the report.
    exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags={NOTEBOOK_HELP_TAG}), enabled=True)
    return exporter


def embedded_font_face(page: str) -> str:
    """A ``<style>`` with the bundled Noto Sans SC, cut down to the characters the page uses, so
    Chinese shows on machines without a Chinese font and nothing is fetched from elsewhere."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    path = bundled_font_path()
    if path is None:  # the CSS font stack still names the usual system fonts
        return ""
    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", page))
    codepoints = {ord(c) for c in text if ord(c) > 0x7F} | set(range(0x20, 0x7F))
    options = subset.Options()
    options.layout_features = []
    options.hinting = False
    buffer = io.BytesIO()
    with TTFont(str(path), lazy=True) as font:
        # Chinese needs no shaping; dropping the layout tables before subsetting saves reading them.
        for tag in LAYOUT_TABLES:
            if tag in font:
                del font[tag]
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=codepoints)
        subsetter.subset(font)
        font.flavor = "woff2"  # brotli-compressed: about half the size of WOFF
        font.save(buffer)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return (
        f'<style type="text/css">@font-face {{ font-family: "{FONT_FAMILY}"; '
        f'src: url(data:font/woff2;base64,{data}) format("woff2"); }}</style>'
    )
