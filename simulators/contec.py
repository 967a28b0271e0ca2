"""Contec CMS50D+/E/F finger oximeters, both protocol generations, from the reference.

Source: shared/reference/serial-protocols.md §10.
* ``--protocol old``: streams on its own, 5-byte packets; byte 0 has bit 7 set (sync):
  bits 0-3 signal, 0x10 finger out, 0x40 beep; byte 1 pleth; byte 2 bits 0-3 bar graph,
  0x10 probe error, 0x20 searching, 0x40 = PR bit 7; byte 3 PR bits 0-6; byte 4 SpO2.
* ``--protocol v7``: silent until the host sends "start real-time" (``7D 81 A1 80 ...``,
  9 bytes); then type-01 packets: type, high byte (0x80 | bit i = bit 7 of payload byte
  i), 7 payload bytes with bit 7 forced on. ``A2`` stops, ``AF`` keeps alive (the stream
  stops after --keepalive-timeout seconds without one), ``AA`` asks for the user name
  (type-04 reply). Malformed commands are ignored. Must not import vitalsd or drivers.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from simulators.faults import FaultInjector, add_fault_arguments
from simulators.nonin_df2 import fault_injector
from simulators.serial_port import add_port_arguments, plan_from_args, port_from_args, serve

CMD_LEN = 9


def old_packet(spo2: int | None, pr: int | None, pleth: int, finger_out: bool) -> bytes:
    s = 0x7F if spo2 is None else spo2
    p = 0xFF if pr is None else pr
    b0 = 0x80 | (0x10 if finger_out else 0x05)  # signal strength 5 with a finger in
    b2 = (0x20 if finger_out else 0x03) | (0x40 if p & 0x80 else 0)
    return bytes([b0, pleth & 0x7F, b2, p & 0x7F, s & 0x7F])


def v7_packet(kind: int, payload: bytes) -> bytes:
    high = 0x80 | sum(1 << i for i, b in enumerate(payload) if b & 0x80)
    return bytes([kind, high, *(b | 0x80 for b in payload)])


def v7_realtime(spo2: int | None, pr: int | None, pleth: int, searching: bool) -> bytes:
    status = 0x10 if searching else 0x05
    bar = 0x06 if not searching else 0x00
    payload = bytes(
        [
            status,
            (pleth & 0x7F) | (0x80 if searching else 0),
            bar,
            0xFF if pr is None else pr,
            0x7F if spo2 is None else spo2,
            0xFF,  # PI not measured: 0xFFFF
            0xFF,
        ]
    )
    return v7_packet(0x01, payload)


USER_INFO = v7_packet(0x04, b"user   ")


@dataclass(frozen=True, slots=True)
class ContecSettings:
    protocol: str = "old"
    spo2: int = 97
    bpm: int = 72
    seed: int | None = None
    finger_out_every: int = 0  # packets; 0: never
    finger_out_for: int = 60
    keepalive_timeout: float = 10.0  # v7: seconds; 0 = never stop

    def __post_init__(self) -> None:
        if self.protocol not in ("old", "v7"):
            raise ValueError(f"protocol {self.protocol!r}: expected old or v7")
        if not 50 <= self.spo2 <= 100:
            raise ValueError(f"SpO2 baseline {self.spo2}: expected 50 to 100 %")
        if not 25 <= self.bpm <= 250:
            raise ValueError(f"pulse baseline {self.bpm}: expected 25 to 250 /min")


@dataclass(frozen=True, slots=True)
class SentPacket:
    index: int
    spo2: int | None
    pr: int | None
    data: bytes
    wire: bytes
    faulted: bool


class ContecDevice:
    def __init__(
        self,
        settings: ContecSettings,
        faults: FaultInjector,
        on_sent: Callable[[SentPacket], None] | None = None,
    ) -> None:
        self.settings = settings
        self.faults = faults
        self.on_sent = on_sent
        self._rng = random.Random(settings.seed)
        self._index = 0
        self._spo2, self._pr = float(settings.spo2), float(settings.bpm)
        self.streaming = settings.protocol == "old"
        self._alive_at = 0.0
        self._input = bytearray()
        self._replies: list[bytes] = []
        self.commands: list[int] = []  # every well-formed command code received

    def on_input(self, data: bytes) -> None:
        """Host bytes (v7): find 9-byte commands, act on the ones that are well formed."""
        if self.settings.protocol != "v7":
            return
        self._input += data
        while True:
            start = self._input.find(0x7D)
            if start < 0:
                self._input.clear()
                return
            del self._input[:start]
            if len(self._input) < CMD_LEN:
                return
            cmd = bytes(self._input[:CMD_LEN])
            if not all(b & 0x80 for b in cmd[1:]):
                del self._input[:1]  # not a command: resync on the next 7D
                continue
            del self._input[:CMD_LEN]
            self._command((cmd[2] & 0x7F) | (0x80 if cmd[1] & 0x01 else 0))

    def _command(self, code: int) -> None:
        self.commands.append(code)
        now = time.monotonic()
        if code == 0xA1:
            self.streaming, self._alive_at = True, now
        elif code == 0xA2:
            self.streaming = False
        elif code == 0xAF:
            self._alive_at = now
        elif code == 0xAA:
            self._replies.append(USER_INFO)

    def next_frame(self) -> bytes | None:
        s = self.settings
        out = b"".join(self._replies)
        self._replies.clear()
        timeout = s.keepalive_timeout
        if s.protocol == "v7" and timeout and time.monotonic() - self._alive_at > timeout:
            self.streaming = False
        if not self.streaming:
            return out or None
        i = self._index
        self._index += 1
        off = s.finger_out_every > 0 and i >= s.finger_out_every
        off = off and i % s.finger_out_every < s.finger_out_for
        pleth = int(64 + 50 * math.sin(i * 0.2))
        spo2: int | None = None
        pr: int | None = None
        if not off:
            self._spo2 += self._rng.gauss(0, 0.05) + 0.01 * (s.spo2 - self._spo2)
            self._pr += self._rng.gauss(0, 0.15) + 0.01 * (s.bpm - self._pr)
            spo2 = min(100, max(50, round(self._spo2)))
            pr = min(250, max(25, round(self._pr)))
        if s.protocol == "old":
            data = old_packet(spo2, pr, pleth, off)
        else:
            data = v7_realtime(spo2, pr, pleth, off)
        wire, faults = self.faults.apply(data)
        if self.on_sent is not None:
            self.on_sent(SentPacket(i, spo2, pr, data, wire, bool(faults)))
        return out + wire


async def _run(args: argparse.Namespace) -> int:
    settings = ContecSettings(
        protocol=args.protocol,
        spo2=args.spo2,
        bpm=args.bpm,
        seed=args.seed,
        finger_out_every=args.finger_out_every,
        finger_out_for=args.finger_out_for,
        keepalive_timeout=args.keepalive_timeout,
    )
    device = ContecDevice(settings, fault_injector(args))
    port = port_from_args(args)
    port.on_input = device.on_input
    return await serve(port, device, plan_from_args(args), f"contec-{args.protocol}")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "contec",
        help="Contec CMS50D+/E/F finger oximeter (old streaming protocol or v7)",
        description=(
            "A Contec CMS50D+ sending one packet per tick (the device sends ~60 a second: "
            "--rate 60). With --protocol v7 it waits for the host's start command."
        ),
    )
    add_port_arguments(p)
    p.set_defaults(rate=60.0)
    dev = p.add_argument_group("device and patient")
    dev.add_argument("--protocol", choices=("old", "v7"), default="old")
    dev.add_argument("--spo2", type=int, default=97, help="SpO2 baseline, %% (default 97)")
    dev.add_argument("--bpm", type=int, default=72, help="pulse rate baseline, /min")
    dev.add_argument("--seed", type=int, help="random seed, for repeatable runs")
    dev.add_argument("--finger-out-every", type=int, default=0, metavar="N")
    dev.add_argument("--finger-out-for", type=int, default=60, metavar="N")
    dev.add_argument(
        "--keepalive-timeout", type=float, default=10.0, metavar="S", help="v7: 0 = never stop"
    )
    add_fault_arguments(p)
    p.set_defaults(run=_run)
