"""Nonin hand-held / tabletop oximeters, real-time ASCII serial output.

Source: shared/reference/serial-protocols.md §7 (operator manuals of the Nonin 9847,
8500, 2500 PalmSAT, Avant 4000/9600, BT4000). Once a second the device prints

    [HH:MM:SS ]SPO2=XXX HR=YYY[ F][*][B] CR LF

with ``---`` for a missing value; ``F`` marks fast-averaged values (Avant, DIP 8 up),
``*`` an event marker the user pressed, ``B`` a detected breath (9847). A power-up header
of unpublished text comes first and is ignored. There is no checksum: only lines of
exactly this shape are used, so a line cut short or glued to another is dropped whole.
"""

from __future__ import annotations

import logging
import re
from decimal import Decimal
from typing import ClassVar

from vitalsd.driver import Decoder, Driver, DriverOptions
from vitalsd.line_decoder import LineDecoder
from vitalsd.links.base import SerialSettings
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

_LOGGER = logging.getLogger(__name__)

LINE = re.compile(
    rb"(?:(?P<time>[0-2]\d:[0-5]\d:[0-5]\d) )?"
    rb"SPO2=(?P<spo2>\d{3}|---) HR=(?P<hr>\d{3}|---)"
    rb"(?P<fast> F)?(?P<marker>\*)?(?P<breath>B)?"
)
# A line that mentions the data keys but fails the grammar is a damaged record; any other
# text is the power-up header (its wording is not published).
_DATA_HINT = re.compile(rb"SPO2|HR=")


class NoninAsciiDecoder(LineDecoder):
    protocol = "Nonin ASCII"

    def __init__(self) -> None:
        super().__init__(max_line=128)
        self._lines = 0
        self._identified = False

    def decode_line(self, line: bytes) -> list[DriverReport]:
        return self._line(line.strip(b" "))

    def _line(self, line: bytes) -> list[DriverReport]:
        m = LINE.fullmatch(line)
        if m is None:
            if _DATA_HINT.search(line):
                self._rejected += 1
                _LOGGER.debug("Nonin ASCII line rejected: %r", line[:80])
            else:
                _LOGGER.debug("Nonin ASCII header or other text: %r", line[:80])
            return []
        spo2 = None if m["spo2"] == b"---" else int(m["spo2"])
        hr = None if m["hr"] == b"---" else int(m["hr"])
        if spo2 is not None and spo2 > 100:
            self._rejected += 1
            _LOGGER.debug("Nonin ASCII SpO2 %d above 100: line rejected", spo2)
            return []
        self._lines += 1
        out: list[DriverReport] = []
        if not self._identified:
            self._identified = True
            out.append(DeviceIdentity(make="Nonin"))
        if m["marker"]:
            out.append(DeviceEvent("event_marker", "event marker pressed", EventSeverity.INFO))
        # The time of day has no date and the device clock no zone: it stays out of
        # device_time rather than being glued to a guessed date.
        group = f"nonin-ascii-{self._lines}"
        if spo2 is not None:
            out.append(Measurement(Metric.SPO2, Decimal(spo2), Unit.PERCENT, group=group))
        if hr is not None:
            out.append(
                Measurement(Metric.PULSE_RATE_OXIMETER, Decimal(hr), Unit.PER_MIN, group=group)
            )
        return out


class NoninAsciiDriver(Driver):
    name: ClassVar[str] = "nonin_ascii"
    summary: ClassVar[str] = "Nonin 2500 / 8500 / 9847 / Avant real-time ASCII output (SpO2, pulse)"
    kinds: ClassVar[frozenset[DeviceKind]] = frozenset({DeviceKind.PULSE_OXIMETER})
    transports: ClassVar[frozenset[Transport]] = frozenset({Transport.SERIAL})
    # 8N1 reads the hand-helds' "9th bit always mark" too; the Avant 9600 sends 2 stop
    # bits, which a receiver set to 1 stop bit reads fine.
    serial_defaults: ClassVar[SerialSettings] = SerialSettings(
        baudrate=9600, bytesize=8, parity="N", stopbits=1
    )
    options_model: ClassVar[type[DriverOptions]] = DriverOptions

    @classmethod
    def new_decoder(cls, options: DriverOptions | None = None) -> Decoder:
        return NoninAsciiDecoder()
