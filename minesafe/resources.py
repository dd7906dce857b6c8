"""Where the package's own files are: rubrics folder, notebooks, demo data, fonts, profiles and lists,
inside an installed wheel or at the top of a source checkout."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from minesafe.names import normalize_name

#: The installed package's folder (where its rubrics, fonts and templates are).
PACKAGE = Path(__file__).resolve().parent


def package_folder(name: str) -> Path:
    """A folder shipped with the package (``notebooks``, ``data/demo``): inside the installed
    package, or at the top of the source tree where it is kept (a checkout or editable install)."""
    installed = PACKAGE / name
    return installed if installed.is_dir() else PACKAGE.parent / name


def demo_folder() -> Path:
    """The fictitious demo submissions shipped with minesafe (all marked 示例数据)."""
    return package_folder("data/demo")


def bundled_font_path() -> Path | None:
    """The Noto Sans SC font shipped in the package, if the installation has it."""
    path = PACKAGE / "fonts" / "NotoSansSC-Regular.ttf"
    return path if path.is_file() else None


def profile_folder() -> Path:
    """The params profiles shipped with minesafe (``params/profiles/``): a province's or a city's
    own measures, added to a form (see :mod:`minesafe.params`); installed as ``minesafe/data/profiles``."""
    installed = package_folder("data/profiles")
    return installed if installed.is_dir() else package_folder("params/profiles")


KEY_PROVINCES_FILE = package_folder("data/lists") / "noncoal-key-provinces-2021.csv"


def read_key_provinces(path: Path = KEY_PROVINCES_FILE) -> tuple[str, ...] | None:
    """The non-coal key provinces of the 2021 list, or None when the list is not installed.

    Read once per process and file version (every province evaluation asks for it)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return _read_key_provinces(path, stat.st_ino, stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=4)
def _read_key_provinces(path: Path, *identity: int) -> tuple[str, ...] | None:
    import csv

    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError:
        return None
    return tuple(normalize_name(row["province"]) for row in csv.DictReader(text.splitlines()) if row.get("province"))
