"""The daemon with each proprietary BLE oximeter and a Mi scale on the virtual radio:
config → supervisor → BleLink → driver → normalize → JSON-lines output; an oximeter
that drops mid-transfer is reconnected by the supervisor and reads again."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest
from bumble.link import LocalLink

from drivers.ble.berrymed import BerryMedDriver
from drivers.ble.jumper import JumperDriver
from drivers.ble.nonin3230 import Nonin3230Driver
from drivers.ble.wellue import WellueFs20fDriver
from drivers.ble.xiaomi import XiaomiScaleDriver
from simulators.ble.oximeters import MODELS, OximeterScenario, SimulatedOximeter
from simulators.ble.xiaomi_scale import SimulatedMiScale, Weighing
from tests.ble_daemon_harness import ble_daemon, observations, running, wait_until
from vitalsd.app import Daemon
from vitalsd.driver import Driver
from vitalsd.links.ble_bumble import BumbleCentral
from vitalsd.links.gatt import GattCentral

ADDRESS = "C0:0B:1E:00:00:02"
DRIVERS: dict[str, type[Driver]] = {
    d.name: d
    for d in (Nonin3230Driver, BerryMedDriver, JumperDriver, WellueFs20fDriver, XiaomiScaleDriver)
}


def daemon_for(tmp_path: Path, radio: LocalLink, driver: str, options: str = "") -> Daemon:
    def factory(adapter: str) -> GattCentral:
        return BumbleCentral(link=radio)

    return ble_daemon(tmp_path, DRIVERS, driver, factory, address=ADDRESS.lower(), options=options)


@pytest.mark.parametrize("key", ["berrymed_bm1000", "jumper_jpd500f", "nonin_3230", "wellue_fs20f"])
async def test_oximeter_reads_drops_and_reads_again(
    key: str, tmp_path: Path, ble_radio: LocalLink
) -> None:
    options = "[devices.options]\nreport_every = 5\n" if key == "berrymed_bm1000" else ""
    daemon = daemon_for(tmp_path, ble_radio, key, options)
    out = tmp_path / "out.jsonl"
    async with running(daemon):
        session = daemon.sessions[0]
        scenario = OximeterScenario(drop_after=15, split=key != "jumper_jpd500f")
        async with SimulatedOximeter(
            MODELS[key], link=ble_radio, address=ADDRESS, scenario=scenario
        ) as oximeter:
            await wait_until(lambda: session.reconnects >= 1)  # the drop mid-transfer
            assert "disconnected" in (session.status.reason or "")
            before = len(observations(out))
            assert before >= 2
            await wait_until(lambda: len(observations(out)) >= before + 6)
            assert oximeter.connections == 2
    values = {(o["metric"], o["value"]) for o in observations(out)}
    assert {("spo2", 97), ("pulse_rate_oximeter", 72)} <= values
    assert {v for m, v in values if m in ("spo2", "pulse_rate_oximeter")} == {97, 72}
    assert {o["device_id"] for o in observations(out)} == {"exam1-ble"}


async def test_mi_scale_charts_one_weight_per_weighing(
    tmp_path: Path, ble_radio: LocalLink
) -> None:
    daemon = daemon_for(tmp_path, ble_radio, "xiaomi_scale")
    out = tmp_path / "out.jsonl"
    async with (
        running(daemon),
        SimulatedMiScale(link=ble_radio, address=ADDRESS, model="v2") as scale,
    ):
        first = Weighing(72.4, datetime(2024, 3, 15, 8, 30, 0), impedance=455)
        async with asyncio.timeout(30):
            # The scale repeats a weighing until someone listens; charted once.
            while not observations(out):
                await scale.weigh(first)
        await scale.weigh(Weighing(72.5, datetime(2024, 3, 15, 8, 32, 0)))
        await wait_until(lambda: len(observations(out)) == 2)
    assert [(o["metric"], o["value"], o["unit"]) for o in observations(out)] == [
        ("body_weight", 72.4, "kg"),
        ("body_weight", 72.5, "kg"),
    ]
    assert daemon.sessions[0].reconnects == 0
