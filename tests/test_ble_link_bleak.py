"""BleakCentral's own ways, with real bleak and bleak-retry-connector on top of the
bumble-backed bleak backend (tests/ble/bleak_backend.py). What it shares with the bumble
adapter is in test_ble_link_adapters; BlueZ's failure modes in test_ble_bleak_errors."""

from __future__ import annotations

import pytest
from bleak.exc import BleakDBusError
from bumble.link import LocalLink

from tests.ble.centrals import seen
from tests.ble.peripherals import ADDRESS, thermometer_peripheral
from vitalsd.errors import DeviceTimeout, DeviceUnavailable
from vitalsd.links.ble_bleak import BleakCentral
from vitalsd.links.ble_hints import dbus_message


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
