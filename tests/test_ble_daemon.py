"""The daemon with a BLE device on the virtual radio: config → supervisor → BleLink →
driver → normalize → JSON-lines output, for two sessions the device ends itself."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import ClassVar

import pytest
from bumble.link import LocalLink

from tests.ble.bleak_backend import VirtualAdapter
from tests.ble.peripherals import (
    ADDRESS,
    TEMP_MEASUREMENT,
    ThermometerPeripheral,
    thermometer_peripheral,
)
from tests.ble_daemon_harness import ble_daemon, observations, running, wait_until
from vitalsd.app import Daemon
from vitalsd.driver import Decoder, Driver, DriverOptions
from vitalsd.errors import BleGattError, DeviceUnavailable
from vitalsd.links.ble_bleak import BleakCentral
from vitalsd.links.ble_bumble import BumbleCentral
from vitalsd.links.gatt import BleLink, BleTarget, GattCentral, uuid16
from vitalsd.model import (
    DeviceKind,
    DeviceState,
    DriverReport,
    Measurement,
    Metric,
    Transport,
    Unit,
)
from vitalsd.supervisor import WAITING_FOR_ADVERTISEMENT


class _NoDecoder(Decoder):
    def feed(self, data: bytes) -> list[DriverReport]:
        return []


class BleThermoDriver(Driver):
    """A test protocol: each indication of 2A1C is a temperature in ASCII ("36.6")."""

    name: ClassVar[str] = "test_ble_thermo"
    summary: ClassVar[str] = "test BLE thermometer"
    kinds: ClassVar[frozenset[DeviceKind]] = frozenset({DeviceKind.THERMOMETER})
    transports: ClassVar[frozenset[Transport]] = frozenset({Transport.BLE})
    ble_advertised: ClassVar[tuple[BleTarget, ...]] = (BleTarget(service=uuid16(0x1809)),)

    @classmethod
    def new_decoder(cls, options: DriverOptions | None = None) -> Decoder:
        return _NoDecoder()

    async def run_ble(self, link: BleLink) -> None:
        adv = await link.next_advertisement()
        conn = await link.connect(adv)
        try:
            await conn.subscribe(TEMP_MEASUREMENT, self._on_value)
            sessions = link.cursor.load().get("sessions", 0)
            assert isinstance(sessions, int)
            link.cursor.save({"sessions": sessions + 1})
            await conn.wait_disconnected()
        finally:
            await conn.disconnect()

    def _on_value(self, value: bytes) -> None:
        self.sink.put(Measurement(Metric.TEMP_BODY, Decimal(value.decode()), Unit.CEL))


class BrokenBleDriver(BleThermoDriver):
    name: ClassVar[str] = "test_ble_broken"

    async def run_ble(self, link: BleLink) -> None:
        adv = await link.next_advertisement()
        conn = await link.connect(adv)
        try:
            await conn.read("2a35")  # not there: a BleGattError
        finally:
            await conn.disconnect()


async def serve_one(thermo: ThermometerPeripheral, value: str, *, again: bool = True) -> None:
    """Wait for the central to subscribe, indicate one reading, hang up, advertise again."""
    subscribed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_subscription(_bearer: object, _notify: bool, indicate: bool) -> None:
        if indicate and not subscribed.done():
            subscribed.set_result(None)

    thermo.temp.on("subscription", on_subscription)
    try:
        await subscribed
    finally:
        thermo.temp.remove_listener("subscription", on_subscription)
    await thermo.indicate(value.encode())
    await thermo.hang_up()
    if again:
        await thermo.device.start_advertising()


def daemon_for(
    tmp_path: Path, radio: LocalLink, driver: type[Driver], stack: str = "bumble"
) -> tuple[Daemon, list[GattCentral]]:
    centrals: list[GattCentral] = []

    def factory(adapter: str) -> GattCentral:
        assert adapter == "hci0"
        if stack == "bumble":
            centrals.append(BumbleCentral(link=radio))
        else:
            scanner, client = VirtualAdapter(radio).backends()
            centrals.append(
                BleakCentral(adapter=adapter, scanner_backend=scanner, client_backend=client)
            )
        return centrals[-1]

    daemon = ble_daemon(
        tmp_path,
        {driver.name: driver},
        driver.name,
        factory,
        address=ADDRESS.lower(),
        device_id="exam1-thermo",
    )
    return daemon, centrals


@pytest.mark.parametrize("stack", ["bumble", "bleak"])
async def test_two_sessions_reach_the_output(
    tmp_path: Path, ble_radio: LocalLink, stack: str
) -> None:
    daemon, centrals = daemon_for(tmp_path, ble_radio, BleThermoDriver, stack)
    async with running(daemon):
        session = daemon.sessions[0]
        await wait_until(lambda: session.status.reason == WAITING_FOR_ADVERTISEMENT)
        assert session.status.state == DeviceState.OFFLINE
        async with thermometer_peripheral(ble_radio) as thermo:
            await serve_one(thermo, "36.6")
            await serve_one(thermo, "37.2", again=False)
            await wait_until(lambda: len(observations(tmp_path / "out.jsonl")) == 2)
        # A session the device ended is no failure: no reconnect counted, no backoff,
        # straight back to waiting for the next advertisement.
        await wait_until(lambda: session.status.reason == WAITING_FOR_ADVERTISEMENT)
        assert session.reconnects == 0
        cursor = json.loads((tmp_path / "state" / "ble" / "exam1-thermo.json").read_text())
        assert cursor == {"sessions": 2}
    values = [
        (o["metric"], o["value"], o["device_id"]) for o in observations(tmp_path / "out.jsonl")
    ]
    assert values == [("temp_body", 36.6, "exam1-thermo"), ("temp_body", 37.2, "exam1-thermo")]
    assert len(centrals) == 1  # one central per adapter, shared
    with pytest.raises(DeviceUnavailable, match="closed"):  # closed at shutdown
        await anext(aiter(centrals[0].advertisements()))


async def test_driver_failure_backs_off_with_the_reason(
    tmp_path: Path, ble_radio: LocalLink
) -> None:
    daemon, _ = daemon_for(tmp_path, ble_radio, BrokenBleDriver)
    async with running(daemon):
        session = daemon.sessions[0]
        async with thermometer_peripheral(ble_radio):
            await wait_until(lambda: session.reconnects >= 1)
        assert session.status.state == DeviceState.OFFLINE
        assert "no characteristic 2a35" in (session.status.reason or "")


async def test_no_adapter_is_a_reason_not_a_crash(tmp_path: Path, ble_radio: LocalLink) -> None:
    daemon = ble_daemon(
        tmp_path,
        {BleThermoDriver.name: BleThermoDriver},
        BleThermoDriver.name,
        lambda _adapter: BumbleCentral(transport="usb:9"),
        address=ADDRESS,
        device_id="exam1-thermo",
    )
    async with running(daemon):
        session = daemon.sessions[0]
        await wait_until(lambda: session.reconnects >= 1)
        assert "cannot open the Bluetooth adapter 'usb:9'" in (session.status.reason or "")


_ = BleGattError  # the failure above is one of these, raised by the link layer


class InstantDriver(BleThermoDriver):
    """Returns at once, as if every session were complete: a bug that must not spin."""

    name: ClassVar[str] = "test_ble_instant"

    async def run_ble(self, link: BleLink) -> None:
        return None


class BuggyDriver(BleThermoDriver):
    name: ClassVar[str] = "test_ble_buggy"

    async def run_ble(self, link: BleLink) -> None:
        raise KeyError("oops")


async def test_sessions_ending_at_once_back_off(tmp_path: Path, ble_radio: LocalLink) -> None:
    daemon, _ = daemon_for(tmp_path, ble_radio, InstantDriver)
    async with running(daemon):
        session = daemon.sessions[0]
        await wait_until(lambda: session.reconnects >= 1)
        assert "sessions in a row ended within" in (session.status.reason or "")


async def test_driver_bug_is_a_reason_not_a_crash(tmp_path: Path, ble_radio: LocalLink) -> None:
    daemon, _ = daemon_for(tmp_path, ble_radio, BuggyDriver)
    async with running(daemon):
        session = daemon.sessions[0]
        await wait_until(lambda: session.reconnects >= 1)
        assert session.status.reason == "driver error: KeyError: 'oops'"
