from fractions import Fraction

import pytest

from minesafe.decimals import format_decimal, format_exact, format_percent, format_rule_percent, parse_percent, to_json_number


@pytest.mark.parametrize(("text", "value"), [("20%", Fraction(1, 5)), (" 12.5 % ", Fraction(1, 8)), ("0.1%", Fraction(1, 1000))])
def test_parse_percent(text, value):
    assert parse_percent(text) == value


@pytest.mark.parametrize("bad", [20, "20", 0.2, None])
def test_parse_percent_needs_a_percent_sign(bad):
    with pytest.raises(ValueError, match="20%"):
        parse_percent(bad)


def test_display_never_rounds_up_to_a_bound():
    just_below = Fraction(7999999, 100000)  # 79.99999 points
    assert format_decimal(just_below) == "79.99"
    assert format_percent(Fraction(1, 5) - Fraction(1, 10**9)) == "19.99%"
    assert format_percent(Fraction(-1, 3)) == "-33.34%"  # rounded down, never shown better


def test_whole_numbers_show_without_decimals():
    assert format_decimal(Fraction(80)) == "80"
    assert format_rule_percent(Fraction(1, 5)) == "20%"


def test_computed_percentages_always_show_two_decimals():
    assert format_percent(Fraction(1, 4)) == "25.00%"
    assert format_percent(Fraction(1, 6)) == "16.66%"


def test_exact_shows_a_fraction_when_two_decimals_would_round():
    assert format_exact(Fraction(18, 5)) == "3.60"
    assert format_exact(Fraction(10, 3)) == "10/3"
    assert to_json_number(Fraction(80)) == 80 and isinstance(to_json_number(Fraction(80)), int)
    assert to_json_number(Fraction(2, 3)) == 0.6666


def test_format_typed_keeps_every_digit_typed():
    from minesafe.decimals import format_typed

    cases = {Fraction(2469, 1000): "2.469", Fraction(47, 20): "2.35", Fraction(-1, 8): "-0.125", Fraction(5): "5"}
    cases |= {Fraction(1, 10**6): "0.000001", Fraction(10, 3): "10/3"}
    assert {value: format_typed(value) for value in cases} == cases
