"""A clinic scale speaking SMA SCP-0499, written from the protocol definition.

Source: shared/reference/serial-protocols.md §5. The host sends ``<LF>c<CR>``; the scale
answers ``<LF> s r n m f wwwwwwwwww uuu <CR>`` (status, range, gross/tare/net, motion,
reserved space, 10-character right-justified weight, 3-character unit), ``<LF>?<CR>``
to anything it does not know, and "about" records to ``A``/``B``. The ``END:`` record
that closes the about list follows the SMA standard's convention (not in the reference).

Each tick of the stream is one step of a visit: the platform is empty (centre of zero),
a patient steps on (motion), stands still (stable weight), steps off (motion), empty
again. This module must not import vitalsd or the driver.
"""

from __future__ import annotations

import argparse
import logging
import random
from dataclasses import dataclass, field

from simulators.faults import (
    FaultInjector,
    FaultSettings,
    add_fault_arguments,
    faults_from_args,
)
from simulators.serial_port import Port, add_port_arguments, plan_from_args, port_from_args, serve

_LOGGER = logging.getLogger(__name__)

ABOUT = ("SMA:2/1.0", "MFG:Detecto", "MOD:6800", "REV:1.04", "END:")
_DECIMALS = {"lb": 1, "kg": 1, "oz": 0, "g": 0}
_PER_LB = {"lb": 1.0, "kg": 0.45359237, "oz": 16.0, "g": 453.59237}


@dataclass(frozen=True, slots=True)
class ScaleSettings:
    unit: str = "lb"
    empty_ticks: int = 4  # per visit: platform empty ...
    motion_ticks: int = 3  # ... stepping on ...
    stable_ticks: int = 8  # ... standing still ...
    off_ticks: int = 2  # ... stepping off.
    weight_lb: float = 0.0  # 0: a new random patient each visit
    seed: int | None = None
    capacity_lb: float = 500.0

    def __post_init__(self) -> None:
        if self.unit not in _PER_LB:
            raise ValueError(f"unit {self.unit!r}: expected one of lb, kg, oz, g")
        if min(self.empty_ticks, self.motion_ticks, self.off_ticks) < 1 or self.stable_ticks < 1:
            raise ValueError("every phase of a visit must last at least 1 tick")
        if not 0 <= self.weight_lb <= 2 * self.capacity_lb:
            raise ValueError(f"weight {self.weight_lb}: expected 0 to {2 * self.capacity_lb}")


def format_reply(status: str, mode: str, motion: bool, weight: str | None, unit: str) -> bytes:
    """The reply frame, ``weight`` already formatted (None: dashes, as on E/T)."""
    field_ = "-" * 10 if weight is None else weight.rjust(10)
    if len(field_) != 10:
        raise ValueError(f"weight {weight!r} does not fit 10 characters")
    text = f"\n{status}1{mode}{'M' if motion else ' '} {field_}{unit.ljust(3)}\r"
    return text.encode("ascii")


@dataclass(slots=True)
class ScaleDevice:
    """The scale: state advanced by ``tick()``, commands answered by ``handle()``."""

    settings: ScaleSettings
    faults: FaultInjector = field(default_factory=lambda: FaultInjector(FaultSettings()))
    ticks: int = 0
    visits: int = 0
    patient_lb: float = 0.0  # on the platform now (0 = empty)
    stable: bool = True
    zero_offset_lb: float = 0.0
    tare_lb: float = 0.0
    weighed: list[float] = field(default_factory=list)  # stable weights shown, per visit
    _rng: random.Random = field(init=False)
    _pending: bytearray = field(default_factory=bytearray)
    _about: int = 0
    _target: float = 0.0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.settings.seed)

    def tick(self) -> None:
        s = self.settings
        cycle = s.empty_ticks + s.motion_ticks + s.stable_ticks + s.off_ticks
        phase = self.ticks % cycle
        self.ticks += 1
        if phase == 0:
            self.visits += 1
            self._target = s.weight_lb or round(self._rng.uniform(20.0, 300.0), 1)
        if phase < s.empty_ticks:
            self.patient_lb, self.stable = 0.0, True
        elif phase < s.empty_ticks + s.motion_ticks:
            self.patient_lb = self._target * self._rng.uniform(0.3, 1.3)
            self.stable = False
        elif phase < s.empty_ticks + s.motion_ticks + s.stable_ticks:
            if not self.stable or self.patient_lb != self._target:
                self.weighed.append(self._target)
            self.patient_lb, self.stable = self._target, True
        else:
            self.patient_lb = self._target * self._rng.uniform(0.1, 0.7)
            self.stable = False

    def weight_reply(self, *, mode: str = "G") -> bytes:
        s = self.settings
        gross = self.patient_lb - self.zero_offset_lb
        shown = {"G": gross, "N": gross - self.tare_lb, "T": self.tare_lb}[mode.upper()]
        if gross > s.capacity_lb:
            return format_reply("O", mode, not self.stable, None, s.unit)
        if gross < -0.05 * s.capacity_lb:
            return format_reply("U", mode, not self.stable, None, s.unit)
        value = shown * _PER_LB[s.unit]
        decimals = _DECIMALS[s.unit] + (1 if mode.islower() else 0)
        text = f"{value:.{decimals}f}"
        if float(text) == 0:
            text = f"{0:.{decimals}f}"  # never "-0.0"
        status = "Z" if abs(gross) < 0.05 and self.stable else " "
        return format_reply(status, mode, not self.stable, text, s.unit)

    def handle(self, data: bytes) -> bytes:
        """Bytes from the host in, the scale's replies out (after faults)."""
        self._pending += data
        out = b""
        while (end := self._pending.find(b"\r")) >= 0:
            frame = bytes(self._pending[: end + 1])
            del self._pending[: end + 1]
            reply = self._command(frame)
            wire, faults = self.faults.apply(reply)
            if faults:
                _LOGGER.debug("reply %r: injected %s", reply, ", ".join(map(str, faults)))
            out += wire
        if len(self._pending) > 64:
            self._pending.clear()  # no CR ever came: not a command
        return out

    def _command(self, frame: bytes) -> bytes:
        # A command is exactly LF, one letter, CR; anything else is malformed.
        if len(frame) != 3 or frame[0] != 0x0A:
            return b"\n?\r"
        cmd = chr(frame[1])
        if cmd == "W":
            return self.weight_reply()
        if cmd == "H":
            return self.weight_reply(mode="g")
        if cmd == "Z":
            if self.stable and abs(self.patient_lb - self.zero_offset_lb) < 0.02 * 500:
                self.zero_offset_lb = self.patient_lb
            else:
                return format_reply("E", "G", not self.stable, None, self.settings.unit)
            return self.weight_reply()
        if cmd == "T":
            if not self.stable:
                return format_reply("T", "G", True, None, self.settings.unit)
            self.tare_lb = self.patient_lb - self.zero_offset_lb
            return self.weight_reply(mode="N")
        if cmd == "M":
            return self.weight_reply(mode="T")
        if cmd == "A":
            self._about = 1
            return f"\n{ABOUT[0]}\r".encode("ascii")
        if cmd == "B":
            record = ABOUT[min(self._about, len(ABOUT) - 1)]
            self._about += 1
            return f"\n{record}\r".encode("ascii")
        return b"\n?\r"

    def attach(self, port: Port) -> None:
        port.on_input = lambda data: port.write(self.handle(data))

    def next_frame(self) -> bytes | None:
        self.tick()
        return None  # a polled scale says nothing unasked


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "sma-scale",
        help="a clinic scale speaking SMA SCP-0499 (polled: <LF>W<CR>)",
        description=(
            "A scale answering SMA SCP-0499 commands (W, H, Z, T, M, A, B; '?' to anything "
            "else). Each tick (--rate) is a step of a visit: empty, stepping on (motion), "
            "standing still, stepping off."
        ),
    )
    add_port_arguments(p)
    dev = p.add_argument_group("scale and patients")
    dev.add_argument("--unit", default="lb", choices=sorted(_PER_LB), help="display unit")
    dev.add_argument("--weight", type=float, default=0.0, help="patient weight, lb (0: random)")
    dev.add_argument("--seed", type=int, help="random seed, for repeatable runs")
    dev.add_argument("--stable-ticks", type=int, default=8, metavar="N")
    dev.add_argument("--motion-ticks", type=int, default=3, metavar="N")
    dev.add_argument("--empty-ticks", type=int, default=4, metavar="N")
    add_fault_arguments(p)
    p.set_defaults(run=_run)


async def _run(args: argparse.Namespace) -> int:
    settings = ScaleSettings(
        unit=args.unit,
        weight_lb=args.weight,
        seed=args.seed,
        stable_ticks=args.stable_ticks,
        motion_ticks=args.motion_ticks,
        empty_ticks=args.empty_ticks,
    )
    fault_seed = None if args.seed is None else args.seed + 1
    device = ScaleDevice(settings, FaultInjector(faults_from_args(args), fault_seed))
    port = port_from_args(args)
    device.attach(port)
    return await serve(port, device, plan_from_args(args), "sma-scale")
