"""Jumper JPD-500F ("My Oximeter") finger oximeter: notifications on
``CDEACB81-5235-4C07-8846-93A37EE6B86D``.

Source: ble-health.md §3.10 and §4.1 — a public Flutter driver (real frame
``81 38 63 44``) and a public JavaScript resolver. Each notification is one frame whose
first byte is its type:

- ``80`` + samples: plethysmogram waveform, running to the end of the notification;
  ignored here.
- ``81 PR SpO2 PI``: pulse rate (/min, 255 = invalid), SpO2 (%, 127 = invalid) and
  perfusion index (0 = invalid) in tenths of a percent — raw 68 is 6.8 %, since PI
  spans 0.02-20 % and 68 % is no perfusion index (the resolver prints the raw byte).

The waveform frames have no length field, so the notification is the only frame
boundary there is: a ``81`` frame must be exactly one whole notification of four bytes,
and anything else is rejected rather than guessed at.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from drivers.ble.oximeter_readings import paired_readings
from vitalsd.driver import Decoder
from vitalsd.errors import FramingError
from vitalsd.model import DriverReport

_LOGGER = logging.getLogger(__name__)

PLETH, PARAMS = 0x80, 0x81
PARAMS_LEN = 4
PULSE_INVALID = 255
SPO2_INVALID = 127
PI_INVALID = 0


@dataclass(frozen=True, slots=True)
class JumperParams:
    pulse: int | None
    spo2: int | None
    perfusion: Decimal | None  # %


def parse_frame(frame: bytes) -> JumperParams | None:
    """A ``81`` frame's values, None for a waveform frame, ``FramingError`` otherwise."""
    if not frame:
        raise FramingError("Jumper: empty notification")
    if frame[0] == PLETH:
        return None
    if frame[0] != PARAMS:
        raise FramingError(f"Jumper: unknown frame type 0x{frame[0]:02x} (expected 80 or 81)")
    if len(frame) != PARAMS_LEN:
        raise FramingError(
            f"Jumper: 81 frame of {len(frame)} bytes, expected {PARAMS_LEN} (81 PR SpO2 PI)"
        )
    pulse, spo2, pi = frame[1], frame[2], frame[3]
    if spo2 > 100 and spo2 != SPO2_INVALID:
        raise FramingError(f"Jumper: SpO2 byte {spo2} is neither 0-100 nor 127 (invalid)")
    return JumperParams(
        # 0 means "no reading" too (a public C++ reader drops frames with PR or SpO2 0).
        pulse=None if pulse in (PULSE_INVALID, 0) else pulse,
        spo2=None if spo2 in (SPO2_INVALID, 0) else spo2,
        perfusion=None if pi == PI_INVALID else Decimal(pi).scaleb(-1),
    )


def frame_reports(params: JumperParams | None) -> list[DriverReport]:
    if params is None:
        return []  # a waveform frame
    return paired_readings(params.spo2, params.pulse, params.perfusion)


class JumperDecoder(Decoder):
    """One ``feed`` per notification (see the module note on framing)."""

    def __init__(self) -> None:
        self._errors = 0

    @property
    def errors(self) -> int:
        return self._errors

    def feed(self, data: bytes) -> list[DriverReport]:
        out: list[DriverReport] = []
        try:
            params = parse_frame(bytes(data))
        except FramingError as err:
            self._errors += 1
            _LOGGER.debug("%s", err)
            return out
        return out + frame_reports(params)


def decode_notification(data: bytes) -> list[DriverReport]:
    return frame_reports(parse_frame(bytes(data)))
