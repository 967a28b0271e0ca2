"""BlueZ's failure modes (ble-health.md §6.3) reaching BleakCentral: the bumble-backed
bleak backend, made to fail the way BlueZ does, drives the real bleak and
bleak-retry-connector code paths; each ends in a DeviceError that says what to do."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDBusError,
    BleakDeviceNotFoundError,
    BleakError,
)
from bumble.link import LocalLink

from tests.ble.bleak_backend import VirtualAdapter
from tests.ble.centrals import open_bleak, seen
from tests.ble.peripherals import ADDRESS, TEMP_TYPE, thermometer_peripheral
from vitalsd.errors import (
    BleGattError,
    BlePairingError,
    DeviceDisconnected,
    DeviceError,
    DeviceTimeout,
    DeviceUnavailable,
)
from vitalsd.links.ble_bleak import BleakCentral


@contextlib.asynccontextmanager
async def central_with(
    radio: LocalLink, client: type[BaseBleakClient] | None = None, **kwargs: Any
) -> AsyncIterator[BleakCentral]:
    """A started ``BleakCentral`` (on ``client`` if given) that has seen the thermometer."""
    if client is not None:
        kwargs["client_backend"] = client
    async with open_bleak(radio, **kwargs) as central, thermometer_peripheral(radio):
        await seen(central)
        yield central


def failing_connect(radio: LocalLink, error: BaseException) -> type[BaseBleakClient]:
    _, client = VirtualAdapter(radio).backends()

    class Failing(client):  # type: ignore[valid-type,misc]
        async def connect(self, pair: bool, **kwargs: Any) -> None:
            raise error

    return Failing


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (
            BleakDBusError("org.bluez.Error.InProgress", ["Operation already in progress"]),
            "vitalsd must be its only BLE client",
        ),
        (
            BleakDBusError("org.bluez.Error.Failed", ["le-connection-abort-by-local"]),
            "Wi-Fi combo chip",
        ),
        (BleakError("No backend with an available connection slot"), "out of connection slots"),
        (BleakDeviceNotFoundError(ADDRESS, "Device not found"), "not found by BlueZ"),
        (
            BleakDBusError("org.freedesktop.DBus.Error.AccessDenied", ["Rejected send message"]),
            "may not use BlueZ over D-Bus",
        ),
        (BleakError("something new"), "failed: "),
    ],
)
async def test_connect_failures_say_what_to_do(
    ble_radio: LocalLink, error: BaseException, says: str
) -> None:
    client = failing_connect(ble_radio, error)
    async with central_with(ble_radio, client, max_attempts=1) as central:
        with pytest.raises(DeviceUnavailable, match=says):
            # bleak-retry-connector retries some of these for half a minute: at our
            # deadline the last attempt's error is the message.
            await central.connect(ADDRESS, timeout=2)
        # The slot was given back: a failed connect does not leak one.
        assert central._slots._value == central.max_connections


def quirky(radio: LocalLink, method: str, error: BaseException) -> type[BaseBleakClient]:
    """A client whose ``method`` fails with ``error`` while the link stays up."""
    _, client = VirtualAdapter(radio).backends()

    async def fail(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise error

    return type("Quirky", (client,), {method: fail})


@pytest.mark.parametrize(
    ("error", "expected", "says"),
    [
        (
            BleakDBusError("org.bluez.Error.NotPermitted", ["Read not permitted"]),
            BleGattError,
            "pair the device first",
        ),
        (TimeoutError(), DeviceTimeout, "no answer from the device"),
        (BleakError("odd"), BleGattError, "failed: odd"),
        (EOFError(), BleGattError, "read 2a1d"),
    ],
)
async def test_gatt_failures_say_what_to_do(
    ble_radio: LocalLink, error: BaseException, expected: type[DeviceError], says: str
) -> None:
    client = quirky(ble_radio, "read_gatt_char", error)
    async with central_with(ble_radio, client) as central:
        conn = await central.connect(ADDRESS)
        with pytest.raises(expected, match=says):
            await conn.read(TEMP_TYPE)
        await conn.disconnect()


async def test_already_bonded_is_success(ble_radio: LocalLink) -> None:
    client = quirky(ble_radio, "pair", BleakDBusError("org.bluez.Error.AlreadyExists", []))
    async with central_with(ble_radio, client) as central:
        conn = await central.connect(ADDRESS)
        await conn.pair()
        await conn.disconnect()
        with pytest.raises(DeviceDisconnected):
            await conn.pair()


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (BleakDBusError("org.bluez.Error.AuthenticationCanceled", []), "agent KeyboardOnly"),
        (TimeoutError(), "pairing with C0:11:22:33:44:55 failed: TimeoutError"),
    ],
)
async def test_pairing_failures_say_what_to_do(
    ble_radio: LocalLink, error: BaseException, says: str
) -> None:
    client = quirky(ble_radio, "pair", error)
    async with central_with(ble_radio, client) as central:
        conn = await central.connect(ADDRESS)
        with pytest.raises(BlePairingError, match=says):
            await conn.pair()
        await conn.disconnect()


async def test_close_survives_a_scanner_that_fails_to_stop(ble_radio: LocalLink) -> None:
    adapter = VirtualAdapter(ble_radio)
    scanner, client = adapter.backends()

    class Stuck(scanner):  # type: ignore[valid-type,misc]
        async def stop(self) -> None:
            raise RuntimeError("controller gone")

    central = BleakCentral(scanner_backend=Stuck, client_backend=client)
    await central.start()
    await central.close()
    await central.close()  # twice is fine
    await adapter.close()


def dropping(radio: LocalLink, method: str, error: BaseException) -> type[BaseBleakClient]:
    """A client whose ``method`` loses the link (the device hangs up) and then fails."""
    _, client = VirtualAdapter(radio).backends()

    async def drop(self: Any, *args: Any, **kwargs: Any) -> Any:
        connection = self._connection
        assert connection is not None
        await connection.disconnect()  # not via disconnect(): bleak reports it as unsolicited
        raise error

    return type("Dropping", (client,), {method: drop})


@pytest.mark.parametrize(
    "error",
    [
        BleakDBusError("org.bluez.Error.Failed", ["Not connected"]),
        TimeoutError(),
        BleakError("Not connected"),
    ],
)
async def test_link_lost_mid_operation_is_a_disconnect(
    ble_radio: LocalLink, error: BaseException
) -> None:
    async with central_with(ble_radio, dropping(ble_radio, "read_gatt_char", error)) as central:
        conn = await central.connect(ADDRESS)
        with pytest.raises(DeviceDisconnected, match="disconnected"):
            await conn.read(TEMP_TYPE)
        await conn.disconnect()


async def test_link_lost_while_pairing(ble_radio: LocalLink) -> None:
    client = dropping(ble_radio, "pair", BleakError("Not connected"))
    async with central_with(ble_radio, client) as central:
        conn = await central.connect(ADDRESS)
        with pytest.raises(BlePairingError, match="disconnected during pairing"):
            await conn.pair()
        await conn.disconnect()


class _FailingScanner(BaseBleakScanner):
    error: BaseException

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(None, None)

    async def start(self) -> None:
        raise self.error

    async def stop(self) -> None:
        pass


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (
            BleakBluetoothNotAvailableError(
                "no adapter", BleakBluetoothNotAvailableReason.NO_BLUETOOTH
            ),
            "adapter hci1 is not available",
        ),
        (BleakDBusError("org.bluez.Error.NotReady", ["Resource Not Ready"]), "power on"),
        (BleakError("No Bluetooth adapters found."), "No Bluetooth adapters found"),
        (PermissionError(13, "Permission denied"), "access to the D-Bus system bus"),
    ],
)
async def test_scan_start_failures_say_what_to_do(error: BaseException, says: str) -> None:
    scanner = type("Failing", (_FailingScanner,), {"error": error})
    central = BleakCentral(adapter="hci1", scanner_backend=scanner)
    with pytest.raises(DeviceUnavailable, match=says):
        await central.start()
    await central.close()
