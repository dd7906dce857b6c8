"""LibreOffice headless conversions, as an evaluator's office suite would open and print a workbook.

LibreOffice runs with a profile of its own in a temporary folder (parallel runs do not share
one) and with fontconfig told about the bundled Noto Sans SC, so Chinese prints on machines
without a system CJK font, as it does in the HTML reports.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from minesafe import office


def find_soffice() -> str | None:
    """LibreOffice's ``soffice``, installed from Debian's packages when missing and the suite runs
    as root (as in CI), like the browser of tests/test_browser.py."""
    found = office.find_soffice()
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, capture_output=True, timeout=600)
    # Calc for the workbooks, Writer for the reports' .docx, a serif and a sans CJK face for the documents
    packages = ["libreoffice-calc-nogui", "libreoffice-writer-nogui", "fonts-noto-cjk"]
    subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=False, env=env, capture_output=True, timeout=1200)
    return shutil.which("soffice")


def convert(source: Path, target_format: str, outdir: Path) -> Path:
    """``soffice --headless --convert-to target_format`` of ``source`` into ``outdir``; the new file
    (through minesafe's own conversion, :func:`minesafe.office.convert`)."""
    if find_soffice() is None:
        raise FileNotFoundError("soffice")
    (made,) = office.convert([source], target_format, outdir)
    return made
