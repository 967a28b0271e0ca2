"""Setting a health device's clock at connect (ble-health.md §1.3-1.4, §4.2 item 3).

Device clocks are local time without a zone and drift or were never set, so the
collector writes its own local time every session: Date Time 0x2A08 where the profile
service holds a writable one (A&D), else Current Time 0x2A2B in CTS 0x1805 (Omron).
"""

from __future__ import annotations

import logging
from datetime import datetime

from drivers.ble.datetime_fields import encode_current_time, encode_date_time
from drivers.ble.session_plan import ClockWrite
from vitalsd.links.gatt import GattService, uuid16

_LOGGER = logging.getLogger(__name__)

DATE_TIME = uuid16(0x2A08)
CURRENT_TIME = uuid16(0x2A2B)
CURRENT_TIME_SERVICE = uuid16(0x1805)


def local_now() -> datetime:
    """The gateway's local wall time, naive, as device clocks keep it."""
    return datetime.now().astimezone().replace(tzinfo=None)


def _writable(services: tuple[GattService, ...], service: str, uuid: str) -> bool:
    return any(
        c.uuid == uuid and "write" in c.properties
        for s in services
        if s.uuid == service
        for c in s.characteristics
    )


def clock_write(
    choice: ClockWrite, services: tuple[GattService, ...], profile_service: str, now: datetime
) -> tuple[str, bytes] | None:
    """The characteristic and value to write, or None when the device offers no clock."""
    date_time = _writable(services, profile_service, DATE_TIME)
    current = _writable(services, CURRENT_TIME_SERVICE, CURRENT_TIME)
    if choice is ClockWrite.NONE:
        return None
    if choice is ClockWrite.DATE_TIME or (choice is ClockWrite.AUTO and date_time):
        if not date_time:
            _LOGGER.warning("device has no writable Date Time (0x2A08); clock not set")
            return None
        return DATE_TIME, encode_date_time(now)
    if choice is ClockWrite.CURRENT_TIME or (choice is ClockWrite.AUTO and current):
        if not current:
            _LOGGER.warning("device has no writable Current Time (0x2A2B); clock not set")
            return None
        return CURRENT_TIME, encode_current_time(now)
    _LOGGER.debug("device offers no clock to set")
    return None
