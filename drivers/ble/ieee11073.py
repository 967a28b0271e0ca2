"""IEEE 11073-20601 SFLOAT (16-bit) and FLOAT (32-bit) medical floats.

Source: ble-health.md §1.1-1.2. Mantissa and exponent are both two's complement (no
exponent bias). Special values are whole words and never become numbers: a NaN or
"not at this resolution" in a chart would be a wrong number.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum


class SpecialValue(StrEnum):
    NAN = "NaN"
    NRES = "NRes"  # not at this resolution
    POSITIVE_INFINITY = "+INF"
    NEGATIVE_INFINITY = "-INF"
    RESERVED = "reserved"


SFLOAT_SPECIAL: dict[int, SpecialValue] = {
    0x07FF: SpecialValue.NAN,
    0x0800: SpecialValue.NRES,
    0x07FE: SpecialValue.POSITIVE_INFINITY,
    0x0802: SpecialValue.NEGATIVE_INFINITY,
    0x0801: SpecialValue.RESERVED,
}
FLOAT_SPECIAL: dict[int, SpecialValue] = {
    0x007FFFFF: SpecialValue.NAN,
    0x00800000: SpecialValue.NRES,
    0x007FFFFE: SpecialValue.POSITIVE_INFINITY,
    0x00800002: SpecialValue.NEGATIVE_INFINITY,
    0x00800001: SpecialValue.RESERVED,
}


def _signed(value: int, bits: int) -> int:
    return value - (1 << bits) if value >> (bits - 1) & 1 else value


def decode_sfloat(word: int) -> Decimal | SpecialValue:
    """A 16-bit SFLOAT word (already assembled little-endian) → exact value or special."""
    if not 0 <= word <= 0xFFFF:
        raise ValueError(f"SFLOAT word out of range: {word}")
    special = SFLOAT_SPECIAL.get(word)
    if special is not None:
        return special
    return Decimal(_signed(word & 0x0FFF, 12)).scaleb(_signed(word >> 12, 4))


def decode_float(word: int) -> Decimal | SpecialValue:
    """A 32-bit FLOAT word → exact value or special."""
    if not 0 <= word <= 0xFFFFFFFF:
        raise ValueError(f"FLOAT word out of range: {word}")
    special = FLOAT_SPECIAL.get(word)
    if special is not None:
        return special
    return Decimal(_signed(word & 0xFFFFFF, 24)).scaleb(_signed(word >> 24, 8))


def number(value: Decimal | SpecialValue | None) -> Decimal | None:
    """The value if it is a finite number, else None (special values carry no number)."""
    return value if isinstance(value, Decimal) else None
