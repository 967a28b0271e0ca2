"""The real BLE drivers and simulated devices through the production bleak adapter
(BleakCentral → bleak → bleak-retry-connector → bumble-backed bleak backend → virtual
radio): what runs on a mini PC, minus BlueZ itself."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bumble.link import LocalLink

from drivers.ble.and_medical import AndUa651Driver
from drivers.ble.omron import OmronBloodPressureDriver
from drivers.ble.profiles import BleGlucoseDriver
from simulators.ble import health_records as rec
from simulators.ble.health_devices import AND_SEND_ALL, running
from simulators.ble.health_peripheral import StoredRecord
from tests.ble_session_harness import NOW, session
from vitalsd.links.ble_bleak import BleakCentral

BASE = datetime(2024, 3, 15, 8, 30)


async def test_and_cuff_sends_its_memory_through_bleak(
    ble_radio: LocalLink, bleak_central: BleakCentral, tmp_path: Path
) -> None:
    memory = [StoredRecord(rec.blood_pressure(130, 85, 100, time=BASE), 1)]
    async with running(ble_radio, "and_ua651ble", stored=memory) as cuff:
        got = await session(AndUa651Driver, bleak_central, tmp_path / "and.json")
        assert cuff.recorded.vendor_writes == [AND_SEND_ALL]
        assert cuff.recorded.clock_set_to == NOW
    assert [(m.metric.value, str(m.value)) for m in got.measurements][:2] == [
        ("bp_systolic", "130"),
        ("bp_diastolic", "85"),
    ]


async def test_omron_bonds_and_downloads_through_bleak(
    ble_radio: LocalLink, bleak_central: BleakCentral, tmp_path: Path
) -> None:
    """Bonding (bleak's pair()), Current Time write, RACP indications."""
    last = rec.blood_pressure(124, 86, 97, time=BASE, pulse=51, status=0)
    async with running(ble_radio, "omron_bp", stored=[StoredRecord(last, 1)]) as cuff:
        got = await session(OmronBloodPressureDriver, bleak_central, tmp_path / "omron.json")
        assert cuff.recorded.racp_requests == [bytes.fromhex("01 06")]
    assert [(m.metric.value, str(m.value)) for m in got.measurements] == [
        ("bp_systolic", "124"),
        ("bp_diastolic", "86"),
        ("bp_mean", "97"),
        ("pulse_rate_nibp", "51"),
    ]


async def test_glucose_meter_racp_through_bleak(
    ble_radio: LocalLink, bleak_central: BleakCentral, tmp_path: Path
) -> None:
    memory = [StoredRecord(rec.glucose(1, BASE, 95), 1), StoredRecord(rec.glucose(2, BASE, 120), 2)]
    async with running(ble_radio, "glucose_meter", stored=memory):
        got = await session(BleGlucoseDriver, bleak_central, tmp_path / "meter.json")
    assert [(m.sequence, str(m.value)) for m in got.measurements] == [(1, "95"), (2, "120")]
