"""Nonin 3230 WristOx-style finger oximeter: the proprietary Continuous Oximetry
characteristic (``0AAD7EA0-0D60-11E2-8E3C-0002A5D5C51B``), one frame a second.

Source: ble-health.md §3.10 and §4.1 — field map of Nonin document 113142-000-02 Rev B as
implemented in ``ble_nco_spec_decoder.swift`` (M. Villarroel) and
``github:andreasdri/nonin-3230-ble:index.js``. Big-endian::

    0 length (10)   1 status   2 battery (0.1 V)   3-4 PAI (0.01 %)
    5-6 counter     7 SpO2 (%) 8-9 pulse rate (/min)

Status bits: 0x02 weak signal, 0x04 SmartPoint, 0x08 searching, 0x10 sensor connected
(correctly on a finger), 0x20 low battery, 0x40 link encrypted; bits 0 and 7 are unused.

The frame has no checksum. The device sends one frame per notification, but a capture
or a central may cut or join them, so the stream is framed by the length byte and a
frame counts only when it proves its alignment: the next byte starts another frame
(or the capture ends), its fields are in range, and after an aligned frame its counter
is one more. A lost byte therefore costs frames, never a number assembled from two of
them; the price is that a reading is reported when the next frame arrives (1 s later).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from drivers.ble.frame_stream import ResyncingDecoder
from drivers.ble.oximeter_readings import ConditionsTracker, paired_readings
from vitalsd.errors import FramingError
from vitalsd.model import Condition, DriverReport, Flag

_LOGGER = logging.getLogger(__name__)

FRAME_LEN = 10
WEAK_SIGNAL, SMARTPOINT, SEARCHING, SENSOR_CONNECTED = 0x02, 0x04, 0x08, 0x10
LOW_BATTERY, ENCRYPTED = 0x20, 0x40
STATUS_UNUSED = 0x81

# "Missing" markers of Nonin's oximetry formats (the same values as its serial modules).
SPO2_MISSING = 127
PULSE_MISSING = 511
PULSE_MIN, PULSE_MAX = 18, 321  # the 3230's specified pulse range, /min
PAI_MAX = 2000  # 20.00 %; perfusion above that is not a reading


@dataclass(frozen=True, slots=True)
class NoninFrame:
    status: int
    battery_decivolts: int
    pai: int  # 0.01 %
    counter: int
    spo2: int
    pulse: int


def parse_frame(frame: bytes) -> NoninFrame:
    """One 10-byte frame, or ``FramingError`` saying what is wrong with it."""
    if len(frame) != FRAME_LEN:
        raise FramingError(f"Nonin 3230 frame: {len(frame)} bytes, expected {FRAME_LEN}")
    if frame[0] != FRAME_LEN:
        raise FramingError(f"Nonin 3230 frame: length byte {frame[0]}, expected {FRAME_LEN}")
    status = frame[1]
    if status & STATUS_UNUSED:
        raise FramingError(f"Nonin 3230 frame: unused status bits set (0x{status:02x})")
    spo2 = frame[7]
    pulse = int.from_bytes(frame[8:10], "big")
    # Values must be in range when the status says they are readings; while searching
    # or off the finger they are never shown, whatever they hold.
    if status & SENSOR_CONNECTED and not status & SEARCHING:
        if spo2 > 100 and spo2 != SPO2_MISSING:
            raise FramingError(f"Nonin 3230 frame: SpO2 byte {spo2} is neither 0-100 nor missing")
        if not PULSE_MIN <= pulse <= PULSE_MAX and pulse != PULSE_MISSING:
            raise FramingError(f"Nonin 3230 frame: pulse {pulse} is neither 18-321 nor missing")
    return NoninFrame(
        status=status,
        battery_decivolts=frame[2],
        pai=int.from_bytes(frame[3:5], "big"),
        counter=int.from_bytes(frame[5:7], "big"),
        spo2=spo2,
        pulse=pulse,
    )


def frame_conditions(status: int) -> tuple[frozenset[Condition], frozenset[Flag]]:
    conditions: set[Condition] = set()
    flags: set[Flag] = set()
    if not status & SENSOR_CONNECTED:
        conditions.add(Condition.SENSOR_OFF)
    if status & SEARCHING:
        conditions.add(Condition.PULSE_SEARCH)
    if status & WEAK_SIGNAL:
        conditions.add(Condition.LOW_SIGNAL_QUALITY)
        flags.add(Flag.LOW_SIGNAL_QUALITY)
    if status & LOW_BATTERY:
        conditions.add(Condition.LOW_BATTERY)
    return frozenset(conditions), frozenset(flags)


def frame_reports(frame: NoninFrame, tracker: ConditionsTracker) -> list[DriverReport]:
    conditions, flags = frame_conditions(frame.status)
    out = tracker.update(conditions)
    if tracker.invalidated:
        return out
    spo2 = None if frame.spo2 == SPO2_MISSING else frame.spo2
    pulse = None if frame.pulse == PULSE_MISSING else frame.pulse
    pai = Decimal(frame.pai).scaleb(-2) if 0 < frame.pai <= PAI_MAX else None
    return out + paired_readings(spo2, pulse, pai, flags=flags)


class Nonin3230Decoder(ResyncingDecoder):
    label = "Nonin 3230"
    logger = _LOGGER

    def __init__(self) -> None:
        super().__init__()
        self._tracker = ConditionsTracker()
        self._last_counter: int | None = None  # of the last frame, when nothing was lost since

    def _drain(self, *, final: bool) -> list[DriverReport]:
        out: list[DriverReport] = []
        while len(self._buf) >= FRAME_LEN:
            candidate = bytes(self._buf[:FRAME_LEN])
            try:
                frame = parse_frame(candidate)
            except FramingError as err:
                self._skip(1, str(err))
                continue
            rest = len(self._buf) - FRAME_LEN
            if rest == 0 and not final:
                break  # alignment unproven until the next byte arrives
            if rest > 0 and self._buf[FRAME_LEN] != FRAME_LEN:
                self._skip(1, "frame not followed by another frame")
                continue
            expected = None if self._last_counter is None else (self._last_counter + 1) & 0xFFFF
            if expected is not None and frame.counter != expected:
                self._skip(1, f"counter {frame.counter}, expected {expected}")
                continue
            self._take(FRAME_LEN)
            self._last_counter = frame.counter
            out += frame_reports(frame, self._tracker)
        return out

    def _skip(self, n: int, why: str) -> None:
        self._last_counter = None  # a gap: the next frame's counter proves nothing
        super()._skip(n, why)


def decode_notification(data: bytes) -> list[DriverReport]:
    """One captured notification, strictly: exactly one valid frame."""
    return frame_reports(parse_frame(bytes(data)), ConditionsTracker())
