"""Contec CMS50D+ / CMS50E / CMS50F finger oximeters, both serial protocol generations.

Source: shared/reference/serial-protocols.md §10 (reverse-engineered; no vendor document).

* Old protocol (firmware ~4.x; ``contec``), github:atbrask/CMS50Dplus: 19200 baud, odd
  parity, streams 5-byte packets ~60/s; only byte 0 has bit 7 set (the sync bit).
* v7 protocol (``contec_v7``), github:timegrid/CMS50Dplus7 and github:headrotor/
  contec_data: 115200 8N1; the host must send "start real-time" and a keep-alive every
  ~5 s. Packet = type byte (bit 7 clear) + "high byte" carrying bit 7 of each payload
  byte + payload bytes with bit 7 forced on.

Neither generation has a checksum; a packet is used only when its sync/high-bit layout
is exact, and a value only when two consecutive packets agree on it, so one flipped bit
in a value byte cannot reach the chart on its own. Values are reported once every
``packets_per_report`` packets (the device sends ~60 a second).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from pydantic import Field

from vitalsd.conditions import conditions_event
from vitalsd.driver import Decoder, Driver, DriverOptions
from vitalsd.framing import BinaryFramer
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

if TYPE_CHECKING:
    from vitalsd.links.base import ByteLink

_LOGGER = logging.getLogger(__name__)

_INVALIDATING = frozenset({Condition.SENSOR_OFF, Condition.SENSOR_FAULT, Condition.PULSE_SEARCH})


@dataclass(frozen=True, slots=True)
class Sample:
    """What one real-time packet says, in either generation."""

    spo2: int | None
    pulse: int | None
    conditions: frozenset[Condition]
    spo2_flags: frozenset[Flag] = frozenset()


def match_old(buf: bytes) -> int:
    """Old protocol: sync byte (bit 7 set) then four bytes with bit 7 clear."""
    if not buf[0] & 0x80:
        return -1
    for i in range(1, min(len(buf), 5)):
        if buf[i] & 0x80:
            return -1
    return 5 if len(buf) >= 5 else 0


def decode_old(frame: bytes) -> Sample:
    b0, _pleth, b2, b3, b4 = frame
    conditions = set()
    if b0 & 0x10:
        conditions.add(Condition.SENSOR_OFF)  # finger out
    if b2 & 0x10:
        conditions.add(Condition.SENSOR_FAULT)  # probe error
    if b2 & 0x20:
        conditions.add(Condition.PULSE_SEARCH)
    pulse = ((b2 & 0x40) << 1) | (b3 & 0x7F)
    spo2 = b4 & 0x7F
    # 0 and all-ones are what the device sends with no finger (atbrask's decoder).
    return Sample(
        None if spo2 in (0, 0x7F) else spo2,
        None if pulse in (0, 0xFF) else pulse,
        frozenset(conditions),
    )


class ContecOptions(DriverOptions):
    packets_per_report: int = Field(
        default=60,
        ge=1,
        le=6000,
        description="report SpO2 and pulse once every N packets (about 60 packets = 1 s)",
    )


class ContecDecoder(Decoder):
    """Old-protocol decoder; ``ContecV7Decoder`` overrides framing and packet decoding."""

    def __init__(self, packets_per_report: int = 60) -> None:
        self._every = packets_per_report
        self._framer = BinaryFramer(self.match)
        self._previous: Sample | None = None
        self._since_report = packets_per_report  # the first agreeing pair reports at once
        self._packets = 0
        self._conditions: frozenset[Condition] | None = None
        self._identified = False

    @staticmethod
    def match(buf: bytes) -> int:
        return match_old(buf)

    def sample(self, frame: bytes) -> Sample | None:
        """The packet's real-time sample, or None for other packet types."""
        return decode_old(frame)

    @property
    def errors(self) -> int:
        return self._framer.errors

    def feed(self, data: bytes) -> list[DriverReport]:
        out: list[DriverReport] = []
        for frame in self._framer.feed(data):
            sample = self.sample(frame)
            if sample is not None:
                out += self._sample(sample)
        return out

    def _sample(self, s: Sample) -> list[DriverReport]:
        self._packets += 1
        out: list[DriverReport] = []
        if not self._identified:
            self._identified = True
            out.append(DeviceIdentity(make="Contec"))
        if s.conditions != self._conditions:
            self._conditions = s.conditions
            out.append(conditions_event(s.conditions, invalidating=_INVALIDATING))
        previous, self._previous = self._previous, s
        self._since_report += 1
        if s.conditions & _INVALIDATING or self._since_report < self._every:
            return out
        if previous is None or (previous.spo2, previous.pulse) != (s.spo2, s.pulse):
            return out  # wait for two packets in a row that agree
        self._since_report = 0
        group = f"contec-{self._packets}"
        if s.spo2 is not None and s.spo2 <= 100:
            out.append(
                Measurement(Metric.SPO2, Decimal(s.spo2), Unit.PERCENT, None, s.spo2_flags, group)
            )
        if s.pulse is not None:
            out.append(
                Measurement(Metric.PULSE_RATE_OXIMETER, Decimal(s.pulse), Unit.PER_MIN, group=group)
            )
        return out


class ContecDriver(Driver):
    name: ClassVar[str] = "contec"
    summary: ClassVar[str] = "Contec CMS50D+/E/F, old streaming protocol (SpO2, pulse)"
    kinds: ClassVar[frozenset[DeviceKind]] = frozenset({DeviceKind.PULSE_OXIMETER})
    transports: ClassVar[frozenset[Transport]] = frozenset({Transport.SERIAL})
    serial_defaults: ClassVar[SerialSettings] = SerialSettings(
        baudrate=19200, bytesize=8, parity="O", stopbits=1, xonxoff=True
    )
    options_model: ClassVar[type[DriverOptions]] = ContecOptions
    decoder_class: ClassVar[type[ContecDecoder]] = ContecDecoder

    @classmethod
    def new_decoder(cls, options: DriverOptions | None = None) -> Decoder:
        every = options.packets_per_report if isinstance(options, ContecOptions) else 60
        return cls.decoder_class(every)


# --- v7 -------------------------------------------------------------------------------

V7_LENGTHS = {0x01: 9, 0x04: 9, 0x7D: 9}  # type -> whole packet length (others: to next type)
V7_MAX = 9
TYPE_REALTIME = 0x01
TYPE_COMMAND = 0x7D  # host -> device, seen in captures of both directions


def v7_command(code: int) -> bytes:
    """A host command: type 7D, high byte, the code, padded to 9 bytes."""
    payload = [code] + [0] * 6
    high = 0x80 | sum(1 << i for i, b in enumerate(payload) if b & 0x80)
    return bytes([TYPE_COMMAND, high, *(b | 0x80 for b in payload)])


CMD_START_REALTIME = v7_command(0xA1)
CMD_STOP_REALTIME = v7_command(0xA2)
CMD_KEEPALIVE = v7_command(0xAF)


def match_v7(buf: bytes) -> int:
    if buf[0] & 0x80:
        return -1
    length = V7_LENGTHS.get(buf[0])
    for i in range(1, min(len(buf), length or V7_MAX + 1)):
        if not buf[i] & 0x80:
            if length is not None or i < 2:
                return -1
            return i  # unknown type: ends where the next type byte starts
    if length is not None:
        return length if len(buf) >= length else 0
    return -1 if len(buf) > V7_MAX else 0


def v7_payload(packet: bytes) -> bytes:
    high = packet[1]
    return bytes((b & 0x7F) | (0x80 if high & (1 << i) else 0) for i, b in enumerate(packet[2:]))


def decode_v7_realtime(packet: bytes) -> Sample:
    p = v7_payload(packet)
    conditions = set()
    if p[0] & 0x80:
        conditions.add(Condition.SENSOR_FAULT)  # probe error
    if p[0] & 0x10 or p[1] & 0x80:
        conditions.add(Condition.PULSE_SEARCH)
    flags = frozenset({Flag.ALARM_LOW}) if p[0] & 0x20 else frozenset()
    # PI (p[5..6]) is left out: its scale is not in the reference.
    return Sample(
        None if p[4] == 0x7F else p[4], None if p[3] == 0xFF else p[3], frozenset(conditions), flags
    )


class ContecV7Decoder(ContecDecoder):
    @staticmethod
    def match(buf: bytes) -> int:
        return match_v7(buf)

    def sample(self, frame: bytes) -> Sample | None:
        if frame[0] == TYPE_REALTIME:
            return decode_v7_realtime(frame)
        if frame[0] != TYPE_COMMAND:
            _LOGGER.debug("Contec v7 packet type %02X ignored", frame[0])
        return None


KEEPALIVE_S = 5.0


class ContecV7Driver(ContecDriver):
    name: ClassVar[str] = "contec_v7"
    summary: ClassVar[str] = "Contec CMS50D+/E/F, v7 protocol with start command (SpO2, pulse)"
    serial_defaults: ClassVar[SerialSettings] = SerialSettings(
        baudrate=115200, bytesize=8, parity="N", stopbits=1, xonxoff=True
    )
    decoder_class: ClassVar[type[ContecDecoder]] = ContecV7Decoder

    async def run(self, link: ByteLink) -> None:
        """Start the real-time stream, keep it alive, and read it like the old one."""
        await link.write(CMD_START_REALTIME)
        keepalive = asyncio.create_task(self._keep_alive(link), name="contec keep-alive")
        try:
            await super().run(link)
        finally:
            keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keepalive

    @staticmethod
    async def _keep_alive(link: ByteLink) -> None:
        while True:
            await asyncio.sleep(KEEPALIVE_S)
            # A start again, not only keep-alive: a device that reset meanwhile (or was
            # replugged behind a network serial server) resumes streaming.
            await link.write(CMD_KEEPALIVE + CMD_START_REALTIME)
