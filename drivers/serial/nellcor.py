"""Nellcor (Covidien) N-395 / N-595 / NPB-290 / NPB-295 data-port real-time output.

Source: shared/reference/serial-protocols.md §8 — MD PnP OpenICE's parser spec
(github:mdpnp/mdpnp:devices/nellcor/src/main/resources/org/mdpnp/devices/nellcor/
pulseox/nellcor-n595.spec) and the NPB-29x / N-395 manuals' "Data Port Protocol". A line
every 2 s; column headings again every 25 lines or when a header value changes:

    N-595 VERSION 1.4.1.0 CRC:XXXX SpO2 Limit:85-100% PR Limit:40-170BPM
    TIME               %SPO2   BPM   PA   Status
    12-NOV-97 14:00:05   100   120   50
    12-NOV-97 14:00:07   ---   ---  ---   SO

Values are ``---`` when missing; ``*`` marks one outside its alarm limit. Status is zero
or more two-letter codes. Column spacing on the wire is not published byte-exactly, so
fields are split on runs of spaces, the 18-character time stamp first (as OpenICE does).
There is no checksum: a line is used only when every field has its shape and every value
is in the device's measurement range. The baud rate is menu-selectable and its value was
not found in the public pages: 9600 8N1 is an assumption (override in config).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from vitalsd.conditions import conditions_event
from vitalsd.driver import Driver, DriverOptions
from vitalsd.errors import FramingError
from vitalsd.line_decoder import LineDecoder
from vitalsd.links.base import SerialSettings
from vitalsd.model import (
    Condition,
    DeviceIdentity,
    DeviceKind,
    DriverReport,
    Flag,
    Measurement,
    Metric,
    Transport,
    Unit,
)

_LOGGER = logging.getLogger(__name__)

# OpenICE's header patterns, as in the spec.
_LIMITS_HEADER = re.compile(
    r"(\S+)\s+VERSION ([0-9.]+)\s+CRC: ?(\S+)\s+SpO2 Limit: ?([0-9]+)- ?([0-9]+)(\S+)"
    r"\s+PR Limit: ?([0-9]+)- ?([0-9]+)(\S+).*"
)
_INFO_HEADER = re.compile(r"(\S+)\s+VERSION\s+([0-9.]+)\s+INFO\s+CRC: ?(\S+)\s+SEC:([0-9 /]+)\s*")
_OTHER_LINES = (
    re.compile(r"\s*TIME\s+%SPO2\s+BPM\s+PA\s+Status\s*"),
    re.compile(r"\s+(\w+)\s+(\d+)SAT-S\s+SPO2 RESP MODE: (\w+).*"),
    re.compile(r"\s*Command\?|NPB-595\s+Interactive Mode|\s*\d\) [A-Za-z ]+"),
)
# Columns are separated by spaces only: a tab or other control byte is line noise.
_DATA = re.compile(
    r"(\d{2})-([A-Z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2})"
    r" +(\d{1,3}\*?|---) +(\d{1,3}\*?|---) +(\d{1,3}\*?|---)((?: +[A-Z]{2})*) *"
)
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1
    )
}

# Status codes (OpenICE spec; NPB-290 manual).
_CODE_CONDITIONS: dict[str, frozenset[Condition]] = {
    "AO": frozenset({Condition.ALARM_SILENCED}),  # alarm off
    "AS": frozenset({Condition.ALARM_SILENCED}),  # alarm silence
    "LB": frozenset({Condition.LOW_BATTERY}),
    "LM": frozenset({Condition.PULSE_SEARCH, Condition.INTERFERENCE}),  # loss of pulse, motion
    "LP": frozenset({Condition.PULSE_SEARCH}),  # loss of pulse
    "MO": frozenset({Condition.INTERFERENCE}),  # motion / interference
    "PH": frozenset({Condition.ALARM_ACTIVE}),
    "PL": frozenset({Condition.ALARM_ACTIVE}),
    "PS": frozenset({Condition.PULSE_SEARCH}),
    "SH": frozenset({Condition.ALARM_ACTIVE}),
    "SL": frozenset({Condition.ALARM_ACTIVE}),
    "SD": frozenset({Condition.NO_SENSOR}),  # sensor disconnect
    "SO": frozenset({Condition.SENSOR_OFF}),
}
# With the sensor off or no pulse the digits (if any) are not a reading.
_INVALIDATING = frozenset({"LM", "LP", "PS", "SD", "SO"})
_INVALIDATING_CONDITIONS = frozenset(
    {Condition.NO_SENSOR, Condition.SENSOR_OFF, Condition.PULSE_SEARCH, Condition.DEVICE_ERROR}
)


class LineRejected(FramingError):
    """A line that is neither a header nor a well-formed data line."""


# Measurement ranges of the Nellcor family (N-560 operator's manual p.97: "SpO2 1% to
# 100%, pulse rate 0 and 20 to 250 bpm"; the same in the Nellcor respiratory addendum).
# PA has no published range (the NPB-290 trend example prints 150); it is only shaped.
_IN_RANGE: tuple[tuple[str, Callable[[int], bool]], ...] = (
    ("SpO2", lambda v: 1 <= v <= 100),
    ("BPM", lambda v: v == 0 or 20 <= v <= 250),
    ("PA", lambda v: True),
)


def _value(text: str) -> tuple[Decimal | None, bool]:
    """The number (None for ``---``) and whether ``*`` (outside alarm limit) was set."""
    star = text.endswith("*")
    digits = text.rstrip("*")
    return (None if digits == "---" else Decimal(digits)), star


def _check_fields(fields: list[str]) -> None:
    """Reject numbers no Nellcor prints: a byte lost inside "100" must not chart 0 or 00.

    No checksum guards the line, and the digits are not zero-padded (every published line
    prints "50", never "050"), so a leading zero is a number that lost its first digit.
    A lost digit that leaves a number in range ("100" -> "10") cannot be told apart.
    """
    for text, (name, in_range) in zip(fields, _IN_RANGE, strict=True):
        digits = text.rstrip("*")
        if digits == "---":
            continue
        if len(digits) > 1 and digits[0] == "0":
            raise LineRejected(f"{name} {digits!r}: leading zero (digit lost?)")
        if not in_range(int(digits)):
            raise LineRejected(f"{name} {digits} out of the device's range")


def parse_data(text: str) -> tuple[datetime, list[str], tuple[str, ...]]:
    """Time, [SpO2, BPM, PA] as printed, and the status codes of one data line."""
    m = _DATA.fullmatch(text)
    if m is None:
        raise LineRejected(f"not a data line: {text!r}")
    day, mon, year, hour, minute, second = m.group(1, 2, 3, 4, 5, 6)
    if mon not in _MONTHS:
        raise LineRejected(f"month {mon!r}")
    # Two-digit years: the N-200 family dates from the 1990s, so 70-99 are 19xx.
    full_year = int(year) + (1900 if int(year) >= 70 else 2000)
    try:
        when = datetime(full_year, _MONTHS[mon], int(day), int(hour), int(minute), int(second))  # noqa: DTZ001 - device clock
    except ValueError:
        raise LineRejected("impossible date or time") from None
    fields = [m[7], m[8], m[9]]
    _check_fields(fields)
    return when, fields, tuple(m[10].split())


class NellcorDecoder(LineDecoder):
    protocol = "Nellcor"

    def __init__(self) -> None:
        super().__init__(max_line=256)
        self._identity: DeviceIdentity | None = None
        self._conditions: frozenset[Condition] | None = None
        self._codes: tuple[str, ...] = ()

    def decode_line(self, line: bytes) -> list[DriverReport]:
        try:
            text = line.decode("ascii")
        except UnicodeDecodeError:
            raise LineRejected("non-ASCII bytes") from None
        header = _LIMITS_HEADER.fullmatch(text) or _INFO_HEADER.fullmatch(text)
        if header is not None:
            identity = DeviceIdentity(make="Nellcor", model=header[1], firmware=header[2])
            if identity == self._identity:
                return []
            self._identity = identity
            return [identity]
        if any(p.fullmatch(text) for p in _OTHER_LINES):
            return []
        when, fields, codes = parse_data(text)
        unknown = [c for c in codes if c not in _CODE_CONDITIONS]
        conditions = frozenset(
            c for code in codes for c in _CODE_CONDITIONS.get(code, {Condition.DEVICE_ERROR})
        )
        out: list[DriverReport] = []
        if conditions != self._conditions or codes != self._codes:
            self._conditions, self._codes = conditions, codes
            out.append(
                conditions_event(
                    conditions,
                    invalidating=_INVALIDATING_CONDITIONS,
                    device_time=when,
                    device_code=" ".join(codes) or None,
                )
            )
        if unknown or _INVALIDATING.intersection(codes):
            return out  # an undocumented code might be a sensor fault: no number
        (spo2, spo2_star), (bpm, bpm_star), _ = (_value(f) for f in fields)
        common = frozenset({Flag.INTERFERENCE}) if "MO" in codes else frozenset()
        if "LB" in codes:
            common |= {Flag.LOW_BATTERY}
        group = when.strftime("%Y%m%d%H%M%S")
        if spo2 is not None:
            flags = common | _alarm_flags(codes, "SH", "SL", star=spo2_star)
            out.append(Measurement(Metric.SPO2, spo2, Unit.PERCENT, when, flags, group))
        if bpm is not None:
            flags = common | _alarm_flags(codes, "PH", "PL", star=bpm_star)
            out.append(
                Measurement(Metric.PULSE_RATE_OXIMETER, bpm, Unit.PER_MIN, when, flags, group)
            )
        return out


def _alarm_flags(codes: tuple[str, ...], high: str, low: str, *, star: bool) -> frozenset[Flag]:
    flags = set()
    if high in codes:
        flags.add(Flag.ALARM_HIGH)
    if low in codes:
        flags.add(Flag.ALARM_LOW)
    if star and not flags:
        _LOGGER.debug("value outside its alarm limit, direction not given by a status code")
    return frozenset(flags)


class NellcorDriver(Driver):
    name: ClassVar[str] = "nellcor"
    summary: ClassVar[str] = (
        "Nellcor N-395 / N-595 / NPB-290 / NPB-295 data-port real-time output (SpO2, pulse)"
    )
    kinds: ClassVar[frozenset[DeviceKind]] = frozenset({DeviceKind.PULSE_OXIMETER})
    transports: ClassVar[frozenset[Transport]] = frozenset({Transport.SERIAL})
    # Baud is menu-selectable and not confirmed by a public source: 9600 8N1 assumed.
    serial_defaults: ClassVar[SerialSettings] = SerialSettings(
        baudrate=9600, bytesize=8, parity="N", stopbits=1
    )
    options_model: ClassVar[type[DriverOptions]] = DriverOptions

    @classmethod
    def new_decoder(cls, options: DriverOptions | None = None) -> NellcorDecoder:
        return NellcorDecoder()
