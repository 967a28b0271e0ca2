"""A Welch Allyn SureTemp Plus OEM module, written from the protocol definition.

Source: shared/reference/serial-protocols.md §3 (OEM Implementation Manual 71332-0000B).
Packets: ``03 02 10``, command code big-endian, type (01 command, 02 good response,
03 bad response), data size little-endian, data, two's-complement checksum.

The module answers every command. A packet with a bad checksum, an unknown command, or
a type other than 01 is answered with a bad response (type 03) for that code; the NAK
data layout (p.33) is not in the reference, so it carries no data here.

A measurement cycle runs on ticks: the probe leaves the well (state 2 ready), predicts
(3), shows the final (6) for a while, and goes back (0 idle). Must not import vitalsd.
"""

from __future__ import annotations

import argparse
import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass

from simulators.faults import FaultInjector, FaultSettings, add_fault_arguments, faults_from_args
from simulators.serial_port import add_port_arguments, plan_from_args, port_from_args, serve

_LOGGER = logging.getLogger(__name__)

PREAMBLE = b"\x03\x02\x10"
KELVIN_OFFSET = 273.15
_RECORD = struct.Struct("<ffIbbbh?b")  # p.36: 19 bytes
_ACKED = {0x2A12, 0x3503, 0x9434}  # set method, lock probe switch, enable async


def packet(code: int, kind: int, data: bytes = b"") -> bytes:
    body = PREAMBLE + code.to_bytes(2, "big") + bytes([kind]) + len(data).to_bytes(2, "little")
    body += data
    return body + bytes([(-sum(body)) % 256])


@dataclass(frozen=True, slots=True)
class SureTempSettings:
    celsius: float = 36.8  # the patient's temperature
    algorithm: int = 0  # 0 oral, 1 rectal, 2 pediatric axillary, 4 adult axillary
    serial: str = "0123456789"
    version: str = "7.5"
    measure_every: int = 40  # ticks from one probe removal to the next (0: never)
    predict_ticks: int = 8
    final_ticks: int = 10

    def __post_init__(self) -> None:
        if not 25.0 <= self.celsius <= 45.0:
            raise ValueError(f"--celsius {self.celsius}: expected 25 to 45")
        if self.algorithm not in (0, 1, 2, 4):
            raise ValueError(f"--algorithm {self.algorithm}: expected 0, 1, 2 or 4")
        if len(self.serial) > 10 or not self.serial.isalnum():
            raise ValueError("--serial: 1 to 10 letters or digits (11-byte ASCIIZ)")
        if self.measure_every and self.measure_every <= self.predict_ticks + self.final_ticks:
            raise ValueError("--measure-every must be longer than a measurement")


class SureTempModule:
    def __init__(
        self,
        settings: SureTempSettings,
        send: Callable[[bytes], None] | None = None,
        *,
        faults: FaultInjector | None = None,
    ) -> None:
        self.settings = settings
        self.send = send or (lambda data: None)
        self.faults = faults or FaultInjector(FaultSettings())
        self._buf = bytearray()
        self._ticks = 0
        self._samples = 0
        self.state = 0
        self.final = 0.0
        self.measurements = 0  # finals shown so far

    def _reply(self, data: bytes) -> None:
        wire, faults = self.faults.apply(data)
        if faults:
            _LOGGER.debug("reply: injected %s", ", ".join(map(str, faults)))
        self.send(wire)

    def on_input(self, data: bytes) -> None:
        self._buf += data
        while self._buf:
            if not PREAMBLE.startswith(bytes(self._buf[:3])):
                del self._buf[0]
                continue
            if len(self._buf) < 8:
                return
            size = int.from_bytes(self._buf[6:8], "little")
            if size > 64:
                del self._buf[0]
                continue
            if len(self._buf) < 9 + size:
                return
            pkt = bytes(self._buf[: 9 + size])
            del self._buf[: 9 + size]
            code = int.from_bytes(pkt[3:5], "big")
            if sum(pkt) % 256 or pkt[5] != 1:
                self._reply(packet(code, 3))
            else:
                self._command(code, pkt[8:-1])

    def _command(self, code: int, data: bytes) -> None:
        s = self.settings
        if code == 0x2900:
            self._reply(packet(code, 2, s.serial.encode().ljust(11, b"\0")))
        elif code == 0x2936:
            self._reply(packet(code, 2, s.version.encode() + b"\0"))
        elif code == 0x941C:
            self._reply(packet(code, 2, self.record()))
        elif code in _ACKED:
            self._reply(packet(code, 2))
        else:
            self._reply(packet(code, 3))

    def record(self) -> bytes:
        s = self.settings
        probe = KELVIN_OFFSET + (s.celsius if self.state in (3, 6) else 24.0)
        active = self.state != 0
        probe_type = 2 if s.algorithm == 1 else 0
        return _RECORD.pack(
            self.final, probe, self._samples, 0, s.algorithm, self.state, 0, active, probe_type
        )

    def tick(self) -> None:
        s = self.settings
        self._ticks += 1
        if self.state:
            self._samples += 1
        if not s.measure_every:
            return
        phase = self._ticks % s.measure_every
        if phase == 1:
            self.state, self.final = 2, 0.0  # probe out of the well
        elif phase == 2:
            self.state = 3
        elif phase == 2 + s.predict_ticks:
            self.state, self.final = 6, KELVIN_OFFSET + s.celsius
            self.measurements += 1
        elif phase == 2 + s.predict_ticks + s.final_ticks:
            self.state, self.final, self._samples = 0, 0.0, 0  # back in the well

    def next_frame(self) -> bytes | None:
        self.tick()
        return None  # the module never speaks unasked (async messages are off)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "suretemp",
        help="Welch Allyn SureTemp Plus OEM module (thermometer, polled)",
        description="A SureTemp Plus OEM module; one measurement every --measure-every ticks.",
    )
    add_port_arguments(p)
    dev = p.add_argument_group("patient and device")
    dev.add_argument("--celsius", type=float, default=36.8, help="patient temperature, °C")
    dev.add_argument("--algorithm", type=int, default=0, help="0 oral, 1 rectal, 2/4 axillary")
    dev.add_argument("--serial", default="0123456789", help="module serial number")
    dev.add_argument("--measure-every", type=int, default=40, metavar="TICKS")
    add_fault_arguments(p)
    p.set_defaults(run=_run)


async def _run(args: argparse.Namespace) -> int:
    settings = SureTempSettings(
        celsius=args.celsius,
        algorithm=args.algorithm,
        serial=args.serial,
        measure_every=args.measure_every,
    )
    module = SureTempModule(settings, faults=FaultInjector(faults_from_args(args)))
    port = port_from_args(args)
    port.on_input = module.on_input
    module.send = port.write
    return await serve(port, module, plan_from_args(args), "suretemp")
