"""A Nonin hand-held / tabletop oximeter's real-time ASCII output, from the manuals.

Source: shared/reference/serial-protocols.md §7. After a power-up header (its wording is
not published; ours is made up and says so), once a second:
``[HH:MM:SS ]SPO2=XXX HR=YYY`` CR LF, three digits zero-padded, ``---`` when missing,
``*`` appended for an event marker. Must not import vitalsd or drivers.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from simulators.faults import FaultInjector, add_fault_arguments
from simulators.nonin_df2 import fault_injector
from simulators.serial_port import add_port_arguments, plan_from_args, port_from_args, serve

HEADER = b"NONIN SIMULATED HEADER (real wording unpublished)\r\n"


def format_line(
    spo2: int | None, hr: int | None, when: datetime | None = None, marker: bool = False
) -> bytes:
    prefix = "" if when is None else f"{when:%H:%M:%S} "
    s = "---" if spo2 is None else f"{spo2:03d}"
    h = "---" if hr is None else f"{hr:03d}"
    return f"{prefix}SPO2={s} HR={h}{'*' if marker else ''}\r\n".encode("ascii")


@dataclass(frozen=True, slots=True)
class NoninAsciiSettings:
    spo2: int = 97
    bpm: int = 72
    clock: bool = False  # 9847 / 8600V: HH:MM:SS prefix
    seed: int | None = None
    missing_every: int = 0  # lines; 0: never
    missing_for: int = 3
    marker_every: int = 0

    def __post_init__(self) -> None:
        if not 50 <= self.spo2 <= 100:
            raise ValueError(f"SpO2 baseline {self.spo2}: expected 50 to 100 %")
        if not 25 <= self.bpm <= 300:
            raise ValueError(f"pulse baseline {self.bpm}: expected 25 to 300 /min")


@dataclass(frozen=True, slots=True)
class SentLine:
    index: int
    spo2: int | None
    hr: int | None
    data: bytes
    wire: bytes
    faulted: bool


class NoninAsciiDevice:
    def __init__(
        self,
        settings: NoninAsciiSettings,
        faults: FaultInjector,
        on_sent: Callable[[SentLine], None] | None = None,
        start: datetime | None = None,
    ) -> None:
        self.settings = settings
        self.faults = faults
        self.on_sent = on_sent
        self._rng = random.Random(settings.seed)
        self._start = (start or datetime.now()).replace(microsecond=0)  # noqa: DTZ005 - device clock
        self._index = -1  # the header goes first
        self._spo2, self._hr = float(settings.spo2), float(settings.bpm)

    def next_frame(self) -> bytes | None:
        s, i = self.settings, self._index
        self._index += 1
        if i < 0:
            return HEADER
        missing = s.missing_every > 0 and i >= s.missing_every
        missing = missing and i % s.missing_every < s.missing_for
        spo2: int | None = None
        hr: int | None = None
        if not missing:
            self._spo2 += self._rng.gauss(0, 0.4) + 0.1 * (s.spo2 - self._spo2)
            self._hr += self._rng.gauss(0, 1.2) + 0.1 * (s.bpm - self._hr)
            spo2 = min(100, max(50, round(self._spo2)))
            hr = min(300, max(25, round(self._hr)))
        when = self._start + timedelta(seconds=i) if s.clock else None
        marker = s.marker_every > 0 and i % s.marker_every == s.marker_every - 1
        data = format_line(spo2, hr, when, marker)
        wire, faults = self.faults.apply(data)
        if self.on_sent is not None:
            self.on_sent(SentLine(i, spo2, hr, data, wire, bool(faults)))
        return wire


async def _run(args: argparse.Namespace) -> int:
    settings = NoninAsciiSettings(
        spo2=args.spo2,
        bpm=args.bpm,
        clock=args.clock,
        seed=args.seed,
        missing_every=args.missing_every,
        missing_for=args.missing_for,
        marker_every=args.marker_every,
    )
    device = NoninAsciiDevice(settings, fault_injector(args))
    return await serve(port_from_args(args), device, plan_from_args(args), "nonin-ascii")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "nonin-ascii",
        help="Nonin 2500/8500/9847/Avant real-time ASCII output (pulse oximeter)",
        description="A Nonin hand-held printing 'SPO2=XXX HR=YYY' once a second.",
    )
    add_port_arguments(p)
    dev = p.add_argument_group("device and patient")
    dev.add_argument("--spo2", type=int, default=97, help="SpO2 baseline, %% (default 97)")
    dev.add_argument("--bpm", type=int, default=72, help="pulse rate baseline, /min")
    dev.add_argument("--clock", action="store_true", help="HH:MM:SS prefix (9847 style)")
    dev.add_argument("--seed", type=int, help="random seed, for repeatable runs")
    dev.add_argument("--missing-every", type=int, default=0, metavar="N", help="dashes every N")
    dev.add_argument("--missing-for", type=int, default=3, metavar="N")
    dev.add_argument("--marker-every", type=int, default=0, metavar="N", help="'*' every N")
    add_fault_arguments(p)
    p.set_defaults(run=_run)
