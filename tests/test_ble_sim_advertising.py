"""When the simulated health devices advertise (ble-health.md §4.2 #1): in window mode
only for a while after a new measurement or a button press, never again right after a
session; in always mode (the bench default) again after every session."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from bumble.link import LocalLink

from drivers.ble.profiles import BleThermometerDriver, BleWeightScaleDriver
from simulators.ble import health_records as rec
from simulators.ble.health_devices import running
from simulators.ble.health_peripheral import HealthPeripheral, Knobs
from tests.ble_session_harness import NOW, session
from vitalsd.errors import DeviceDisconnected
from vitalsd.links.ble_bumble import BumbleCentral


async def until(predicate: Callable[[], bool]) -> None:
    async with asyncio.timeout(30):
        while not predicate():
            await asyncio.sleep(0.01)


def idle(device: HealthPeripheral) -> bool:
    return not device.device.connections


async def test_window_mode_advertises_after_a_measurement_only(
    ble_radio: LocalLink, ble_central: BumbleCentral, tmp_path: Path
) -> None:
    async with running(ble_radio, "thermometer", knobs=Knobs(advertise_window=30.0)) as thermo:
        assert not thermo.device.is_advertising  # nothing measured: radio quiet
        await thermo.measure(rec.temperature("36.9", time=NOW - timedelta(seconds=20)))
        assert thermo.device.is_advertising
        got = await session(BleThermometerDriver, ble_central, tmp_path / "c.json")
        assert [(str(m.value), m.stored) for m in got.measurements] == [("36.9", False)]
        await until(lambda: idle(thermo))
        assert not thermo.device.is_advertising  # delivered: no reconnect loop
        await thermo.press_button()  # the user asks it to send again
        assert thermo.device.is_advertising
        assert thermo.advertiser is not None and thermo.advertiser.windows_opened == 2


async def test_the_window_closes_by_itself(ble_radio: LocalLink) -> None:
    async with running(ble_radio, "weight_scale", knobs=Knobs(advertise_window=0.05)) as scale:
        await scale.measure(rec.weight("80.5", time=NOW))
        assert scale.device.is_advertising
        await until(lambda: not scale.device.is_advertising)


async def test_a_drop_mid_transfer_opens_a_new_window(
    ble_radio: LocalLink, ble_central: BumbleCentral, tmp_path: Path
) -> None:
    knobs = Knobs(advertise_window=30.0, drop_after=1)
    async with running(ble_radio, "weight_scale", knobs=knobs) as scale:
        for kg in ("80.5", "80.0"):
            await scale.measure(rec.weight(kg, time=NOW))
        with pytest.raises(DeviceDisconnected, match="link lost"):
            await session(BleWeightScaleDriver, ble_central, tmp_path / "c.json")
        await until(lambda: scale.device.is_advertising)  # it tries again with the rest
        got = await session(BleWeightScaleDriver, ble_central, tmp_path / "c.json")
        assert [str(m.value) for m in got.measurements] == ["80.000"]


async def test_always_mode_advertises_after_every_session(
    ble_radio: LocalLink, ble_central: BumbleCentral, tmp_path: Path
) -> None:
    async with running(ble_radio, "thermometer") as thermo:
        assert thermo.device.is_advertising
        await session(BleThermometerDriver, ble_central, tmp_path / "c.json")
        await until(lambda: idle(thermo) and thermo.device.is_advertising)
