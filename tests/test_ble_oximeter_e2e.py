"""The proprietary oximeter drivers end to end over bumble's virtual radio: the simulated
peripheral advertises, the driver's run_ble connects through the bumble central,
subscribes, and real ATT notifications carry the frames (simulators/ble/oximeters.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path

import pytest
from bumble.link import LocalLink

from drivers.ble.berrymed import BerryMedDriver, BerryMedOptions
from drivers.ble.jumper import JumperDriver
from drivers.ble.nonin3230 import Nonin3230Driver
from drivers.ble.streaming import StreamingOximeterDriver
from drivers.ble.wellue import WellueFs20fDriver
from simulators.ble.oximeters import MODELS, OximeterScenario, SimulatedOximeter
from vitalsd.driver import DriverOptions
from vitalsd.errors import DeviceDisconnected, DeviceTimeout
from vitalsd.links.ble_bumble import BumbleCentral
from vitalsd.links.gatt import BleLink, BleTarget, JsonCursorStore
from vitalsd.model import Condition, DeviceEvent, DeviceIdentity, DriverReport, Measurement, Metric

ADDRESS = "C0:0B:1E:00:00:01"

DRIVERS: dict[str, type[StreamingOximeterDriver]] = {
    "nonin_3230": Nonin3230Driver,
    "berrymed_bm1000": BerryMedDriver,
    "jumper_jpd500f": JumperDriver,
    "wellue_fs20f": WellueFs20fDriver,
}
# What the default scenario (SpO2 97, pulse 72, PI 2.5 %) reads as on each device.
EXPECTED: dict[str, tuple[int, int, Decimal | None]] = {
    "nonin_3230": (97, 72, Decimal("2.50")),
    "berrymed_bm1000": (97, 72, None),  # the BCI frames carry no PI
    "jumper_jpd500f": (97, 72, Decimal("2.5")),
    "wellue_fs20f": (97, 72, Decimal("2.500")),
}


class Collect:
    def __init__(self) -> None:
        self.reports: list[DriverReport] = []
        self._changed = asyncio.Event()

    def put(self, report: DriverReport) -> None:
        self.reports.append(report)
        self._changed.set()

    def readings(self) -> list[tuple[int, int, Decimal | None]]:
        groups: dict[str, dict[Metric, Decimal]] = {}
        for r in self.reports:
            if isinstance(r, Measurement):
                assert r.device_time is None and not r.stored and r.group is not None
                groups.setdefault(r.group, {})[r.metric] = r.value
        return [
            (
                int(g[Metric.SPO2]),
                int(g[Metric.PULSE_RATE_OXIMETER]),
                g.get(Metric.PERFUSION_INDEX),
            )
            for g in groups.values()
        ]

    def conditions(self) -> list[frozenset[Condition]]:
        return [
            r.conditions
            for r in self.reports
            if isinstance(r, DeviceEvent) and r.code == "conditions"
        ]

    async def until(self, done: Callable[[Collect], bool]) -> None:
        async with asyncio.timeout(30):
            while not done(self):
                self._changed.clear()
                await self._changed.wait()


def options(key: str, silence_timeout: float = 30.0) -> DriverOptions:
    if key == "berrymed_bm1000":
        return BerryMedOptions(report_every=5, silence_timeout=silence_timeout)
    return DRIVERS[key].options_model(silence_timeout=silence_timeout)


@contextlib.asynccontextmanager
async def running(
    driver: StreamingOximeterDriver, link: BleLink
) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(driver.run_ble(link), name=f"test-{driver.name}")
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def link_for(central: BumbleCentral, tmp_path: Path) -> BleLink:
    return BleLink(central, BleTarget(address=ADDRESS), JsonCursorStore(tmp_path / "c.json"))


@pytest.mark.parametrize("key", sorted(DRIVERS))
async def test_live_readings(
    key: str, ble_radio: LocalLink, ble_central: BumbleCentral, tmp_path: Path
) -> None:
    sink = Collect()
    driver = DRIVERS[key](options(key), sink)
    async with (
        SimulatedOximeter(MODELS[key], link=ble_radio, address=ADDRESS),
        running(driver, link_for(ble_central, tmp_path)),
    ):
        await sink.until(lambda s: len(s.readings()) >= 3)
    assert set(sink.readings()) == {EXPECTED[key]}
    identity = next(r for r in sink.reports if isinstance(r, DeviceIdentity))
    assert identity.address == ADDRESS
    assert driver.decode_errors == 0


@pytest.mark.parametrize("key", ["berrymed_bm1000", "nonin_3230", "wellue_fs20f"])
async def test_frames_split_across_notifications(
    key: str, ble_radio: LocalLink, ble_central: BumbleCentral, tmp_path: Path
) -> None:
    sink = Collect()
    driver = DRIVERS[key](options(key), sink)
    scenario = OximeterScenario(split=True, seed=7)
    async with (
        SimulatedOximeter(MODELS[key], link=ble_radio, address=ADDRESS, scenario=scenario),
        running(driver, link_for(ble_central, tmp_path)),
    ):
        await sink.until(lambda s: len(s.readings()) >= 3)
    assert set(sink.readings()) == {EXPECTED[key]}
    assert driver.decode_errors == 0


@pytest.mark.parametrize("key", sorted(DRIVERS))
async def test_finger_out_gives_no_numbers_then_readings(
    key: str, ble_radio: LocalLink, ble_central: BumbleCentral, tmp_path: Path
) -> None:
    sink = Collect()
    driver = DRIVERS[key](options(key), sink)
    async with (
        SimulatedOximeter(
            MODELS[key], link=ble_radio, address=ADDRESS, finger_out=True
        ) as oximeter,
        running(driver, link_for(ble_central, tmp_path)),
    ):
        async with asyncio.timeout(30):
            while oximeter.frames_sent < 10:  # the simulator's count, not the sink's
                await asyncio.sleep(0.01)
        assert sink.readings() == []
        if key != "jumper_jpd500f":  # the Jumper has only its invalid markers, no status
            assert sink.conditions()[-1] & {Condition.SENSOR_OFF}
        oximeter.finger_out = False
        await sink.until(lambda s: len(s.readings()) >= 2)
    assert set(sink.readings()) == {EXPECTED[key]}


@pytest.mark.parametrize("key", sorted(DRIVERS))
async def test_drop_mid_transfer_then_reconnect(
    key: str, ble_radio: LocalLink, ble_central: BumbleCentral, tmp_path: Path
) -> None:
    sink = Collect()
    scenario = OximeterScenario(drop_after=12, split=key != "jumper_jpd500f")
    link = link_for(ble_central, tmp_path)
    async with SimulatedOximeter(
        MODELS[key], link=ble_radio, address=ADDRESS, scenario=scenario
    ) as oximeter:
        first = DRIVERS[key](options(key), sink)
        with pytest.raises(DeviceDisconnected):
            await asyncio.wait_for(first.run_ble(link), 30)
        before = len(sink.readings())
        assert all(r == EXPECTED[key] for r in sink.readings())
        second = DRIVERS[key](options(key), sink)
        async with running(second, link):
            await sink.until(lambda s: len(s.readings()) >= before + 3)
        assert oximeter.connections == 2
    assert set(sink.readings()) == {EXPECTED[key]}


async def test_silence_times_out(
    ble_radio: LocalLink, ble_central: BumbleCentral, tmp_path: Path
) -> None:
    sink = Collect()
    driver = Nonin3230Driver(options("nonin_3230", silence_timeout=0.5), sink)
    slow = OximeterScenario(slow=60.0)  # the first notification never comes in time
    async with SimulatedOximeter(
        MODELS["nonin_3230"], link=ble_radio, address=ADDRESS, scenario=slow
    ):
        with pytest.raises(DeviceTimeout):
            await asyncio.wait_for(driver.run_ble(link_for(ble_central, tmp_path)), 30)
    assert sink.readings() == []


async def test_slow_notifications_still_read(
    ble_radio: LocalLink, ble_central: BumbleCentral, tmp_path: Path
) -> None:
    sink = Collect()
    driver = JumperDriver(options("jumper_jpd500f"), sink)
    slow = OximeterScenario(slow=0.05)
    async with (
        SimulatedOximeter(MODELS["jumper_jpd500f"], link=ble_radio, address=ADDRESS, scenario=slow),
        running(driver, link_for(ble_central, tmp_path)),
    ):
        await sink.until(lambda s: len(s.readings()) >= 2)
    assert set(sink.readings()) == {EXPECTED["jumper_jpd500f"]}
