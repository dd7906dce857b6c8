"""PDF from the Word documents through LibreOffice headless, as WPS and Word users see them.

LibreOffice runs with a profile of its own in a temporary folder (parallel runs never share one)
and with fontconfig told two things: where the bundled Noto Sans SC is (so Chinese prints on a
machine without any CJK font), and which installed face stands for each face a document names
(宋体, 仿宋, 楷体 and 方正小标宋简体 by a serif CJK face, 黑体 by a sans one, when installed:
Debian's fonts-noto-cjk; Consolas, the check values' face, by a fixed-width one). LibreOffice embeds the faces it used in the PDF, as subsets; its text
stays searchable.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from xml.sax.saxutils import escape

from minesafe.exceptions import OfficeError
from minesafe.resources import bundled_font_path

#: Each face the documents name, with the installed faces that stand for it, best first.
SERIF = ("Noto Serif CJK SC", "Source Han Serif SC", "AR PL UMing CN")
SANS = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei")
MONO = ("Liberation Mono", "DejaVu Sans Mono", "Noto Sans Mono CJK SC")
FONT_STAND_INS = {
    "方正小标宋简体": SERIF,
    "宋体": SERIF,
    "SimSun": SERIF,
    "仿宋": SERIF,
    "FangSong": SERIF,
    "楷体": ("AR PL UKai CN", *SERIF),
    "KaiTi": ("AR PL UKai CN", *SERIF),
    "黑体": SANS,
    "SimHei": SANS,
    "Consolas": MONO,
    "Courier New": MONO,
}
#: The title face is a heavy 宋 (小标宋): its stand-in is drawn bold.
BOLD_FACES = ("方正小标宋简体",)
#: How long one conversion may take before it is stopped.
CONVERT_SECONDS = 300


def find_soffice() -> str | None:
    """LibreOffice's ``soffice`` on the PATH, or ``None``."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def fontconfig_file(folder: Path) -> Path:
    """A fontconfig file in ``folder``: the system's configuration, the bundled font's folder and
    the stand-ins of :data:`FONT_STAND_INS` (the bundled Noto Sans SC last)."""
    font = bundled_font_path()
    parts = ['<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>']
    parts.append('<include ignore_missing="yes">/etc/fonts/fonts.conf</include>')
    if font is not None:
        parts.append(f"<dir>{escape(str(font.parent))}</dir>")
    parts.append(f"<cachedir>{escape(str(folder / 'fc-cache'))}</cachedir>")
    for face, stand_ins in FONT_STAND_INS.items():
        prefer = "".join(f"<family>{escape(f)}</family>" for f in (*stand_ins, "Noto Sans SC"))
        parts.append(f'<alias binding="same"><family>{escape(face)}</family><prefer>{prefer}</prefer></alias>')
    for face in BOLD_FACES:
        parts.append(
            f'<match target="pattern"><test name="family"><string>{escape(face)}</string></test>'
            '<edit name="weight" mode="assign"><const>bold</const></edit></match>'
        )
    parts.append("</fontconfig>")
    path = folder / "fonts.conf"
    path.write_text("".join(parts), encoding="utf-8")
    return path


def pdf_of(documents: Mapping[str, bytes]) -> dict[str, bytes]:
    """The PDF of each .docx (by name), made in one LibreOffice run in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="minesafe-pdf-") as folder:
        sources = [Path(folder) / f"{i}.docx" for i in range(len(documents))]  # names kept out of the file system
        for source, data in zip(sources, documents.values(), strict=True):
            source.write_bytes(data)
        made = convert(sources, "pdf", Path(folder) / "pdf")
        return {name: path.read_bytes() for name, path in zip(documents, made, strict=True)}


def convert(sources: Sequence[Path], target_format: str, outdir: Path) -> list[Path]:
    """``soffice --headless --convert-to target_format`` of every source into ``outdir`` (one
    LibreOffice start for all); the new files, in the order of ``sources``. Raises
    :class:`OfficeError` (in Chinese) when LibreOffice is missing, fails or writes nothing."""
    soffice = find_soffice()
    if soffice is None:
        raise OfficeError(
            "没有找到 LibreOffice（soffice），不能生成 PDF：请安装 LibreOffice（Debian/Ubuntu：apt install libreoffice-writer-nogui fonts-noto-cjk）"
        )
    outdir.mkdir(parents=True, exist_ok=True)
    extension = target_format.split(":")[0]
    with tempfile.TemporaryDirectory(prefix="minesafe-lo-") as home:
        env = dict(os.environ, HOME=home, FONTCONFIG_FILE=str(fontconfig_file(Path(home))))
        command = [soffice, f"-env:UserInstallation=file://{home}/profile", "--headless", "--convert-to", target_format,
                   "--outdir", str(outdir), *map(str, sources)]  # fmt: skip
        try:
            done = subprocess.run(command, capture_output=True, timeout=CONVERT_SECONDS, env=env, check=False)
        except subprocess.TimeoutExpired as exc:
            raise OfficeError(f"LibreOffice 转换超过 {CONVERT_SECONDS} 秒未完成，已停止") from exc
    made = [outdir / f"{Path(s).stem}.{extension}" for s in sources]
    missing = [str(p) for p in made if not p.is_file()]
    if done.returncode or missing:
        said = done.stderr.decode("utf-8", "replace").strip()[-500:]
        raise OfficeError(f"LibreOffice 转换失败（退出状态 {done.returncode}），未生成：{'、'.join(missing) or '—'}。{said}")
    return made
