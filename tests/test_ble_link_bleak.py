"""BleakCentral, the production adapter, with real bleak and bleak-retry-connector on top
of the bumble-backed bleak backend (tests/ble/bleak_backend.py): the same simulated
peripheral and radio as the bumble adapter's tests."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from bleak.backends.scanner import BaseBleakScanner
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDBusError,
)
from bumble.link import LocalLink

from tests.ble.bleak_backend import VirtualAdapter
from tests.ble.peripherals import (
    ADDRESS,
    BOTH,
    COMPANY,
    CONTROL,
    HTS,
    INTERMEDIATE,
    NAME,
    SECRET,
    TEMP_MEASUREMENT,
    TEMP_TYPE,
    thermometer_peripheral,
)
from vitalsd.errors import (
    BleGattError,
    BlePairingError,
    DeviceDisconnected,
    DeviceTimeout,
    DeviceUnavailable,
)
from vitalsd.links.ble_bleak import BleakCentral
from vitalsd.links.ble_hints import dbus_message
from vitalsd.links.gatt import Advertisement, GattCentral, GattConnection


def connected(conn: GattConnection) -> bool:
    return conn.is_connected


async def seen(central: GattCentral, address: str = ADDRESS) -> Advertisement:
    async for adv in central.advertisements():
        if adv.address == address:
            return adv
    raise AssertionError("stream ended")


async def test_scan_fans_out_to_every_subscriber(
    ble_radio: LocalLink, bleak_central: BleakCentral
) -> None:
    async with thermometer_peripheral(ble_radio):
        a, b = await asyncio.gather(seen(bleak_central), seen(bleak_central))
    assert a == b
    assert a.address == ADDRESS
    assert a.name == NAME
    assert a.service_uuids == (HTS,)
    assert a.manufacturer_data == {COMPANY: b"\x08"}
    assert "bleak" in bleak_central.description


async def test_gatt_session(ble_radio: LocalLink, bleak_central: BleakCentral) -> None:
    async with thermometer_peripheral(ble_radio) as thermo:
        await seen(bleak_central)
        conn = await bleak_central.connect(ADDRESS, timeout=10)
        assert conn.is_connected
        hts = next(s for s in await conn.services() if s.uuid == HTS)
        props = {c.uuid: c.properties for c in hts.characteristics}
        assert props[TEMP_MEASUREMENT] == {"indicate"}
        assert props[BOTH] == {"write", "notify", "indicate"}
        assert await conn.read("2a1d") == b"\x02"
        assert await conn.read(TEMP_TYPE) == b"\x02"

        await conn.write(CONTROL, b"\x02\x00\xe1")
        await conn.write(CONTROL, b"\x01", response=False)

        got: list[tuple[str, bytes]] = []
        await conn.subscribe(TEMP_MEASUREMENT, lambda v: got.append(("temp", v)))
        await conn.subscribe(INTERMEDIATE, lambda v: got.append(("inter", v)))
        await conn.subscribe(BOTH, lambda v: got.append(("both", v)))  # bleak: notifications
        await thermo.indicate(b"\x06\x6e\x01\x00\xff")
        await thermo.device.notify_subscribers(thermo.both, b"\x06\x00\x01\x01")
        await thermo.notify(b"\x00\x60\x01\x00\xff")
        await conn.read(TEMP_TYPE)  # a round trip: the notifications sent before it are in
        assert got == [
            ("temp", b"\x06\x6e\x01\x00\xff"),
            ("both", b"\x06\x00\x01\x01"),
            ("inter", b"\x00\x60\x01\x00\xff"),
        ]
        await conn.unsubscribe(BOTH)
        await thermo.device.notify_subscribers(thermo.both, b"\xff")
        await conn.read(TEMP_TYPE)
        assert ("both", b"\xff") not in got

        await conn.disconnect()
        await conn.disconnect()  # twice is fine
        assert await conn.wait_disconnected() == "disconnected by vitalsd"
        assert not connected(conn)
    assert thermo.writes == [("control", b"\x02\x00\xe1"), ("control", b"\x01")]
    with pytest.raises(DeviceDisconnected):
        await conn.read(TEMP_TYPE)


async def test_device_hangs_up(ble_radio: LocalLink, bleak_central: BleakCentral) -> None:
    async with thermometer_peripheral(ble_radio) as thermo:
        await seen(bleak_central)
        conn = await bleak_central.connect(ADDRESS)
        await thermo.hang_up()
        assert "ended the connection" in await conn.wait_disconnected()
        assert not connected(conn)
        with pytest.raises(DeviceDisconnected, match="disconnected"):
            await conn.read(TEMP_TYPE)
        await conn.disconnect()
        # The slot came back: the next connect needs none to be freed by hand.
        await thermo.device.start_advertising()
        again = await bleak_central.connect(ADDRESS)
        await again.disconnect()


async def test_gatt_errors_are_clear(ble_radio: LocalLink, bleak_central: BleakCentral) -> None:
    async with thermometer_peripheral(ble_radio):
        await seen(bleak_central)
        conn = await bleak_central.connect(ADDRESS)
        with pytest.raises(BleGattError, match="no characteristic 2a35"):
            await conn.read("2a35")
        with pytest.raises(BleGattError, match="does not offer indications"):
            await conn.subscribe(INTERMEDIATE, lambda v: None, indicate=True)
        with pytest.raises(BleGattError, match="paired first") as err:
            await conn.read(SECRET)
        assert err.value.code in (0x05, 0x0F)
        await conn.disconnect()


async def test_pair_then_encrypted_read(ble_radio: LocalLink, bleak_central: BleakCentral) -> None:
    async with thermometer_peripheral(ble_radio):
        await seen(bleak_central)
        conn = await bleak_central.connect(ADDRESS)
        await conn.pair()
        assert await conn.read(SECRET) == b"\x21\x00"
        await conn.disconnect()


async def test_pairing_refused(ble_radio: LocalLink, bleak_central: BleakCentral) -> None:
    async with thermometer_peripheral(ble_radio, pairable=False):
        await seen(bleak_central)
        conn = await bleak_central.connect(ADDRESS)
        with pytest.raises(BlePairingError, match="bonded to a phone or another gateway"):
            await conn.pair()
        await conn.disconnect()


async def test_unseen_device_is_not_connected_blindly(bleak_central: BleakCentral) -> None:
    with pytest.raises(DeviceUnavailable, match="has not advertised on hci0 yet"):
        await bleak_central.connect("C0:99:99:99:99:99")


async def test_device_gone_after_advertising_times_out(
    ble_radio: LocalLink, bleak_central: BleakCentral
) -> None:
    async with thermometer_peripheral(ble_radio):
        await seen(bleak_central)
    # Out of range now: bleak-retry-connector retries until our deadline.
    with pytest.raises(DeviceTimeout, match="did not accept a connection"):
        await bleak_central.connect(ADDRESS, timeout=1)


async def test_connection_slots_are_capped(ble_radio: LocalLink) -> None:
    adapter = VirtualAdapter(ble_radio)
    scanner, client = adapter.backends()
    central = BleakCentral(max_connections=1, scanner_backend=scanner, client_backend=client)
    await central.start()
    try:
        async with (
            thermometer_peripheral(ble_radio),
            thermometer_peripheral(ble_radio, address="C0:00:00:00:00:02"),
        ):
            await seen(central)
            await seen(central, "C0:00:00:00:00:02")
            conn = await central.connect(ADDRESS)
            with pytest.raises(DeviceUnavailable, match="connection slots busy"):
                await central.connect("C0:00:00:00:00:02", timeout=0.2)
            await conn.disconnect()
            second = await central.connect("C0:00:00:00:00:02")
            assert second.is_connected
            await second.disconnect()
    finally:
        await central.close()
        await adapter.close()


async def test_close_ends_every_stream(ble_radio: LocalLink) -> None:
    adapter = VirtualAdapter(ble_radio)
    scanner, client = adapter.backends()
    central = BleakCentral(scanner_backend=scanner, client_backend=client)
    await central.start()
    stream = central.advertisements()
    async with thermometer_peripheral(ble_radio):
        await seen(central)
        conn = await central.connect(ADDRESS)
        await central.close()
        assert not conn.is_connected
    await adapter.close()
    with pytest.raises(DeviceUnavailable, match="closed"):
        async for _ in stream:
            pass
    with pytest.raises(DeviceUnavailable, match="not running"):
        await central.connect(ADDRESS)


class _NoAdapterScanner(BaseBleakScanner):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(None, None)

    async def start(self) -> None:
        raise BleakBluetoothNotAvailableError(
            "no adapter", BleakBluetoothNotAvailableReason.NO_BLUETOOTH
        )

    async def stop(self) -> None:
        pass


async def test_absent_adapter_is_a_clear_error() -> None:
    central = BleakCentral(adapter="hci3", scanner_backend=_NoAdapterScanner)
    with pytest.raises(DeviceUnavailable, match="adapter hci3 is not available"):
        await central.start()
    await central.close()


async def test_no_bluez_here_is_a_clear_error() -> None:
    """bleak's own BlueZ backend, on a machine without a system D-Bus (this one)."""
    central = BleakCentral(adapter="hci0")
    with pytest.raises(DeviceUnavailable, match="hci0"):
        await central.start()
    await central.close()


def test_bluez_errors_say_what_to_do() -> None:
    busy = BleakDBusError("org.bluez.Error.InProgress", ["Operation already in progress"])
    assert "only BLE client" in dbus_message(busy)
    abort = BleakDBusError("org.bluez.Error.Failed", ["le-connection-abort-by-local"])
    assert "Wi-Fi combo chip" in dbus_message(abort)
    passkey = BleakDBusError("org.bluez.Error.AuthenticationCanceled", [])
    assert "bluetoothctl" in dbus_message(passkey)
    other = BleakDBusError("org.bluez.Error.Whatever", ["details"])
    assert "org.bluez.Error.Whatever" in dbus_message(other)
