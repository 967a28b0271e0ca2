"""``vitalsd-sim ble-oximeter`` and ``vitalsd-sim ble-mi-scale`` (and the ``ble-health``
knobs for real-device advertising and split records): each command serves the real
driver. The transport is replaced by bumble's virtual radio; everything else is what the
command runs on a dongle."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Coroutine
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from bumble.link import LocalLink

from drivers.ble.nonin3230 import Nonin3230Driver
from drivers.ble.profiles import BleWeightScaleDriver
from drivers.ble.xiaomi import XiaomiScaleDriver
from simulators.ble.health_cli import serve as serve_health
from simulators.ble.stream_cli import serve_mi_scale, serve_oximeter
from simulators.cli import build_parser
from tests.ble_session_harness import Collector, session
from vitalsd.driver import Driver
from vitalsd.links.ble_bumble import BumbleCentral
from vitalsd.links.gatt import BleLink, BleTarget, JsonCursorStore
from vitalsd.model import Metric


@contextlib.asynccontextmanager
async def background(name: str, coro: Coroutine[Any, Any, Any]) -> AsyncIterator[None]:
    task = asyncio.get_running_loop().create_task(coro, name=name)
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def until(predicate: Callable[[], bool]) -> None:
    async with asyncio.timeout(30):
        while not predicate():
            await asyncio.sleep(0.02)


def values(sink: Collector, metric: Metric) -> set[Decimal]:
    return {m.value for m in sink.measurements if m.metric is metric}


async def read_with(
    driver: Driver, central: BumbleCentral, address: str, tmp_path: Path, done: Callable[[], bool]
) -> None:
    link = BleLink(central, BleTarget(address=address), JsonCursorStore(tmp_path / "c.json"))
    async with background("test.driver", driver.run_ble(link)):
        await until(done)


async def test_ble_oximeter_command_streams_to_the_driver(
    ble_radio: LocalLink,
    ble_central: BumbleCentral,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = build_parser().parse_args(
        ["ble-oximeter", "nonin_3230", "--transport", "usb:0", "--spo2", "94", "--pulse", "88"]
    )
    sink = Collector()
    driver = Nonin3230Driver(Nonin3230Driver.options_model(), sink)
    async with background("sim", serve_oximeter(args, ble_radio)):
        await read_with(
            driver, ble_central, args.address, tmp_path, lambda: bool(values(sink, Metric.SPO2))
        )
    ready = json.loads(capsys.readouterr().out.splitlines()[0])
    assert ready == {"ready": True, "model": "nonin_3230", "address": "C0:0B:1E:00:00:01"}
    assert values(sink, Metric.SPO2) == {94}
    assert values(sink, Metric.PULSE_RATE_OXIMETER) == {88}


async def test_ble_mi_scale_command_broadcasts_weighings(
    ble_radio: LocalLink,
    ble_central: BumbleCentral,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = build_parser().parse_args(
        ["ble-mi-scale", "--transport", "usb:0", "--kg", "80.5", "--every", "0.05"]
    )
    sink = Collector()
    driver = XiaomiScaleDriver(XiaomiScaleDriver.options_model(), sink)
    async with background("sim", serve_mi_scale(args, ble_radio)):
        await read_with(
            driver,
            ble_central,
            args.address,
            tmp_path,
            lambda: bool(values(sink, Metric.BODY_WEIGHT)),
        )
    ready = json.loads(capsys.readouterr().out.splitlines()[0])
    assert ready == {"ready": True, "model": "v2", "address": "C0:0B:1E:00:00:02"}
    assert values(sink, Metric.BODY_WEIGHT) == {Decimal("80.5")}


async def test_ble_health_splits_body_composition_records(
    ble_radio: LocalLink, ble_central: BumbleCentral, tmp_path: Path
) -> None:
    args = build_parser().parse_args(
        ["ble-health", "body_composition_scale", "--transport", "usb:0", "--split"]
    )
    async with background("sim", serve_health(args, link=ble_radio)):
        got = await session(BleWeightScaleDriver, ble_central, tmp_path / "c.json")
    weights = [str(m.value) for m in got.measurements if m.metric is Metric.BODY_WEIGHT]
    assert weights == ["81.250", "81.400", "80.950"]


def test_stream_command_arguments() -> None:
    parser = build_parser()
    ox = parser.parse_args(
        ["ble-oximeter", "berrymed_bm1000", "--transport", "usb:0", "--split", "--drop-after", "9"]
    )
    assert (ox.model, ox.split, ox.drop_after, ox.spo2) == ("berrymed_bm1000", True, 9, 97)
    mi = parser.parse_args(["ble-mi-scale", "--transport", "usb:0", "--model", "v1"])
    assert (mi.model, mi.kg, mi.every) == ("v1", 72.4, 60.0)
    health = parser.parse_args(
        ["ble-health", "thermometer", "--transport", "usb:0", "--advertise-window", "30"]
    )
    assert (health.advertise_window, health.split) == (30.0, False)
    with pytest.raises(SystemExit):
        parser.parse_args(["ble-oximeter", "no_such_model", "--transport", "usb:0"])
