"""LibreOffice headless conversions, as an evaluator's office suite would open and print a workbook.

LibreOffice runs with a profile of its own in a temporary folder (parallel runs do not share
one) and with fontconfig told about the bundled Noto Sans SC, so Chinese prints on machines
without a system CJK font, as it does in the HTML reports.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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


def require_soffice() -> None:
    """Skip the calling test without LibreOffice, saying what to install; fail it in CI (``CI`` set)."""
    if find_soffice() is None:
        message = "没有可用的 LibreOffice：请安装 libreoffice-calc-nogui 软件包后再运行本测试"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
