"""Field encoders for simulated health peripherals, written from the specification.

Sources (ble-health.md): §1.1 IEEE 11073 SFLOAT (signed 4-bit exponent, signed 12-bit
mantissa; NaN 0x07FF, NRes 0x0800), §1.2 FLOAT (signed 8-bit exponent, signed 24-bit
mantissa; NaN 0x007FFFFF), §1.3 Date Time (7 bytes, year 0 = unknown), §1.4 Current Time
(Date Time, day of week, fractions256, adjust reason). Vectors they reproduce: SFLOAT
``7D 00`` = 125 (A&D capture, §3.1 #6), ``65 F0`` = 10.1 (§1.1); FLOAT ``B0 0E 00 FE`` =
37.60 (§1.2); Current Time ``E9 07 01 0F 0A 1E 00 03 00 01`` (§3.9).

Never imported from vitalsd or drivers: the simulator must not share a decoder's bugs.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum


class Special(Enum):
    """The reserved values a device sends instead of a number."""

    NAN = "nan"
    NRES = "nres"
    POSITIVE_INFINITY = "+inf"
    NEGATIVE_INFINITY = "-inf"


_SFLOAT_SPECIAL = {
    Special.NAN: 0x07FF,
    Special.NRES: 0x0800,
    Special.POSITIVE_INFINITY: 0x07FE,
    Special.NEGATIVE_INFINITY: 0x0802,
}
_FLOAT_SPECIAL = {
    Special.NAN: 0x007FFFFF,
    Special.NRES: 0x00800000,
    Special.POSITIVE_INFINITY: 0x007FFFFE,
    Special.NEGATIVE_INFINITY: 0x00800002,
}

Number = Decimal | int | str | Special


def _mantissa_exponent(value: Decimal, mantissa_bits: int, exponent_bits: int) -> tuple[int, int]:
    """Mantissa and exponent at the value's own precision (``Decimal("37.60")`` keeps two
    decimals, as a device would send them), coarser only when the mantissa overflows."""
    low_m, high_m = -(1 << (mantissa_bits - 1)), (1 << (mantissa_bits - 1)) - 1
    low_e, high_e = -(1 << (exponent_bits - 1)), (1 << (exponent_bits - 1)) - 1
    own = value.as_tuple().exponent
    start = max(low_e, own if isinstance(own, int) else 0)
    for exponent in range(start, high_e + 1):
        mantissa = value.scaleb(-exponent)
        # Reserved mantissas at the range edges are the special values, never numbers.
        if mantissa == mantissa.to_integral_value() and low_m + 2 < mantissa < high_m - 1:
            return int(mantissa), exponent
    raise ValueError(f"{value} does not fit a {mantissa_bits}-bit mantissa")


def sfloat(value: Number) -> bytes:
    """An IEEE 11073 16-bit SFLOAT, little-endian (§1.1)."""
    if isinstance(value, Special):
        word = _SFLOAT_SPECIAL[value]
    else:
        mantissa, exponent = _mantissa_exponent(Decimal(value), 12, 4)
        word = (exponent & 0x0F) << 12 | (mantissa & 0x0FFF)
    return word.to_bytes(2, "little")


def float32(value: Number) -> bytes:
    """An IEEE 11073 32-bit FLOAT, little-endian (§1.2)."""
    if isinstance(value, Special):
        word = _FLOAT_SPECIAL[value]
    else:
        mantissa, exponent = _mantissa_exponent(Decimal(value), 24, 8)
        word = (exponent & 0xFF) << 24 | (mantissa & 0xFFFFFF)
    return word.to_bytes(4, "little")


def date_time(when: datetime | None) -> bytes:
    """A 7-byte Date Time (§1.3); None sends the all-unknown form (year, month, day 0)."""
    if when is None:
        return bytes(7)
    return when.year.to_bytes(2, "little") + bytes(
        (when.month, when.day, when.hour, when.minute, when.second)
    )


def current_time(when: datetime, adjust_reason: int = 0) -> bytes:
    """A 10-byte Current Time (§1.4): day of week 1 = Monday, fractions in 1/256 s."""
    return date_time(when) + bytes(
        (when.isoweekday(), when.microsecond * 256 // 1_000_000, adjust_reason)
    )


def parse_date_time(data: bytes) -> datetime | None:
    """What a collector wrote to a Date Time (or the first 7 bytes of a Current Time)."""
    if len(data) < 7:
        raise ValueError(f"date time needs 7 bytes, got {len(data)}")
    year = int.from_bytes(data[0:2], "little")
    if year == 0 or data[2] == 0 or data[3] == 0:
        return None
    return datetime(year, data[2], data[3], data[4], data[5], data[6])  # noqa: DTZ001 - device-local clock
