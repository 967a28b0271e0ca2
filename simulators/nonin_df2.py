"""A Nonin OEM III module in serial Data Format #2, written from the protocol definition.

Source: shared/reference/serial-protocols.md §2. Each tick sends one packet: 25 frames of
``01 STATUS PLETH DATA CHK`` (CHK = sum of the first four bytes mod 256; STATUS bit 7
always set, bit 0 on frame 1 only), data bytes by frame index: 1/2 HR MSB/LSB, 3 SpO2,
4 firmware revision, 9 SpO2-D, 10 SpO2 fast, 11 SpO2 beat-to-beat, 14/15 E-HR, 16 E-SpO2,
17 E-SpO2-D, 20/21 HR-D, 22/23 E-HR-D, the rest reserved (0). Missing: HR 511, SpO2 127.
The device sends 3 packets a second (``--rate 3``). Must not import vitalsd or drivers.
"""

from __future__ import annotations

import argparse
import logging
import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from simulators.faults import FaultInjector, add_fault_arguments, faults_from_args
from simulators.serial_port import add_port_arguments, plan_from_args, port_from_args, serve

_LOGGER = logging.getLogger(__name__)

SNSD, ARTF, OOT, SNSA = 0x40, 0x20, 0x10, 0x08
PERF_GREEN = 0x02
SYNC = 0x01
HR_MISSING, SPO2_MISSING = 511, 127


def frame(status: int, pleth: int, data: int) -> bytes:
    body = bytes([0x01, 0x80 | status, pleth & 0xFF, data & 0xFF])
    return body + bytes([sum(body) & 0xFF])


def packet(spo2: int | None, hr: int | None, firmware: int, status: int, phase: float) -> bytes:
    """One 25-frame packet; ``status`` bits go into every frame, SYNC into frame 1."""
    s = SPO2_MISSING if spo2 is None else spo2
    h = HR_MISSING if hr is None else hr
    msb, lsb = (h >> 7) & 0x03, h & 0x7F
    data = [0] * 25
    data[0], data[1], data[2], data[3] = msb, lsb, s, firmware
    data[8] = data[9] = data[10] = s  # SpO2-D, fast, beat-to-beat
    data[13], data[14], data[15], data[16] = msb, lsb, s, s  # E-HR, E-SpO2, E-SpO2-D
    data[19], data[20], data[21], data[22] = msb, lsb, msb, lsb  # HR-D, E-HR-D
    out = bytearray()
    for i, d in enumerate(data):
        pleth = int(128 + 100 * math.sin(phase + i * 0.25))
        out += frame(status | (SYNC if i == 0 else 0), pleth, d)
    return bytes(out)


@dataclass(frozen=True, slots=True)
class NoninSettings:
    spo2: int = 97
    bpm: int = 72
    firmware: int = 48
    seed: int | None = None
    sensor_off_every: int = 0  # packets; 0: never
    sensor_off_for: int = 6

    def __post_init__(self) -> None:
        if not 50 <= self.spo2 <= 100:
            raise ValueError(f"SpO2 baseline {self.spo2}: expected 50 to 100 %")
        if not 25 <= self.bpm <= 300:
            raise ValueError(f"pulse baseline {self.bpm}: expected 25 to 300 /min")
        if not 0 <= self.firmware <= 255:
            raise ValueError(f"firmware revision {self.firmware}: expected 0 to 255")


@dataclass(frozen=True, slots=True)
class SentPacket:
    index: int
    spo2: int | None
    hr: int | None
    data: bytes
    wire: bytes
    faulted: bool


class NoninDf2Device:
    """Packets on a slow random walk; ``on_sent`` sees each packet and its wire bytes."""

    def __init__(
        self,
        settings: NoninSettings,
        faults: FaultInjector,
        on_sent: Callable[[SentPacket], None] | None = None,
    ) -> None:
        self.settings = settings
        self.faults = faults
        self.on_sent = on_sent
        self._rng = random.Random(settings.seed)
        self._index = 0
        self._spo2, self._hr = float(settings.spo2), float(settings.bpm)

    def next_frame(self) -> bytes | None:
        s, i = self.settings, self._index
        self._index += 1
        off = s.sensor_off_every > 0 and i >= s.sensor_off_every
        off = off and i % s.sensor_off_every < s.sensor_off_for
        if off:
            spo2, hr, status = None, None, SNSD | OOT
        else:
            self._spo2 += self._rng.gauss(0, 0.3) + 0.1 * (s.spo2 - self._spo2)
            self._hr += self._rng.gauss(0, 1.0) + 0.1 * (s.bpm - self._hr)
            spo2 = min(100, max(50, round(self._spo2)))
            hr = min(300, max(25, round(self._hr)))
            status = PERF_GREEN
        data = packet(spo2, hr, s.firmware, status, i * 1.3)
        wire, faults = self.faults.apply(data)
        if self.on_sent is not None:
            self.on_sent(SentPacket(i, spo2, hr, data, wire, bool(faults)))
        return wire


def fault_injector(args: argparse.Namespace) -> FaultInjector:
    # A separate seed stream for faults keeps a seeded run's values the same either way.
    return FaultInjector(faults_from_args(args), None if args.seed is None else args.seed + 1)


async def _run(args: argparse.Namespace) -> int:
    settings = NoninSettings(
        spo2=args.spo2,
        bpm=args.bpm,
        firmware=args.firmware,
        seed=args.seed,
        sensor_off_every=args.sensor_off_every,
        sensor_off_for=args.sensor_off_for,
    )
    device = NoninDf2Device(settings, fault_injector(args))
    return await serve(port_from_args(args), device, plan_from_args(args), "nonin-df2")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "nonin-df2",
        help="Nonin OEM III / Xpod serial Data Format #2 (pulse oximeter, binary)",
        description=(
            "A Nonin OEM III module in Data Format #2: one 25-frame packet per tick "
            "(the device sends 3 a second: --rate 3), faults applied per packet."
        ),
    )
    add_port_arguments(p)
    p.set_defaults(rate=3.0)
    dev = p.add_argument_group("device and patient")
    dev.add_argument("--spo2", type=int, default=97, help="SpO2 baseline, %% (default 97)")
    dev.add_argument("--bpm", type=int, default=72, help="pulse rate baseline, /min")
    dev.add_argument("--firmware", type=int, default=48, help="firmware revision byte")
    dev.add_argument("--seed", type=int, help="random seed, for repeatable runs")
    dev.add_argument(
        "--sensor-off-every", type=int, default=0, metavar="N", help="disconnect every N packets"
    )
    dev.add_argument("--sensor-off-for", type=int, default=6, metavar="N")
    add_fault_arguments(p)
    p.set_defaults(run=_run)
