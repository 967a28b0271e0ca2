"""Datascope (now Mindray) Accutorr 3 PC interface: NIBP and SpO2, polled in ASCII.

Source: shared/reference/serial-protocols.md §9 (Accutorr 3 service manual pp.1-37,
1-52, 1-53). 8N1 plain ASCII, no checksum; the baud rate is chosen in the monitor's
User Configuration menu (9600 here by default; the choices are not in the reference).

At power-up the monitor sends ``ACCUTORR PC Interface is ready`` and a ``>`` prompt.
Single-letter commands: ``P`` patient data, ``L`` alarm limits, ``C`` a new prompt.
The ``P`` reply, comma-separated, unused fields ``--``, space- or zero-padded:

    P:--,85,120, 45, 80,000,010,000, 5
      SpO2, pulse, systolic, mean, diastolic, status 0, status 1, status 2, minutes
      since the last NIBP

With no checksum a record is used only when all nine fields have their documented
shape, and an NIBP only when its mean lies between its diastolic and systolic: the
manual's example above does not (mean 45, diastolic 80), so the documented order of
those two fields is in doubt and an inconsistent reply is reported, never charted.
The NIBP stays on the screen (and in every reply) until the next one: it is
reported when it first appears and when it changes, and an NIBP already older than
``max_nibp_age`` minutes when first seen is not reported (its time is unknown).
The status-byte bit tables are not in the reference: they are reported verbatim, as an
event when they change, never interpreted.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import ClassVar

from pydantic import Field

from vitalsd.driver import Decoder, Driver, DriverOptions
from vitalsd.framing import LineFramer
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

BANNER = b"ACCUTORR PC Interface is ready"
PROMPT = b">"
# Field widths, from the manual's example "P:--,85,120, 45, 80,000,010,000, 5": SpO2 and
# pulse printed as they are ("85", never " 85"; a single digit padded to 2 at most), the
# three NIBP values right-justified in 3 ("120", " 45", " 80"), status bytes 3 digits,
# minutes right-justified in 2 (" 5"); "--" when unused. The manual's text speaks of
# 3-digit fields, so zero-padded 3-digit numbers ("085") are accepted too. The reply has
# no checksum, so these widths are its only guard: a byte lost inside " 45" leaves " 5"
# or "45", which the widths reject, as they reject a 2-character number with a leading
# zero ("100" -> "00"). A lost digit that leaves another well-formed number ("100" ->
# "10") cannot be detected.
_WIDE2 = re.compile(r"--| \d|[1-9]\d{1,2}|\d{3}")  # SpO2, pulse, minutes: 2 wide or more
_WIDE3 = re.compile(r"--|  \d| [1-9]\d|\d{3}")  # systolic, mean, diastolic: 3 wide
_STATUS = re.compile(r"\d{3}")
_LAYOUT = (_WIDE2, _WIDE2, _WIDE3, _WIDE3, _WIDE3, _STATUS, _STATUS, _STATUS, _WIDE2)
FIELDS = 9


class RecordRejected(ValueError):
    """A ``P:`` line that is not a complete, well-formed record."""


def split_lines(framer: LineFramer, data: bytes) -> list[bytes]:
    """Lines, with the prompt (which has no line end) as a line of its own."""
    return framer.feed(data.replace(PROMPT, b"\n>\n"))


def parse_patient(line: bytes) -> list[int | None]:
    """The nine fields of a ``P:`` line (None for ``--``), or ``RecordRejected``."""
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError:
        raise RecordRejected("non-ASCII bytes") from None
    if not text.startswith("P:"):
        raise RecordRejected("not a P: record")
    parts = text[2:].rstrip(" ").split(",")
    if len(parts) != FIELDS:
        raise RecordRejected(f"{len(parts)} fields, expected {FIELDS}")
    values: list[int | None] = []
    for i, (part, layout) in enumerate(zip(parts, _LAYOUT, strict=True)):
        if not layout.fullmatch(part):
            raise RecordRejected(f"field {i + 1} malformed: {part!r}")
        values.append(None if part == "--" else int(part))
    if values[0] is not None and values[0] > 100:
        raise RecordRejected(f"SpO2 {values[0]} above 100")
    return values


def _uuid_groups() -> Iterator[str]:
    while True:
        yield uuid.uuid4().hex[:16]


class Accutorr3Decoder(Decoder):
    def __init__(self, max_nibp_age: int = 5, groups: Iterator[str] | None = None) -> None:
        self.framer = LineFramer(max_line=256)
        self._max_age = max_nibp_age
        self._groups = groups or _uuid_groups()
        self._rejected = 0
        self._identity_sent = False
        self._nibp: tuple[int | None, ...] | None = None
        self._minutes: int | None = None
        self._status: str | None = None

    @property
    def errors(self) -> int:
        return self._rejected + self.framer.overruns

    def feed(self, data: bytes) -> list[DriverReport]:
        out: list[DriverReport] = []
        for line in split_lines(self.framer, data):
            out += self.line(line)
        return out

    def flush(self) -> list[DriverReport]:
        out: list[DriverReport] = []
        for line in self.framer.flush():
            out += self.line(line)
        return out

    def line(self, line: bytes) -> list[DriverReport]:
        if line.strip() == BANNER:
            return self._identity()
        if not line.startswith(b"P:"):
            return []  # prompts, alarm limits (L:), echo
        try:
            fields = parse_patient(line)
        except RecordRejected as err:
            self._rejected += 1
            _LOGGER.debug("Accutorr record rejected: %s", err)
            return []
        return self._identity() + self._record(fields)

    def _identity(self) -> list[DriverReport]:
        if self._identity_sent:
            return []
        self._identity_sent = True
        return [DeviceIdentity(make="Datascope", model="Accutorr 3")]

    def _record(self, f: list[int | None]) -> list[DriverReport]:
        spo2, pulse, sys_, mean, dia, minutes = f[0], f[1], f[2], f[3], f[4], f[8]
        out: list[DriverReport] = []
        status = ",".join(f"{v:03d}" for v in f[5:8] if v is not None)
        if status != self._status:
            self._status = status
            out.append(DeviceEvent("status", f"status bytes {status}", device_code=status))
        nibp = (sys_, mean, dia)
        first = self._nibp is None
        # New when the values change or the age counter goes back (a new measurement
        # can repeat the previous numbers).
        new = nibp != self._nibp or (
            minutes is not None and self._minutes is not None and minutes < self._minutes
        )
        self._nibp, self._minutes = nibp, minutes
        fresh = not first or (minutes is not None and minutes <= self._max_age)
        if new and fresh and sys_ and dia and mean and not dia < mean < sys_:
            # A mean pressure lies between diastolic and systolic by definition. The
            # manual's own example (mean 45, diastolic 80) breaks that, so the documented
            # field order is in doubt: chart nothing rather than swapped pressures.
            self._rejected += 1
            out.append(
                DeviceEvent(
                    "nibp_inconsistent",
                    f"NIBP not charted: mean {mean} is not between diastolic {dia} and "
                    f"systolic {sys_} (field order in doubt)",
                    severity=EventSeverity.WARNING,
                )
            )
        elif new and fresh and sys_ and dia and mean:
            group = next(self._groups)
            for metric, value in (
                (Metric.BP_SYSTOLIC, sys_),
                (Metric.BP_DIASTOLIC, dia),
                (Metric.BP_MEAN, mean),
            ):
                out.append(Measurement(metric, Decimal(value), Unit.MMHG, group=group))
            if spo2 is None and pulse:
                # Without SpO2 the pulse comes from the cuff (assumption: the manual
                # pages in the reference do not name the pulse source).
                out.append(
                    Measurement(Metric.PULSE_RATE_NIBP, Decimal(pulse), Unit.PER_MIN, group=group)
                )
        if spo2:
            group = next(self._groups)
            out.append(Measurement(Metric.SPO2, Decimal(spo2), Unit.PERCENT, group=group))
            if pulse:
                out.append(
                    Measurement(
                        Metric.PULSE_RATE_OXIMETER, Decimal(pulse), Unit.PER_MIN, group=group
                    )
                )
        return out


class Accutorr3Options(DriverOptions):
    poll_interval: float = Field(default=5.0, gt=0, le=60, description="seconds between polls")
    reply_timeout: float = Field(default=3.0, gt=0, description="seconds to wait for a reply")
    max_nibp_age: int = Field(
        default=5, ge=0, description="minutes: an older NIBP seen at connect is not reported"
    )


class Accutorr3Driver(Driver):
    """Sends ``P`` every ``poll_interval`` seconds and decodes the reply (read-only)."""

    name: ClassVar[str] = "accutorr3"
    summary: ClassVar[str] = "Datascope / Mindray Accutorr 3 PC interface (NIBP and SpO2, polled)"
    kinds: ClassVar[frozenset[DeviceKind]] = frozenset({DeviceKind.MULTI_PARAMETER})
    transports: ClassVar[frozenset[Transport]] = frozenset({Transport.SERIAL})
    serial_defaults: ClassVar[SerialSettings] = SerialSettings(
        baudrate=9600, bytesize=8, parity="N", stopbits=1
    )
    options_model: ClassVar[type[DriverOptions]] = Accutorr3Options
    # Read-only: "P" asks for the last parameter record; it starts nothing.
    probe_command: ClassVar[bytes] = b"P"

    @classmethod
    def new_decoder(cls, options: DriverOptions | None = None) -> Decoder:
        age = options.max_nibp_age if isinstance(options, Accutorr3Options) else 5
        return Accutorr3Decoder(age)

    async def run(self, link: ByteLink) -> None:
        opts = self.options
        assert isinstance(opts, Accutorr3Options)
        decoder = self.track(Accutorr3Decoder(opts.max_nibp_age))

        def unsolicited(line: bytes) -> None:
            for report in decoder.line(line):  # the power-up banner
                self.sink.put(report)

        channel = CommandChannel(
            link, lambda data: split_lines(decoder.framer, data), on_unsolicited=unsolicited
        )
        while True:
            reply = await channel.request(
                b"P",
                accept=lambda line: line.startswith(b"P:"),
                timeout=opts.reply_timeout,
                what="patient data",
            )
            for report in decoder.line(reply):
                self.sink.put(report)
            await asyncio.sleep(opts.poll_interval)
