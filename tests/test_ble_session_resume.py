"""Every profile and named device: a link dropped mid-transfer loses nothing, the next
session carries on, and a further download charts nothing twice.

For each kind a reference session on an undisturbed device gives the expected readings;
a device with the same memory then drops the link after some records (HCI 0x08, as a
radio loss reaches the central). Records: ble-health.md §3 vectors or §2 layouts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from bumble.link import LocalLink

from drivers.ble.and_medical import AndUa651Driver, AndUc352Driver
from drivers.ble.base import BleDriver
from drivers.ble.omron import OmronBloodPressureDriver
from drivers.ble.profiles import (
    BleBloodPressureDriver,
    BleGlucoseDriver,
    BlePulseOximeterDriver,
    BleThermometerDriver,
    BleWeightScaleDriver,
)
from simulators.ble import health_records as rec
from simulators.ble.health_devices import running
from simulators.ble.health_peripheral import Knobs, StoredRecord
from tests.ble_session_harness import Collector, session
from vitalsd.errors import DeviceDisconnected
from vitalsd.links.ble_bumble import BumbleCentral

T = [datetime(2024, 3, 15, 8, 30) + timedelta(hours=h) for h in range(3)]
BP = [
    rec.blood_pressure(s, d, m, time=t, pulse=p)
    for (s, d, m, p), t in zip(
        ((125, 80, 102, 64), (124, 86, 97, 51), (118, 80, 93, 60)), T, strict=True
    )
]
MEMORY: dict[str, list[bytes]] = {
    "blood_pressure": BP,
    "and_ua651ble": BP,
    "omron_bp": BP,
    "thermometer": [
        rec.temperature(v, time=t, site=6)
        for v, t in zip(("37.60", "36.6", "38.1"), T, strict=True)
    ],
    "weight_scale": [
        rec.weight(v, time=t) for v, t in zip(("69.6", "77.5", "69.8"), T, strict=True)
    ],
    "and_uc352ble": [
        rec.weight(v, time=t) for v, t in zip(("69.6", "77.5", "69.8"), T, strict=True)
    ],
    "pulse_oximeter": [
        rec.plx_spot_check(s, p, time=t)
        for (s, p), t in zip(((98, 72), (94, 147), (96, 80)), T, strict=True)
    ],
    "glucose_meter": [
        rec.glucose(n, t, v) for n, (v, t) in enumerate(zip((95, 120, 143), T, strict=True), 1)
    ],
}
CASES = [
    ("blood_pressure", BleBloodPressureDriver, 1),
    ("thermometer", BleThermometerDriver, 1),
    ("weight_scale", BleWeightScaleDriver, 2),
    ("pulse_oximeter", BlePulseOximeterDriver, 1),
    ("glucose_meter", BleGlucoseDriver, 2),
    ("and_ua651ble", AndUa651Driver, 2),
    ("and_uc352ble", AndUc352Driver, 1),
    ("omron_bp", OmronBloodPressureDriver, 0),  # "report last": one record, dropped before it
]


def memory(kind: str) -> list[StoredRecord]:
    return [StoredRecord(data, n) for n, data in enumerate(MEMORY[kind], 1)]


@pytest.mark.parametrize(("kind", "driver", "drop_after"), CASES, ids=[c[0] for c in CASES])
async def test_drop_resume_and_no_repeats(
    ble_radio: LocalLink,
    ble_central: BumbleCentral,
    tmp_path: Path,
    kind: str,
    driver: type[BleDriver],
    drop_after: int,
) -> None:
    async with running(ble_radio, kind, stored=memory(kind)):
        reference = await session(driver, ble_central, tmp_path / "reference.json")
    assert reference.measurements, "the reference session must chart something"

    cursor = tmp_path / "device.json"
    knobs = Knobs(drop_after=drop_after)
    async with running(ble_radio, kind, stored=memory(kind), knobs=knobs) as device:
        first = Collector()
        with pytest.raises(DeviceDisconnected):
            await session(driver, ble_central, cursor, sink=first)
        second = await session(driver, ble_central, cursor)
        for record in device.stored:
            record.transferred = False  # a device that replays its whole memory
        third = await session(driver, ble_central, cursor)
        assert device.recorded.clock_set_to is not None  # every session set the clock
    assert first.values() + second.values() == reference.values()
    assert third.values() == []
