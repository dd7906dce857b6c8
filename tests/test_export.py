"""HTML reports: code hidden, Chinese readable offline, nothing loaded from elsewhere."""

import base64
import io
import re
import shutil

import nbformat
import papermill
import pytest

from minesafe import export
from minesafe.export import FONT_FAMILY, export_html

from .conftest import ROOT
from .hostile_files import write_executed_report

NOTEBOOKS = ROOT / "notebooks"
# Anything a browser would fetch: src/href attributes, CSS url() and @import.
EXTERNAL_LOAD = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|@import""", re.IGNORECASE)


@pytest.fixture(scope="module")
def county_html():
    notebook = papermill.execute_notebook(
        str(NOTEBOOKS / "noncoal_county_report.ipynb"), None, cwd=str(NOTEBOOKS), kernel_name="python3", progress_bar=False
    )
    return export_html(notebook, "示例甲县 2022年度综合评估报告（示例数据）")


def test_html_loads_nothing_from_the_internet(county_html):
    assert not EXTERNAL_LOAD.findall(county_html)
    assert "<script src" not in county_html


def test_html_hides_code_and_keeps_results(county_html):
    assert "report.render_verdict" not in county_html
    assert "使用方法" not in county_html  # how to use the notebook is for JupyterLab, not for the report
    assert "考核评估结论：合格" in county_html
    assert "评估结果汇总：否决项完成的有" in county_html
    assert "【示例数据】" in county_html
    assert '<html lang="zh">' in county_html
    assert "<title>示例甲县 2022年度综合评估报告（示例数据）</title>" in county_html


def test_html_embeds_a_chinese_font_and_the_charts(county_html):
    assert f'font-family: "{FONT_FAMILY}"' in county_html
    font = base64.b64decode(re.search(r"data:font/woff;base64,([A-Za-z0-9+/=]+)", county_html).group(1))
    assert font[:4] == b"wOFF"  # really WOFF, not a TTF under another name
    images = re.findall(r'<img [^>]*src="data:image/png;base64,[^"]*"[^>]*>', county_html)
    assert len(images) == 2
    assert all(re.search(r'alt="示例甲县 [^"]+。T1|alt="示例甲县 各部分评分项得分。\(1\)', img) for img in images)


def test_html_is_small(county_html):
    """Only the CSS the report uses and a WOFF subset of the font: well under 350 KB."""
    assert len(county_html.encode("utf-8")) <= 350_000
    assert "jp-Notebook-cell {" not in county_html and "--jp-layout-color0" not in county_html  # no JupyterLab theme


def test_folded_rows_print_whole(county_html):
    assert "details.ms-folded::details-content" in county_html and "@page { size: A4" in county_html


def test_the_check_would_catch_an_external_script():
    page = export_html(nbformat.v4.new_notebook(), "空")
    assert not EXTERNAL_LOAD.findall(page)
    assert EXTERNAL_LOAD.findall(page.replace("</head>", '<script src="https://cdn.example/x.js"></script></head>'))


def _cmap(font: bytes) -> set[int]:
    from fontTools.ttLib import TTFont

    return set(TTFont(io.BytesIO(font)).getBestCmap())


def test_a_rare_character_is_cut_from_the_full_font():
    """A character outside the common subset (a rare one in a county's name, say) still shows."""
    _, covered = export._common_font()
    rare = min(c for c in export._font_codepoints() if 0x4E00 <= c <= 0x9FFF and c not in covered)
    assert rare in _cmap(export.font_subset(frozenset({rare, ord("县")})))


def test_usual_punctuation_and_characters_the_font_lacks_keep_to_the_common_subset(monkeypatch):
    """A page with a no-break space, nbconvert's ¶ anchors, ≥ and an emoji the font cannot draw is
    cut from the small common subset, never from the full 10 MB font (seconds per report)."""
    sources = []
    cut = export._subset
    monkeypatch.setattr(export, "_subset", lambda source, *args: sources.append(source) or cut(source, *args))
    page = frozenset(map(ord, "\xa0¶≥「」，县😀")) | set(range(0x20, 0x7F))
    export.font_subset.cache_clear()
    font = export.font_subset(page)
    assert [type(s) for s in sources] == [io.BytesIO]
    assert set(map(ord, "\xa0¶≥「」，县")) <= _cmap(font)


@pytest.fixture
def executed(tmp_path):
    submission = tmp_path / "bing.yaml"
    submission.write_bytes((ROOT / "data" / "demo" / "counties" / "bing.yaml").read_bytes())
    return write_executed_report(tmp_path, submission), submission


def test_export_writes_the_page_and_the_document_beside_the_notebook(executed, capsys):
    from minesafe.cli import main

    path, _ = executed
    assert main(["export", str(path)]) == 0
    page = path.with_suffix(".html").read_text("utf-8")
    assert "<title>示例省 示例丙县 2022年度综合评估报告（示例数据）</title>" in page
    assert path.with_suffix(".docx").read_bytes()[:2] == b"PK"
    assert main(["export", str(path)]) == 2  # never overwrites unasked
    assert "输出文件已存在，未写入" in capsys.readouterr().err
    assert main(["export", str(path), "--out", str(path.parent / "没有" / "页.html")]) == 1  # as every command's --out
    assert "文件夹" in capsys.readouterr().err and not (path.parent / "没有").exists()
    (path.parent / "out").mkdir()
    assert main(["export", str(path), "--out", str(path.parent / "out" / "页.html"), "--html-only"]) == 0
    assert not (path.parent / "out" / "页.docx").exists()


def test_export_refuses_inputs_changed_or_gone_since_the_run(executed):
    from minesafe.exceptions import InputError
    from minesafe.export import export_notebook

    path, submission = executed
    submission.write_text(submission.read_text("utf-8") + "\n# 改动\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"笔记本运行后输入文件已改动.*bing\.yaml"):
        export_notebook(path)
    assert export_notebook(path, html_only=True).keys() == {path.with_suffix(".html")}
    submission.unlink()
    with pytest.raises(InputError, match="报告所用的输入文件已不存在"):
        export_notebook(path)


def test_export_refuses_a_notebook_not_run_or_failed(tmp_path):
    from minesafe.exceptions import InputError
    from minesafe.export import export_notebook

    path = tmp_path / "x.ipynb"
    with pytest.raises(InputError, match="文件不存在"):
        export_notebook(path)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="不是 Jupyter 笔记本文件"):
        export_notebook(path)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]), path)
    with pytest.raises(InputError, match="笔记本还没有运行"):
        export_notebook(path)
    failed = nbformat.v4.new_code_cell("1/0")
    failed.outputs = [nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero", traceback=[])]
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 标题"), failed]), path)
    with pytest.raises(InputError, match=r"第 2 个单元格：这个单元格运行出错.*ZeroDivisionError"):
        export_notebook(path)
    with pytest.raises(InputError, match="输出文件扩展名不对"):
        export_notebook(path, tmp_path / "x.pdf")


def test_export_refuses_a_province_whose_listed_county_file_changed(tmp_path):
    """A key county's file the province lists is an input too: changed since the run, no document."""
    from minesafe.exceptions import InputError
    from minesafe.export import export_notebook

    shutil.copy(ROOT / "data" / "demo" / "province.yaml", tmp_path / "province.yaml")
    shutil.copytree(ROOT / "data" / "demo" / "counties", tmp_path / "counties")
    path = write_executed_report(tmp_path, tmp_path / "province.yaml")
    assert path.with_suffix(".docx") in export_notebook(path)
    county = tmp_path / "counties" / "jia.yaml"
    county.write_text(county.read_text("utf-8") + "\n# 改动\n", encoding="utf-8")
    with pytest.raises(InputError, match="笔记本运行后重点县的提交文件已改动"):
        export_notebook(path)


def test_export_refuses_a_record_it_cannot_read(executed):
    """A hand-edited record (stages that are not a list of paths) is refused, not half-read."""
    from minesafe.exceptions import InputError
    from minesafe.export import export_notebook

    path, _ = executed
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if "minesafe" in output.get("metadata", {}).get("text/html", {}):
                output.metadata["text/html"]["minesafe"]["stages"] = "bing.yaml"
    nbformat.write(notebook, path)
    with pytest.raises(InputError, match="笔记本中记录的输入文件无法识别"):
        export_notebook(path)


def test_export_refuses_a_notebook_whose_code_was_changed(executed):
    """The page is the notebook's own outputs: a cell edited in JupyterLab (to print 合格, say) was
    exported as minesafe's report. Only the parameters cell may differ from the shipped notebook."""
    from minesafe.exceptions import InputError
    from minesafe.export import export_notebook

    path, _ = executed
    notebook = nbformat.read(path, as_version=4)
    parameters = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    parameters.source += "\nwhatif_panel = False  # a person's own setting"
    nbformat.write(notebook, path)
    assert export_notebook(path, html_only=True)  # the parameters are the person's to set
    code = [c for c in notebook.cells if c.cell_type == "code" and "parameters" not in c.metadata.get("tags", [])]
    code[2].source = code[2].source + "\nevaluation.result.passed = True"
    nbformat.write(notebook, path)
    with pytest.raises(InputError) as refused:
        export_notebook(path, html_only=True)
    (line,) = refused.value.lines
    assert "笔记本的代码与 minesafe 自带的报告笔记本不同" in line and "第 3 个代码单元格" in line, line
