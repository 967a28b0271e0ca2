"""Error codes of the BLE stack (ATT, SMP, HCI, BlueZ's D-Bus) in words clinic IT can act
on, shared by the bumble and bleak adapters so both say the same thing."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bleak.exc import BleakDBusError


def short_uuid(uuid: str) -> str:
    """``00002a35-…`` → ``2a35`` for messages; others unchanged."""
    if uuid.startswith("0000") and uuid.endswith("-0000-1000-8000-00805f9b34fb"):
        return uuid[4:8]
    return uuid


# ATT error codes whose cure is known: the message says what to do.
ATT_HINTS = {
    0x02: "read not permitted",
    0x03: "write not permitted",
    0x05: "insufficient authentication: the device must be paired first (vitalsd pair)",
    0x06: "request not supported",
    0x08: "insufficient authorization",
    0x0C: "insufficient encryption key size: pair again (vitalsd pair)",
    0x0D: "invalid attribute value length",
    0x0F: "insufficient encryption: the device must be paired first (vitalsd pair)",
    0xFD: "client characteristic configuration descriptor improperly configured",
    0xFE: "procedure already in progress",
    0xFF: "out of range",
}

# SMP pairing failure reasons (Core Vol 3 Part H §3.5.5) in words clinic IT can act on.
SMP_HINTS = {
    0x01: "passkey entry failed",
    0x03: "authentication requirements not met (the device wants a passkey: pair it with "
    "bluetoothctl and an agent)",
    0x04: "confirm value failed (wrong passkey)",
    0x05: "pairing not supported by the device right now: put it in pairing mode",
    0x06: "encryption key size too short",
    0x08: "unspecified reason: put the device in pairing mode and remove its bond on any "
    "phone or other gateway",
    0x09: "repeated attempts: wait a minute before retrying",
    0x0B: "DHKey check failed",
}

_REASONS = {
    0x08: "supervision timeout: the device went out of range or powered off",
    0x13: "the device ended the connection",
    0x16: "ended by this host",
    0x3E: "the connection failed to be established (interference or range)",
}


def disconnect_reason(code: int, name: str = "HCI reason") -> str:
    """An HCI disconnection reason in words, with the spec's name for searching."""
    words = _REASONS.get(code)
    return f"{words} ({name} 0x{code:02X})" if words else f"{name} (0x{code:02X})"


# BlueZ D-Bus errors (§6.3 of the BLE reference note) in words clinic IT can act on.
DBUS_HINTS = {
    "org.bluez.Error.InProgress": (
        "BlueZ says an operation is already in progress on the adapter: another program "
        "(or a stuck earlier connect) is using it; vitalsd must be its only BLE client. "
        "If it persists, re-plug the adapter or restart bluetooth.service"
    ),
    "org.bluez.Error.NotReady": "the adapter is powered off: bluetoothctl power on",
    "org.bluez.Error.NotPermitted": "not permitted: pair the device first (vitalsd pair)",
    "org.bluez.Error.NotAuthorized": "not authorized: pair the device first (vitalsd pair)",
    "org.bluez.Error.AuthenticationFailed": (
        "authentication failed: the device may be bonded to a phone or another gateway; "
        "remove that bond, put the device in pairing mode and run vitalsd pair"
    ),
    "org.bluez.Error.AuthenticationRejected": ("pairing rejected: put the device in pairing mode"),
    "org.bluez.Error.AuthenticationCanceled": (
        "pairing canceled: the device wants a passkey and no BlueZ agent answered; pair it "
        "once with bluetoothctl (agent KeyboardOnly, default-agent, pair <address>)"
    ),
    "org.bluez.Error.ConnectionAttemptFailed": (
        "the device did not answer: out of range, or not in pairing mode"
    ),
    "org.bluez.Error.Failed": "BlueZ reported a failure",
    "org.freedesktop.DBus.Error.AccessDenied": (
        "the vitalsd user may not use BlueZ over D-Bus: install the D-Bus policy from "
        "systemd/ (or add the user to the bluetooth group)"
    ),
    "org.freedesktop.DBus.Error.ServiceUnknown": (
        "BlueZ is not running: systemctl enable --now bluetooth"
    ),
}
ABORT_HINT = (
    "the connection was aborted (le-connection-abort-by-local): radio interference or "
    "range; use a USB adapter rather than a Wi-Fi combo chip and keep it in line of sight"
)


def dbus_message(err: BleakDBusError) -> str:
    """A ``BleakDBusError`` as what to do about it, keeping BlueZ's name for searching."""
    hint = DBUS_HINTS.get(err.dbus_error)
    details = err.dbus_error_details
    if details and "abort-by-local" in details:
        return ABORT_HINT
    text = f"{hint} [{err.dbus_error}]" if hint else str(err)
    return f"{text}: {details}" if hint and details else text
