"""The simulated peripherals' spec encoders reproduce published bytes (ble-health.md §3).

The simulators encode from the specification and never import a decoder, so these
vectors pin them on their own; the session tests then pin decoder and encoder together.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from simulators.ble import health_records as rec
from simulators.ble.sig_fields import Special, current_time, date_time, float32, sfloat


def H(text: str) -> bytes:
    return bytes.fromhex(text)


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (125, "7D 00"),  # Real: A&D UA-651BLE capture (HEADS-project/ThingML-BLE), §3.1 #6
        ("10.1", "65 F0"),  # Lib: Nordic Android-BLE-Library DataTest.java, §1.1
        ("18.9", "BD F0"),  # Lib: Nordic BloodPressureMeasurementDataCallbackTest, §3.1 #2
        (Special.NAN, "FF 07"),  # §1.1 special values
        (Special.NRES, "00 08"),
        (Decimal("1.20E-3"), "78 B0"),  # Derived: 120 mg/dL as kg/L, §2.5
    ],
)
def test_sfloat(value: Decimal | int | str | Special, wire: str) -> None:
    assert sfloat(value) == H(wire)


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        ("12345.67", "87 D6 12 FE"),  # Lib: Nordic DataTest.java, §1.2
        ("37.60", "B0 0E 00 FE"),  # Lib: Nordic HTS test, §1.2
        ("36.6", "6E 01 00 FF"),  # Derived §3.3 #5
        (Special.NAN, "FF FF 7F 00"),  # §1.2
    ],
)
def test_float32(value: str | Special, wire: str) -> None:
    assert float32(value) == H(wire)


def test_sfloat_refuses_what_it_cannot_hold() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        sfloat("123456789")


def test_clock_fields() -> None:
    # Lib: Nordic DateTimeDataCallbackTest (§3.9); Derived Current Time §3.9.
    assert date_time(datetime(2018, 4, 17, 15, 51)) == H("E2 07 04 11 0F 33 00")
    assert date_time(None) == bytes(7)
    when = datetime(2025, 1, 15, 10, 30)
    assert current_time(when, adjust_reason=1) == H("E9 07 01 0F 0A 1E 00 03 00 01")


def test_records() -> None:
    # Real: A&D UA-651BLE indication, HEADS-project/ThingML-BLE AND_Medical_UA651BLE.md (§3.1 #6)
    when = datetime(2017, 1, 16, 12, 39, 54)
    assert rec.blood_pressure(125, 80, 102, time=when, pulse=64, status=0) == H(
        "16 7D 00 50 00 66 00 E1 07 01 10 0C 27 36 40 00 00 00"
    )
    # Real: the same capture's failed try, all NaN (§3.1 #8)
    nan = Special.NAN
    failed = datetime(2017, 1, 14, 22, 44, 4)
    assert rec.blood_pressure(nan, nan, nan, time=failed, pulse=nan, status=0) == H(
        "16 FF 07 FF 07 FF 07 E1 07 01 0E 16 2C 04 FF 07 00 00"
    )
    # Lib: Nordic TemperatureMeasurementDataCallbackTest (§3.3 #1)
    stamp = datetime(2012, 12, 5, 11, 50, 27)
    assert rec.temperature("37.60", time=stamp, site=4) == H(
        "06 B0 0E 00 FE DC 07 0C 05 0B 32 1B 04"
    )
    # Lib: openScale HuaweiHagridWspLibTest (§3.4 #1); Derived "unsuccessful" (§3.4 #4)
    assert rec.weight("77.5") == H("00 8C 3C")
    assert rec.weight(None) == H("00 FF FF")
    # Derived §3.6 #2 and Lib Spezi PLXTests (§3.6 #4)
    assert rec.plx_spot_check(98, 72) == H("00 62 00 48 00")
    assert rec.plx_continuous(100, 90) == H("00 64 00 5A 00")
    # Derived §3.7 #3
    base = datetime(2024, 3, 15, 8, 30)
    assert rec.glucose(2, base, 120) == H("02 02 00 E8 07 03 0F 08 1E 00 78 B0 11")
    # Lib: Nordic RecordAccessControlPointDataCallbackTest (§2.6)
    assert rec.racp_response(0x01, 0x01) == H("06 00 01 01")
    assert rec.racp_count(3) == H("05 00 03 00")
