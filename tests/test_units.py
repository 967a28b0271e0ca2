"""Unit conversion: exact factors, and never more precision than the device had."""

from __future__ import annotations

from decimal import Decimal

import pytest

from vitalsd.model import Unit
from vitalsd.normalize.units import UnitMismatch, can_convert, convert


@pytest.mark.parametrize(
    ("value", "source", "target", "expected"),
    [
        # 98.6 °F is 37 °C exactly; a 0.1 °F step is 0.056 °C, so two decimals are honest.
        ("98.6", Unit.DEGF, Unit.CEL, "37.00"),
        ("100.4", Unit.DEGF, Unit.CEL, "38.00"),
        ("32", Unit.DEGF, Unit.CEL, "0.0"),
        ("310.15", Unit.KELVIN, Unit.CEL, "37.00"),
        ("37.0", Unit.CEL, Unit.DEGF, "98.6"),
        # 1 lb = 0.45359237 kg (exact, international avoirdupois pound)
        ("150.0", Unit.LB, Unit.KG, "68.04"),
        ("150", Unit.LB, Unit.KG, "68.0"),
        ("68.04", Unit.KG, Unit.LB, "150.00"),
        ("72500", Unit.G, Unit.KG, "72.500"),
        # 1 in = 2.54 cm (exact)
        ("65", Unit.INCH, Unit.CM, "165"),
        ("65.5", Unit.INCH, Unit.CM, "166.4"),
        ("1.75", Unit.M, Unit.CM, "175"),
        # 1 mmHg = 133.322387415 Pa (conventional definition)
        ("16", Unit.KPA, Unit.MMHG, "120"),
        ("16.0", Unit.KPA, Unit.MMHG, "120.0"),
        ("120", Unit.MMHG, Unit.KPA, "16.0"),
    ],
)
def test_convert(value: str, source: Unit, target: Unit, expected: str) -> None:
    result = convert(Decimal(value), source, target)
    assert str(result) == expected


def test_same_unit_keeps_the_devices_digits() -> None:
    assert str(convert(Decimal("3.60"), Unit.PERCENT, Unit.PERCENT)) == "3.60"


def test_impossible_conversion_is_an_error() -> None:
    assert not can_convert(Unit.KG, Unit.CEL)
    with pytest.raises(UnitMismatch, match="cannot convert kg to Cel"):
        convert(Decimal(1), Unit.KG, Unit.CEL)
