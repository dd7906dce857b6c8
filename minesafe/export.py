"""Executed notebooks as self-contained HTML reports with the code hidden.

The ``minesafe_report`` template (``minesafe/templates``) is nbconvert's lab template without
MathJax, RequireJS, Mermaid or widget scripts, so the HTML loads nothing from the internet.
:func:`export_notebook` (``minesafe export``) makes a report notebook executed by papermill or in
JupyterLab into the page and the Word document the batch makes for the same unit.
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
from typing import TYPE_CHECKING, Any

import nbformat

from minesafe.exceptions import FontError, InputError, Problem
from minesafe.provenance import file_sha256
from minesafe.resources import bundled_font_path
from minesafe.storage import atomic_write

if TYPE_CHECKING:
    from fontTools.ttLib import TTFont
    from nbconvert import HTMLExporter

    from minesafe.evaluation import UnitResult

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
    page: str = body.replace("</head>", f"{face}</head>", 1) if face else body
    return page


def export_notebook(path: Path, out: Path | None = None, html_only: bool = False) -> dict[Path, bytes]:
    """The files an executed report notebook exports to: its page (``out``, by default the
    notebook's name with ``.html``, beside it) exactly as ``minesafe batch`` makes it, and, for an
    evaluation report, the unit's 评估报告 as Word beside the page (``.docx``) unless ``html_only``.
    The page comes from the notebook's own outputs; the document is made from the same input files,
    which must still be as they were evaluated (their recorded SHA-256). Raises :class:`InputError`
    naming every problem; nothing is returned half."""
    out = path.with_suffix(".html") if out is None else out
    if out.suffix.lower() != ".html":
        raise InputError(str(out), [Problem((), "输出文件扩展名不对", out.suffix, ".html")])
    notebook = read_executed_notebook(path)
    check_shipped_code(notebook, path)
    record = find_export_record(notebook)
    files = {out: export_html(notebook, title_notebook(notebook, record, path)).encode("utf-8")}
    if record is not None and record.get("stages") and not html_only:  # an evaluation report
        from minesafe.documents import document_files
        from minesafe.provenance import read_provenance

        unit = reevaluate_report(path, record)
        provenance = read_provenance(unit, record["params_file"] or None)
        files[out.with_suffix(".docx")] = document_files(unit, provenance)["report.docx"]
    return files


def read_executed_notebook(path: Path) -> nbformat.NotebookNode:
    """A notebook that has run to its end: every cell's outputs there, none of them an error.
    Raises :class:`InputError` for a missing file, a file that is not a notebook, a notebook that
    has not run and one whose run failed (its report would be incomplete)."""
    if not path.is_file():
        raise InputError(str(path), [Problem((), "文件不存在", str(path), "已运行过的报告笔记本（.ipynb）的路径")])
    try:
        notebook: nbformat.NotebookNode = nbformat.read(path, as_version=4)
    except Exception as exc:  # nbformat raises JSON, validation and encoding errors of several kinds
        raise InputError(
            str(path),
            [Problem((), "不是 Jupyter 笔记本文件，无法读取", type(exc).__name__, "papermill 或 JupyterLab 保存的 .ipynb 文件")],
        ) from None
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    problems = []
    if not any(cell.get("outputs") for cell in code):
        problems.append(
            Problem(
                (),
                "笔记本还没有运行（没有任何输出）",
                expected="先用 papermill 运行，或在 JupyterLab 中运行全部单元格并保存，再导出",
            )
        )
    for number, cell in enumerate(notebook.cells, start=1):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                problems.append(
                    Problem(
                        (),
                        "这个单元格运行出错，报告不完整",
                        f"{output.get('ename', '')}: {output.get('evalue', '')}",
                        "改正输入后重新运行笔记本，再导出",
                        where=f"第 {number} 个单元格",
                    )
                )
    if problems:
        raise InputError(str(path), problems)
    return notebook


#: Tags of the code cells a person (the ``parameters`` cell) or papermill (its injected cell) sets:
#: the only code of an exported notebook that may differ from the shipped report notebook's.
PARAMETER_TAGS = frozenset({"parameters", "injected-parameters"})


def _code_cells(notebook: nbformat.NotebookNode) -> list[str]:
    return [
        str(cell.source).rstrip()
        for cell in notebook.cells
        if cell.cell_type == "code" and not PARAMETER_TAGS & set(cell.get("metadata", {}).get("tags", []))
    ]


def check_shipped_code(notebook: nbformat.NotebookNode, path: Path) -> None:
    """The page is made from the notebook's own outputs, so its code must be a shipped report
    notebook's (parameters aside): a cell edited to print 合格, or a notebook of another program,
    would otherwise be exported as minesafe's report. Raises :class:`InputError` naming the first
    code cell that differs from the closest shipped notebook."""
    from minesafe.resources import package_folder

    mine = _code_cells(notebook)
    best: list[str] = []
    for shipped_path in sorted(package_folder("notebooks").glob("*.ipynb")):
        shipped = _code_cells(nbformat.read(shipped_path, as_version=4))
        if shipped == mine:
            return
        if sum(a == b for a, b in zip(shipped, mine, strict=False)) > sum(a == b for a, b in zip(best, mine, strict=False)):
            best = shipped
    first = next((i for i, (a, b) in enumerate(zip(best, mine, strict=False)) if a != b), min(len(best), len(mine)))
    raise InputError(
        str(path),
        [
            Problem(
                (),
                "笔记本的代码与 minesafe 自带的报告笔记本不同（被改动过，或来自其他版本），网页上的内容不一定是 minesafe 的评估结果",
                f"第 {first + 1} 个代码单元格（参数单元格不计）",
                "用 minesafe 自带的报告笔记本（如 minesafe demo 写出的笔记本）只改参数单元格，运行后再导出",
            )
        ],
    )


def find_export_record(notebook: nbformat.NotebookNode) -> dict[str, Any] | None:
    """What a report recorded for export in an output's metadata: an evaluation report's title and
    inputs (:func:`minesafe.report.record_export`), a list proposal's title; None for the overview."""
    from minesafe.report import EXPORT_KEY

    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            record = output.get("metadata", {}).get("text/html", {}).get(EXPORT_KEY)
            if isinstance(record, dict):
                return record
    return None


def title_notebook(notebook: nbformat.NotebookNode, record: dict[str, Any] | None, path: Path) -> str:
    """The page's title: the one the batch gives the unit's report, else the notebook's own heading
    (the overview's is the batch's title), else its file name."""
    title = record.get("title") if record is not None else None
    if isinstance(title, str):
        return title
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            source: str = cell.source
            for line in source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return path.stem


def reevaluate_report(path: Path, record: dict[str, Any]) -> UnitResult:
    """The unit an executed report evaluated, from the same files: refused when one is gone or no
    longer what the report evaluated (the document would not match the page)."""
    from minesafe.provenance import read_provenance
    from minesafe.report import list_input_digests
    from minesafe.results import evaluate_unit

    again = "重新运行笔记本后再导出，或加 --html-only 只导出网页"
    stages, counties, digests = (
        _texts(record.get("stages")),
        _texts(record.get("county_files"), True),
        _texts(record.get("sha256")),
    )
    params = record.get("params_file")
    if stages is None or counties is None or digests is None or not isinstance(params, str):
        raise InputError(str(path), [Problem((), "笔记本中记录的输入文件无法识别（笔记本被改动过？）", expected=again)])
    named = [*stages, *([params] if params else []), *counties]
    problems = [
        Problem((), "报告所用的输入文件已不存在，无法生成评估报告（Word）", f, again) for f in named if not Path(f).is_file()
    ]
    problems += [
        Problem((), "笔记本运行后输入文件已改动，评估报告（Word）将与网页不一致", f, again)
        for f in named
        if Path(f).is_file() and file_sha256(Path(f)) not in digests
    ]
    if problems:
        raise InputError(str(path), problems)
    unit = evaluate_unit(stages, params or None, counties)
    if list_input_digests(read_provenance(unit, params or None)) != digests:  # a county file the province lists
        raise InputError(
            str(path), [Problem((), "笔记本运行后重点县的提交文件已改动，评估报告（Word）将与网页不一致", expected=again)]
        )
    return unit


def _texts(value: Any, empty: bool = False) -> list[str] | None:
    """A recorded list of texts (non-empty unless ``empty``), or None when it is not one."""
    if isinstance(value, list) and (empty or value) and all(isinstance(v, str) for v in value):
        return value
    return None


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
def _exporter() -> HTMLExporter:
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


def _open_font(path: str | io.BytesIO) -> TTFont:
    from fontTools.ttLib import TTFont

    return TTFont(path, lazy=True)


def _subset(source: str | io.BytesIO, codepoints: frozenset[int], flavor: str | None) -> bytes:
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
