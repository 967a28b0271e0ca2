"""HL7 DTM time stamps (shared/reference/hl7-pcd01.md §1.8, §4.7).

PCD-01 wants every time with its UTC offset (``20250314103012+0000``) and at least
one-second resolution. Hand-built rather than ``strftime`` because a message carries up
to a dozen of them and this is the encoder's hot path. Sub-second digits are dropped:
the devices vitalsd reads report whole seconds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from hl7.encode_error import Hl7EncodeError

__all__ = ["format_dtm", "format_wall_clock"]


def format_dtm(value: datetime, *, utc: bool = True) -> str:
    """``YYYYMMDDHHMMSS±ZZZZ``: in UTC, or in the time's own offset when ``utc`` is False."""
    # Only the UTC form may be cached: equal instants in different zones compare equal.
    return _format_utc(value) if utc else _format(value, utc=False)


@lru_cache(maxsize=512)  # the readings of one report share their times
def _format_utc(value: datetime) -> str:
    return _format(value, utc=True)


def _format(value: datetime, *, utc: bool) -> str:
    offset = value.utcoffset()
    if offset is None:
        raise Hl7EncodeError(f"time {value.isoformat()} has no time zone; HL7 PCD needs one")
    if utc:
        if offset:
            value = value.astimezone(UTC)
        zone = "+0000"
    else:
        minutes = int(offset.total_seconds()) // 60
        sign = "-" if minutes < 0 else "+"
        hours, mins = divmod(abs(minutes), 60)
        zone = f"{sign}{hours:02d}{mins:02d}"
    return (
        f"{value.year:04d}{value.month:02d}{value.day:02d}"
        f"{value.hour:02d}{value.minute:02d}{value.second:02d}{zone}"
    )


def format_wall_clock(value: datetime) -> str:
    """What a zone-less device clock showed (``YYYYMMDDHHMMSS``, no offset): MDC_ATTR_TIME_ABS."""
    return (
        f"{value.year:04d}{value.month:02d}{value.day:02d}"
        f"{value.hour:02d}{value.minute:02d}{value.second:02d}"
    )
