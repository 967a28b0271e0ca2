"""Nonin OEM III module / Xpod, serial Data Format #2 (binary, 75 frames/s).

Source: shared/reference/serial-protocols.md §2 (Nonin "OEM III Module Specification",
as implemented and unit-tested in github:pez-globo/pufferfish-software, Nonin driver).

Each 5-byte frame is ``01 STATUS PLETH DATA CHK`` with CHK = sum of the first four bytes
mod 256; STATUS has bit 7 always set and bit 0 (SYNC) set only on frame 1 of a 25-frame
packet. The DATA byte's meaning depends on the frame's index in the packet, so a packet
is used only when all 25 frames arrived in order with no byte lost between them: one
dropped frame would shift every later index and read, say, an E-HR byte as SpO2.

Reported values are the *display* values, SpO2-D (frame 9) and HR-D (frames 20/21):
the 4-beat averages the Nonin spec formats for display, i.e. what the clinician sees on
the monitor, so the chart agrees with the screen. The beat-to-beat and "fast" variants
are for waveform-grade analysis and jump around; the 8-beat "E" values lag.

At 3 packets/s the device would flood the chart, so values are reported once every
``packets_per_report`` complete packets (default 3: once a second).
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import ClassVar

from pydantic import Field

from vitalsd.conditions import conditions_event
from vitalsd.driver import Decoder, Driver, DriverOptions
from vitalsd.framing import GapMarkingFramer
from vitalsd.links.base import SerialSettings
from vitalsd.model import (
    Condition,
    DeviceIdentity,
    DeviceKind,
    DriverReport,
    Flag,
    Measurement,
    Metric,
    Transport,
    Unit,
)

_LOGGER = logging.getLogger(__name__)

FRAME_LEN = 5
FRAMES_PER_PACKET = 25
START = 0x01

# STATUS bits
STATUS_ALWAYS = 0x80
SNSD = 0x40  # sensor disconnect
ARTF = 0x20  # artifact in this pulse
OOT = 0x10  # out of track: no consecutive good pulses
SNSA = 0x08  # sensor alarm: data unusable
PERFUSION_MASK = 0x06
PERF_GREEN, PERF_RED, PERF_YELLOW = 0x02, 0x04, 0x06
SYNC = 0x01

HR_MISSING = 511
SPO2_MISSING = 127

# Data-byte positions (0-based frame index in the packet).
IDX_FIRMWARE = 3
IDX_SPO2_D = 8
IDX_HR_D_MSB, IDX_HR_D_LSB = 19, 20

_INVALIDATING = frozenset({Condition.NO_SENSOR, Condition.PULSE_SEARCH, Condition.SENSOR_FAULT})


def match_frame(buf: bytes) -> int:
    """``FrameMatcher`` for one Data Format #2 frame (start byte, bit 7, checksum)."""
    if buf[0] != START:
        return -1
    if len(buf) < 2:
        return 0
    if not buf[1] & STATUS_ALWAYS:
        return -1
    if len(buf) < FRAME_LEN:
        return 0
    return FRAME_LEN if sum(buf[:4]) & 0xFF == buf[4] else -1


def hr_value(msb: int, lsb: int) -> int:
    return ((msb & 0x03) << 7) | (lsb & 0x7F)


class NoninDf2Options(DriverOptions):
    packets_per_report: int = Field(
        default=3,
        ge=1,
        le=300,
        description="report SpO2 and pulse once every N complete packets (3 packets = 1 s)",
    )


class NoninDf2Decoder(Decoder):
    def __init__(self, packets_per_report: int = 3) -> None:
        self._every = packets_per_report
        self._framer = GapMarkingFramer(match_frame)
        self._packet: list[bytes] | None = None
        self._since_report = packets_per_report  # so the first packet reports at once
        self._packets = 0
        self._broken = 0
        self._identity: DeviceIdentity | None = None
        self._conditions: frozenset[Condition] | None = None

    @property
    def errors(self) -> int:
        return self._framer.errors + self._broken

    def feed(self, data: bytes) -> list[DriverReport]:
        out: list[DriverReport] = []
        for frame, gap in self._framer.feed(data):
            out += self._frame(frame, gap)
        return out

    def _frame(self, frame: bytes, gap: bool) -> list[DriverReport]:
        if frame[1] & SYNC:
            if self._packet is not None:
                self._lost("packet cut short by a new SYNC frame")
            self._packet = [frame]
        elif self._packet is None:
            return []  # joined mid-packet: wait for the next SYNC
        elif gap:
            self._lost("bytes lost inside a packet")
            self._packet = None
            return []
        else:
            self._packet.append(frame)
        if len(self._packet) < FRAMES_PER_PACKET:
            return []
        packet, self._packet = self._packet, None
        return self._decode_packet(packet)

    def _lost(self, why: str) -> None:
        self._broken += 1
        _LOGGER.debug("Nonin packet dropped: %s", why)

    def _decode_packet(self, packet: list[bytes]) -> list[DriverReport]:
        self._packets += 1
        data = [f[3] for f in packet]
        status = 0
        for f in packet:
            status |= f[1]
        out: list[DriverReport] = []
        identity = DeviceIdentity(make="Nonin", firmware=str(data[IDX_FIRMWARE]))
        if identity != self._identity:
            self._identity = identity
            out.append(identity)
        conditions, flags = _status(status)
        if conditions != self._conditions:
            self._conditions = conditions
            out.append(conditions_event(conditions, invalidating=_INVALIDATING))
        self._since_report += 1
        if conditions & _INVALIDATING or self._since_report < self._every:
            return out
        self._since_report = 0
        group = f"nonin-df2-{self._packets}"
        spo2 = data[IDX_SPO2_D] & 0x7F
        hr = hr_value(data[IDX_HR_D_MSB], data[IDX_HR_D_LSB])
        if spo2 != SPO2_MISSING and spo2 <= 100:
            out.append(Measurement(Metric.SPO2, Decimal(spo2), Unit.PERCENT, None, flags, group))
        if hr != HR_MISSING:
            out.append(
                Measurement(
                    Metric.PULSE_RATE_OXIMETER, Decimal(hr), Unit.PER_MIN, None, flags, group
                )
            )
        return out


def _status(status: int) -> tuple[frozenset[Condition], frozenset[Flag]]:
    """Conditions and flags from the STATUS bits of any frame in the packet."""
    conditions: set[Condition] = set()
    flags: set[Flag] = set()
    if status & SNSD:
        conditions.add(Condition.NO_SENSOR)
    if status & OOT:
        conditions.add(Condition.PULSE_SEARCH)
    if status & SNSA:
        conditions.add(Condition.SENSOR_FAULT)
    if status & ARTF:
        flags.add(Flag.ARTIFACT)
    perfusion = status & PERFUSION_MASK
    if perfusion == PERF_RED:
        conditions.add(Condition.LOW_PERFUSION)
        flags.add(Flag.LOW_PERFUSION)
    elif perfusion == PERF_YELLOW:
        flags.add(Flag.LOW_SIGNAL_QUALITY)
    return frozenset(conditions), frozenset(flags)


class NoninDf2Driver(Driver):
    name: ClassVar[str] = "nonin_df2"
    summary: ClassVar[str] = "Nonin OEM III / Xpod, serial Data Format #2 (SpO2, pulse)"
    kinds: ClassVar[frozenset[DeviceKind]] = frozenset({DeviceKind.PULSE_OXIMETER})
    transports: ClassVar[frozenset[Transport]] = frozenset({Transport.SERIAL})
    serial_defaults: ClassVar[SerialSettings] = SerialSettings(
        baudrate=9600, bytesize=8, parity="N", stopbits=1
    )
    options_model: ClassVar[type[DriverOptions]] = NoninDf2Options

    @classmethod
    def new_decoder(cls, options: DriverOptions | None = None) -> Decoder:
        every = options.packets_per_report if isinstance(options, NoninDf2Options) else 3
        return NoninDf2Decoder(every)
