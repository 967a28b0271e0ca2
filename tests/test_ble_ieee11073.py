"""IEEE 11073 SFLOAT/FLOAT: vectors from ble-health.md §1.1-1.2, special values, round trips.

The encoder below is written from the standard (two's-complement mantissa and exponent,
no bias), not from the decoder.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from drivers.ble.ieee11073 import SpecialValue, decode_float, decode_sfloat, number


def encode_sfloat(mantissa: int, exponent: int) -> int:
    return (exponent & 0xF) << 12 | (mantissa & 0xFFF)


def encode_float(mantissa: int, exponent: int) -> int:
    return (exponent & 0xFF) << 24 | (mantissa & 0xFFFFFF)


def le16(raw: str) -> int:
    return int.from_bytes(bytes.fromhex(raw), "little")


def test_sfloat_vectors() -> None:
    assert decode_sfloat(le16("65 F0")) == Decimal("10.1")  # Lib: Nordic DataTest.java
    assert decode_sfloat(le16("7D 00")) == Decimal(125)  # Real: A&D cuff (ThingML-BLE)
    # bluetooth-sig-python's biased-exponent "120 mmHg" is 120e-8 under the real standard
    assert decode_sfloat(le16("78 80")) == Decimal("120E-8")


def test_float_vectors() -> None:
    assert decode_float(le16("87 D6 12 FE")) == Decimal("12345.67")  # Lib: Nordic DataTest
    assert decode_float(le16("B0 0E 00 FE")) == Decimal("37.60")  # Lib: Nordic HTS test
    assert decode_float(le16("FF FF 7F 00")) is SpecialValue.NAN
    assert decode_float(le16("00 00 80 00")) is SpecialValue.NRES
    assert decode_float(le16("FE FF 7F 00")) is SpecialValue.POSITIVE_INFINITY
    assert decode_float(le16("02 00 80 00")) is SpecialValue.NEGATIVE_INFINITY
    assert decode_float(0x00800001) is SpecialValue.RESERVED


def test_sfloat_special_values_are_exactly_the_five_words() -> None:
    specials = {w: v for w in range(0x10000) if isinstance(v := decode_sfloat(w), SpecialValue)}
    assert specials == {
        0x07FF: SpecialValue.NAN,
        0x0800: SpecialValue.NRES,
        0x07FE: SpecialValue.POSITIVE_INFINITY,
        0x0802: SpecialValue.NEGATIVE_INFINITY,
        0x0801: SpecialValue.RESERVED,
    }
    assert all(number(v) is None for v in specials.values())


@given(st.integers(-2048, 2047), st.integers(-8, 7))
def test_sfloat_round_trip(mantissa: int, exponent: int) -> None:
    word = encode_sfloat(mantissa, exponent)
    value = decode_sfloat(word)
    if exponent == 0 and mantissa in (2046, 2047, -2048, -2047, -2046):
        assert isinstance(value, SpecialValue)
    else:
        assert value == Decimal(mantissa).scaleb(exponent)


@given(st.integers(-(2**23), 2**23 - 1), st.integers(-128, 127))
def test_float_round_trip(mantissa: int, exponent: int) -> None:
    word = encode_float(mantissa, exponent)
    value = decode_float(word)
    if exponent == 0 and mantissa in (2**23 - 2, 2**23 - 1, -(2**23), -(2**23) + 1, -(2**23) + 2):
        assert isinstance(value, SpecialValue)
        assert number(value) is None
    else:
        assert value == Decimal(mantissa).scaleb(exponent)
