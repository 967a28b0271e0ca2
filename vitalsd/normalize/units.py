"""Unit conversion to each metric's canonical unit, exactly, in Decimal.

Conversion factors are the exact definitions (1 lb = 0.45359237 kg, 1 in = 2.54 cm,
1 mmHg = 133.322387415 Pa); the result is rounded to a resolution no finer than the
device's own, expressed in the target unit, so a conversion never invents precision.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal

from vitalsd.model import Unit

_PA_PER_MMHG = Decimal("133.322387415")
_KG_PER_LB = Decimal("0.45359237")
_CM_PER_IN = Decimal("2.54")
_NINE_FIFTHS = Decimal(9) / Decimal(5)

Converter = Callable[[Decimal], Decimal]

# (from, to) → converter. Identity pairs are handled by the caller.
_CONVERSIONS: dict[tuple[Unit, Unit], Converter] = {
    (Unit.KPA, Unit.MMHG): lambda v: v * 1000 / _PA_PER_MMHG,
    (Unit.MMHG, Unit.KPA): lambda v: v * _PA_PER_MMHG / 1000,
    (Unit.DEGF, Unit.CEL): lambda v: (v - 32) / _NINE_FIFTHS,
    (Unit.CEL, Unit.DEGF): lambda v: v * _NINE_FIFTHS + 32,
    (Unit.KELVIN, Unit.CEL): lambda v: v - Decimal("273.15"),
    (Unit.CEL, Unit.KELVIN): lambda v: v + Decimal("273.15"),
    (Unit.LB, Unit.KG): lambda v: v * _KG_PER_LB,
    (Unit.KG, Unit.LB): lambda v: v / _KG_PER_LB,
    (Unit.G, Unit.KG): lambda v: v / 1000,
    (Unit.INCH, Unit.CM): lambda v: v * _CM_PER_IN,
    (Unit.CM, Unit.INCH): lambda v: v / _CM_PER_IN,
    (Unit.M, Unit.CM): lambda v: v * 100,
}

# Size of one step of the source unit expressed in the target unit: a reading of
# 98.6 [degF] has a step of 0.1 °F = 0.0556 Cel, so the result keeps 2 decimals at
# most and is then trimmed to the step's first significant digit.
_SCALE: dict[tuple[Unit, Unit], Decimal] = {
    (Unit.KPA, Unit.MMHG): Decimal(1000) / _PA_PER_MMHG,
    (Unit.MMHG, Unit.KPA): _PA_PER_MMHG / 1000,
    (Unit.DEGF, Unit.CEL): 1 / _NINE_FIFTHS,
    (Unit.CEL, Unit.DEGF): _NINE_FIFTHS,
    (Unit.KELVIN, Unit.CEL): Decimal(1),
    (Unit.CEL, Unit.KELVIN): Decimal(1),
    (Unit.LB, Unit.KG): _KG_PER_LB,
    (Unit.KG, Unit.LB): 1 / _KG_PER_LB,
    (Unit.G, Unit.KG): Decimal("0.001"),
    (Unit.INCH, Unit.CM): _CM_PER_IN,
    (Unit.CM, Unit.INCH): 1 / _CM_PER_IN,
    (Unit.M, Unit.CM): Decimal(100),
}


class UnitMismatch(ValueError):
    """No conversion exists between the two units (a driver bug, never user input)."""


def can_convert(source: Unit, target: Unit) -> bool:
    return source == target or (source, target) in _CONVERSIONS


def convert(value: Decimal, source: Unit, target: Unit) -> Decimal:
    """``value`` in ``source`` expressed in ``target``, rounded to the device's resolution."""
    if source == target:
        return value
    try:
        raw = _CONVERSIONS[(source, target)](value)
    except KeyError:
        raise UnitMismatch(f"cannot convert {source.value} to {target.value}") from None
    return _round_to_resolution(raw, value, _SCALE[(source, target)])


def _round_to_resolution(raw: Decimal, original: Decimal, scale: Decimal) -> Decimal:
    exponent = original.as_tuple().exponent
    assert isinstance(exponent, int)  # finite Decimal: NaN/Inf never reach here
    step = Decimal(1).scaleb(exponent) * scale  # one device step, in target units
    # Quantize to the decade of the step's leading digit: 0.0556 → 0.01, 0.454 → 0.1,
    # 7.5 → 1; never coarser than 1, so 16 kPa → 120 mm[Hg].
    quantum = Decimal(1).scaleb(min(step.adjusted(), 0))
    return raw.quantize(quantum, rounding=ROUND_HALF_EVEN)
