"""Advertising data parsing: one Advertisement per (merged) report, whatever the adapter."""

from __future__ import annotations

from vitalsd.links.ad_structures import (
    advertisement_from_ad,
    normalize_address,
    parse_ad_structures,
    uuid_from_le,
)
from vitalsd.links.gatt import uuid16


def test_uuid_forms() -> None:
    assert uuid_from_le(b"\x09\x18") == uuid16(0x1809)
    assert uuid_from_le(b"\x09\x18\x00\x00") == uuid16(0x1809)
    # 128-bit UUIDs travel little-endian: the A&D service 233BF000-5A34-1B6D-975C-000D5690ABE4
    raw = bytes.fromhex("233bf0005a341b6d975c000d5690abe4")[::-1]
    assert uuid_from_le(raw) == "233bf000-5a34-1b6d-975c-000d5690abe4"


def test_address_loses_bumble_type_suffix() -> None:
    assert normalize_address("c0:11:22:33:44:55/P") == "C0:11:22:33:44:55"


def test_advert_and_scan_response_merge() -> None:
    # Advertisement: flags, 16-bit list, short name; scan response: complete name,
    # Omron manufacturer data and Mi-scale-like service data.
    adv = bytes.fromhex("0201060503101809180408424c45")
    scan_rsp = (
        bytes.fromhex("0a09")
        + b"BLEsmart_"
        + bytes.fromhex("04ff0e0208")
        + bytes.fromhex("05161d18229e")
    )
    got = advertisement_from_ad(
        "aa:bb:cc:dd:ee:ff/P", parse_ad_structures(adv + scan_rsp), rssi=-60, connectable=True
    )
    assert got.address == "AA:BB:CC:DD:EE:FF"
    assert got.name == "BLEsmart_"  # the complete name wins over the shortened one
    assert got.service_uuids == (uuid16(0x1810), uuid16(0x1809))
    assert got.manufacturer_data == {0x020E: b"\x08"}
    assert got.service_data == {uuid16(0x181D): b"\x22\x9e"}
    assert got.rssi == -60


def test_short_name_only_and_truncated_tail() -> None:
    data = bytes.fromhex("0408424c45") + bytes.fromhex("0aff0102")  # second structure cut short
    assert parse_ad_structures(data) == [(0x08, b"BLE")]
    assert advertisement_from_ad("C0:00:00:00:00:01", parse_ad_structures(data)).name == "BLE"


def test_duplicate_uuids_from_a_repeated_report_collapse() -> None:
    data = bytes.fromhex("03030918") * 2
    got = advertisement_from_ad("C0:00:00:00:00:01", parse_ad_structures(data))
    assert got.service_uuids == (uuid16(0x1809),)
