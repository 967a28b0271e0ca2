"""A Nellcor N-595 data port in real-time mode, written from the protocol definition.

Source: shared/reference/serial-protocols.md §8 (OpenICE's nellcor-n595.spec and the
NPB-29x manuals): a header with model, version, CRC and alarm limits, the column
headings, then one line every 2 s: ``dd-MMM-yy HH:MM:SS  SpO2  BPM  PA  [codes]``;
``---`` for a missing value, ``*`` after a value outside its limit, and two-letter status
codes (SO sensor off, SD sensor disconnect, PS pulse search, SL/SH/PL/PH limit alarms,
MO motion). The headings repeat every 25 lines. Column spacing on the wire is not
published byte-exactly: the widths here are an assumption. This module must not import
vitalsd or the driver.
"""

from __future__ import annotations

import argparse
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from simulators.faults import FaultInjector, FaultSettings, add_fault_arguments, faults_from_args
from simulators.serial_port import add_port_arguments, plan_from_args, port_from_args, serve

_LOGGER = logging.getLogger(__name__)

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
HEADER_EVERY = 25
SECONDS_PER_LINE = 2
SPO2_LIMITS = (85, 100)
PR_LIMITS = (40, 170)


@dataclass(frozen=True, slots=True)
class NellcorSettings:
    model: str = "N-595"
    version: str = "1.4.1.0"
    crc: str = "6A2F"
    spo2: int = 97
    bpm: int = 72
    start: datetime | None = None
    seed: int | None = None
    sensor_off_every: int = 0  # lines; 0: never
    sensor_off_for: int = 3

    def __post_init__(self) -> None:
        if not 50 <= self.spo2 <= 100:
            raise ValueError(f"SpO2 baseline {self.spo2}: expected 50 to 100 %")
        if not 25 <= self.bpm <= 240:
            raise ValueError(f"pulse baseline {self.bpm}: expected 25 to 240 /min")


def format_header(s: NellcorSettings) -> bytes:
    lo, hi = SPO2_LIMITS
    plo, phi = PR_LIMITS
    return (
        f"{s.model} VERSION {s.version} CRC:{s.crc} SpO2 Limit:{lo}-{hi}% "
        f"PR Limit:{plo}-{phi}BPM\r\n"
        "TIME               %SPO2   BPM    PA   Status\r\n"
    ).encode("ascii")


def _field(value: int | None, star: bool) -> str:
    return ("---" if value is None else str(value)) + ("*" if star else "")


def format_data(
    when: datetime, spo2: int | None, bpm: int | None, pa: int | None, codes: tuple[str, ...]
) -> bytes:
    spo2_star = "SL" in codes or "SH" in codes
    bpm_star = "PL" in codes or "PH" in codes
    stamp = f"{when:%d}-{MONTHS[when.month - 1]}-{when:%y %H:%M:%S}"
    text = (
        f"{stamp}   {_field(spo2, spo2_star):>4}  {_field(bpm, bpm_star):>4}  "
        f"{_field(pa, False):>4}"
    )
    if codes:
        text += "   " + " ".join(codes)
    return (text + "\r\n").encode("ascii")


@dataclass(frozen=True, slots=True)
class NellcorLine:
    index: int
    device_time: datetime
    spo2: int | None
    bpm: int | None
    codes: tuple[str, ...]
    data: bytes  # the data line alone
    wire: bytes  # what was sent (header + data, after faults)
    faults: int = 0  # how many faults were injected into it


@dataclass(slots=True)
class NellcorDevice:
    settings: NellcorSettings
    faults: FaultInjector = field(default_factory=lambda: FaultInjector(FaultSettings()))
    sent: list[NellcorLine] = field(default_factory=list)
    _rng: random.Random = field(init=False)
    _start: datetime = field(init=False)
    _spo2: float = 0.0
    _bpm: float = 0.0

    def __post_init__(self) -> None:
        s = self.settings
        self._rng = random.Random(s.seed)
        start = s.start or datetime.now().astimezone().replace(tzinfo=None)
        self._start = start.replace(microsecond=0)
        self._spo2, self._bpm = float(s.spo2), float(s.bpm)

    def _walk(self, value: float, base: float, step: float, low: float, high: float) -> float:
        value += self._rng.gauss(0.0, step) + 0.1 * (base - value)
        return min(high, max(low, value))

    def next_frame(self) -> bytes | None:
        s = self.settings
        index = len(self.sent)
        when = self._start + timedelta(seconds=SECONDS_PER_LINE * index)
        off = (
            s.sensor_off_every > 0
            and index >= s.sensor_off_every
            and index % s.sensor_off_every < s.sensor_off_for
        )
        spo2: int | None
        bpm: int | None
        pa: int | None
        if off:
            spo2 = bpm = pa = None
            codes: tuple[str, ...] = ("SO",)
        else:
            self._spo2 = self._walk(self._spo2, s.spo2, 0.6, 50.0, 100.0)
            self._bpm = self._walk(self._bpm, s.bpm, 1.5, 25.0, 240.0)
            spo2, bpm, pa = round(self._spo2), round(self._bpm), self._rng.randint(20, 80)
            found = []
            if spo2 < SPO2_LIMITS[0]:
                found.append("SL")
            if bpm > PR_LIMITS[1]:
                found.append("PH")
            if bpm < PR_LIMITS[0]:
                found.append("PL")
            codes = tuple(found)
        data = format_data(when, spo2, bpm, pa, codes)
        frame = (format_header(s) if index % HEADER_EVERY == 0 else b"") + data
        wire, faults = self.faults.apply(frame)
        if faults:
            _LOGGER.debug("line %d: injected %s", index, ", ".join(map(str, faults)))
        self.sent.append(NellcorLine(index, when, spo2, bpm, codes, data, wire, len(faults)))
        return wire


def _device_time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time like 1997-11-12T14:00:05"
        ) from None


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "nellcor",
        help="Nellcor N-595 / NPB-29x data port, real-time table (pulse oximeter)",
        description=(
            "A Nellcor N-595 data port: header and column headings every 25 lines, one data "
            "line per tick (--rate); the device clock gains 2 s per line."
        ),
    )
    add_port_arguments(p)
    dev = p.add_argument_group("device and patient")
    dev.add_argument("--model", default="N-595", help="model in the header (N-395, NPB-290 ...)")
    dev.add_argument("--spo2", type=int, default=97, help="SpO2 baseline, %%")
    dev.add_argument("--bpm", type=int, default=72, help="pulse rate baseline, /min")
    dev.add_argument("--seed", type=int, help="random seed, for repeatable runs")
    dev.add_argument("--start", type=_device_time, metavar="TIME", help="clock at line 0")
    dev.add_argument("--sensor-off-every", type=int, default=0, metavar="N", help="lines")
    dev.add_argument("--sensor-off-for", type=int, default=3, metavar="N", help="lines")
    add_fault_arguments(p)
    p.set_defaults(run=_run)


async def _run(args: argparse.Namespace) -> int:
    settings = NellcorSettings(
        model=args.model,
        spo2=args.spo2,
        bpm=args.bpm,
        start=args.start,
        seed=args.seed,
        sensor_off_every=args.sensor_off_every,
        sensor_off_for=args.sensor_off_for,
    )
    fault_seed = None if args.seed is None else args.seed + 1
    device = NellcorDevice(settings, FaultInjector(faults_from_args(args), fault_seed))
    return await serve(port_from_args(args), device, plan_from_args(args), "nellcor")
