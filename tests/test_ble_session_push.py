"""Cuffs, thermometers and scales that push their records once subscribed, end to end.

Each test runs the real driver (``run_ble``) over the real bumble central
(``vitalsd.links.ble_bumble``) on bumble's virtual radio against a simulated peripheral
(``simulators.ble``) that encodes from the specification. Record bytes are the published
vectors of ble-health.md §3 (cited per record below) or built from its §2 layouts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from bumble.link import LocalLink

from drivers.ble.and_medical import AndUa651Driver, AndUc352Driver
from drivers.ble.base import BleDriver
from drivers.ble.profiles import BleBloodPressureDriver, BleThermometerDriver, BleWeightScaleDriver
from simulators.ble import health_records as rec
from simulators.ble.health_devices import AND_SEND_ALL, running
from simulators.ble.health_peripheral import Knobs, StoredRecord
from simulators.ble.sig_fields import Special
from tests.ble_session_harness import NOW, Collector, session
from vitalsd.errors import DeviceDisconnected
from vitalsd.links.ble_bumble import BumbleCentral

OLD = datetime(2017, 1, 16, 12, 39, 54)  # the A&D capture's time stamp
FAILED = datetime(2017, 1, 14, 22, 44, 4)
FRESH = NOW - timedelta(seconds=40)  # taken just before the device advertised
NAN = Special.NAN

# Real: A&D UA-651BLE indications, HEADS-project/ThingML-BLE AND_Medical_UA651BLE.md
# (ble-health.md §3.1 #6 and #8); the fresh one is Derived from the same layout.
BP_OLD = rec.blood_pressure(125, 80, 102, time=OLD, pulse=64, status=0)
BP_FAILED = rec.blood_pressure(NAN, NAN, NAN, time=FAILED, pulse=NAN, status=0)
BP_FRESH = rec.blood_pressure(124, 86, 97, time=FRESH, pulse=51, status=0)
BP_MIDDLE = rec.blood_pressure(118, 80, 93, time=OLD + timedelta(days=1), pulse=60)
# Derived: Intermediate Cuff Pressure 150 mmHg, unused fields NaN (§3.2 #4).
ICP = rec.blood_pressure(150, NAN, NAN)
# Lib: Nordic TemperatureMeasurementDataCallbackTest (§3.3 #1) and Derived (§3.3 #5).
TEMP_OLD = rec.temperature("37.60", time=datetime(2012, 12, 5, 11, 50, 27), site=4)
TEMP_FRESH = rec.temperature("36.6", time=FRESH, site=2)
TEMP_PROGRESS = rec.temperature("35.2")
# Lib: openScale (§3.4 #1, 77.5 kg, no time) and Derived (§3.4 #2 layout).
WEIGHT_PLAIN = rec.weight("77.5")
WEIGHT_OLD = rec.weight("69.6", time=datetime(2024, 3, 15, 8, 30))
WEIGHT_FRESH = rec.weight("69.8", time=FRESH)

BP = [
    ("bp_systolic", "125", OLD, True),
    ("bp_diastolic", "80", OLD, True),
    ("bp_mean", "102", OLD, True),
    ("pulse_rate_nibp", "64", OLD, True),
]
BP_NOW = [
    ("bp_systolic", "124", FRESH, False),
    ("bp_diastolic", "86", FRESH, False),
    ("bp_mean", "97", FRESH, False),
    ("pulse_rate_nibp", "51", FRESH, False),
]
BP_MID = [
    ("bp_systolic", "118", OLD + timedelta(days=1), True),
    ("bp_diastolic", "80", OLD + timedelta(days=1), True),
    ("bp_mean", "93", OLD + timedelta(days=1), True),
    ("pulse_rate_nibp", "60", OLD + timedelta(days=1), True),
]


def stored(*records: bytes) -> list[StoredRecord]:
    return [StoredRecord(data, n) for n, data in enumerate(records, 1)]


async def test_blood_pressure_cuff(
    ble_radio: LocalLink, ble_central: BumbleCentral, tmp_path: Path
) -> None:
    cursor = tmp_path / "cuff.json"
    memory = stored(BP_OLD, BP_FAILED, BP_FRESH)
    async with running(ble_radio, "blood_pressure", stored=memory, live=[ICP]) as cuff:
        got = await session(BleBloodPressureDriver, ble_central, cursor)
        assert cuff.recorded.clock_writes[0] == bytes.fromhex("EA 07 03 02 09 1E 00")
        assert cuff.recorded.clock_set_to == NOW
        # Stored and fresh readings with their device times; the failed try dropped.
        assert got.values() == BP + BP_NOW
        assert "cuff pressure 150 mm[Hg]" in [e.message for e in got.events]
        assert got.identities[0].address == "C0:11:22:33:44:55"
        assert got.events[-1].message == "2 new records, 0 seen before, 1 failed tries dropped"
        # A cuff that re-sends its memory: nothing charted twice.
        for record in cuff.stored:
            record.transferred = False
        again = await session(BleBloodPressureDriver, ble_central, cursor)
        assert again.values() == []
        assert again.events[-1].message == "0 new records, 3 seen before, 0 failed tries dropped"


async def test_thermometer(
    ble_radio: LocalLink, ble_central: BumbleCentral, tmp_path: Path
) -> None:
    memory = stored(TEMP_OLD, TEMP_FRESH)
    async with running(ble_radio, "thermometer", stored=memory, live=[TEMP_PROGRESS]) as thermo:
        got = await session(BleThermometerDriver, ble_central, tmp_path / "t.json")
    assert thermo.recorded.clock_set_to == NOW
    assert [
        (m.metric.value, str(m.value), m.unit.value, m.device_time, m.stored)
        for m in got.measurements
    ] == [
        ("temp_body", "37.60", "Cel", datetime(2012, 12, 5, 11, 50, 27), True),
        ("temp_body", "36.6", "Cel", FRESH, False),
    ]
    assert "measuring: 35.2 Cel" in [e.message for e in got.events]


async def test_weight_scale(
    ble_radio: LocalLink, ble_central: BumbleCentral, tmp_path: Path
) -> None:
    memory = stored(WEIGHT_OLD, WEIGHT_PLAIN, WEIGHT_FRESH)
    async with running(ble_radio, "weight_scale", stored=memory) as scale:
        got = await session(BleWeightScaleDriver, ble_central, tmp_path / "w.json")
    assert scale.recorded.clock_set_to == NOW
    assert got.values() == [
        ("body_weight", "69.600", datetime(2024, 3, 15, 8, 30), True),
        ("body_weight", "77.500", None, False),  # no time stamp: pushed now, so live
        ("body_weight", "69.800", FRESH, False),
    ]


@pytest.mark.parametrize("driver", [BleBloodPressureDriver, AndUa651Driver])
async def test_drop_mid_transfer_then_resume(
    ble_radio: LocalLink,
    ble_central: BumbleCentral,
    tmp_path: Path,
    driver: type[BleDriver],
) -> None:
    cursor = tmp_path / "cuff.json"
    kind = "and_ua651ble" if driver is AndUa651Driver else "blood_pressure"
    memory = stored(BP_OLD, BP_MIDDLE, BP_FRESH)
    async with running(ble_radio, kind, stored=memory, knobs=Knobs(drop_after=1)) as cuff:
        first = Collector()
        with pytest.raises(DeviceDisconnected, match=r"link lost mid-transfer.*0x08"):
            await session(driver, ble_central, cursor, sink=first)
        assert first.values() == BP
        second = await session(driver, ble_central, cursor)
        assert cuff.recorded.connections == 2
    # Nothing lost, nothing twice, in the device's order.
    assert first.values() + second.values() == BP + BP_MID + BP_NOW


async def test_and_ua651ble(
    ble_radio: LocalLink, ble_central: BumbleCentral, tmp_path: Path
) -> None:
    cursor = tmp_path / "and.json"
    memory = stored(BP_OLD, BP_FAILED, BP_FRESH)
    knobs = Knobs(record_delay=0.05)  # slow indications change nothing
    async with running(ble_radio, "and_ua651ble", stored=memory, knobs=knobs) as cuff:
        got = await session(AndUa651Driver, ble_central, cursor)
        # obniz order: "send all data", then the clock, then indications.
        assert cuff.recorded.vendor_writes == [AND_SEND_ALL]
        assert cuff.recorded.clock_set_to == NOW
        assert got.values() == BP + BP_NOW
        identity = got.identities[0]
        assert (identity.make, identity.model, identity.eui64) == (
            "A&D Medical",
            "UA-651BLE",
            "00091FFFFEA1B2C3",
        )
        # "Send all data" replays the whole memory next time: de-duplicated by the cursor.
        again = await session(AndUa651Driver, ble_central, cursor)
        assert again.values() == []
        assert len(cuff.recorded.vendor_writes) == 2
        assert again.events[-1].message == "0 new records, 3 seen before, 0 failed tries dropped"


async def test_and_uc352ble(
    ble_radio: LocalLink, ble_central: BumbleCentral, tmp_path: Path
) -> None:
    cursor = tmp_path / "and.json"
    async with running(ble_radio, "and_uc352ble", stored=stored(WEIGHT_OLD)) as scale:
        got = await session(AndUc352Driver, ble_central, cursor)
        assert scale.recorded.vendor_writes == [AND_SEND_ALL]
        assert scale.recorded.clock_set_to == NOW
        assert got.values() == [("body_weight", "69.600", datetime(2024, 3, 15, 8, 30), True)]
        scale.stored.append(StoredRecord(WEIGHT_FRESH, 2))
        again = await session(AndUc352Driver, ble_central, cursor)
        assert again.values() == [("body_weight", "69.800", FRESH, False)]


async def test_thermometer_site_from_temperature_type(
    ble_radio: LocalLink, ble_central: BumbleCentral, tmp_path: Path
) -> None:
    """A record without its own type takes the fixed site of 0x2A1D: ``03`` = ear (Lib:
    Nordic TemperatureTypeDataCallbackTest, ble-health.md §3.3)."""
    memory = stored(rec.temperature("36.6", time=FRESH))
    async with running(ble_radio, "thermometer", stored=memory, reads={0x2A1D: b"\x03"}):
        got = await session(BleThermometerDriver, ble_central, tmp_path / "t.json")
    assert [(m.metric.value, str(m.value)) for m in got.measurements] == [("temp_ear", "36.6")]
