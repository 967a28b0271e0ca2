"""Devices that keep records for a Record Access Control Point download, end to end:
glucose meter, pulse oximeter (spot-check storage) and Omron cuffs (bond, CTS, "last").

Real driver, real bumble central, virtual radio, simulated peripheral encoding from the
specification (ble-health.md §2.4-2.6). Record bytes cite §3 vectors or §2 layouts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from bumble.link import LocalLink

from drivers.ble.omron import OmronBloodPressureDriver
from drivers.ble.profiles import BleBloodPressureDriver, BleGlucoseDriver, BlePulseOximeterDriver
from simulators.ble import health_records as rec
from simulators.ble.health_devices import running
from simulators.ble.health_peripheral import Knobs, StoredRecord
from tests.ble_session_harness import NOW, Collector, session
from vitalsd.errors import DeviceDisconnected, DeviceRejected, DeviceTimeout
from vitalsd.links.ble_bumble import BumbleCentral

BASE = datetime(2024, 3, 15, 8, 30)


def glucose_record(sequence: int, mg_per_dl: int) -> StoredRecord:
    """Derived from §3.7 #3 (``02 02 00 E8 07 03 0F 08 1E 00 78 B0 11`` = seq 2, 120 mg/dL)."""
    when = BASE + timedelta(hours=sequence)
    return StoredRecord(rec.glucose(sequence, when, mg_per_dl), sequence)


def glucose_values(got: Collector) -> list[tuple[int | None, str, datetime | None, bool]]:
    return [(m.sequence, str(m.value), m.device_time, m.stored) for m in got.measurements]


def expected(*pairs: tuple[int, str]) -> list[tuple[int | None, str, datetime | None, bool]]:
    return [(seq, value, BASE + timedelta(hours=seq), True) for seq, value in pairs]


async def test_glucose_downloads_all_then_only_what_follows(
    ble_radio: LocalLink, ble_central: BumbleCentral, tmp_path: Path
) -> None:
    cursor = tmp_path / "meter.json"
    memory = [glucose_record(1, 95), glucose_record(2, 120), glucose_record(3, 143)]
    async with running(ble_radio, "glucose_meter", stored=memory) as meter:
        first = await session(BleGlucoseDriver, ble_central, cursor)
        assert meter.recorded.clock_writes[0][:7] == bytes.fromhex("EA 07 03 02 09 1E 00")
        assert len(meter.recorded.clock_writes[0]) == 10  # Current Time, CTS 0x2A2B
        assert glucose_values(first) == expected((1, "95"), (2, "120"), (3, "143"))
        assert all(m.unit.value == "mg/dL" for m in first.measurements)
        meter.stored.append(glucose_record(4, 101))
        second = await session(BleGlucoseDriver, ble_central, cursor)
        assert glucose_values(second) == expected((4, "101"))
        # Nothing new: the meter says "no records found", which ends the session cleanly.
        third = await session(BleGlucoseDriver, ble_central, cursor)
        assert third.measurements == []
    assert meter.recorded.racp_requests == [
        bytes.fromhex("01 01"),  # report all (§3.8)
        bytes.fromhex("01 03 01 04 00"),  # report ≥ sequence 4
        bytes.fromhex("01 03 01 05 00"),
    ]


async def test_glucose_drop_mid_download_resumes_without_loss(
    ble_radio: LocalLink, ble_central: BumbleCentral, tmp_path: Path
) -> None:
    cursor = tmp_path / "meter.json"
    memory = [glucose_record(n, 90 + n) for n in range(1, 5)]
    async with running(
        ble_radio, "glucose_meter", stored=memory, knobs=Knobs(drop_after=2)
    ) as meter:
        first = Collector()
        with pytest.raises(DeviceDisconnected, match="during the RACP download"):
            await session(BleGlucoseDriver, ble_central, cursor, sink=first)
        second = await session(BleGlucoseDriver, ble_central, cursor)
    assert glucose_values(first) == expected((1, "91"), (2, "92"))
    assert glucose_values(second) == expected((3, "93"), (4, "94"))
    assert meter.recorded.racp_requests[-1] == bytes.fromhex("01 03 01 03 00")


async def test_racp_error_is_a_clear_error(
    ble_radio: LocalLink, ble_central: BumbleCentral, tmp_path: Path
) -> None:
    knobs = Knobs(racp_error=0x08)
    async with running(ble_radio, "glucose_meter", stored=[glucose_record(1, 95)], knobs=knobs):
        with pytest.raises(
            DeviceRejected,
            match=r"RACP report all records refused: procedure not completed \(0x08\)",
        ) as err:
            await session(BleGlucoseDriver, ble_central, tmp_path / "m.json")
    assert err.value.code == "0x08"


async def test_pulse_oximeter_spot_checks_and_stream(
    ble_radio: LocalLink, ble_central: BumbleCentral, tmp_path: Path
) -> None:
    cursor = tmp_path / "ox.json"
    # Derived §3.6 #2 (spot-check 98 / 72) with a time stamp; Lib Spezi §3.6 #4 (stream).
    memory = [
        StoredRecord(rec.plx_spot_check(98, 72, time=BASE), 1),
        StoredRecord(rec.plx_spot_check(96, 80, time=BASE + timedelta(hours=1)), 2),
    ]
    live = [rec.plx_continuous(100, 90)]
    async with running(ble_radio, "pulse_oximeter", stored=memory, live=live) as ox:
        got = await session(BlePulseOximeterDriver, ble_central, cursor)
        assert ox.recorded.clock_set_to == NOW
        assert [
            (m.metric.value, str(m.value), m.device_time, m.stored) for m in got.measurements
        ] == [
            ("spo2", "98", BASE, True),
            ("pulse_rate_oximeter", "72", BASE, True),
            ("spo2", "96", BASE + timedelta(hours=1), True),
            ("pulse_rate_oximeter", "80", BASE + timedelta(hours=1), True),
            ("spo2", "100", None, False),
            ("pulse_rate_oximeter", "90", None, False),
        ]
        # PLX storage cannot filter: "report all" again, every stored record seen before.
        again = await session(BlePulseOximeterDriver, ble_central, cursor)
        assert [m.stored for m in again.measurements] == [False, False]  # the live stream only
    assert ox.recorded.racp_requests == [bytes.fromhex("01 01")] * 2


async def test_omron_bonds_sets_current_time_and_asks_for_the_last_record(
    ble_radio: LocalLink, ble_central: BumbleCentral, tmp_path: Path
) -> None:
    cursor = tmp_path / "omron.json"
    old = datetime(2024, 6, 15, 17, 17, 27)
    # Lib: derdilla/blood-pressure-monitor-fl ble_measurement_data_test.dart (§3.1 #4).
    last = rec.blood_pressure(124, 86, 97, time=old, pulse=51, status=0)
    memory = [StoredRecord(rec.blood_pressure(130, 85, 100, time=BASE), 1), StoredRecord(last, 2)]
    async with running(ble_radio, "omron_bp", stored=memory) as cuff:
        got = await session(OmronBloodPressureDriver, ble_central, cursor)
        assert cuff.recorded.racp_requests == [bytes.fromhex("01 06")]  # report last record
        assert len(cuff.recorded.clock_writes[0]) == 10  # Current Time
        assert cuff.recorded.clock_set_to == NOW
        assert [
            (m.metric.value, str(m.value), m.device_time, m.stored) for m in got.measurements
        ] == [
            ("bp_systolic", "124", old, True),
            ("bp_diastolic", "86", old, True),
            ("bp_mean", "97", old, True),
            ("pulse_rate_nibp", "51", old, True),
        ]
        again = await session(OmronBloodPressureDriver, ble_central, cursor)
        assert again.measurements == []


async def test_generic_driver_pairs_when_the_device_demands_it(
    ble_radio: LocalLink, ble_central: BumbleCentral, tmp_path: Path
) -> None:
    """The plain BP driver does not bond up front; ATT 0x0F (insufficient encryption)
    on the Omron cuff's feature read makes it pair and carry on."""
    memory = [StoredRecord(rec.blood_pressure(130, 85, 100, time=BASE), 1)]
    target = OmronBloodPressureDriver.ble_advertised[0]
    async with running(ble_radio, "omron_bp", stored=memory) as cuff:
        got = await session(BleBloodPressureDriver, ble_central, tmp_path / "c.json", target=target)
    assert cuff.recorded.racp_requests == [bytes.fromhex("01 01")]
    assert [str(m.value) for m in got.measurements] == ["130", "85", "100"]


async def test_meter_that_cannot_filter_gets_asked_for_all(
    ble_radio: LocalLink, ble_central: BumbleCentral, tmp_path: Path
) -> None:
    """ "Operator not supported" (0x04) for ≥ sequence: ask for all, the cursor drops repeats."""
    cursor = tmp_path / "meter.json"
    knobs = Knobs(racp_operators=frozenset({0x01}))
    async with running(
        ble_radio, "glucose_meter", stored=[glucose_record(1, 95)], knobs=knobs
    ) as meter:
        await session(BleGlucoseDriver, ble_central, cursor)
        meter.stored.append(glucose_record(2, 120))
        second = await session(BleGlucoseDriver, ble_central, cursor)
    assert glucose_values(second) == expected((2, "120"))
    assert meter.recorded.racp_requests == [
        bytes.fromhex("01 01"),
        bytes.fromhex("01 03 01 02 00"),
        bytes.fromhex("01 01"),
    ]


async def test_slow_records_are_waited_for(
    ble_radio: LocalLink, ble_central: BumbleCentral, tmp_path: Path
) -> None:
    """The silence timeout counts from the last record, not from the request."""
    memory = [glucose_record(n, 90 + n) for n in range(1, 7)]
    knobs = Knobs(record_delay=0.2)  # 1.2 s in all, longer than the silence timeout
    async with running(ble_radio, "glucose_meter", stored=memory, knobs=knobs):
        got = await session(BleGlucoseDriver, ble_central, tmp_path / "m.json", silence_timeout=1.0)
    assert [m.sequence for m in got.measurements] == [1, 2, 3, 4, 5, 6]


async def test_silent_racp_times_out_clearly(
    ble_radio: LocalLink, ble_central: BumbleCentral, tmp_path: Path
) -> None:
    knobs = Knobs(racp_mute=True)
    async with running(ble_radio, "glucose_meter", stored=[glucose_record(1, 95)], knobs=knobs):
        with pytest.raises(
            DeviceTimeout, match=r"report all records: no record or answer for 0.5 s"
        ):
            await session(BleGlucoseDriver, ble_central, tmp_path / "m.json", silence_timeout=0.5)
