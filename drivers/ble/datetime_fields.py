"""Date Time (0x2A08, 7 bytes) and Current Time (0x2A2B, 10 bytes).

Source: ble-health.md §1.3-1.4. Device clocks are local time with no zone; a zero
year, month or day means "unknown", so such a stamp carries no usable date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from drivers.ble.payload import PayloadError, PayloadReader

DATE_TIME_SIZE = 7
CURRENT_TIME_SIZE = 10

ADJUST_REASONS = (
    "manual time update",
    "external reference time update",
    "change of time zone",
    "change of DST",
)


@dataclass(frozen=True, slots=True)
class DateTimeField:
    """The fields as sent; ``to_datetime`` is None when the date is unknown."""

    year: int
    month: int
    day: int
    hours: int
    minutes: int
    seconds: int

    @property
    def date_known(self) -> bool:
        return self.year != 0 and self.month != 0 and self.day != 0

    def to_datetime(self) -> datetime | None:
        """Naive device-local time, or None when year, month or day is unknown."""
        if not self.date_known:
            return None
        return datetime(self.year, self.month, self.day, self.hours, self.minutes, self.seconds)  # noqa: DTZ001 - device-local clock


@dataclass(frozen=True, slots=True)
class CurrentTime:
    date_time: DateTimeField
    day_of_week: int  # 1 = Monday … 7 = Sunday, 0 = unknown
    fractions256: int  # 1/256 s
    adjust_reason: int  # bit mask, see ADJUST_REASONS

    @property
    def adjust_reasons(self) -> tuple[str, ...]:
        return tuple(r for bit, r in enumerate(ADJUST_REASONS) if self.adjust_reason >> bit & 1)


def read_date_time(reader: PayloadReader, field: str = "time stamp") -> DateTimeField:
    """Read and check a 7-byte Date Time at the reader's position."""
    raw = reader.raw(DATE_TIME_SIZE, field)
    value = DateTimeField(
        year=int.from_bytes(raw[0:2], "little"),
        month=raw[2],
        day=raw[3],
        hours=raw[4],
        minutes=raw[5],
        seconds=raw[6],
    )
    problems = []
    if value.year != 0 and not 1582 <= value.year <= 9999:
        problems.append(f"year {value.year}")
    if value.month > 12:
        problems.append(f"month {value.month}")
    if value.day > 31:
        problems.append(f"day {value.day}")
    if value.hours > 23 or value.minutes > 59 or value.seconds > 59:
        problems.append(f"time {value.hours:02}:{value.minutes:02}:{value.seconds:02}")
    if not problems and value.date_known:
        try:
            value.to_datetime()
        except ValueError:
            problems.append(f"date {value.year}-{value.month:02}-{value.day:02}")
    if problems:
        raise PayloadError(f"{reader.name}: {field} out of range: {', '.join(problems)}")
    return value


def decode_date_time(data: bytes) -> DateTimeField:
    reader = PayloadReader("Date Time", data)
    value = read_date_time(reader, "date time")
    reader.finish()
    return value


def decode_current_time(data: bytes) -> CurrentTime:
    reader = PayloadReader("Current Time", data)
    date_time = read_date_time(reader, "exact time")
    day_of_week = reader.uint(1, "day of week")
    fractions = reader.uint(1, "fractions256")
    reason = reader.uint(1, "adjust reason")
    reader.finish()
    if day_of_week > 7:
        raise PayloadError(f"Current Time: day of week {day_of_week} out of range 0-7")
    return CurrentTime(date_time, day_of_week, fractions, reason)


def encode_date_time(when: datetime) -> bytes:
    """The Date Time a collector writes to set a device clock (device-local time)."""
    if not 1582 <= when.year <= 9999:
        raise ValueError(f"year {when.year} cannot be sent as a Date Time")
    return when.year.to_bytes(2, "little") + bytes(
        (when.month, when.day, when.hour, when.minute, when.second)
    )


def encode_current_time(when: datetime, adjust_reason: int = 0x01) -> bytes:
    """Current Time for a CTS write: default reason "manual time update"."""
    fractions = when.microsecond * 256 // 1_000_000
    return encode_date_time(when) + bytes((when.isoweekday(), fractions, adjust_reason))


__all__ = [
    "CURRENT_TIME_SIZE",
    "DATE_TIME_SIZE",
    "CurrentTime",
    "DateTimeField",
    "PayloadError",
    "decode_current_time",
    "decode_date_time",
    "encode_current_time",
    "encode_date_time",
    "read_date_time",
]
