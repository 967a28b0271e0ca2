"""Advertising data (Core Spec Vol 3 Part C §11, CSS Part A) → ``Advertisement``.

Adapters hand over the AD structures of one report (advertisement and scan response
already merged) as ``(type, payload)`` pairs; this turns them into the adapter-neutral
``Advertisement`` drivers see. Pure, so every adapter parses advertisements the same way.
"""

from __future__ import annotations

import uuid as _uuid
from collections.abc import Iterable

from vitalsd.links.gatt import BASE_UUID_SUFFIX, Advertisement

AD_INCOMPLETE_16 = 0x02
AD_COMPLETE_16 = 0x03
AD_INCOMPLETE_32 = 0x04
AD_COMPLETE_32 = 0x05
AD_INCOMPLETE_128 = 0x06
AD_COMPLETE_128 = 0x07
AD_SHORT_NAME = 0x08
AD_COMPLETE_NAME = 0x09
AD_SERVICE_DATA_16 = 0x16
AD_SERVICE_DATA_32 = 0x20
AD_SERVICE_DATA_128 = 0x21
AD_MANUFACTURER = 0xFF

_UUID_LISTS = {
    AD_INCOMPLETE_16: 2,
    AD_COMPLETE_16: 2,
    AD_INCOMPLETE_32: 4,
    AD_COMPLETE_32: 4,
    AD_INCOMPLETE_128: 16,
    AD_COMPLETE_128: 16,
}
_SERVICE_DATA = {AD_SERVICE_DATA_16: 2, AD_SERVICE_DATA_32: 4, AD_SERVICE_DATA_128: 16}


def uuid_from_le(data: bytes) -> str:
    """A 2-, 4- or 16-byte little-endian UUID as the full lower-case form."""
    if len(data) in (2, 4):
        return f"{int.from_bytes(data, 'little'):08x}{BASE_UUID_SUFFIX}"
    if len(data) == 16:
        return str(_uuid.UUID(bytes=data[::-1]))
    raise ValueError(f"not a UUID: {data.hex()}")


def normalize_address(address: str) -> str:
    """``c0:11:22:33:44:55/P`` → ``C0:11:22:33:44:55`` (bumble appends the address type)."""
    return address.split("/", 1)[0].upper()


def parse_ad_structures(data: bytes) -> list[tuple[int, bytes]]:
    """Split raw advertising data into ``(type, payload)``; a truncated tail is dropped."""
    out: list[tuple[int, bytes]] = []
    i = 0
    while i < len(data):
        length = data[i]
        if length == 0 or i + 1 + length > len(data):
            break  # padding or a truncated structure: nothing trustworthy follows
        out.append((data[i + 1], bytes(data[i + 2 : i + 1 + length])))
        i += 1 + length
    return out


def advertisement_from_ad(
    address: str,
    structures: Iterable[tuple[int, bytes]],
    *,
    rssi: int | None = None,
    connectable: bool = True,
) -> Advertisement:
    """One ``Advertisement`` from the AD structures of one (merged) report."""
    name: str | None = None
    short_name: str | None = None
    uuids: list[str] = []
    service_data: dict[str, bytes] = {}
    manufacturer: dict[int, bytes] = {}
    for ad_type, payload in structures:
        if ad_type in _UUID_LISTS:
            size = _UUID_LISTS[ad_type]
            for k in range(0, len(payload) - size + 1, size):
                full = uuid_from_le(payload[k : k + size])
                if full not in uuids:
                    uuids.append(full)
        elif ad_type == AD_COMPLETE_NAME:
            name = payload.decode("utf-8", errors="replace")
        elif ad_type == AD_SHORT_NAME:
            short_name = payload.decode("utf-8", errors="replace")
        elif ad_type in _SERVICE_DATA:
            size = _SERVICE_DATA[ad_type]
            if len(payload) >= size:
                service_data[uuid_from_le(payload[:size])] = payload[size:]
        elif ad_type == AD_MANUFACTURER and len(payload) >= 2:
            manufacturer[int.from_bytes(payload[:2], "little")] = payload[2:]
    return Advertisement(
        address=normalize_address(address),
        name=name if name is not None else short_name,
        rssi=rssi,
        service_uuids=tuple(uuids),
        service_data=service_data,
        manufacturer_data=manufacturer,
        connectable=connectable,
    )
