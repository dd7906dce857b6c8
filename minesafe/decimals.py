"""Exact numbers for rules judged at their bounds.

Every ratio is a :class:`fractions.Fraction`, so "exactly 20 %" is exactly 20 % and no
floating-point error can flip a verdict. Display rounds *down*: a shown value never looks better
than the exact one, so a shown 80.00 分 or 20.00 % always really reaches the bound.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

#: A decimal number as people write it: ASCII digits, at most one point, an exponent of at most
#: two digits. ``Fraction("1e999999999")`` would build a billion-digit integer; this never does.
_DECIMAL = re.compile(r"[-+]?(?:[0-9]{1,15}(?:\.[0-9]{0,15})?|\.[0-9]{1,15})(?:[eE][-+]?[0-9]{1,2})?")


def parse_decimal(text: str) -> Fraction | None:
    """``"12.5"`` -> ``Fraction(25, 2)`` exactly; None for anything else (other digits such as
    ``２`` or ``²``, thousands of digits, huge exponents)."""
    text = text.strip()
    return Fraction(text) if _DECIMAL.fullmatch(text) else None


def parse_percent(text: object) -> Fraction:
    """``"20%"`` -> ``Fraction(1, 5)``. Only strings with a percent sign are accepted, so a bare
    ``20`` can never be misread as 2000 %."""
    number = parse_decimal(text.strip()[:-1]) if isinstance(text, str) and text.strip().endswith("%") else None
    if number is None:
        raise ValueError(f"应写成百分数，如 “20%”，当前值：{text!r}")
    return number / 100


def floor_to(value: Fraction, places: int = 2) -> Fraction:
    scale = 10**places
    return Fraction(math.floor(value * scale), scale)


def format_decimal(value: Fraction, places: int = 2) -> str:
    """Whole numbers without decimals, others rounded down to ``places`` decimals."""
    if value.denominator == 1:
        return str(value.numerator)
    return f"{float(floor_to(value, places)):.{places}f}"


def format_percent(value: Fraction, places: int = 2) -> str:
    """A computed share, always with ``places`` decimals so a column reads one way:
    ``Fraction(1, 4)`` -> ``"25.00%"``, ``Fraction(1, 6)`` -> ``"16.66%"`` (rounded down)."""
    return f"{float(floor_to(value * 100, places)):.{places}f}%"


def format_rule_percent(value: Fraction) -> str:
    """A bound or threshold as a rule states it: ``Fraction(1, 5)`` -> ``"20%"``."""
    return format_decimal(value * 100) + "%"


def format_exact(value: Fraction) -> str:
    """A number a reader can recompute with: a decimal when two places hold it exactly (``3.60``),
    otherwise the fraction itself (``10/3``)."""
    if (value * 100).denominator == 1:
        return format_decimal(value)
    return f"{value.numerator}/{value.denominator}"


def format_typed(value: Fraction) -> str:
    """A number as it was typed, every digit kept: ``Fraction(2469, 1000)`` -> ``"2.469"`` (a
    decimal a person wrote always ends); a fraction no decimal writes falls back to ``"10/3"``."""
    if value.denominator == 1:
        return str(value.numerator)
    places = value.denominator.bit_length()  # 2**a * 5**b divides 10**places when it divides any power of ten
    scaled = value * 10**places
    if scaled.denominator != 1:
        return f"{value.numerator}/{value.denominator}"
    digits = f"{abs(scaled.numerator):0{places + 1}d}"
    return f"{'-' if value < 0 else ''}{digits[:-places]}.{digits[-places:].rstrip('0')}"


def to_json_number(value: Fraction) -> int | float:
    """A JSON-friendly number: exact for whole numbers, rounded down to 4 decimals otherwise."""
    if value.denominator == 1:
        return value.numerator
    shown = floor_to(value, 4)
    return shown.numerator / shown.denominator
