"""Executed notebooks as self-contained HTML reports with the code hidden.

The ``minesafe_report`` template (``minesafe/templates``) is nbconvert's lab template without
MathJax, RequireJS, Mermaid or widget scripts, so the HTML loads nothing from the internet.
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import html as html_lib
import io
import os
import re
from importlib import resources
from pathlib import Path

import nbformat

from minesafe.exceptions import FontError
from minesafe.resources import bundled_font_path
from minesafe.storage import atomic_write

FONT_FAMILY = "minesafe-cjk"
NOTEBOOK_HELP_TAG = "notebook-help"
LAYOUT_TABLES = ("GSUB", "GPOS", "GDEF", "vhea", "vmtx", "VORG")
#: Blocks every report may use besides Chinese characters: ASCII, Latin-1 (the no-break space,
#: nbconvert's ¶ anchors), general punctuation, arrows and maths (≥ ≤), enclosed numbers, shapes,
#: CJK punctuation and full-width forms.
COMMON_RANGES = (
    (0x20, 0x7E),
    (0xA0, 0xFF),
    (0x2000, 0x206F),
    (0x2190, 0x22FF),
    (0x2460, 0x24FF),
    (0x25A0, 0x25FF),
    (0x3000, 0x303F),
    (0xFF00, 0xFFEF),
)


def export_html(notebook: nbformat.NotebookNode, title: str) -> str:
    """The report as one HTML page: code cells' inputs and prompts hidden, outputs and text kept."""
    body, _ = _exporter().from_notebook_node(without_live_widgets(notebook), resources={"metadata": {"name": title}})
    face = embedded_font_face(body)
    return body.replace("</head>", f"{face}</head>", 1) if face else body


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def without_live_widgets(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy without widget views and widget state: a static page shows each widget's
    fallback (the what-if panel's note on how to open it live), never a blank area. A notebook
    with no widget is returned as it is (nbconvert copies what it converts)."""
    outputs = [output for cell in notebook.cells for output in cell.get("outputs", [])]
    if "widgets" not in notebook.metadata and not any(WIDGET_VIEW in output.get("data", {}) for output in outputs):
        return notebook
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
        optimistic_validation=True,  # validate once after the preprocessors, not after each of them
    )
    # How to use the notebook is for its users in JupyterLab, not for readers of the report.
    exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags={NOTEBOOK_HELP_TAG}), enabled=True)
    return exporter


def embedded_font_face(page: str) -> str:
    """A ``<style>`` with the bundled Noto Sans SC, cut down to the characters the page uses, so
    Chinese shows on machines without a Chinese font and nothing is fetched from elsewhere."""
    if bundled_font_path() is None:  # the CSS font stack still names the usual system fonts
        return ""
    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", page))
    codepoints = frozenset({ord(c) for c in text if ord(c) > 0x7F} | set(range(0x20, 0x7F)))
    data = base64.b64encode(font_subset(codepoints)).decode("ascii")
    return (
        f'<style type="text/css">@font-face {{ font-family: "{FONT_FAMILY}"; '
        f'src: url(data:font/woff;base64,{data}) format("woff"); }}</style>'
    )


@functools.lru_cache(maxsize=64)
def font_subset(codepoints: frozenset[int]) -> bytes:
    """The bundled font cut down to ``codepoints``, as WOFF. Kept per process by character set
    (reports of one batch mostly share theirs), and cut from :func:`_common_font` when it has
    every character asked for: a small font subsets several times faster than the full one."""
    common, covered = _common_font()
    # characters the bundled font lacks altogether (an emoji, say) are no reason to cut the full font
    from_common = codepoints <= covered or not (codepoints - covered) & _font_codepoints()
    source = io.BytesIO(common) if from_common else str(bundled_font_path())
    # WOFF, not WOFF2: WOFF2's glyph transform and brotli take about 1 s per page in pure Python,
    # zlib about 0.15 s, for a font about a quarter larger (some 20 KB per report)
    return _subset(source, codepoints, "woff")


@functools.cache
def _font_codepoints() -> frozenset[int]:
    """Every character the bundled font can draw (read only when a page goes beyond the common set)."""
    with _open_font(str(bundled_font_path())) as font:
        return frozenset(font.getBestCmap())


@functools.cache
def _common_font() -> tuple[bytes, frozenset[int]]:
    """The bundled font cut down once per process to the characters reports usually need: the
    3,755 most common Chinese characters (GB 2312 level 1), every character of the package's
    rubrics, code and notebooks, and :data:`COMMON_RANGES`."""
    covered = {c for first, last in COMMON_RANGES for c in range(first, last + 1)}
    for first in range(0xB0, 0xD8):
        for second in range(0xA1, 0xFF):
            try:
                covered.add(ord(bytes((first, second)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    package = resources.files("minesafe")
    for path in Path(str(package)).rglob("*"):
        if path.suffix in (".py", ".yaml", ".j2", ".ipynb"):
            covered |= {ord(c) for c in path.read_text(encoding="utf-8", errors="ignore") if ord(c) > 0x7F}
    # building it takes seconds: keep it on disk for the next batch, keyed by what it is made from
    font_path = bundled_font_path()
    if font_path is None:
        raise FontError("安装包中缺少字体文件 NotoSansSC-Regular.ttf，请重新安装 minesafe。")
    stat = font_path.stat()
    key = hashlib.sha256(f"{sorted(covered)}{stat.st_size}{stat.st_mtime_ns}".encode()).hexdigest()[:24]
    cached = _cache_folder() / f"common-font-{key}.ttf"
    try:
        data = cached.read_bytes()
    except OSError:
        data = _subset(str(font_path), frozenset(covered), None)
        try:
            with atomic_write(cached) as handle:
                handle.write(data)
        except OSError:
            pass  # a read-only home: build it again next time
    with _open_font(io.BytesIO(data)) as font:
        return data, frozenset(font.getBestCmap())


def _cache_folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "minesafe"


def _open_font(path):
    from fontTools.ttLib import TTFont

    return TTFont(path, lazy=True)


def _subset(source, codepoints: frozenset[int], flavor: str | None) -> bytes:
    from fontTools import subset

    options = subset.Options()
    options.layout_features = []
    options.hinting = False
    buffer = io.BytesIO()
    with _open_font(source) as font:
        # Chinese needs no shaping; dropping the layout tables before subsetting saves reading them.
        for tag in LAYOUT_TABLES:
            if tag in font:
                del font[tag]
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=codepoints)
        subsetter.subset(font)
        font.flavor = flavor
        font.save(buffer)
    return buffer.getvalue()
