"""Welch Allyn SureTemp Plus OEM thermometry module, polled over a serial line.

Source: shared/reference/serial-protocols.md §3 (OEM Implementation Manual 71332-0000B,
ch. 8, pp.30-65). 9600 8N1; the host is master and the module answers every command.

Packet (both directions): ``03 02 10`` preamble, command code (2 bytes, big-endian),
type (01 command, 02 good response, 03 bad response/NAK), data size (2 bytes,
little-endian), data, checksum (two's complement of the byte sum: the packet sums to 0).

The 19-byte temperature record (941C) carries the final temperature in kelvin as a
float32; 0.0 means "no final yet". Only a final state (6, 7) with a final above zero is
a reading; it is reported once per measurement, not on every poll that shows it.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from decimal import Decimal
from typing import ClassVar

from pydantic import Field

from vitalsd.driver import Decoder, Driver, DriverOptions
from vitalsd.errors import DeviceTimeout
from vitalsd.framing import BinaryFramer
from vitalsd.links.base import ByteLink, SerialSettings
from vitalsd.model import (
    DeviceEvent,
    DeviceIdentity,
    DeviceKind,
    DriverReport,
    EventSeverity,
    Measurement,
    Metric,
    Transport,
    Unit,
)
from vitalsd.transaction import CommandChannel

_LOGGER = logging.getLogger(__name__)

PREAMBLE = b"\x03\x02\x10"
HEADER = 8  # preamble, code, type, size
MAX_DATA = 64  # largest documented record is 33 bytes; more is a corrupt size field
TYPE_COMMAND, TYPE_GOOD, TYPE_BAD = 1, 2, 3

CMD_SERIAL = 0x2900
CMD_VERSION = 0x2936
CMD_TEMP = 0x941C
TEMP_RECORD = struct.Struct("<ffIbbbh?b")  # 19 bytes, p.36

STATE_FINAL = frozenset({6, 7})
STATE_OVER = frozenset({8, 9})
STATE_UNDER = frozenset({10, 11})
STATE_ERROR = 20
# Algorithm → site (0 oral, 1 rectal, 2 pediatric axillary, 4 adult axillary; 3 is the
# calibration key, never a patient).
_SITES = {
    0: Metric.TEMP_ORAL,
    1: Metric.TEMP_RECTAL,
    2: Metric.TEMP_AXILLARY,
    4: Metric.TEMP_AXILLARY,
}
PROBE_NONE = 3


def checksum(data: bytes) -> int:
    return (-sum(data)) % 256


def packet(code: int, kind: int, data: bytes = b"") -> bytes:
    """A whole packet with its checksum."""
    body = PREAMBLE + code.to_bytes(2, "big") + bytes([kind]) + len(data).to_bytes(2, "little")
    body += data
    return body + bytes([checksum(body)])


def command(code: int, data: bytes = b"") -> bytes:
    return packet(code, TYPE_COMMAND, data)


def match_packet(buf: bytes) -> int:
    """``FrameMatcher`` for packets in either direction."""
    head = buf[: len(PREAMBLE)]
    if head != PREAMBLE[: len(head)]:
        return -1
    if len(buf) > 5 and buf[5] not in (TYPE_COMMAND, TYPE_GOOD, TYPE_BAD):
        return -1
    if len(buf) < HEADER:
        return 0
    size = int.from_bytes(buf[6:8], "little")
    if size > MAX_DATA:
        return -1
    total = HEADER + size + 1
    if len(buf) < total:
        return 0
    return total if sum(buf[:total]) % 256 == 0 else -1


def code_of(frame: bytes) -> int:
    return int.from_bytes(frame[3:5], "big")


def _asciiz(data: bytes) -> str | None:
    text = data.split(b"\0", 1)[0]
    try:
        value = text.decode("ascii").strip()
    except UnicodeDecodeError:
        return None
    return value if value and value.isprintable() else None


class SureTempDecoder(Decoder):
    """Module → host packets to readings, events and identity. Host packets are skipped."""

    def __init__(self) -> None:
        self.framer = BinaryFramer(match_packet, max_frame=HEADER + MAX_DATA + 1)
        self._identity = DeviceIdentity(make="Welch Allyn", model="SureTemp Plus module")
        self._identity_sent = False
        self._reported = False  # this measurement's final reading went out already
        self._state: int | None = None

    @property
    def errors(self) -> int:
        return self.framer.errors

    def feed(self, data: bytes) -> list[DriverReport]:
        out: list[DriverReport] = []
        for frame in self.framer.feed(data):
            out += self.frame(frame)
        return out

    def frame(self, frame: bytes) -> list[DriverReport]:
        kind, code, data = frame[5], code_of(frame), frame[HEADER:-1]
        if kind == TYPE_COMMAND:
            return []
        if kind == TYPE_BAD:
            return [
                DeviceEvent(
                    "command_rejected",
                    f"module refused command {code:04X}",
                    EventSeverity.WARNING,
                    device_code=f"{code:04X}",
                )
            ]
        if code == CMD_SERIAL:
            return self._merge(serial=_asciiz(data))
        if code == CMD_VERSION:
            return self._merge(firmware=_asciiz(data))
        if code == CMD_TEMP and len(data) == TEMP_RECORD.size:
            return self._record(data)
        return []  # acknowledgements, and the 33-byte record whose layout we lack

    def _merge(self, **fields: str | None) -> list[DriverReport]:
        current = self._identity
        new = DeviceIdentity(
            make=current.make,
            model=current.model,
            serial=fields.get("serial", current.serial),
            firmware=fields.get("firmware", current.firmware),
        )
        if new == current and self._identity_sent:
            return []
        self._identity, self._identity_sent = new, True
        return [new]

    def _record(self, data: bytes) -> list[DriverReport]:
        final, _probe, _count, _method, algorithm, state, error, _active, probe = (
            TEMP_RECORD.unpack(data)
        )
        out: list[DriverReport] = []
        if not self._identity_sent:
            out += self._merge()
        previous, self._state = self._state, state
        if state not in STATE_FINAL and state not in STATE_OVER | STATE_UNDER:
            self._reported = False  # a new measurement may begin
        if self._reported:
            return out
        if state == STATE_ERROR and previous != STATE_ERROR:
            out.append(
                DeviceEvent(
                    "temp_error",
                    f"thermometer error {error}",
                    EventSeverity.ERROR,
                    device_code=str(error),
                )
            )
        elif state in STATE_OVER | STATE_UNDER:
            self._reported = True
            word = "above" if state in STATE_OVER else "below"
            out.append(
                DeviceEvent(
                    "temp_out_of_range",
                    f"temperature {word} the measurable range",
                    EventSeverity.WARNING,
                    device_code=f"state {state}",
                )
            )
        elif state in STATE_FINAL and final > 0:
            self._reported = True
            site = _SITES.get(algorithm)
            if site is None or probe == PROBE_NONE:
                out.append(DeviceEvent("temp_not_patient", "calibration key or no probe"))
            else:
                # float32 carries ~7 digits: 307.37 arrives as 307.369995...; the
                # module resolves 0.01 K at best, so round there.
                value = Decimal(f"{final:.2f}")
                out.append(Measurement(site, value, Unit.KELVIN))
        return out


class SureTempOptions(DriverOptions):
    poll_interval: float = Field(default=1.0, gt=0, le=10, description="seconds between polls")
    reply_timeout: float = Field(default=1.0, gt=0, description="seconds to wait for a reply")


class SureTempModuleDriver(Driver):
    """Asks for serial number and version once, then polls the temperature record.

    Nothing is configured on the module (method, probe lock): the thermometer stays as
    its host device set it up; the driver only reads.
    """

    name: ClassVar[str] = "suretemp_module"
    summary: ClassVar[str] = "Welch Allyn SureTemp Plus OEM module (thermometer, polled)"
    kinds: ClassVar[frozenset[DeviceKind]] = frozenset({DeviceKind.THERMOMETER})
    transports: ClassVar[frozenset[Transport]] = frozenset({Transport.SERIAL})
    serial_defaults: ClassVar[SerialSettings] = SerialSettings(
        baudrate=9600, bytesize=8, parity="N", stopbits=1
    )
    options_model: ClassVar[type[DriverOptions]] = SureTempOptions
    # Read-only: "send module software version" (2936); changes nothing on the module.
    probe_command: ClassVar[bytes] = command(CMD_VERSION, b"\x02")

    @classmethod
    def new_decoder(cls, options: DriverOptions | None = None) -> Decoder:
        return SureTempDecoder()

    async def run(self, link: ByteLink) -> None:
        opts = self.options
        assert isinstance(opts, SureTempOptions)
        decoder = self.track(SureTempDecoder())
        channel = CommandChannel(link, decoder.framer.feed)

        async def ask(code: int, data: bytes = b"", what: str = "reply") -> None:
            reply = await channel.request(
                command(code, data),
                accept=lambda f: code_of(f) == code and f[5] != TYPE_COMMAND,
                timeout=opts.reply_timeout,
                what=what,
            )
            for report in decoder.frame(reply):
                self.sink.put(report)

        for code, data, what in (
            (CMD_SERIAL, b"", "serial number"),
            (CMD_VERSION, b"\x02", "version"),
        ):
            try:
                await ask(code, data, what)
            except DeviceTimeout:
                _LOGGER.info("SureTemp module did not answer the %s request", what)
        while True:
            await ask(CMD_TEMP, what="temperature record")
            await asyncio.sleep(opts.poll_interval)
