"""Tolerant decoding for documented device quirks; every tolerance is logged.

Source: ble-health.md §3.1 #8-9 and §4.2. Strict decoding stays the default; a device
configured as tolerant gets these, and only these:
- Beurer BM85 sets reserved BP flag bit 6, sends a user-id byte its flags omit, and
  sends pulse rate and status big-endian.
- A&D UA-651BLE keeps failed tries as all-NaN records and replays ~30 of them each
  session; tolerant mode drops them instead of reporting a failed measurement each time.
"""

from __future__ import annotations

import logging

from drivers.ble.blood_pressure import (
    FLAG_USER_ID,
    BloodPressureRecord,
    blood_pressure_reports,
    is_empty,
    parse_blood_pressure,
)
from drivers.ble.payload import PayloadError
from vitalsd.model import DriverReport

_LOGGER = logging.getLogger(__name__)

BEURER_FLAG = 0x40


def parse_blood_pressure_tolerant(
    data: bytes, *, intermediate: bool = False
) -> BloodPressureRecord:
    """Strict first; the Beurer layout only when the strict reading fails and it fits."""
    try:
        return parse_blood_pressure(data, intermediate=intermediate)
    except PayloadError as strict:
        flags = data[0] if data else 0
        if not (flags & BEURER_FLAG and not flags & FLAG_USER_ID):
            raise
        try:
            record = parse_blood_pressure(data, intermediate=intermediate, big_endian_tail=True)
        except PayloadError:
            raise strict from None
        _LOGGER.info(
            "tolerated Beurer blood-pressure quirk (flags 0x%02x): reserved bit 6, "
            "unflagged user id, big-endian pulse/status (strict: %s)",
            flags,
            strict,
        )
        return record


def decode_blood_pressure_tolerant(data: bytes) -> list[DriverReport]:
    record = parse_blood_pressure_tolerant(data)
    if is_empty(record):
        _LOGGER.info("tolerated an all-NaN stored blood-pressure record (A&D failed try); dropped")
        return []
    return blood_pressure_reports(record)


def decode_intermediate_cuff_pressure_tolerant(data: bytes) -> list[DriverReport]:
    return blood_pressure_reports(parse_blood_pressure_tolerant(data, intermediate=True))
