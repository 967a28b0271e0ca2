"""Masimo Rad-8 / Radical-5 / Radical-7 serial output in mode "ASCII 1".

Source: shared/reference/serial-protocols.md §1 (line format from real captures in
github:yahnatan/pulseox, field and bit tables from MD PnP's poxrad_discrete.h and
github:remkolems/masimo-datacapture). One line a second, pushed by the device:

    02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 PI=03.60% ... ALARM=0000 EXC=000800

Tokens are parsed by key, since models differ in which tokens they send and in what
order. The protocol has no checksum, so a line is only used when it is complete and
every field has its documented shape: a line cut short by a reset, glued to the next
one, or hit by noise is dropped as a whole rather than partly believed. (A bit error
that turns one digit into another digit cannot be detected by any receiver of this
protocol; plausibility limits downstream are the only guard.)
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from vitalsd.conditions import conditions_event
from vitalsd.driver import Decoder, Driver, DriverOptions
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

_STAMP = re.compile(r"(\d{2})/(\d{2})/(\d{2}) (\d{2}):(\d{2}):(\d{2})")
_TOKEN = re.compile(r"([A-Z][A-Z0-9]*)=(\S+)")
# Documented shapes; a dash in the second place means "no value" (MD PnP's rule).
_SPO2 = re.compile(r"(\d{3}|---)%")
_BPM = re.compile(r"(\d{3})|(---)%?")  # masimo-capture.py shows "BPM=---%" once
_PI = re.compile(r"(\d{2}\.\d{2}|--\.--)%?")  # colour firmware omits the '%'
# Hex widths seen in the reference: ALARM 4 (Rad-8, Radical-7), 6 (colour firmware), 2
# (Radical-5); EXC 6, 7 (colour firmware sample), 3 (Radical-5); EXC1 8. Any other width
# is a line cut inside the field: "EXC=00" of a cut "EXC=000820" would read as "no
# exceptions" and let digits through that the device had marked as sensor-off.
_HEX = re.compile(r"[0-9A-Fa-f]+")
_HEX_WIDTHS = {"ALARM": (2, 4, 6), "EXC": (3, 6, 7), "EXC1": (8,)}
# Radical-5: ALARM 2 + EXC 3; Rad-8/Radical-7: 4 + 6; colour firmware: 6 + 7 (+ EXC1).
_EXC_WIDTH_FOR_ALARM = {2: (3,), 4: (6,), 6: (6, 7)}
# Keys whose values are checked for shape but not coded (no row in the codes table).
_UNCODED = frozenset({"SPCO", "SPMET", "DESAT", "PIDELTA", "PVI", "SPHB", "SPOC", "RESVD"})
_SN = re.compile(r"[0-9A-Za-z]{10}|-{10}")  # 10 characters in every sample; dashes: not set
_OTHER = re.compile(r"[-+0-9.%]{1,8}")  # SPCO, SPMET, DESAT, PIDELTA, PVI, SPHB, ...

# EXC bits (poxrad_discrete.h; the first twelve also in the Rad-8 manual).
EXC_NO_SENSOR = 0x000001
EXC_DEFECTIVE_SENSOR = 0x000002
EXC_LOW_PERFUSION = 0x000004
EXC_PULSE_SEARCH = 0x000008
EXC_INTERFERENCE = 0x000010
EXC_SENSOR_OFF = 0x000020
EXC_AMBIENT_LIGHT = 0x000040
EXC_UNRECOGNIZED_SENSOR = 0x000080
EXC_INCOMPATIBLE_SENSOR = 0x000100
EXC_LOW_SIGNAL_IQ = 0x000400
EXC_NO_CABLE = 0x001000
EXC_CABLE_EXPIRED = 0x002000
EXC_CABLE_BAD = 0x004000 | 0x008000 | 0x010000  # incompatible, unrecognized, defective
EXC_CALIBRATING = 0x020000
EXC_SENSOR_EXPIRED = 0x040000
EXC_EMITTER_TEMP = 0x080000
EXC_CURRENT_LIMIT = 0x100000

# The reference's rule invalidates SpO2 and pulse on 0x01, 0x02, 0x08, 0x20, 0x80. We
# also invalidate on every other sensor or cable fault and on calibration: with the
# sensor path in doubt the digits cannot be trusted, and a missing number is safer in a
# chart than a wrong one.
EXC_INVALIDATES = (
    EXC_NO_SENSOR
    | EXC_DEFECTIVE_SENSOR
    | EXC_PULSE_SEARCH
    | EXC_SENSOR_OFF
    | EXC_UNRECOGNIZED_SENSOR
    | EXC_INCOMPATIBLE_SENSOR
    | EXC_NO_CABLE
    | EXC_CABLE_EXPIRED
    | EXC_CABLE_BAD
    | EXC_CALIBRATING
    | EXC_SENSOR_EXPIRED
    | EXC_EMITTER_TEMP
    | EXC_CURRENT_LIMIT
)

_EXC_CONDITIONS = (
    (EXC_NO_SENSOR, Condition.NO_SENSOR),
    (EXC_DEFECTIVE_SENSOR | EXC_SENSOR_EXPIRED, Condition.SENSOR_FAULT),
    (EXC_EMITTER_TEMP | EXC_CURRENT_LIMIT, Condition.SENSOR_FAULT),
    (EXC_LOW_PERFUSION, Condition.LOW_PERFUSION),
    (EXC_PULSE_SEARCH, Condition.PULSE_SEARCH),
    (EXC_INTERFERENCE, Condition.INTERFERENCE),
    (EXC_SENSOR_OFF, Condition.SENSOR_OFF),
    (EXC_AMBIENT_LIGHT, Condition.AMBIENT_LIGHT),
    (EXC_UNRECOGNIZED_SENSOR | EXC_INCOMPATIBLE_SENSOR, Condition.SENSOR_UNRECOGNIZED),
    (EXC_LOW_SIGNAL_IQ, Condition.LOW_SIGNAL_QUALITY),
    (EXC_NO_CABLE | EXC_CABLE_EXPIRED | EXC_CABLE_BAD, Condition.CABLE_FAULT),
    (EXC_CALIBRATING, Condition.CALIBRATING),
)
_EXC_FLAGS = (
    (EXC_LOW_PERFUSION, Flag.LOW_PERFUSION),
    (EXC_INTERFERENCE | EXC_AMBIENT_LIGHT, Flag.INTERFERENCE),
    (EXC_LOW_SIGNAL_IQ, Flag.LOW_SIGNAL_QUALITY),
)

# ALARM bits (poxrad_discrete.h; bits 0-5 confirmed in masimo-capture.py)
ALARM_SPO2_HIGH = 0x0001
ALARM_SPO2_LOW = 0x0002
ALARM_PR_HIGH = 0x0004
ALARM_PR_LOW = 0x0008
ALARM_ACTIVE = 0x0010
ALARM_SILENCED = 0x0020
ALARM_LOW_BATTERY = 0x0040

_INVALIDATING_CONDITIONS = frozenset(
    {
        Condition.NO_SENSOR,
        Condition.SENSOR_OFF,
        Condition.SENSOR_FAULT,
        Condition.SENSOR_UNRECOGNIZED,
        Condition.CABLE_FAULT,
        Condition.PULSE_SEARCH,
        Condition.CALIBRATING,
    }
)


class LineRejected(FramingError):
    """A line that is not a complete, well-formed ASCII 1 record."""


def _value(pattern: re.Pattern[str], text: str | None, key: str) -> Decimal | None:
    if text is None:
        return None
    m = pattern.fullmatch(text)
    if m is None:
        raise LineRejected(f"{key} field malformed")
    digits = next(g for g in m.groups() if g is not None)
    return None if digits[1] == "-" else Decimal(digits)


def _hex(text: str | None, key: str) -> int:
    if text is None:
        raise LineRejected(f"no {key} field (line incomplete)")
    if not _HEX.fullmatch(text):
        raise LineRejected(f"{key} field is not hexadecimal")
    if len(text) not in _HEX_WIDTHS[key]:
        raise LineRejected(f"{key} field has {len(text)} digits (line cut?)")
    return int(text, 16)


def _timestamp(text: str) -> datetime:
    m = _STAMP.fullmatch(text)
    if m is None:
        raise LineRejected("no MM/DD/YY HH:MM:SS time stamp")
    month, day, year, hour, minute, second = (int(g) for g in m.groups())
    try:
        return datetime(2000 + year, month, day, hour, minute, second)  # noqa: DTZ001 - device clock, zone from config
    except ValueError:
        raise LineRejected("impossible date or time") from None


def parse_line(line: bytes) -> tuple[datetime, dict[str, str]]:
    """The device time and the tokens of one line, or ``LineRejected``."""
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError:
        raise LineRejected("non-ASCII bytes") from None
    stamp, _, rest = text.strip(" ").partition(" ")
    time_part, _, rest = rest.partition(" ")
    when = _timestamp(f"{stamp} {time_part}")
    tokens: dict[str, str] = {}
    for word in rest.split():
        m = _TOKEN.fullmatch(word)
        if m is None or m.group(1) in tokens:
            raise LineRejected("garbled or repeated token")
        tokens[m.group(1)] = m.group(2)
    # EXC closes the line on every model (the colour firmware adds EXC1 after it). A
    # line that does not end there was cut short or glued to another, and the protocol
    # has no checksum to tell which of its earlier fields are whole: drop it all.
    order = list(tokens)
    if order[-1:] != ["EXC"] and order[-2:] != ["EXC", "EXC1"]:
        raise LineRejected("line does not end with EXC (cut short?)")
    return when, tokens


class MasimoAscii1Decoder(LineDecoder):
    protocol = "Masimo"

    def __init__(self) -> None:
        super().__init__(max_line=512)
        self._conditions: frozenset[Condition] | None = None
        self._identity: DeviceIdentity | None = None
        self._seen_uncoded: set[str] = set()

    def decode_line(self, line: bytes) -> list[DriverReport]:
        when, tok = parse_line(line)
        exc = _hex(tok.get("EXC"), "EXC")
        alarm = _hex(tok.get("ALARM"), "ALARM")
        if "EXC1" in tok:
            _hex(tok["EXC1"], "EXC1")  # only checked: its bits are not documented
        # Widths go in pairs per model, so a cut that leaves a shorter valid-looking EXC
        # ("EXC=000" of a Rad-8's "EXC=000820") is still caught.
        alarm_width, exc_width = len(tok["ALARM"]), len(tok["EXC"])
        if exc_width not in _EXC_WIDTH_FOR_ALARM[alarm_width]:
            raise LineRejected(f"EXC has {exc_width} digits beside a {alarm_width}-digit ALARM")
        if alarm_width == 6 and "EXC1" not in tok:
            raise LineRejected("colour-firmware line without EXC1 (cut short?)")
        # Every model sends SPO2 and BPM, and PI whenever SpO2 has digits. A line missing
        # one of them lost bytes in the middle (an overrun can splice "SPO2=0" onto
        # "60% ..." and read as 60 %): reject it rather than trust what is left.
        if "SPO2" not in tok or "BPM" not in tok:
            raise LineRejected("SPO2 or BPM missing (bytes lost mid-line?)")
        if "PI" not in tok and tok["SPO2"][1:2] != "-":
            raise LineRejected("PI missing beside an SpO2 value (bytes lost mid-line?)")
        spo2 = _value(_SPO2, tok.get("SPO2"), "SPO2")
        bpm = _value(_BPM, tok.get("BPM"), "BPM")
        pi = _value(_PI, tok.get("PI"), "PI")
        sn = tok.get("SN")
        if sn is not None and not _SN.fullmatch(sn):
            raise LineRejected("SN field malformed")
        for key, value in tok.items():
            if key not in {"EXC", "ALARM", "SPO2", "BPM", "PI", "SN", "EXC1"}:
                if not _OTHER.fullmatch(value):
                    raise LineRejected(f"{key} field malformed")
                if key not in self._seen_uncoded:
                    self._seen_uncoded.add(key)
                    kind = "not coded" if key in _UNCODED else "unknown"
                    _LOGGER.debug("Masimo token %s ignored (%s)", key, kind)

        out: list[DriverReport] = []
        # The line never names the model: Rad-8 and Radical-7 lines differ only in
        # optional tokens (PVI is a licensed option, not a model marker), so guessing
        # would put a wrong model into the chart's device record. Model stays unknown.
        # "----------" is a serial number the device was never given: unknown too.
        identity = DeviceIdentity(make="Masimo", serial=sn if sn and sn.strip("-") else None)
        if identity != self._identity:
            self._identity = identity  # first line always, so consumers learn the make
            out.append(identity)
        conditions = _conditions(exc, alarm)
        if conditions != self._conditions:
            self._conditions = conditions
            out.append(
                conditions_event(
                    conditions, invalidating=_INVALIDATING_CONDITIONS, device_time=when
                )
            )
        if exc & EXC_INVALIDATES:
            return out  # digits under a sensor fault are not a reading
        common = frozenset(flag for bits, flag in _EXC_FLAGS if exc & bits)
        if alarm & ALARM_LOW_BATTERY:
            common |= {Flag.LOW_BATTERY}
        group = when.strftime("%Y%m%d%H%M%S")
        if spo2 is not None:
            flags = common | _alarm_flags(alarm, ALARM_SPO2_HIGH, ALARM_SPO2_LOW)
            out.append(Measurement(Metric.SPO2, spo2, Unit.PERCENT, when, flags, group))
        if bpm is not None:
            flags = common | _alarm_flags(alarm, ALARM_PR_HIGH, ALARM_PR_LOW)
            out.append(
                Measurement(Metric.PULSE_RATE_OXIMETER, bpm, Unit.PER_MIN, when, flags, group)
            )
        if pi is not None:
            out.append(Measurement(Metric.PERFUSION_INDEX, pi, Unit.PERCENT, when, common, group))
        return out


def _alarm_flags(alarm: int, high: int, low: int) -> frozenset[Flag]:
    flags = set()
    if alarm & high:
        flags.add(Flag.ALARM_HIGH)
    if alarm & low:
        flags.add(Flag.ALARM_LOW)
    return frozenset(flags)


def _conditions(exc: int, alarm: int) -> frozenset[Condition]:
    found = {condition for bits, condition in _EXC_CONDITIONS if exc & bits}
    if alarm & ALARM_ACTIVE:
        found.add(Condition.ALARM_ACTIVE)
    if alarm & ALARM_SILENCED:
        found.add(Condition.ALARM_SILENCED)
    if alarm & ALARM_LOW_BATTERY:
        found.add(Condition.LOW_BATTERY)
    return frozenset(found)


class MasimoAscii1Driver(Driver):
    name: ClassVar[str] = "masimo_ascii1"
    summary: ClassVar[str] = (
        "Masimo Rad-8 / Radical-5 / Radical-7 serial mode ASCII 1 (SpO2, pulse, PI)"
    )
    kinds: ClassVar[frozenset[DeviceKind]] = frozenset({DeviceKind.PULSE_OXIMETER})
    transports: ClassVar[frozenset[Transport]] = frozenset({Transport.SERIAL})
    serial_defaults: ClassVar[SerialSettings] = SerialSettings(
        baudrate=9600, bytesize=8, parity="N", stopbits=1
    )
    options_model: ClassVar[type[DriverOptions]] = DriverOptions

    @classmethod
    def new_decoder(cls, options: DriverOptions | None = None) -> Decoder:
        return MasimoAscii1Decoder()
