"""LibreOffice headless conversions, as an evaluator's office suite would open and print a workbook.

LibreOffice runs with a profile of its own in a temporary folder (parallel runs do not share
one) and with fontconfig told about the bundled Noto Sans SC, so Chinese prints on machines
without a system CJK font, as it does in the HTML reports.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from minesafe.files import bundled_font_path


def find_soffice() -> str | None:
    """LibreOffice's ``soffice``, installed from Debian's libreoffice-calc-nogui when missing and
    the suite runs as root (as in CI), like the browser of tests/test_browser.py."""
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, capture_output=True, timeout=600)
    subprocess.run(["apt-get", "install", "-y", "-qq", "libreoffice-calc-nogui"], check=False, env=env, capture_output=True,
                   timeout=1200)  # fmt: skip
    return shutil.which("soffice")


def convert(source: Path, target_format: str, outdir: Path) -> Path:
    """``soffice --headless --convert-to target_format`` of ``source`` into ``outdir``; the new file."""
    soffice = find_soffice()
    if soffice is None:
        raise FileNotFoundError("soffice")
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="minesafe-lo-") as home:
        env = dict(os.environ, HOME=home)
        font = bundled_font_path()
        if font is not None:
            conf = Path(home) / "fonts.conf"
            conf.write_text(
                '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
                f'<include ignore_missing="yes">/etc/fonts/fonts.conf</include><dir>{font.parent}</dir>'
                f"<cachedir>{home}/fc-cache</cachedir></fontconfig>",
                encoding="utf-8",
            )
            env["FONTCONFIG_FILE"] = str(conf)
        subprocess.run(
            [soffice, f"-env:UserInstallation=file://{home}/profile", "--headless", "--convert-to", target_format,
             "--outdir", str(outdir), str(source)],
            check=True, capture_output=True, timeout=300, env=env,
        )  # fmt: skip
    extension = target_format.split(":")[0]
    return outdir / f"{source.stem}.{extension}"
