"""Device Information Service (0x180A) → ``DeviceIdentity``.

Characteristics (Bluetooth SIG DIS 1.1, strings are UTF-8): manufacturer name 0x2A29,
model number 0x2A24, serial number 0x2A25, firmware revision 0x2A26, and System ID
0x2A23: a 40-bit manufacturer-defined identifier then a 24-bit OUI, both little-endian,
so the EUI-64 reads as the 8 bytes reversed (``C3 B2 A1 FE FF 1F 09 00`` →
``00091FFFFEA1B2C3``).
"""

from __future__ import annotations

import logging

from vitalsd.errors import BleGattError
from vitalsd.links.gatt import GattConnection, GattService, uuid16
from vitalsd.model import DeviceIdentity

_LOGGER = logging.getLogger(__name__)

DEVICE_INFORMATION = uuid16(0x180A)
MANUFACTURER, MODEL, SERIAL, FIRMWARE, SYSTEM_ID = (
    uuid16(u) for u in (0x2A29, 0x2A24, 0x2A25, 0x2A26, 0x2A23)
)


def eui64_from_system_id(data: bytes) -> str | None:
    """The EUI-64 a System ID value names; None for a value of the wrong size or all zero."""
    if len(data) != 8 or not any(data):
        return None
    return data[::-1].hex().upper()


def _text(data: bytes) -> str | None:
    text = data.decode("utf-8", errors="replace").strip("\x00 \t\r\n")
    return text or None


async def read_identity(
    connection: GattConnection, services: tuple[GattService, ...]
) -> DeviceIdentity:
    """Whatever the device's DIS says; unreadable fields stay unknown."""
    found: dict[str, bytes] = {}
    for service in services:
        if service.uuid != DEVICE_INFORMATION:
            continue
        for characteristic in service.characteristics:
            if "read" not in characteristic.properties:
                continue
            try:
                found[characteristic.uuid] = await connection.read(characteristic.uuid)
            except BleGattError as err:
                _LOGGER.debug("DIS %s unreadable: %s", characteristic.uuid[4:8], err)
    return DeviceIdentity(
        make=_text(found.get(MANUFACTURER, b"")),
        model=_text(found.get(MODEL, b"")),
        serial=_text(found.get(SERIAL, b"")),
        firmware=_text(found.get(FIRMWARE, b"")),
        address=connection.address,
        eui64=eui64_from_system_id(found[SYSTEM_ID]) if SYSTEM_ID in found else None,
    )
