"""Issue #4 end to end: the daemon with every SIG profile and every named BLE device on
the virtual radio, each advertising only in a window after a reading (ble-health.md §4.2
#1), through config → supervisor → BleLink → driver → normalize → JSON lines and HL7
files. Per device: the clock is written; stored and fresh readings are charted with
their values, device times and stored flag; a drop mid-transfer is survived and the rest
arrives on the reconnection; a new measurement later brings one more session that charts
only the new reading (the cursor de-duplicates what the device sends again)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from bumble.link import LocalLink

from drivers.ble.and_medical import AndUa651Driver, AndUc352Driver
from drivers.ble.omron import OmronBloodPressureDriver
from drivers.ble.profiles import (
    BleBloodPressureDriver,
    BleGlucoseDriver,
    BlePulseOximeterDriver,
    BleThermometerDriver,
    BleWeightScaleDriver,
)
from hl7.filedrop import Hl7FileOutput
from simulators.ble import health_records as rec
from simulators.ble.health_devices import running
from simulators.ble.health_peripheral import Knobs, StoredRecord
from tests.ble_daemon_harness import observations, wait_until
from tests.ble_daemon_harness import running as daemon_running
from vitalsd.app import Daemon
from vitalsd.config import load_config
from vitalsd.driver import Driver
from vitalsd.links.ble_bumble import BumbleCentral
from vitalsd.links.gatt import GattCentral
from vitalsd.output import Output
from vitalsd.outputs.jsonl import JsonlOutput

ADDRESS = "C0:11:22:33:44:55"
DRIVERS: dict[str, type[Driver]] = {
    d.name: d
    for d in (
        BleBloodPressureDriver,
        BleThermometerDriver,
        BleWeightScaleDriver,
        BlePulseOximeterDriver,
        BleGlucoseDriver,
        AndUa651Driver,
        AndUc352Driver,
        OmronBloodPressureDriver,
    )
}
OUTPUTS: dict[str, type[Output]] = {"jsonl": JsonlOutput, "hl7_file": Hl7FileOutput}
# The simulator kind for each driver.
KIND = {
    "ble_blood_pressure": "blood_pressure",
    "ble_thermometer": "thermometer",
    "ble_weight_scale": "weight_scale",
    "ble_pulse_oximeter": "pulse_oximeter",
    "ble_glucose": "glucose_meter",
    "and_ua651ble": "and_ua651ble",
    "and_uc352ble": "and_uc352ble",
    "omron_bp": "omron_bp",
}

CONFIG = """
[site]
id = "t"

[daemon]
state_dir = "{tmp}/state"

[[devices]]
id = "exam1-ble"
driver = "{driver}"
room = "1"
[devices.ble]
address = "{address}"
[devices.options]
linger = 0.2

[[outputs]]
type = "jsonl"
[outputs.options]
path = "{tmp}/out.jsonl"

[[outputs]]
type = "hl7_file"
[outputs.options]
directory = "{tmp}/hl7"
group_window = 0.1
"""

Row = tuple[str, float, bool, str]  # metric, value, stored, device time (minutes)


@dataclass
class Readings:
    """One device's memory, the observations it charts, and a reading taken later."""

    memory: list[bytes]
    new: bytes
    rows: list[Row]  # every observation the first sessions chart, in order
    new_rows: list[Row]  # what the session after the new reading charts
    live: list[bytes]  # a continuous stream sent after the download (PLX 0x2A5F)
    drop_after: int = 1  # records sent before the link drops, in the first session
    live_rows: tuple[Row, ...] = ()  # what the stream charts, live, after every download


Values = tuple[float, ...]
Encode = Callable[[Values, datetime], bytes]
# Per device family: the encoder, the metrics of one reading, four readings' values.
FAMILIES: dict[str, tuple[Encode, tuple[str, ...], list[Values]]] = {
    "bp": (
        lambda v, t: rec.blood_pressure(int(v[0]), int(v[1]), int(v[2]), time=t, pulse=int(v[3])),
        ("bp_systolic", "bp_diastolic", "bp_mean", "pulse_rate_nibp"),
        [(128, 82, 97, 66), (124, 79, 94, 71), (121, 78, 92, 70), (133, 85, 101, 64)],
    ),
    "temp": (
        lambda v, t: rec.temperature(str(v[0]), time=t, site=2),
        ("temp_body",),
        [(36.8,), (37.1,), (36.6,), (38.2,)],
    ),
    "weight": (
        lambda v, t: rec.weight(str(v[0]), time=t),
        ("body_weight",),
        [(81.25,), (81.4,), (80.95,), (80.5,)],
    ),
    "plx": (
        lambda v, t: rec.plx_spot_check(int(v[0]), int(v[1]), time=t),
        ("spo2", "pulse_rate_oximeter"),
        [(97, 64), (95, 71), (98, 68), (96, 75)],
    ),
    "glucose": (
        lambda v, t: rec.glucose(int(v[1]), t, int(v[0])),
        ("glucose",),
        [(96, 1), (131, 2), (104, 3), (142, 4)],
    ),
}
FAMILY = {
    "ble_blood_pressure": "bp",
    "and_ua651ble": "bp",
    "omron_bp": "bp",
    "ble_thermometer": "temp",
    "ble_weight_scale": "weight",
    "and_uc352ble": "weight",
    "ble_pulse_oximeter": "plx",
    "ble_glucose": "glucose",
}


def readings(driver: str, now: datetime) -> Readings:
    """Two readings from yesterday and one taken 40 s ago; ``new`` is taken now.

    Pushed records are stored when older than the live window (the fresh one is live);
    whatever comes through RACP is from memory, so stored.
    """
    encode, metrics, values = FAMILIES[FAMILY[driver]]
    day = now - timedelta(days=1)
    times = [day - timedelta(hours=1), day, now - timedelta(seconds=40), now]
    memory = [encode(v, t) for v, t in zip(values[:3], times, strict=False)]
    new = encode(values[3], now)

    def rows(i: int, stored: bool) -> list[Row]:
        when = times[i].strftime("%Y-%m-%dT%H:%M")
        return [(m, float(v), stored, when) for m, v in zip(metrics, values[i], strict=False)]

    if driver == "omron_bp":  # "report last record": the newest only; dropped before it
        return Readings(memory, new, rows(2, True), rows(3, True), [], drop_after=0)
    if driver in ("ble_pulse_oximeter", "ble_glucose"):
        live = [rec.plx_continuous(99, 61)] if driver == "ble_pulse_oximeter" else []
        streamed: list[Row] = [("spo2", 99, False, ""), ("pulse_rate_oximeter", 61, False, "")]
        streamed = streamed[: len(live) * 2]
        first = rows(0, True) + rows(1, True) + rows(2, True) + streamed
        return Readings(memory, new, first, rows(3, True), live, live_rows=tuple(streamed))
    return Readings(memory, new, rows(0, True) + rows(1, True) + rows(2, False), rows(3, False), [])


def row(doc: dict[str, Any]) -> Row:
    when = doc.get("device_time") or ""
    return (doc["metric"], float(doc["value"]), bool(doc.get("stored")), when[:16])


def daemon_for(tmp_path: Path, radio: LocalLink, driver: str) -> Daemon:
    path = tmp_path / "vitalsd.toml"
    path.write_text(CONFIG.format(tmp=tmp_path, driver=driver, address=ADDRESS.lower()))
    config = load_config(path, environ={}, drivers=DRIVERS, outputs=OUTPUTS, context_sources={})

    def factory(_adapter: str) -> GattCentral:
        return BumbleCentral(link=radio)

    return Daemon(
        config,
        drivers=DRIVERS,
        outputs=OUTPUTS,
        context_sources={},
        ble_central_factory=factory,
    )


@pytest.mark.parametrize("driver", list(KIND))
async def test_device_end_to_end(driver: str, tmp_path: Path, ble_radio: LocalLink) -> None:
    now = datetime.now().astimezone().replace(tzinfo=None)
    plan = readings(driver, now)
    out = tmp_path / "out.jsonl"
    daemon = daemon_for(tmp_path, ble_radio, driver)
    # A window far longer than a session: the device goes quiet once it has delivered.
    knobs = Knobs(drop_after=plan.drop_after, advertise_window=30.0)
    stored = [StoredRecord(data, n) for n, data in enumerate(plan.memory, 1)]
    session = daemon.sessions[0]
    async with (
        daemon_running(daemon),
        running(ble_radio, KIND[driver], stored=stored, live=plan.live, knobs=knobs) as device,
    ):
        # The drop: the supervisor backs off and reconnects; the rest arrives.
        await wait_until(lambda: len(observations(out)) >= len(plan.rows))
        assert session.reconnects == 1
        assert device.recorded.connections == 2
        first = [row(d) for d in observations(out)]
        assert first == plan.rows
        set_to = device.recorded.clock_set_to
        assert set_to is not None
        assert abs(set_to - now) < timedelta(minutes=1)
        # Quiet now: no advertising, no third session until a new reading.
        assert device.advertiser is not None
        assert not device.device.is_advertising
        await device.measure(plan.new)
        await wait_until(lambda: device.recorded.connections == 3)
        await wait_until(lambda: len(observations(out)) >= len(plan.rows) + len(plan.new_rows))
        await wait_until(lambda: not device.device.connections)
        assert len(device.recorded.clock_writes) == 3  # set on every connection
    docs = observations(out)
    assert [row(d) for d in docs[len(plan.rows) :]] == [*plan.new_rows, *plan.live_rows]
    assert {d["device_id"] for d in docs} == {"exam1-ble"}
    assert session.reconnects == 1  # the normal session ends were no failures
    # The ORU^R01 files carry every reading (OBX-5, MDC-coded in OBX-3).
    charted = {float(obx[5]) for obx in obx_segments(tmp_path / "hl7") if obx[2] == "NM"}
    assert {value for _m, value, _s, _w in plan.rows + plan.new_rows} <= charted


def obx_segments(folder: Path) -> list[list[str]]:
    segments = []
    for path in sorted(folder.glob("*.hl7")):
        for line in path.read_text().replace("\n", "\r").split("\r"):
            if line.startswith("OBX|"):
                segments.append(line.split("|"))
    return segments
