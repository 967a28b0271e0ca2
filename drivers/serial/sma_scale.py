"""SMA SCP-0499 standard scale protocol (Cardinal/Detecto, Rice Lake, Fairbanks, ...).

Source: shared/reference/serial-protocols.md §5 (SMA "Standard Scale Serial Communication
Protocol Levels #1 and #2", with the reply layout the Cardinal 190, Sartorius PR5220,
Fairbanks and B-Tek manuals agree on). The host polls ``<LF>W<CR>``; the scale answers

    <LF> s r n m f wwwwwwwwww uuu <CR>     e.g.  LF " 1G  " "     5.025" "lb " CR

(status, range, gross/tare/net, motion, reserved, 10-character weight, 3-character unit).
Unknown commands get ``<LF>?<CR>``; ``<LF>A<CR>``/``<LF>B<CR>`` return "about" records
(``SMA:``, ``MFG:``, ``MOD:``, ``REV:``).

A scale is polled many times while one patient stands on it, so the decoder turns replies
into weighings: a stable, error-free, non-zero gross weight (net only where the site
allows it) that repeats unchanged for ``stable_readings`` replies is ONE measurement, and
the next one needs the platform to come back to zero first. Motion, over/under capacity
and zero/tare errors never give a number. The protocol has no checksum, so every field
must have its documented shape or the whole reply is dropped.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from pydantic import Field

from vitalsd.driver import Decoder, Driver, DriverOptions
from vitalsd.errors import DeviceRejected, DeviceTimeout
from vitalsd.framing import BinaryFramer
from vitalsd.links.base import ByteLink, SerialSettings
from vitalsd.model import (
    Condition,
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

LF, CR = 0x0A, 0x0D
CMD_WEIGHT = b"\nW\r"
CMD_ABOUT_FIRST = b"\nA\r"
CMD_ABOUT_NEXT = b"\nB\r"
_MAX_MISSED = 3  # consecutive unanswered polls before the scale counts as gone
_MAX_FRAME = 64  # the longest reply is 20 bytes; about records are short text

_REPLY = re.compile(
    r"(?P<status>[ZOUETI ])(?P<range>[1-9])(?P<mode>[GTNgn])(?P<motion>[M ]) "
    r"(?P<weight>.{10})(?P<unit>lb |kg |oz |g  )"
)
# Right-justified, with an optional sign and decimal point: "     5.025", "    -12.40".
# Digits before and after the point, and no leading zero (the field is space-padded):
# ".025", "5." or "012.40" is a number that lost or gained a byte.
_WEIGHT = re.compile(r" *[-+]?(0|[1-9]\d*)(\.\d+)?")
_ABOUT = re.compile(r"(?P<key>[A-Z]{2,4}):(?P<value>[ -~]*)")

_UNITS = {"lb": Unit.LB, "kg": Unit.KG, "g": Unit.G}
# The model has no ounce. 1 oz = 1/16 lb exactly, and Decimal division by 16 is exact,
# so an infant scale set to ounces still reports its exact value, in pounds.
_OZ_PER_LB = Decimal(16)

_STATUS_TEXT = {
    "O": "over capacity",
    "U": "under capacity",
    "E": "zero error",
    "T": "tare error",
    "I": "invalid reading",
}
_ABOUT_FIELDS = {"MFG": "make", "MOD": "model", "REV": "firmware", "SN": "serial"}


class ReplyRejected(ValueError):
    """A frame that is not a well-formed SCP-0499 reply."""


@dataclass(frozen=True, slots=True)
class ScaleReply:
    """One weight reply, as the scale sent it. ``weight`` is None when dashed out."""

    status: str  # " " none, Z centre of zero, O/U capacity, E/T zero/tare error, I invalid
    range: int
    mode: str  # G gross, T tare, N net (g/n: high resolution)
    motion: bool
    weight: Decimal | None
    unit: str  # "lb", "kg", "oz", "g"


def parse_reply(frame: bytes) -> ScaleReply:
    """One reply without its LF and CR, or ``ReplyRejected``."""
    try:
        text = frame.decode("ascii")
    except UnicodeDecodeError:
        raise ReplyRejected("non-ASCII bytes") from None
    m = _REPLY.fullmatch(text)
    if m is None:
        raise ReplyRejected(f"not a weight reply: {text!r}")
    field = m["weight"]
    if field == "-" * 10:
        weight = None  # the scale's own "no weight" (E and T replies)
    elif _WEIGHT.fullmatch(field):
        weight = Decimal(field.strip())
    else:
        raise ReplyRejected(f"weight field malformed: {field!r}")
    if weight is None and m["status"] not in "ETIOU":
        raise ReplyRejected("dashed weight without an error status")
    return ScaleReply(
        m["status"], int(m["range"]), m["mode"], m["motion"] == "M", weight, m["unit"].strip()
    )


def match_frame(buf: bytes) -> int:
    """``FrameMatcher`` for LF ... CR frames (replies and about records)."""
    if buf[0] != LF:
        return -1
    end = buf.find(CR, 1, _MAX_FRAME)
    nested = buf.find(LF, 1, end if end > 0 else _MAX_FRAME)
    if nested > 0:
        return -1  # a frame cut short: resync at the next LF
    if end < 0:
        return 0 if len(buf) < _MAX_FRAME else -1
    return end + 1


def is_weight_reply(frame: bytes) -> bool:
    return frame == b"\n?\r" or _REPLY.fullmatch(frame[1:-1].decode("latin-1")) is not None


class SmaScaleOptions(DriverOptions):
    poll_interval: float = Field(default=0.5, gt=0, le=60, description="seconds between polls")
    reply_timeout: float = Field(default=2.0, gt=0, description="seconds to wait for a reply")
    stable_readings: int = Field(
        default=3, ge=1, le=100, description="identical stable replies that make a weighing"
    )
    allow_net: bool = Field(
        default=False, description="report net weights (after tare) as body weight"
    )


class SmaScaleDecoder(Decoder):
    def __init__(self, options: SmaScaleOptions | None = None) -> None:
        self.options = options or SmaScaleOptions()
        self._framer = BinaryFramer(match_frame, max_frame=_MAX_FRAME)
        self._rejected = 0
        self._armed = True  # a new weighing may start (the platform was empty)
        self._candidate: tuple[Decimal, str, str] | None = None
        self._repeats = 0
        self._status: str | None = None
        self._about: dict[str, str] = {}
        self._identity: DeviceIdentity | None = None
        self.weighings = 0

    @property
    def errors(self) -> int:
        return self._rejected + self._framer.errors

    def feed(self, data: bytes) -> list[DriverReport]:
        out: list[DriverReport] = []
        for frame in self._framer.feed(data):
            out += self.decode_frame(frame)
        return out

    def decode_frame(self, frame: bytes) -> list[DriverReport]:
        """Decode one whole LF ... CR frame."""
        body = frame[1:-1]
        if body == b"?":
            _LOGGER.debug("scale answered '?' (command not supported)")
            return []
        try:
            reply = parse_reply(body)
        except ReplyRejected as err:
            about = _ABOUT.fullmatch(body.decode("latin-1"))
            if about is not None:
                return self._about_record(about["key"], about["value"].strip())
            self._rejected += 1
            _LOGGER.debug("SMA reply rejected: %s", err)
            return []
        return self._reply(reply)

    def _about_record(self, key: str, value: str) -> list[DriverReport]:
        if key not in _ABOUT_FIELDS or not value:
            return []  # SMA:, END:, TYP:, CAP: ... say nothing about identity
        self._about[_ABOUT_FIELDS[key]] = value
        identity = DeviceIdentity(**self._about)
        if identity == self._identity:
            return []
        self._identity = identity
        return [identity]

    def _reply(self, reply: ScaleReply) -> list[DriverReport]:
        out: list[DriverReport] = []
        status = reply.status if reply.status in _STATUS_TEXT else " "
        if status != self._status:
            self._status = status
            out.append(_status_event(status))
        if reply.weight is None or reply.status in _STATUS_TEXT:
            self._candidate = None
            return out
        if reply.status == "Z" or reply.weight <= 0:
            self._armed = True  # platform empty: the next stable weight is a new weighing
            self._candidate = None
            return out
        if reply.motion or not self._armed:
            self._candidate = None
            return out
        net = reply.mode in "Nn"
        if reply.mode in "Tt" or (net and not self.options.allow_net):
            self._candidate = None
            return out
        key = (reply.weight, reply.unit, reply.mode)
        if key != self._candidate:
            self._candidate, self._repeats = key, 0
        self._repeats += 1
        if self._repeats < self.options.stable_readings:
            return out
        self._armed, self._candidate = False, None
        self.weighings += 1
        value, unit = reply.weight, reply.unit
        if unit == "oz":
            value, unit = value / _OZ_PER_LB, "lb"
        group = f"sma-weighing-{self.weighings}"
        out.append(Measurement(Metric.BODY_WEIGHT, value, _UNITS[unit], group=group))
        return out


def _status_event(status: str) -> DeviceEvent:
    if status == " ":
        return DeviceEvent("conditions", "all clear", EventSeverity.INFO)
    return DeviceEvent(
        "conditions",
        _STATUS_TEXT[status],
        EventSeverity.WARNING,
        frozenset({Condition.DEVICE_ERROR}),
        device_code=status,
    )


class SmaScaleDriver(Driver):
    name: ClassVar[str] = "sma_scale"
    summary: ClassVar[str] = (
        "SMA SCP-0499 standard scale protocol, polled (Cardinal/Detecto, Rice Lake, ...)"
    )
    kinds: ClassVar[frozenset[DeviceKind]] = frozenset({DeviceKind.SCALE})
    transports: ClassVar[frozenset[Transport]] = frozenset({Transport.SERIAL})
    # Vendor-configurable; 9600 8N1 is the common setting (reference §5).
    serial_defaults: ClassVar[SerialSettings] = SerialSettings(
        baudrate=9600, bytesize=8, parity="N", stopbits=1
    )
    options_model: ClassVar[type[DriverOptions]] = SmaScaleOptions
    # Read-only: "send displayed weight"; never zero or tare.
    probe_command: ClassVar[bytes] = CMD_WEIGHT

    @classmethod
    def new_decoder(cls, options: DriverOptions | None = None) -> SmaScaleDecoder:
        return SmaScaleDecoder(options if isinstance(options, SmaScaleOptions) else None)

    async def run(self, link: ByteLink) -> None:
        decoder = self.track(self.new_decoder(self.options))
        opts = decoder.options
        framer = BinaryFramer(match_frame, max_frame=_MAX_FRAME)
        channel = CommandChannel(link, framer.feed, on_unsolicited=lambda f: self._put(decoder, f))
        await self._identify(channel, decoder, opts.reply_timeout)
        missed = 0
        while True:
            try:
                frame = await channel.request(
                    CMD_WEIGHT,
                    accept=is_weight_reply,
                    timeout=opts.reply_timeout,
                    what="weight reply",
                )
            except DeviceTimeout:
                # One reply lost to noise is retried; a scale that stays silent is gone.
                missed += 1
                if missed >= _MAX_MISSED:
                    raise
                continue
            missed = 0
            if frame == b"\n?\r":
                raise DeviceRejected(f"{link.description} does not know the W command", "?")
            self._put(decoder, frame)
            await asyncio.sleep(opts.poll_interval)

    def _put(self, decoder: SmaScaleDecoder, frame: bytes) -> None:
        for report in decoder.decode_frame(frame):
            self.sink.put(report)

    async def _identify(
        self, channel: CommandChannel, decoder: SmaScaleDecoder, timeout: float
    ) -> None:
        """Read the about records once; a scale without them is still a scale."""
        command = CMD_ABOUT_FIRST
        for _ in range(16):  # about records are a short list; never loop on a chatty scale
            try:
                frame = await channel.request(
                    command, accept=_is_about, timeout=timeout, what="about record"
                )
            except DeviceTimeout:
                _LOGGER.info("%s: no about records; continuing without", channel.link.description)
                return
            if frame in (b"\n?\r", b"\nEND:\r"):
                return
            self._put(decoder, frame)
            command = CMD_ABOUT_NEXT


def _is_about(frame: bytes) -> bool:
    return frame == b"\n?\r" or _ABOUT.fullmatch(frame[1:-1].decode("latin-1")) is not None
