"""A Masimo Rad-8 in serial mode "ASCII 1", written from the protocol definition.

Source: shared/reference/serial-protocols.md §1. The line shape is the Rad-8 capture in
github:yahnatan/pulseox:README.md, byte for byte (one line, wrapped here):

    02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 PI=03.60% SPCO=--.-% SPMET=--.-%
    DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000800 CR LF

Bit values come from MD PnP's poxrad_discrete.h as quoted in the reference. This module
must not import vitalsd or the driver: an encoder shared with the decoder would let a
misreading of the protocol pass every test.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from simulators.faults import Fault, FaultInjector

_LOGGER = logging.getLogger(__name__)

SERIAL_UNSET = "----------"  # what a Rad-8 prints when no serial number was set
_SERIAL = re.compile(r"[0-9A-Za-z]{1,10}")

# ALARM bits (poxrad_discrete.h)
ALARM_SPO2_HIGH = 0x0001
ALARM_SPO2_LOW = 0x0002
ALARM_PR_HIGH = 0x0004
ALARM_PR_LOW = 0x0008
ALARM_ACTIVE = 0x0010
# EXC bits (poxrad_discrete.h; Rad-8 manual "Trend data format")
EXC_NO_SENSOR = 0x000001
EXC_LOW_PERFUSION = 0x000004
EXC_SENSOR_OFF = 0x000020
EXC_MASIMO_SET = 0x000800  # normal operation in full-SET mode: every good Rad-8 line has it

# Factory alarm limits are not in the reference; these are plausible round numbers so
# that a random walk occasionally shows the alarm bits the way a device would.
SPO2_LOW_LIMIT = 88
PR_HIGH_LIMIT = 140
PR_LOW_LIMIT = 50
LOW_PERFUSION_PI = 0.3  # below this the simulated device raises "low perfusion"


def normalize_serial(text: str) -> str:
    """The 10-character SN field for a user's ``--serial`` ("-" means never set)."""
    if text == "-":
        return SERIAL_UNSET
    if not _SERIAL.fullmatch(text):
        raise ValueError(f"serial number {text!r}: expected 1 to 10 letters or digits, or '-'")
    return text.rjust(10, "0")


@dataclass(frozen=True, slots=True)
class MasimoSettings:
    """What the simulated patient and device look like. Periods are device seconds (lines)."""

    serial: str = "0000056661"
    spo2: int = 97
    bpm: int = 72
    pi: float = 3.5
    start: datetime | None = None  # device clock at line 0; None: the local time now
    seed: int | None = None
    sensor_off_every: int = 0  # 0: never; else a sensor-off period starts every N lines
    sensor_off_for: int = 5
    silence_every: int = 0  # 0: never; else the device goes quiet every N lines ...
    silence_for: int = 5  # ... for this many lines (its clock keeps running)

    def __post_init__(self) -> None:
        if len(self.serial) != 10:
            raise ValueError("serial must be the 10-character SN field (see normalize_serial)")
        if not 50 <= self.spo2 <= 100:
            raise ValueError(f"SpO2 baseline {self.spo2}: expected 50 to 100 %")
        if not 25 <= self.bpm <= 240:
            raise ValueError(f"pulse baseline {self.bpm}: expected 25 to 240 /min")
        if not 0.02 <= self.pi <= 20:
            raise ValueError(f"PI baseline {self.pi}: expected 0.02 to 20 %")
        for name in ("sensor_off_every", "sensor_off_for", "silence_every", "silence_for"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name.replace('_', '-')} must not be negative")


@dataclass(frozen=True, slots=True)
class MasimoLine:
    """One line the device produced: its values and its exact bytes (before any fault).

    ``spo2``/``bpm``/``pi`` are None when the line carries dashes; ``pi`` is the text
    as printed ("03.60"). ``silent`` lines were generated but not sent (device quiet).
    """

    index: int
    device_time: datetime
    spo2: int | None
    bpm: int | None
    pi: str | None
    alarm: int
    exc: int
    data: bytes
    silent: bool = False


def format_line(
    when: datetime,
    serial: str,
    spo2: int | None,
    bpm: int | None,
    pi: str | None,
    alarm: int,
    exc: int,
) -> bytes:
    """The Rad-8 ASCII 1 line for these values, with its CR LF."""
    spo2_text = "---" if spo2 is None else f"{spo2:03d}"
    bpm_text = "---" if bpm is None else f"{bpm:03d}"
    pi_text = "--.--" if pi is None else pi
    # SpCO/SpMet/DESAT/PI-delta are rainbow options this Rad-8 lacks: always dashes, as
    # in the capture.
    text = (
        f"{when:%m/%d/%y %H:%M:%S} SN={serial} SPO2={spo2_text}% BPM={bpm_text} "
        f"PI={pi_text}% SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+-- "
        f"ALARM={alarm:04X} EXC={exc:06X}\r\n"
    )
    return text.encode("ascii")


class MasimoLineSource:
    """Generates the device's lines: a mean-reverting random walk around the baselines."""

    def __init__(self, settings: MasimoSettings) -> None:
        self.settings = settings
        self._rng = random.Random(settings.seed)
        start = settings.start or datetime.now().astimezone().replace(tzinfo=None)
        self._start = start.replace(microsecond=0)  # the device clock has whole seconds
        self._index = 0
        self._spo2 = float(settings.spo2)
        self._bpm = float(settings.bpm)
        self._pi = settings.pi

    def _walk(self, value: float, base: float, step: float, low: float, high: float) -> float:
        value += self._rng.gauss(0.0, step) + 0.1 * (base - value)
        return min(high, max(low, value))

    def _in_period(self, every: int, length: int) -> tuple[bool, int]:
        """Whether line ``index`` falls in a periodic window, and which window it is."""
        if every <= 0 or length <= 0 or self._index < every:
            return False, 0
        return self._index % every < length, self._index // every

    def next_line(self) -> MasimoLine:
        s = self.settings
        index = self._index
        when = self._start + timedelta(seconds=index)
        off, period = self._in_period(s.sensor_off_every, s.sensor_off_for)
        silent, _ = self._in_period(s.silence_every, s.silence_for)
        self._index += 1
        if off:
            # Alternate "sensor off" (probe off the finger) and "no sensor" (unplugged).
            exc = EXC_SENSOR_OFF if period % 2 else EXC_NO_SENSOR
            data = format_line(when, s.serial, None, None, None, 0, EXC_MASIMO_SET | exc)
            return MasimoLine(index, when, None, None, None, 0, EXC_MASIMO_SET | exc, data, silent)
        self._spo2 = self._walk(self._spo2, s.spo2, 0.6, max(50.0, s.spo2 - 6.0), 100.0)
        self._bpm = self._walk(self._bpm, s.bpm, 1.5, 25.0, 240.0)
        self._pi = self._walk(self._pi, s.pi, 0.08, 0.02, 20.0)
        spo2, bpm = round(self._spo2), round(self._bpm)
        pi = f"{self._pi:05.2f}"
        alarm = 0
        if spo2 <= SPO2_LOW_LIMIT:
            alarm |= ALARM_SPO2_LOW
        if bpm >= PR_HIGH_LIMIT:
            alarm |= ALARM_PR_HIGH
        if bpm <= PR_LOW_LIMIT:
            alarm |= ALARM_PR_LOW
        if alarm:
            alarm |= ALARM_ACTIVE
        exc = EXC_MASIMO_SET | (EXC_LOW_PERFUSION if self._pi < LOW_PERFUSION_PI else 0)
        data = format_line(when, s.serial, spo2, bpm, pi, alarm, exc)
        return MasimoLine(index, when, spo2, bpm, pi, alarm, exc, data, silent)


@dataclass(frozen=True, slots=True)
class SentRecord:
    """A line and what went out on the wire for it (after fault injection)."""

    line: MasimoLine
    wire: bytes
    faults: tuple[Fault, ...]


@dataclass(slots=True)
class MasimoDevice:
    """Lines plus faults: the callable a stream asks for its next frame.

    ``on_sent`` (if given) sees every record, including silent ones, so a test knows
    exactly what the device claimed and what bytes carried the claim.
    """

    source: MasimoLineSource
    faults: FaultInjector
    on_sent: Callable[[SentRecord], None] | None = None
    lines: int = field(default=0, init=False)

    def next_frame(self) -> bytes | None:
        line = self.source.next_line()
        self.lines += 1
        if line.silent:
            record = SentRecord(line, b"", ())
        else:
            wire, faults = self.faults.apply(line.data)
            record = SentRecord(line, wire, faults)
            if faults:
                _LOGGER.debug("line %d: injected %s", line.index, ", ".join(map(str, faults)))
        if self.on_sent is not None:
            self.on_sent(record)
        return None if line.silent else record.wire
