"""Regenerate the pictures in docs/images/: a full-page screenshot of each report type made by
``minesafe batch`` from the demo data, the first printed pages of a county report (Chromium's
print to PDF on A4), the printed fill-in workbook (LibreOffice's PDF conversion), the first
pages of each Word document (county 自评, county 核查, province, the filled 评估表 annex) as
LibreOffice prints them, and the first printed page of every other workbook minesafe writes (list
proposals, batch summary, status table).

    python scripts/make_doc_images.py              # needs chromium and soffice on PATH
    python scripts/make_doc_images.py --documents  # only the Word documents' pictures
    python scripts/make_doc_images.py --workbooks  # only the written workbooks' pictures

Look at every picture after regenerating: they are how the project shows what it makes.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.office import convert  # noqa: E402  (LibreOffice with the bundled font, as the tests run it)

IMAGES = ROOT / "docs" / "images"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
#: report folder (under the batch output) -> picture name
REPORTS = {
    "2022/示例省/示例乙县": "report-county",
    "2022/示例省/省级评估": "report-province",
    "2023/示例省/示例煤矿县甲（煤矿）": "report-coal-county",
    "2023/示例省/示例矿业有限公司": "report-enterprise",
}


def _overview_html(folder: Path) -> Path:
    """The overview notebook on its demo default (every demo submission), exported as batch does."""
    import papermill

    from minesafe.export import export_html

    notebooks = ROOT / "notebooks"
    notebook = papermill.execute_notebook(str(notebooks / "overview_report.ipynb"), None, cwd=str(notebooks),
                                          kernel_name="python3", progress_bar=False)  # fmt: skip
    path = folder / "overview.html"
    path.write_text(export_html(notebook, "综合评估总览（示例数据）"), encoding="utf-8")
    return path


def _render_pdf_pages(pdf: bytes, stem: str, pages: dict[int, str], scale: float = 1.2) -> list[Path]:
    """Pages (numbered from 1) of a PDF as PNG files named ``{stem}-{name}.png``."""
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    written = []
    for number, name in pages.items():
        path = IMAGES / f"{stem}-{name}.png"
        document[number - 1].render(scale=scale).to_pil().save(path)
        written.append(path)
    document.close()
    return written


def _verified_demo(folder: Path) -> Path:
    """示例乙县's 核查: the province found the hoist replaced (4-2c 完成), which turns its 自评's 不合格."""
    import yaml

    data = yaml.safe_load((ROOT / "data" / "demo" / "counties" / "yi.yaml").read_text(encoding="utf-8"))
    data["stage"] = "核查"
    data["items"]["4-2c"] = {"result": "完成", "note": "现场抽查核实：提升机已于12月更换"}
    path = folder / "yi-verified.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def document_images(folder: Path) -> None:
    """The first page of each Word document type, of the county's annex, its last page (数据来源与版本)
    and the page of 示例南甲县's 核查 report its verification record starts on, as LibreOffice prints them."""
    import pypdfium2

    from minesafe.documents import build_document, write_document
    from minesafe.office import convert as convert_documents
    from minesafe.provenance import read_provenance
    from minesafe.results import evaluate_unit

    demo = ROOT / "data" / "demo"
    units = {
        "document-county": evaluate_unit([demo / "counties" / "yi.yaml"]),
        "document-county-verified": evaluate_unit([demo / "counties" / "yi.yaml", _verified_demo(folder)]),
        "document-province": evaluate_unit([demo / "province.yaml"]),
        "season": evaluate_unit(
            [demo / "south" / "counties" / "nanjia.yaml", demo / "south" / "counties" / "nanjia-verified.yaml"]
        ),
    }
    for name, unit in units.items():
        write_document(build_document(unit, read_provenance(unit, None)), folder / f"{name}.docx")
    pdfs = convert_documents([folder / f"{name}.docx" for name in units], "pdf", folder)
    for name, pdf in zip(units, pdfs, strict=True):
        pages = {1: "page1"}
        if name == "season":  # 示例南甲县's 核查: the page its verification record starts on (docs/season.md)
            document = pypdfium2.PdfDocument(pdf)
            texts = [document[i].get_textpage().get_text_range() for i in range(len(document))]
            document.close()
            pages = {next(i for i, t in enumerate(texts) if "现场抽查核实与佐证材料" in t) + 1: "verification"}
        if name == "document-county":  # the annex: the first landscape page
            document = pypdfium2.PdfDocument(pdf)
            annex = next(i for i in range(len(document)) if document[i].get_size()[0] > document[i].get_size()[1])
            pages[annex + 1] = "annex"
            pages[len(document)] = "sources"  # the last 附件: 数据来源与版本
            document.close()
        for path in _render_pdf_pages(pdf.read_bytes(), name, pages, scale=1.0):
            print(f"wrote {path.relative_to(ROOT)}")


def workbook_images(folder: Path) -> None:
    """The first printed page of the list proposals, the batch summary and the status table, as
    LibreOffice prints them. The summary is a batch of 示例南省 run in a demo workspace as its
    README says (``minesafe batch 收件/示例南省``), so its paths are the workspace's relative ones."""
    demo = ROOT / "data" / "demo"
    books = {"print-lists": folder / "名单建议.xlsx", "print-status": folder / "status.xlsx"}
    minesafe = [sys.executable, "-m", "minesafe"]
    subprocess.run(
        [*minesafe, "lists", str(demo / "lists" / "coal-county-history.yaml"), "--out", str(books["print-lists"])], check=True
    )
    subprocess.run([*minesafe, "status", str(demo), "--today", "2023-03-10", "--out", str(books["print-status"])], check=True)
    workspace = folder / "演示"
    subprocess.run([*minesafe, "demo", str(workspace)], check=True)
    subprocess.run([*minesafe, "batch", "收件/示例南省"], cwd=workspace, check=False)
    books["print-summary"] = workspace / "reports" / "batch-summary.xlsx"
    for name, book in books.items():
        printed = convert(book, "pdf", folder / name)
        for path in _render_pdf_pages(printed.read_bytes(), name, {1: "page1"}, scale=1.5):
            print(f"wrote {path.relative_to(ROOT)}")


def main() -> int:
    from playwright.sync_api import sync_playwright

    if "--documents" in sys.argv[1:]:
        with tempfile.TemporaryDirectory() as tmp:
            document_images(Path(tmp))
        return 0
    if "--workbooks" in sys.argv[1:]:
        with tempfile.TemporaryDirectory() as tmp:
            workbook_images(Path(tmp))
        return 0

    IMAGES.mkdir(parents=True, exist_ok=True)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "reports"
        subprocess.run([sys.executable, "-m", "minesafe", "batch", "params/runs/demo", "--out", str(out)], cwd=ROOT, check=False)
        pages = {name: out / folder / "report.html" for folder, name in REPORTS.items()}
        pages["report-overview"] = _overview_html(Path(tmp))
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            for name, html in pages.items():
                page.goto(html.as_uri())
                page.screenshot(path=str(IMAGES / f"{name}.jpg"), full_page=True, type="jpeg", quality=60)
                print(f"wrote docs/images/{name}.jpg")
            page.goto(pages["report-county"].as_uri())
            pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
            for path in _render_pdf_pages(pdf, "print-county", {1: "page1", 2: "page2"}):
                print(f"wrote {path.relative_to(ROOT)}")
            browser.close()
        template = Path(tmp) / "template.xlsx"
        subprocess.run([sys.executable, "-m", "minesafe", "template", "--out", str(template)], cwd=ROOT, check=True)
        printed = convert(template, "pdf", Path(tmp))
        for path in _render_pdf_pages(printed.read_bytes(), "print-template", {1: "instructions", 5: "tasks"}):
            print(f"wrote {path.relative_to(ROOT)}")
        document_images(Path(tmp))
        workbook_images(Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
