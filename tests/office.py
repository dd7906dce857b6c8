"""LibreOffice headless conversions, as an evaluator's office suite would open and print a workbook.

LibreOffice runs with a profile of its own in a temporary folder (parallel runs do not share
one) and with fontconfig told about the bundled Noto Sans SC, so Chinese prints on machines
without a system CJK font, as it does in the HTML reports.
"""

from __future__ import annotations

from pathlib import Path

from minesafe import office


def find_soffice() -> str | None:
    """LibreOffice's ``soffice`` (Debian's libreoffice-calc-nogui and -writer-nogui, with fonts-noto-cjk
    for the documents; .ci/run installs them)."""
    return office.find_soffice()


def convert(source: Path, target_format: str, outdir: Path) -> Path:
    """``soffice --headless --convert-to target_format`` of ``source`` into ``outdir``; the new file
    (through minesafe's own conversion, :func:`minesafe.office.convert`)."""
    if find_soffice() is None:
        raise FileNotFoundError("soffice")
    (made,) = office.convert([source], target_format, outdir)
    return made
