"""Xiaomi Mi scales end to end over bumble's virtual radio: the simulated scale broadcasts
weighings as advertisement service data (simulators/ble/xiaomi_scale.py); the driver
listens through the bumble central, never connects, and charts each weighing once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from bumble.link import LocalLink

from drivers.ble.xiaomi import XiaomiScaleDriver
from simulators.ble.xiaomi_scale import SimulatedMiScale, Weighing
from vitalsd.driver import DriverOptions
from vitalsd.links.ble_bumble import BumbleCentral
from vitalsd.links.gatt import BleLink, BleTarget, JsonCursorStore
from vitalsd.model import DeviceIdentity, DriverReport, Measurement, Metric, Unit

ADDRESS = "C0:11:22:33:44:88"


class Collect:
    def __init__(self) -> None:
        self.reports: list[DriverReport] = []
        self._changed = asyncio.Event()

    def put(self, report: DriverReport) -> None:
        self.reports.append(report)
        self._changed.set()

    def weights(self) -> list[tuple[Decimal, Unit, datetime | None]]:
        return [
            (r.value, r.unit, r.device_time)
            for r in self.reports
            if isinstance(r, Measurement) and r.metric is Metric.BODY_WEIGHT
        ]

    async def until_weights(self, n: int) -> None:
        async with asyncio.timeout(30):
            while len(self.weights()) < n:
                self._changed.clear()
                await self._changed.wait()


@contextlib.asynccontextmanager
async def listening(driver: XiaomiScaleDriver, link: BleLink) -> AsyncIterator[None]:
    task = asyncio.create_task(driver.run_ble(link), name="test-xiaomi-scale")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert task.cancelled()  # a continuous stream: run_ble never returned by itself


async def repeat_until_heard(
    scale: SimulatedMiScale, weighing: Weighing, sink: Collect, weights: int = 1
) -> None:
    """The scale repeats a weighing until someone listens (the driver's scan subscription
    starts with its task); every repeat after the first is the same weighing."""
    async with asyncio.timeout(30):
        while len(sink.weights()) < weights:
            await scale.weigh(weighing)


def link_for(central: BumbleCentral, path: Path) -> BleLink:
    return BleLink(central, BleTarget(address=ADDRESS), JsonCursorStore(path))


@pytest.mark.parametrize("model", ["v1", "v2"])
async def test_one_weight_per_weighing(
    model: str, ble_radio: LocalLink, ble_central: BumbleCentral, tmp_path: Path
) -> None:
    sink = Collect()
    driver = XiaomiScaleDriver(DriverOptions(), sink)
    first = Weighing(72.4, datetime(2024, 3, 15, 8, 30, 0), impedance=455)
    second = Weighing(81.05, datetime(2024, 3, 15, 8, 41, 7))
    async with (
        SimulatedMiScale(link=ble_radio, address=ADDRESS, model=model) as scale,
        listening(driver, link_for(ble_central, tmp_path / "c.json")),
    ):
        await repeat_until_heard(scale, first, sink)
        await scale.weigh(second)
        await sink.until_weights(2)
        await scale.weigh(second)  # the same weighing broadcast again later: not charted
        await scale.weigh(Weighing(60.0, datetime(2024, 3, 15, 9, 0, 0)))
        await sink.until_weights(3)
    assert sink.weights() == [
        (Decimal("72.400"), Unit.KG, datetime(2024, 3, 15, 8, 30, 0)),
        (Decimal("81.050"), Unit.KG, datetime(2024, 3, 15, 8, 41, 7)),
        (Decimal("60.000"), Unit.KG, datetime(2024, 3, 15, 9, 0, 0)),
    ]
    identity = next(r for r in sink.reports if isinstance(r, DeviceIdentity))
    assert (identity.make, identity.address) == ("Xiaomi", ADDRESS)


async def test_restart_does_not_chart_the_repeated_weighing_again(
    ble_radio: LocalLink, ble_central: BumbleCentral, tmp_path: Path
) -> None:
    cursor = tmp_path / "scale.json"
    weighing = Weighing(90.2, datetime(2024, 3, 15, 10, 0, 0), unit="lb")
    sink = Collect()
    async with SimulatedMiScale(link=ble_radio, address=ADDRESS) as scale:
        async with listening(
            XiaomiScaleDriver(DriverOptions(), sink), link_for(ble_central, cursor)
        ):
            await repeat_until_heard(scale, weighing, sink)
        # The daemon restarts while the scale still repeats the same weighing.
        async with listening(
            XiaomiScaleDriver(DriverOptions(), sink), link_for(ble_central, cursor)
        ):
            await scale.weigh(weighing)
            await scale.weigh(weighing)
            later = Weighing(91.0, datetime(2024, 3, 15, 10, 5, 0), unit="lb")
            await repeat_until_heard(scale, later, sink, weights=2)
    assert [w[:2] for w in sink.weights()] == [
        (Decimal("90.2"), Unit.LB),
        (Decimal("91.0"), Unit.LB),
    ]
