"""Unit names: one unit, one name.

A county, enterprise or province name copied from a web page, a chat or a PDF may carry
characters nobody sees: a zero-width space (U+200B), a byte-order mark (U+FEFF), a CJK
compatibility ideograph (U+F90A for 金), a full-width or no-break space. Compared as raw strings,
such a name is another unit — a 核查 would not decide over its 自评 — and a name of invisible
characters alone would name a unit. Every unit, province and county name is therefore read through
:func:`normalize_name` on intake (submissions, the province's key-county list, list data, result
files), and only the normalised form is compared and shown. Messages that show a name as it was
written make its invisible and look-alike characters visible with :func:`reveal_characters`
(``甲<U+200B>县``).

File names are names too: one copied from a Chinese-Windows zip may not be UTF-8 (GBK 甲县.yaml),
and Python keeps its bytes as lone surrogates that no UTF-8 writer can store.
:func:`escape_undecodable` writes them as ``\\xbc\\xd7…``; :func:`escape_console_output` makes the
console show them so.
"""

from __future__ import annotations

import codecs
import functools
import re
import sys
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from minesafe.exceptions import KeyPath, ProblemCollector

#: Unicode's Default_Ignorable_Code_Point ranges (DerivedCoreProperties.txt) outside category Cf:
#: characters that are drawn as nothing — the combining grapheme joiner, Hangul fillers, variation
#: selectors (an ideograph with a variation selector is still that ideograph) and their reserved
#: neighbours.
_IGNORABLE_RANGES = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)

#: NFKC makes full-width brackets ASCII; a Chinese name writes them full-width.
_BRACKETS = str.maketrans("()", "（）")


def is_invisible(character: str) -> bool:
    """Whether a character is drawn as nothing and is not a space: a format character (category
    Cf: zero-width space, joiners, BOM, direction marks, soft hyphen), a control character other
    than white space, or another default-ignorable code point (variation selectors, Hangul
    fillers)."""
    category = unicodedata.category(character)
    if category == "Cf" or (category == "Cc" and not character.isspace()):
        return True
    code = ord(character)
    return any(low <= code <= high for low, high in _IGNORABLE_RANGES)


def _drop_invisible(text: str) -> str:
    """``text`` without its invisible characters, nor lone surrogates (no character at all: a JSON
    ``"\\ud800"``, half of a pair broken by a copy), which no file, folder or workbook can hold."""
    return "".join(c for c in text if not (is_invisible(c) or unicodedata.category(c) == "Cs"))


def normalize_name(text: str) -> str:
    """The one form of a unit, province or county name that is stored, compared and shown:
    Unicode NFKC (compatibility ideographs to the ordinary ones, full-width letters and digits to
    ASCII), invisible characters (:func:`is_invisible`) removed, round brackets full-width as
    Chinese names write them (``(煤矿)`` and ``（煤矿）`` alike are ``（煤矿）``), and white space of
    any kind trimmed, removed beside a Chinese character (:func:`_join_words`: ``示例 甲县`` is
    ``示例甲县``) and elsewhere collapsed to one space (``ABC Mining``). Empty when the name held
    nothing visible."""
    previous = None
    while text != previous:  # removing a character or a space can let NFKC compose its neighbours
        previous = text
        text = _join_words(unicodedata.normalize("NFKC", _drop_invisible(text)).translate(_BRACKETS).split())
    return text


def _is_wide(character: str) -> bool:
    """A character of Chinese text's own width (East Asian Width W or F): an ideograph, Chinese
    punctuation and full-width brackets (、。（）), kana, Hangul."""
    return unicodedata.east_asian_width(character) in ("W", "F")


def _join_words(words: Sequence[str]) -> str:
    """The words of a name (white space removed) joined as a Chinese name is written: nothing
    between two words where either side is a Chinese character (:func:`_is_wide`), for a space
    there means nothing in Chinese (``示例`` ``甲县`` → ``示例甲县``, ``Mining`` ``有限公司`` →
    ``Mining有限公司``); one space between two others, which keeps Latin words and numbers apart
    (``ABC`` ``Mining`` → ``ABC Mining``)."""
    parts: list[str] = []
    for word in words:
        if parts and not (_is_wide(parts[-1][-1]) or _is_wide(word[0])):
            parts.append(" ")
        parts.append(word)
    return "".join(parts)


def _is_look_alike(character: str) -> bool:
    """A CJK compatibility ideograph or a radical: drawn like an ordinary ideograph (U+F90A like
    金, U+2ED3 like 长) but another character (NFKC maps the first kinds, not every radical)."""
    return unicodedata.name(character, "").startswith(("CJK COMPATIBILITY IDEOGRAPH", "KANGXI RADICAL", "CJK RADICAL"))


@functools.cache
def _shown(c: str) -> str:
    """One character as :func:`reveal_characters` shows it (cached: a message with thousands of
    problems repeats the same few hundred characters)."""
    return f"<U+{ord(c):04X}>" if is_invisible(c) or (c.isspace() and c not in " \n") or _is_look_alike(c) else c


def reveal_characters(text: str) -> str:
    """``text`` as a message shows it: every invisible character, every white space other than a
    plain space or a line feed, and every look-alike ideograph written as its code point
    (``甲<U+200B>县``, ``<U+F90A>县``), so that two names that look the same can be told apart."""
    return "".join(map(_shown, text))


#: The problem of a name that is empty once normalised: it held only invisible characters.
INVISIBLE_NAME = "{what}只含不可见字符（如零宽空格），没有名称"
#: What two names that look different but are one have in common, for a message.
SAME_NAME = "名称比较时不计不可见字符、首尾空格、汉字旁的空格、全角与半角及兼容汉字的差别"


def read_names(entries: Sequence[tuple[KeyPath, object]], what: str, expected: str, problems: ProblemCollector) -> dict[int, str]:
    """The normalised names of ``entries`` (place, value as written), by the entry's index, for
    every entry that is a name; a problem at its place for each one that is not text, has nothing
    visible, or repeats an earlier entry once normalised (the message shows both as written)."""
    names: dict[int, str] = {}
    first: dict[str, object] = {}  # normalised name -> the entry that gave it first, as written
    for i, (path, value) in enumerate(entries):
        name = normalize_name(value) if isinstance(value, str) else ""
        if not (isinstance(value, str) and value.strip()):
            problems.add(path, f"{what}写法有误", value, expected)
        elif not name:
            problems.add(path, INVISIBLE_NAME.format(what=what), value, expected)
        elif name in first:
            problems.add(
                path, f"{what}重复", value, f"每个只列一次：与“{reveal_characters(str(first[name]))}”是同一名称（{SAME_NAME}）"
            )
        else:
            first[name] = value
            names[i] = name
    return names


#: Lone surrogates: how Python keeps the bytes of a file name that are not UTF-8 (U+DC80–U+DCFF).
SURROGATES = re.compile("[\ud800-\udfff]")


def _escape_character(character: str) -> str:
    code = ord(character)
    if 0xDC80 <= code <= 0xDCFF:  # a byte of a file name that is not UTF-8
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def escape_undecodable(text: str) -> str:
    """``text`` with the bytes of a file name that are not UTF-8 written as ``\\xNN`` (GBK 甲.yaml:
    ``\\xbc\\xd7.yaml``), and any other lone surrogate as ``\\udXXX``: text every writer stores."""
    return SURROGATES.sub(lambda match: _escape_character(match.group()), text)


def _escape_on_output(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    return "".join(map(_escape_character, error.object[error.start : error.end])), error.end


#: The error handler of the console's streams (:func:`escape_console_output`).
CONSOLE_ERRORS = "minesafe-escape"


def escape_console_output() -> None:
    """Make standard output and standard error write what they cannot encode as escapes
    (``\\xbc\\xd7.yaml``), never fail with a ``UnicodeEncodeError`` nor pass bytes that are not UTF-8."""
    codecs.register_error(CONSOLE_ERRORS, _escape_on_output)
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors=CONSOLE_ERRORS)
