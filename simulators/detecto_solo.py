"""A Detecto solo clinical scale's serial output, written from the protocol definition.

Source: shared/reference/serial-protocols.md §6 (solo manual p.20): fixed 9600 8N1; one
record when PRINT is pressed or the host sends ``<LF>P<CR>``:

    Time,Date,BMI,Height,Weight<CR>        12:00,08/07/15,21.5,5'03.0",132.3lb

ASCII ``'`` and ``"`` for feet and inches (the manual's curly quotes are typesetting).
A field not entered is sent empty (the manual does not say; an assumption). Each tick is
a step of a visit: empty platform, patient on (PRINT pressed on ``print_at``), off. The
host's other input is ignored: the manual documents no error reply. Like every simulator
it is written from the manual, independently of the core and of the driver.
"""

from __future__ import annotations

import argparse
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from simulators.faults import FaultInjector, FaultSettings, add_fault_arguments, faults_from_args
from simulators.serial_port import Port, add_port_arguments, plan_from_args, port_from_args, serve

_LOGGER = logging.getLogger(__name__)

LB_PER_KG = 2.20462262


@dataclass(frozen=True, slots=True)
class SoloSettings:
    unit: str = "lb"  # "lb" or "kg"
    height_in: float = 63.0  # 0: height not entered (no BMI either)
    weight_lb: float = 0.0  # 0: a random patient each visit
    visit_ticks: int = 6  # ticks a patient stands on the platform
    empty_ticks: int = 3
    print_at: int = 3  # tick of the visit when PRINT is pressed (-1: never)
    start: datetime | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.unit not in ("lb", "kg"):
            raise ValueError(f"unit {self.unit!r}: expected lb or kg")
        if not 0 <= self.height_in < 100:
            raise ValueError(f"height {self.height_in}: expected 0 to 99 in")
        if self.visit_ticks < 1 or self.empty_ticks < 1:
            raise ValueError("a visit and the empty time between visits need 1 tick or more")


def format_record(when: datetime, weight_lb: float, height_in: float, unit: str = "lb") -> bytes:
    """The record for these values, with its CR (height 0: height and BMI left empty)."""
    weight = f"{weight_lb:.1f}lb" if unit == "lb" else f"{weight_lb / LB_PER_KG:.1f}kg"
    if height_in > 0:
        feet, inches = divmod(round(height_in * 10), 120)
        height = f"{feet}'{inches / 10:04.1f}\""
        bmi = f"{703.0 * weight_lb / height_in**2:.1f}" if weight_lb > 0 else ""
    else:
        height = bmi = ""
    return f"{when:%H:%M},{when:%m/%d/%y},{bmi},{height},{weight}\r".encode("ascii")


@dataclass(slots=True)
class SoloDevice:
    settings: SoloSettings
    faults: FaultInjector = field(default_factory=lambda: FaultInjector(FaultSettings()))
    ticks: int = 0
    patient_lb: float = 0.0
    printed: list[bytes] = field(default_factory=list)  # records as generated (pre-fault)
    _rng: random.Random = field(init=False)
    _start: datetime = field(init=False)
    _pending: bytearray = field(default_factory=bytearray)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.settings.seed)
        start = self.settings.start or datetime.now().astimezone().replace(
            tzinfo=None, microsecond=0
        )
        self._start = start

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self.ticks)  # device clock: 1 s per tick

    def record(self) -> bytes:
        return format_record(
            self.now(), self.patient_lb, self.settings.height_in, self.settings.unit
        )

    def _send(self) -> bytes:
        record = self.record()
        self.printed.append(record)
        wire, faults = self.faults.apply(record)
        if faults:
            _LOGGER.debug("record: injected %s", ", ".join(map(str, faults)))
        return wire

    def next_frame(self) -> bytes | None:
        s = self.settings
        phase = self.ticks % (s.empty_ticks + s.visit_ticks)
        if phase == s.empty_ticks:
            self.patient_lb = s.weight_lb or round(self._rng.uniform(20.0, 300.0), 1)
        elif phase < s.empty_ticks:
            self.patient_lb = 0.0
        self.ticks += 1
        if phase - s.empty_ticks == s.print_at and self.patient_lb > 0:
            return self._send()  # PRINT pressed
        return None

    def handle(self, data: bytes) -> bytes:
        """Host bytes in; a record for each ``<LF>P<CR>`` out."""
        self._pending += data
        out = b""
        while (end := self._pending.find(b"\r")) >= 0:
            frame = bytes(self._pending[: end + 1])
            del self._pending[: end + 1]
            if frame == b"\nP\r":
                out += self._send()
            else:
                _LOGGER.debug("ignored host bytes %r", frame)
        if len(self._pending) > 64:
            self._pending.clear()
        return out

    def attach(self, port: Port) -> None:
        port.on_input = lambda data: port.write(self.handle(data))


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "detecto-solo",
        help="a Detecto solo clinical scale (prints on PRINT or <LF>P<CR>)",
        description=(
            "A Detecto solo: each tick (--rate) is a step of a visit; PRINT is pressed once "
            "per visit, and <LF>P<CR> from the host prints the display at any time."
        ),
    )
    add_port_arguments(p)
    dev = p.add_argument_group("scale and patients")
    dev.add_argument("--unit", default="lb", choices=("lb", "kg"))
    dev.add_argument("--height", type=float, default=63.0, help="height, in (0: not entered)")
    dev.add_argument("--weight", type=float, default=0.0, help="weight, lb (0: random)")
    dev.add_argument("--seed", type=int, help="random seed, for repeatable runs")
    add_fault_arguments(p)
    p.set_defaults(run=_run)


async def _run(args: argparse.Namespace) -> int:
    settings = SoloSettings(
        unit=args.unit, height_in=args.height, weight_lb=args.weight, seed=args.seed
    )
    fault_seed = None if args.seed is None else args.seed + 1
    device = SoloDevice(settings, FaultInjector(faults_from_args(args), fault_seed))
    port = port_from_args(args)
    device.attach(port)
    return await serve(port, device, plan_from_args(args), "detecto-solo")
