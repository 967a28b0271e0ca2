"""SunTech Advantage (and Advantage A+) OEM NIBP module, polled over a serial line.

Source: shared/reference/serial-protocols.md §4 (frames and commands from
github:ak-git/DesktopFX NIBPRequest.java / NIBPConverterTest.java; error codes from the
BLMed nPM SuntechProvider.cpp, facts only). 9600 8N1.

- host → module: ``:`` (0x3A) + command bytes + checksum, no length byte;
- module → host: ``>`` (0x3E) + total length (all bytes, start and checksum included)
  + data + checksum; checksum = 0x100 - (sum of the bytes before it), so every whole
  frame sums to 0 mod 256.

Replies: length 4 is one status letter ("O" received, "K" measurement done, ...),
length 5 the cuff pressure (u16 LE mmHg), length 0x18 the BP result. Anything else that
is printable text is the version string (its layout is not in the reference: we only
read the "LX" / "SB" model prefix from it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import ClassVar, Literal

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

HOST_START = 0x3A
MODULE_START = 0x3E
RESULT_LENGTH = 0x18
PRESSURE_LENGTH = 5
STATUS_LENGTH = 4


def checksum(data: bytes) -> int:
    """The byte that makes ``data`` + it sum to 0 mod 256."""
    return (0x100 - sum(data) % 256) % 256


def host_frame(command: bytes) -> bytes:
    """A complete host command: ``:`` + command + checksum."""
    body = bytes([HOST_START]) + command
    return body + bytes([checksum(body)])


START_ADULT = host_frame(b"\x20")
START_PEDIATRIC = host_frame(b"\x87")
START_NEONATAL = host_frame(b"\x28")
ABORT = host_frame(b"\x79\x01\x00")
GET_BP_DATA = host_frame(b"\x79\x03\x00")
GET_CUFF_PRESSURE = host_frame(b"\x79\x05\x00")
GET_VERSION = host_frame(b"\x79\x02\x40")
_STARTS = {"adult": START_ADULT, "pediatric": START_PEDIATRIC, "neonatal": START_NEONATAL}

# Status letters (reference §4). Only those that mean a measurement did not happen
# become events; the others are protocol chatter.
_STATUS_EVENTS = {
    ord("A"): ("bp_aborted", "measurement aborted", EventSeverity.WARNING),
    ord("E"): ("bp_module_error", "module reports an error", EventSeverity.ERROR),
    ord("T"): ("bp_module_timeout", "module reports a timeout", EventSeverity.WARNING),
    ord("D"): ("bp_command_rejected", "module could not read a command", EventSeverity.WARNING),
    ord("N"): ("bp_command_rejected", "module does not know a command", EventSeverity.WARNING),
}

# BP error codes (BLMed source). Its second table (0x85..0x99) disagrees with this one:
# any non-zero code is a failure and is reported verbatim either way.
BP_ERRORS = {
    0x01: "weak signal",
    0x02: "erratic signal or artifact",
    0x03: "out of range",
    0x04: "measurement timeout",
    0x55: "pneumatic blockage",
    0x56: "aborted by user",
    0x57: "inflate timeout, leak or loose cuff",
    0x58: "safety timeout",
    0x59: "cuff overpressure",
    0x5A: "power or hardware fault",
    0x5B: "permission or auto-zero fault",
    0x61: "transducer out of range",
    0x63: "EEPROM calibration failure",
}


def match_frame(buf: bytes) -> int:
    """``FrameMatcher`` for module → host frames."""
    if buf[0] != MODULE_START:
        return -1
    if len(buf) < 2:
        return 0
    length = buf[1]
    if length < STATUS_LENGTH:
        return -1
    if len(buf) < length:
        return 0
    return length if sum(buf[:length]) % 256 == 0 else -1


def cuff_pressure(frame: bytes) -> int | None:
    """The cuff pressure in mmHg of a pressure reply, else None."""
    if len(frame) != PRESSURE_LENGTH:
        return None
    return int.from_bytes(frame[2:4], "little")


def status_letter(frame: bytes) -> str | None:
    return chr(frame[2]) if len(frame) == STATUS_LENGTH else None


def _version(frame: bytes) -> str | None:
    text = frame[2:-1].rstrip(b"\0")
    if not text or not all(0x20 <= b < 0x7F for b in text):
        return None
    return text.decode("ascii").strip()


def _identity(version: str) -> DeviceIdentity:
    model = {"LX": "Advantage", "SB": "Advantage A+"}.get(version[:2])
    return DeviceIdentity(make="SunTech", model=model, firmware=version)


def _uuid_groups() -> Iterator[str]:
    while True:
        yield uuid.uuid4().hex[:16]


def parse_result(frame: bytes, group: str) -> list[DriverReport]:
    """The reports of a 24-byte BP result: four values, or one ``bp_error`` event."""
    sys_ = int.from_bytes(frame[2:4], "little")
    dia = int.from_bytes(frame[4:6], "little")
    hr = frame[16]
    mean = int.from_bytes(frame[18:20], "little")
    error = frame[20]
    if error:
        text = BP_ERRORS.get(error, "unknown error code")
        return [
            DeviceEvent(
                "bp_error",
                f"blood pressure failed: {text} (code 0x{error:02X})",
                EventSeverity.ERROR,
                device_code=f"0x{error:02X}",
            )
        ]
    if not (sys_ and dia and mean):
        # No error code, yet no pressures: the module has no result (e.g. after a
        # reset). Zeros are not a blood pressure.
        return [DeviceEvent("bp_no_result", "module has no blood-pressure result")]
    values = [
        (Metric.BP_SYSTOLIC, sys_, Unit.MMHG),
        (Metric.BP_DIASTOLIC, dia, Unit.MMHG),
        (Metric.BP_MEAN, mean, Unit.MMHG),
        (Metric.PULSE_RATE_NIBP, hr, Unit.PER_MIN),
    ]
    return [Measurement(metric, Decimal(v), unit, group=group) for metric, v, unit in values if v]


class SunTechDecoder(Decoder):
    """Module → host frames to reports (results, failure events, identity).

    ``groups`` names each result's group (default: random ids; tests pass a counter).
    """

    def __init__(self, groups: Iterator[str] | None = None) -> None:
        self.framer = BinaryFramer(match_frame, max_frame=256)
        self._groups = groups or _uuid_groups()
        self._identity: DeviceIdentity | None = None

    @property
    def errors(self) -> int:
        return self.framer.errors

    def feed(self, data: bytes) -> list[DriverReport]:
        out: list[DriverReport] = []
        for frame in self.framer.feed(data):
            out += self.frame(frame)
        return out

    def frame(self, frame: bytes) -> list[DriverReport]:
        """Reports of one whole, checked frame."""
        if len(frame) == RESULT_LENGTH:
            return parse_result(frame, next(self._groups))
        if len(frame) == PRESSURE_LENGTH:
            return []  # cuff pressure during a measurement is not a vital sign
        if len(frame) == STATUS_LENGTH:
            event = _STATUS_EVENTS.get(frame[2])
            if event is None:
                return []
            code, message, severity = event
            return [DeviceEvent(code, message, severity, device_code=chr(frame[2]))]
        version = _version(frame)
        if version is None:
            _LOGGER.debug("SunTech frame of %d bytes not understood", len(frame))
            return []
        identity = _identity(version)
        if identity == self._identity:
            return []
        self._identity = identity
        return [identity]


class SunTechOptions(DriverOptions):
    mode: Literal["watch", "start"] = Field(
        default="watch",
        description=(
            "watch: only read results of measurements started elsewhere (never inflates "
            "the cuff); start: start a measurement at connect and every start_interval s"
        ),
    )
    patient: Literal["adult", "pediatric", "neonatal"] = "adult"
    start_interval: float = Field(default=900.0, ge=30, description="seconds between starts")
    poll_interval: float = Field(default=1.0, gt=0, le=10, description="cuff-pressure polls")
    reply_timeout: float = Field(default=2.0, gt=0, description="seconds to wait for a reply")
    measuring_threshold: int = Field(
        default=10, ge=1, description="mmHg above which the cuff counts as in use"
    )
    measurement_timeout: float = Field(default=180.0, gt=0, description="longest measurement")


def _is_status(*letters: str) -> Callable[[bytes], bool]:
    return lambda frame: status_letter(frame) in letters


class SunTechAdvantageDriver(Driver):
    """Polls the module; see ``SunTechOptions.mode``.

    "watch" is the default because a driver that inflates a cuff on its own can hurt a
    patient who is not expecting it; the module then is started by its host device (or
    by a measurement the operator starts), and we see that as the cuff pressure rising
    and falling, or as the module's "K", and fetch the result once it is over.
    """

    name: ClassVar[str] = "suntech_advantage"
    summary: ClassVar[str] = "SunTech Advantage / A+ OEM NIBP module (blood pressure, polled)"
    kinds: ClassVar[frozenset[DeviceKind]] = frozenset({DeviceKind.BLOOD_PRESSURE})
    transports: ClassVar[frozenset[Transport]] = frozenset({Transport.SERIAL})
    serial_defaults: ClassVar[SerialSettings] = SerialSettings(
        baudrate=9600, bytesize=8, parity="N", stopbits=1
    )
    options_model: ClassVar[type[DriverOptions]] = SunTechOptions
    # Read-only: asks for the version string; never starts or aborts a measurement.
    probe_command: ClassVar[bytes] = GET_VERSION

    @classmethod
    def new_decoder(cls, options: DriverOptions | None = None) -> Decoder:
        return SunTechDecoder()

    async def run(self, link: ByteLink) -> None:
        opts = self.options
        assert isinstance(opts, SunTechOptions)
        decoder = self.track(SunTechDecoder())
        done = asyncio.Event()

        def unsolicited(frame: bytes) -> None:
            if status_letter(frame) == "K":
                done.set()  # the module finished a measurement
            else:
                self._put(decoder.frame(frame))

        channel = CommandChannel(link, decoder.framer.feed, on_unsolicited=unsolicited)
        try:
            reply = await channel.request(
                GET_VERSION, accept=lambda f: _version(f) is not None, timeout=opts.reply_timeout
            )
            self._put(decoder.frame(reply))
        except DeviceTimeout:
            _LOGGER.info("SunTech module sent no version string; identity unknown")
            self.sink.put(DeviceIdentity(make="SunTech"))
        loop = asyncio.get_running_loop()
        next_start = loop.time() if opts.mode == "start" else None
        try:
            await self._loop(channel, decoder, opts, done, next_start)
        finally:
            if opts.mode == "start":
                # Never leave a cuff we inflated pumped up behind us (shutdown, error).
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    async with asyncio.timeout(1.0):
                        await link.write(ABORT)

    async def _loop(
        self,
        channel: CommandChannel,
        decoder: SunTechDecoder,
        opts: SunTechOptions,
        done: asyncio.Event,
        next_start: float | None,
    ) -> None:
        loop = asyncio.get_running_loop()
        started_at: float | None = None  # when the cuff was last seen in use
        while True:
            if next_start is not None and started_at is None and loop.time() >= next_start:
                await self._start(channel, opts)
                started_at = loop.time()
                next_start = loop.time() + opts.start_interval
            pressure = await self._pressure(channel, opts)
            if pressure >= opts.measuring_threshold and started_at is None:
                started_at = loop.time()
            finished = done.is_set() or (
                started_at is not None and pressure < opts.measuring_threshold
            )
            if started_at is not None and finished:
                done.clear()
                started_at = None
                await self._fetch_result(channel, decoder, opts)
            elif started_at is not None and loop.time() - started_at > opts.measurement_timeout:
                raise DeviceTimeout(f"measurement not over after {opts.measurement_timeout:g} s")
            await asyncio.sleep(opts.poll_interval)

    def _put(self, reports: list[DriverReport]) -> None:
        for report in reports:
            self.sink.put(report)

    async def _start(self, channel: CommandChannel, opts: SunTechOptions) -> None:
        reply = await channel.request(
            _STARTS[opts.patient],
            accept=_is_status("O", "B", "E", "N", "D"),
            timeout=opts.reply_timeout,
            what="answer to start",
        )
        letter = status_letter(reply)
        if letter != "O":
            _LOGGER.warning("SunTech module refused to start a measurement (%s)", letter)
        _LOGGER.info("SunTech %s measurement started", opts.patient)

    async def _pressure(self, channel: CommandChannel, opts: SunTechOptions) -> int:
        reply = await channel.request(
            GET_CUFF_PRESSURE,
            accept=lambda f: cuff_pressure(f) is not None,
            timeout=opts.reply_timeout,
            what="cuff pressure",
        )
        pressure = cuff_pressure(reply)
        assert pressure is not None
        return pressure

    async def _fetch_result(
        self, channel: CommandChannel, decoder: SunTechDecoder, opts: SunTechOptions
    ) -> None:
        reply = await channel.request(
            GET_BP_DATA,
            accept=lambda f: len(f) == RESULT_LENGTH,
            timeout=opts.reply_timeout,
            what="BP result",
        )
        self._put(decoder.frame(reply))
