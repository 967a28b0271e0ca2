"""A SunTech Advantage OEM NIBP module, written from the protocol definition.

Source: shared/reference/serial-protocols.md §4. Host frames are ``:`` + command +
checksum (no length byte), module frames ``>`` + total length + data + checksum; every
whole frame sums to 0 mod 256. The module answers each command; a start is answered
"O", the cuff then inflates and deflates (cuff pressure on request), and a "K" follows
when the measurement is over; the result is then read with "get BP data".

Malformed commands are answered as the reference lists: a bad checksum with "D"
(unrecognizable), an unknown command byte with "N" (undefined), a start while measuring
with "B" (busy). Commands the module has but this simulator does not model (calibrate,
pneumatics, sleep, ...) are answered "N" too. The version string layout is not in the
reference: "LX" (classic Advantage) + a number is a guess at its shape.

Must not import vitalsd or the driver.
"""

from __future__ import annotations

import argparse
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

from simulators.faults import FaultInjector, FaultSettings, add_fault_arguments, faults_from_args
from simulators.serial_port import add_port_arguments, plan_from_args, port_from_args, serve

_LOGGER = logging.getLogger(__name__)

# command byte -> bytes after ":" including it (checksum not counted)
_LENGTHS = {0x20: 1, 0x87: 1, 0x28: 1, 0x8A: 1, 0x00: 1, 0x81: 1, 0x86: 1}
_LENGTHS |= {0x79: 3, 0x17: 3, 0x0C: 4, 0x04: 2}
_STARTS = (0x20, 0x87, 0x28)
INFLATE_STEP = 20  # mmHg per tick
DEFLATE_STEP = 8


def frame(data: bytes) -> bytes:
    """A module frame: '>' + total length + data + checksum."""
    body = b">" + bytes([len(data) + 3]) + data
    return body + bytes([(-sum(body)) % 256])


def status(letter: str) -> bytes:
    return frame(letter.encode("ascii"))


@dataclass(frozen=True, slots=True)
class SunTechPatient:
    sys: int = 120
    dia: int = 80
    hr: int = 70
    error: int = 0  # a non-zero BP error code makes every measurement fail with it

    def __post_init__(self) -> None:
        if not 40 <= self.dia < self.sys <= 280:
            raise ValueError(f"--sys {self.sys} / --dia {self.dia}: need 40 <= dia < sys <= 280")
        if not 25 <= self.hr <= 240:
            raise ValueError(f"--hr {self.hr}: expected 25 to 240 /min")
        if not 0 <= self.error <= 255:
            raise ValueError(f"--error {self.error}: expected 0 to 255")


def result_frame(sys_: int, dia: int, mean: int, hr: int, beats: int, error: int) -> bytes:
    """The 24-byte BP result (reference §4 layout)."""
    data = (
        sys_.to_bytes(2, "little")
        + dia.to_bytes(2, "little")
        + bytes([beats, 1])
        + bytes(8)  # test codes
        + bytes([hr, 0])
        + mean.to_bytes(2, "little")
        + bytes([error, 0, 0])
    )
    return frame(data)


class SunTechModule:
    """The module's state machine: idle → inflate → deflate → result."""

    def __init__(
        self,
        patient: SunTechPatient,
        send: Callable[[bytes], None] | None = None,
        *,
        seed: int | None = None,
        auto_start_every: int = 0,
        faults: FaultInjector | None = None,
        version: str = "LX3.08",
    ) -> None:
        self.patient = patient
        self.send = send or (lambda data: None)
        self.version = version
        self.faults = faults or FaultInjector(FaultSettings())
        self._rng = random.Random(seed)
        self._auto_every = auto_start_every
        self._buf = bytearray()
        self._phase = "idle"
        self._pressure = 0
        self._peak = 0
        self._by_host = False
        self._ticks = 0
        self._pending = b""
        self._result = result_frame(0, 0, 0, 0, 0, 0)  # no result since power-up
        self.starts = 0  # measurements started by host command

    def _reply(self, data: bytes) -> None:
        wire, faults = self.faults.apply(data)
        if faults:
            _LOGGER.debug("reply: injected %s", ", ".join(map(str, faults)))
        self.send(wire)

    def on_input(self, data: bytes) -> None:
        self._buf += data
        while self._buf:
            if self._buf[0] != 0x3A:
                del self._buf[0]  # noise between commands
                continue
            if len(self._buf) < 2:
                return
            size = _LENGTHS.get(self._buf[1])
            if size is None:
                del self._buf[:2]
                self._reply(status("N"))
                continue
            if len(self._buf) < size + 2:
                return
            cmd = bytes(self._buf[: size + 2])
            del self._buf[: size + 2]
            if sum(cmd) % 256:
                self._reply(status("D"))
            else:
                self._command(cmd[1:-1])

    def _command(self, cmd: bytes) -> None:
        if cmd[0] in _STARTS:
            if self._phase != "idle":
                self._reply(status("B"))
                return
            self.starts += 1
            self._begin(by_host=True)
            self._reply(status("O"))
        elif cmd == b"\x79\x01\x00":
            if self._phase != "idle":
                self._finish(error=0x56)
            self._reply(status("A"))
        elif cmd == b"\x79\x03\x00":
            self._reply(self._result)
        elif cmd == b"\x79\x05\x00":
            self._reply(frame(self._pressure.to_bytes(2, "little")))
        elif cmd == b"\x79\x02\x40":
            self._reply(frame(self.version.encode("ascii")))
        else:
            self._reply(status("N"))

    def _begin(self, *, by_host: bool) -> None:
        self._phase, self._by_host = "inflate", by_host
        self._peak = self.patient.sys + 30 + self._rng.randrange(10)

    def _finish(self, error: int) -> None:
        p = self.patient
        mean = round(p.dia + (p.sys - p.dia) / 3)
        if error:
            self._result = result_frame(0, 0, 0, 0, 0, error)
        else:
            beats = self._rng.randrange(20, 40)
            self._result = result_frame(p.sys, p.dia, mean, p.hr, beats, 0)
        self._phase, self._pressure = "idle", 0

    def tick(self) -> None:
        """One step of device time (the cuff moves; an operator may press start)."""
        self._ticks += 1
        if self._phase == "idle":
            if self._auto_every and self._ticks % self._auto_every == 0:
                self._begin(by_host=False)  # started on the host device, not by us
        elif self._phase == "inflate":
            self._pressure = min(self._peak, self._pressure + INFLATE_STEP)
            if self._pressure >= self._peak:
                self._phase = "deflate"
        else:
            self._pressure = max(0, self._pressure - DEFLATE_STEP)
            if self._pressure < 40:
                by_host = self._by_host
                self._finish(self.patient.error)
                if by_host:
                    self._pending = status("K")

    def next_frame(self) -> bytes | None:
        """Tick, and return an unsolicited frame ("K") if the measurement just ended."""
        self.tick()
        out, self._pending = self._pending, b""
        if out:
            out, _ = self.faults.apply(out)
        return out or None


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "suntech",
        help="SunTech Advantage OEM NIBP module (blood pressure, polled)",
        description=(
            "A SunTech Advantage OEM NIBP module answering host commands. One --rate tick "
            "moves the cuff one step; --auto-start-every N starts a measurement every N "
            "ticks as the module's host device would (no 'K' is sent for those)."
        ),
    )
    add_port_arguments(p)
    dev = p.add_argument_group("patient and device")
    dev.add_argument("--sys", type=int, default=120, help="systolic, mmHg")
    dev.add_argument("--dia", type=int, default=80, help="diastolic, mmHg")
    dev.add_argument("--hr", type=int, default=70, help="pulse rate, /min")
    dev.add_argument("--error", type=int, default=0, help="BP error code every measurement gives")
    dev.add_argument("--auto-start-every", type=int, default=0, metavar="TICKS")
    dev.add_argument("--seed", type=int, help="random seed, for repeatable runs")
    add_fault_arguments(p)
    p.set_defaults(run=_run)


async def _run(args: argparse.Namespace) -> int:
    patient = SunTechPatient(sys=args.sys, dia=args.dia, hr=args.hr, error=args.error)
    fault_seed = None if args.seed is None else args.seed + 1
    module = SunTechModule(
        patient,
        seed=args.seed,
        auto_start_every=args.auto_start_every,
        faults=FaultInjector(faults_from_args(args), fault_seed),
    )
    port = port_from_args(args)
    port.on_input = module.on_input
    module.send = port.write
    return await serve(port, module, plan_from_args(args), "suntech")
