"""Detecto solo digital clinical scale: the record it prints on its serial port.

Source: shared/reference/serial-protocols.md §6 (Detecto solo manual 0044-0391-0M Rev A,
p.20). Fixed 9600 8N1. The scale sends one record when PRINT is pressed, or when the
host sends ``<LF>P<CR>`` (remote print):

    Time,Date,BMI,Height,Weight<CR>        e.g.  12:00,08/07/15,21.5,5'03.0",132.3lb

Units are glued to the numbers. The manual typesets the feet/inch marks as curly quotes;
the wire almost certainly carries ASCII ``'`` and ``"``, so both are accepted. Height is
reported in inches (5'03.0" is exactly 63.0 in) or centimetres as printed; BMI and height
are optional (the manual does not show their "not entered" form: empty or dashes are
taken as missing). The date is read month/day/year (a US manual; not confirmed). There
is no checksum: a record is used only when every field has its shape.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from pydantic import Field

from vitalsd.driver import Decoder, Driver, DriverOptions
from vitalsd.errors import DeviceTimeout
from vitalsd.links.base import ByteLink, SerialSettings
from vitalsd.model import (
    DeviceIdentity,
    DeviceKind,
    DriverReport,
    Measurement,
    Metric,
    Transport,
    Unit,
)

_LOGGER = logging.getLogger(__name__)

CMD_PRINT = b"\nP\r"
_MAX_LINE = 128
_LINE_END = re.compile(rb"[\r\n]")
_TIME = re.compile(r"(\d{2}):(\d{2})")
_DATE = re.compile(r"(\d{2})/(\d{2})/(\d{2})")
# Numbers are not zero-padded (21.5, 132.3lb, 0.0lb): a leading zero before another
# digit is a number that lost its first digit ("100.5lb" -> "00.5lb"). Inches are the
# exception, always two digits (5'03.0").
_NUMBER = re.compile(r"(?:0|[1-9]\d{0,2})\.\d")
_MISSING = re.compile(r"-*")
_FEET_INCHES = re.compile(r"(\d)['\u2019](\d{2}\.\d)[\"\u201d]")
_CM = re.compile(r"([1-9]\d{1,2}\.\d) ?cm")
_WEIGHT = re.compile(r"((?:0|[1-9]\d{0,3})\.\d{1,2}) ?(lb|kg)")
# A record starts with HH:MM, — where to resync inside a line that junk was glued to.
_RECORD_START = re.compile(r"\d{2}:\d{2},")
_TWELVE = Decimal(12)


class RecordRejected(ValueError):
    """A line that is not a complete, well-formed solo record."""


def _optional_number(text: str, pattern: re.Pattern[str], what: str) -> re.Match[str] | None:
    if _MISSING.fullmatch(text):
        return None
    m = pattern.fullmatch(text)
    if m is None:
        raise RecordRejected(f"{what} field malformed: {text!r}")
    return m


def parse_record(line: bytes) -> tuple[datetime, list[Measurement]]:
    """The device time and values of one record (without its CR), or ``RecordRejected``."""
    try:
        text = line.decode("utf-8").strip(" ")
    except UnicodeDecodeError:
        raise RecordRejected("not text") from None
    fields = text.split(",")
    if len(fields) != 5:
        raise RecordRejected(f"{len(fields)} fields, expected 5")
    # Fields are not stripped: the record has no spaces, and a digit at a field's edge
    # turned into a space by line noise must not leave a shorter number behind.
    time_text, date_text, bmi_text, height_text, weight_text = fields
    t, d = _TIME.fullmatch(time_text), _DATE.fullmatch(date_text)
    if t is None or d is None:
        raise RecordRejected("time or date malformed")
    try:
        month, day, year = (int(g) for g in d.groups())
        when = datetime(2000 + year, month, day, int(t[1]), int(t[2]))  # noqa: DTZ001 - device clock
    except ValueError:
        raise RecordRejected("impossible date or time") from None
    w = _WEIGHT.fullmatch(weight_text)
    if w is None:
        raise RecordRejected(f"weight field malformed: {weight_text!r}")
    weight = Decimal(w[1])
    if weight <= 0:
        return when, []  # an empty platform printed: nothing weighed
    group = f"detecto-{when:%Y%m%d%H%M}"
    unit = Unit.LB if w[2] == "lb" else Unit.KG
    values = [Measurement(Metric.BODY_WEIGHT, weight, unit, when, group=group)]
    if height_text and not _MISSING.fullmatch(height_text):
        fi = _FEET_INCHES.fullmatch(height_text)
        cm = _CM.fullmatch(height_text)
        if fi is not None:
            if Decimal(fi[2]) >= _TWELVE:
                # 5'13.0" is no height: two records spliced inside the inches.
                raise RecordRejected(f"height field has 12 inches or more: {height_text!r}")
            inches = Decimal(fi[1]) * _TWELVE + Decimal(fi[2])
            values.append(Measurement(Metric.BODY_HEIGHT, inches, Unit.INCH, when, group=group))
        elif cm is not None:
            values.append(
                Measurement(Metric.BODY_HEIGHT, Decimal(cm[1]), Unit.CM, when, group=group)
            )
        else:
            raise RecordRejected(f"height field malformed: {height_text!r}")
    bmi = _optional_number(bmi_text, _NUMBER, "BMI")
    if bmi is not None:
        values.append(Measurement(Metric.BMI, Decimal(bmi[0]), Unit.KG_PER_M2, when, group=group))
    return when, values


class DetectoSoloDecoder(Decoder):
    def __init__(self) -> None:
        self._buf = bytearray()
        self._discarding = False
        self._rejected = 0
        self._overruns = 0
        self._last: bytes | None = None
        self._identified = False

    @property
    def errors(self) -> int:
        return self._rejected + self._overruns

    def feed(self, data: bytes) -> list[DriverReport]:
        # Lines end in CR alone and nothing follows until the next print, so a line is
        # complete at its CR (a LineFramer would wait to see whether an LF follows).
        self._buf += data
        out: list[DriverReport] = []
        start = 0
        for match in _LINE_END.finditer(self._buf):
            line = bytes(self._buf[start : match.start()])
            start = match.end()
            if self._discarding:
                self._discarding = False
            elif line:
                out += self.decode_line(line)
        del self._buf[:start]
        if len(self._buf) > _MAX_LINE:
            self._overruns += 1
            self._buf.clear()
            self._discarding = True
        return out

    def flush(self) -> list[DriverReport]:
        rest, self._buf = bytes(self._buf), bytearray()
        return self.decode_line(rest) if rest and not self._discarding else []

    def decode_line(self, line: bytes) -> list[DriverReport]:
        try:
            _, values = parse_record(line)
        except RecordRejected as err:
            retry = _resync(line)
            if retry is None:
                self._rejected += 1
                _LOGGER.debug("Detecto record rejected: %s", err)
                return []
            self._rejected += 1  # the junk before the record was an error too
            line = retry
            _, values = parse_record(line)
        out: list[DriverReport] = []
        if not self._identified:
            self._identified = True
            out.append(DeviceIdentity(make="Detecto", model="solo"))
        # A remote print repeats what the display shows: the same record again is the
        # same weighing, not a new one.
        if line == self._last:
            return out
        self._last = line
        out += values
        return out


def _resync(line: bytes) -> bytes | None:
    """The record inside a line that junk was glued to, if there is a whole one."""
    text = line.decode("latin-1")
    for m in reversed(list(_RECORD_START.finditer(text))):
        candidate = line[m.start() :]
        try:
            parse_record(candidate)
        except RecordRejected:
            continue
        return candidate if m.start() > 0 else None
    return None


class DetectoSoloOptions(DriverOptions):
    poll_interval: float | None = Field(
        default=None,
        gt=0,
        description="seconds between remote prints (<LF>P<CR>); unset: wait for PRINT key",
    )


class DetectoSoloDriver(Driver):
    name: ClassVar[str] = "detecto_solo"
    summary: ClassVar[str] = "Detecto solo clinical scale, printed record (weight, height, BMI)"
    kinds: ClassVar[frozenset[DeviceKind]] = frozenset({DeviceKind.SCALE})
    transports: ClassVar[frozenset[Transport]] = frozenset({Transport.SERIAL})
    serial_defaults: ClassVar[SerialSettings] = SerialSettings(
        baudrate=9600, bytesize=8, parity="N", stopbits=1
    )  # fixed on the solo (manual p.20)
    options_model: ClassVar[type[DriverOptions]] = DetectoSoloOptions

    @classmethod
    def new_decoder(cls, options: DriverOptions | None = None) -> DetectoSoloDecoder:
        return DetectoSoloDecoder()

    async def run(self, link: ByteLink) -> None:
        interval = getattr(self.options, "poll_interval", None)
        if interval is None:
            # A scale waiting for its PRINT key is silent for hours: that is not a fault.
            await self._listen(link)
        else:
            await self._poll(link, interval)

    async def _listen(self, link: ByteLink) -> None:
        decoder = self.track(self.new_decoder(self.options))
        while True:
            for report in decoder.feed(await link.read()):
                self.sink.put(report)

    async def _poll(self, link: ByteLink, interval: float) -> None:
        decoder = self.track(self.new_decoder(self.options))
        loop = asyncio.get_running_loop()
        heard = loop.time()
        while True:
            await link.write(CMD_PRINT)
            deadline = loop.time() + interval
            while (left := deadline - loop.time()) > 0:
                try:
                    async with asyncio.timeout(left):
                        data = await link.read()
                except TimeoutError:
                    break
                heard = loop.time()
                for report in decoder.feed(data):
                    self.sink.put(report)
            if loop.time() - heard > self.options.silence_timeout:
                raise DeviceTimeout(
                    f"no record for {self.options.silence_timeout:g} s from {link.description}"
                )
