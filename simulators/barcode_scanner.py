"""A barcode scanner in serial mode (RS-232, or USB "CDC / virtual COM port"), scripted.

Written from how such scanners behave out of the box (Honeywell, Zebra and Datalogic
manuals all describe the same shape): each decoded label is sent at once as its text,
optionally preceded by an AIM symbology identifier (``]`` + code letter + modifier,
e.g. ``]C1`` for Code 128) and followed by the configured suffix, CR by default (CR LF,
LF and TAB are the usual alternatives). Nothing is sent between scans; the host never
talks to the scanner.

Scans come from a script of waits and labels (``--wait 3 --scan MRN12345``), timed in
device seconds from the moment a reader connects. The shared byte faults make the
trouble real scanners cause: ``--cut`` sends a scan cut short without its suffix (a
partial read), ``--garbage`` and ``--bit-errors`` add line noise.

``keystrokes`` encodes the same text as a USB HID ("keyboard wedge") scanner types it on
Linux: ``struct input_event`` records (linux/input.h) with key codes from
linux/input-event-codes.h, US layout. Must not import vitalsd.
"""

from __future__ import annotations

import argparse
import logging
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from simulators.faults import FaultInjector, FaultSettings, add_fault_arguments, faults_from_args
from simulators.serial_port import add_port_arguments, plan_from_args, port_from_args, serve

_LOGGER = logging.getLogger(__name__)

SUFFIXES = {"cr": b"\r", "crlf": b"\r\n", "lf": b"\n", "tab": b"\t", "none": b""}
DEFAULT_TICK_RATE = 20.0  # ticks per second: scripted times land within 50 ms


@dataclass(frozen=True, slots=True)
class Step:
    wait: float = 0.0  # seconds before the scan (a "wait" step has no text)
    text: str | None = None


class BarcodeScanner:
    """Sends each scripted scan when its time comes; a ``FrameDevice`` for ``serve``."""

    def __init__(
        self,
        steps: Sequence[Step],
        *,
        rate: float = DEFAULT_TICK_RATE,
        suffix: str = "cr",
        aim: str = "",
        repeat_every: float = 0.0,
        faults: FaultInjector | None = None,
    ) -> None:
        if suffix not in SUFFIXES:
            raise ValueError(f"--suffix {suffix}: expected one of {', '.join(SUFFIXES)}")
        if repeat_every < 0:
            raise ValueError("--repeat-every must not be negative")
        self.rate = rate
        self.suffix = SUFFIXES[suffix]
        self.aim = aim.encode("ascii")
        self.repeat_every = repeat_every
        self.faults = faults or FaultInjector(FaultSettings())
        # Whole ticks, so a repeated script does not drift by float rounding.
        self._times: list[tuple[int, str]] = []
        t = 0.0
        for step in steps:
            t += step.wait
            if step.text is not None:
                self._times.append((round(t * rate), step.text))
        self._end = round(t * rate)
        self._repeat = round(repeat_every * rate)
        self._ticks = 0
        self._next = 0
        self._offset = 0  # tick at which the current round of the script began
        self.sent: list[bytes] = []

    def wire(self, text: str) -> bytes:
        return self.aim + text.encode("utf-8") + self.suffix

    def next_frame(self) -> bytes | None:
        now = self._ticks
        self._ticks += 1
        out = b""
        while self._next < len(self._times) and self._offset + self._times[self._next][0] <= now:
            frame, faults = self.faults.apply(self.wire(self._times[self._next][1]))
            if faults:
                _LOGGER.info("scan %d: injected %s", self._next + 1, ", ".join(map(str, faults)))
            out += frame
            self.sent.append(frame)
            self._next += 1
        done = self._next == len(self._times)
        if done and self._repeat and now >= self._offset + self._end + self._repeat:
            self._offset, self._next = now, 0
        return out or None


# --- USB HID: what a keyboard-wedge scanner types -------------------------------------

_EVENT = struct.Struct("@llHHi")  # struct input_event, 64-bit: 24 bytes
EV_SYN, EV_KEY = 0x00, 0x01
KEY_LEFTSHIFT, KEY_ENTER = 42, 28
# linux/input-event-codes.h: KEY_1 = 2 ... KEY_0 = 11, KEY_Q = 16 ..., KEY_A = 30 ...,
# KEY_Z = 44 ...; each row with its US-layout characters, plain and with Shift.
_LAYOUT = (
    (2, "1234567890-=", "!@#$%^&*()_+"),
    (16, "qwertyuiop[]", "QWERTYUIOP{}"),
    (30, "asdfghjkl;'`", 'ASDFGHJKL:"~'),
    (43, "\\zxcvbnm,./", "|ZXCVBNM<>?"),
)
_KEYS: dict[str, tuple[int, bool]] = {" ": (57, False)}  # KEY_SPACE
for _first, _plain, _shifted in _LAYOUT:
    for _n, _char in enumerate(_plain):
        _KEYS[_char] = (_first + _n, False)
    for _n, _char in enumerate(_shifted):
        _KEYS[_char] = (_first + _n, True)


def _event(type_: int, code: int, value: int, t: float) -> bytes:
    return _EVENT.pack(int(t), int((t % 1) * 1_000_000), type_, code, value)


def keystrokes(text: str, *, enter: bool = True, t: float = 1_700_000_000.0) -> bytes:
    """``text`` as a HID scanner types it: key down/up (Shift around capitals), SYN after
    each event as the kernel sends it, Enter at the end."""
    out = bytearray()

    def key(code: int, value: int) -> None:
        out.extend(_event(EV_KEY, code, value, t))
        out.extend(_event(EV_SYN, 0, 0, t))

    for char in text:
        if char not in _KEYS:
            raise ValueError(f"{char!r} has no key on a US keyboard")
        code, shifted = _KEYS[char]
        if shifted:
            key(KEY_LEFTSHIFT, 1)
        key(code, 1)
        key(code, 0)
        if shifted:
            key(KEY_LEFTSHIFT, 0)
    if enter:
        key(KEY_ENTER, 1)
        key(KEY_ENTER, 0)
    return bytes(out)


# --- command line ---------------------------------------------------------------------


class _StepAction(argparse.Action):
    """--wait and --scan append to one list, so their order on the command line is kept."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[object] | None,
        option_string: str | None = None,
    ) -> None:
        steps: list[Step] = list(getattr(namespace, "steps", None) or [])
        if option_string == "--wait":
            try:
                wait = float(str(values))
            except ValueError:
                parser.error(f"--wait {values}: expected seconds")
            if wait < 0:
                parser.error(f"--wait {values}: must not be negative")
            steps.append(Step(wait=wait))
        else:
            steps.append(Step(text=str(values)))
        namespace.steps = steps


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "barcode",
        help="barcode scanner in serial / USB CDC mode (scripted wristband and label scans)",
        description=(
            "A barcode scanner in serial mode: each scan is the label's text, an optional "
            "AIM prefix before it and a suffix after it. Scans follow the script of --wait "
            "and --scan options in order, timed from when a reader connects, e.g. "
            "--wait 3 --scan MRN12345 --wait 2 --scan ROOM:EXAM3."
        ),
    )
    add_port_arguments(p)
    p.set_defaults(rate=DEFAULT_TICK_RATE, steps=[])
    script = p.add_argument_group("what is scanned, and when")
    script.add_argument(
        "--wait", action=_StepAction, dest="steps", metavar="S", help="wait S seconds"
    )
    script.add_argument(
        "--scan", action=_StepAction, dest="steps", metavar="TEXT", help="scan a label"
    )
    script.add_argument(
        "--repeat-every",
        type=float,
        default=0.0,
        metavar="S",
        help="start the script again S seconds after it ends (0: once)",
    )
    scanner = p.add_argument_group("scanner settings")
    scanner.add_argument(
        "--suffix", choices=sorted(SUFFIXES), default="cr", help="sent after each scan"
    )
    scanner.add_argument(
        "--aim", default="", metavar="PREFIX", help="AIM symbology identifier, e.g. ]C1"
    )
    scanner.add_argument("--seed", type=int, help="random seed for faults")
    add_fault_arguments(p)
    p.set_defaults(run=_run)


async def _run(args: argparse.Namespace) -> int:
    scanner = BarcodeScanner(
        args.steps,
        rate=args.rate,
        suffix=args.suffix,
        aim=args.aim,
        repeat_every=args.repeat_every,
        faults=FaultInjector(faults_from_args(args), args.seed),
    )
    return await serve(port_from_args(args), scanner, plan_from_args(args), "barcode")
