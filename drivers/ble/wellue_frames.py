"""Wellue (Viatom) FS20F finger oximeter, advertised as "VTM 20F": a stream of
``FE len type …`` frames on characteristic 0xFFE4.

Source: ble-health.md §3.10 — ``github:roger-/FS20F`` (``parser.py`` and the real
capture ``sample_raw_data.hex``)::

    FE 0A 55 PRh PRl SpO2 PIh PIl counter sum   parameters, 1 Hz
    FE 08 56 pleth status bar counter sum       waveform, 50 Hz

Pulse rate (/min, 511 = invalid) and PI (1/1000 %, 0 = invalid) are big-endian; SpO2 127
is invalid. The last byte is the sum of the bytes after ``FE`` modulo 256 — an inference
of the reference that holds on every frame of the real capture (the tests check them
all). Waveform status bit 1 is "sensor off".

Notifications cut frames anywhere (the capture has 20-byte notifications ending in
``FE 08``). A frame counts when its length, type and sum are right and the next byte
starts another frame (or the capture ends), so a lost byte cannot shift a frame into
place.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from drivers.ble.frame_stream import ResyncingDecoder
from drivers.ble.oximeter_readings import ConditionsTracker, paired_readings
from vitalsd.errors import FramingError
from vitalsd.model import Condition, DriverReport

_LOGGER = logging.getLogger(__name__)

START = 0xFE
PARAMS, WAVE = 0x55, 0x56
LENGTHS = {PARAMS: 0x0A, WAVE: 0x08}
SENSOR_OFF = 0x02  # waveform status byte
PULSE_INVALID = 511
SPO2_INVALID = 127
PI_INVALID = 0


@dataclass(frozen=True, slots=True)
class Fs20fParams:
    pulse: int | None
    spo2: int | None
    perfusion: Decimal | None  # %
    counter: int


@dataclass(frozen=True, slots=True)
class Fs20fWave:
    pleth: int
    sensor_off: bool
    counter: int


def checksum(frame: bytes) -> int:
    return sum(frame[1:-1]) & 0xFF


def frame_problem(frame: bytes) -> str | None:
    """Why ``frame`` (exactly as long as its length byte says) is no valid frame."""
    if frame[0] != START:
        return f"first byte 0x{frame[0]:02x}, expected FE"
    if frame[2] not in LENGTHS or LENGTHS[frame[2]] != frame[1]:
        return f"type 0x{frame[2]:02x} with length {frame[1]} (expected 0A 55 or 08 56)"
    if checksum(frame) != frame[-1]:
        return f"checksum 0x{frame[-1]:02x}, expected 0x{checksum(frame):02x}"
    return None


def parse_frame(frame: bytes) -> Fs20fParams | Fs20fWave:
    frame = bytes(frame)
    if len(frame) < 3 or frame[1] not in LENGTHS.values() or len(frame) != frame[1]:
        raise FramingError(
            f"FS20F frame: {len(frame)} bytes, expected FE 0A 55 … (10) or FE 08 56 … (8)"
        )
    problem = frame_problem(frame)
    if problem is not None:
        raise FramingError(f"FS20F frame: {problem}")
    if frame[2] == WAVE:
        return Fs20fWave(pleth=frame[3], sensor_off=bool(frame[4] & SENSOR_OFF), counter=frame[6])
    pulse = int.from_bytes(frame[3:5], "big")
    spo2 = frame[5]
    pi = int.from_bytes(frame[6:8], "big")
    if spo2 > 100 and spo2 != SPO2_INVALID:
        raise FramingError(f"FS20F frame: SpO2 byte {spo2} is neither 0-100 nor 127 (invalid)")
    return Fs20fParams(
        pulse=None if pulse in (PULSE_INVALID, 0) else pulse,
        spo2=None if spo2 in (SPO2_INVALID, 0) else spo2,
        perfusion=None if pi == PI_INVALID else Decimal(pi).scaleb(-3),
        counter=frame[8],
    )


def split_frames(data: bytes) -> list[bytes]:
    """A whole capture cut into frames strictly: any byte outside a frame is an error."""
    frames, pos = [], 0
    while pos < len(data):
        if data[pos] != START or pos + 1 >= len(data):
            raise FramingError(f"FS20F: no frame starts at byte {pos} (0x{data[pos]:02x})")
        end = pos + data[pos + 1]
        if data[pos + 1] not in LENGTHS.values() or end > len(data):
            raise FramingError(f"FS20F: frame at byte {pos} is cut short or has a bad length")
        frames.append(data[pos:end])
        pos = end
    return frames


class Fs20fDecoder(ResyncingDecoder):
    label = "FS20F"
    logger = _LOGGER

    def __init__(self) -> None:
        super().__init__()
        self._tracker = ConditionsTracker()

    def _drain(self, *, final: bool) -> list[DriverReport]:
        out: list[DriverReport] = []
        buf = self._buf
        while buf:
            if buf[0] != START:
                self._skip(1, f"0x{buf[0]:02x} outside a frame")
                continue
            if len(buf) < 2:
                break
            size = buf[1]
            if size not in LENGTHS.values():
                self._skip(1, f"length byte 0x{size:02x}")
                continue
            if len(buf) < size or (len(buf) == size and not final):
                break  # the frame, and the byte proving its end, are still on the way
            frame = bytes(buf[:size])
            problem = frame_problem(frame)
            if problem is None and len(buf) > size and buf[size] != START:
                problem = "frame not followed by another frame"
            if problem is not None:
                self._skip(1, problem)
                continue
            self._take(size)
            out += self._frame(parse_frame(frame))
        return out

    def _frame(self, frame: Fs20fParams | Fs20fWave) -> list[DriverReport]:
        if isinstance(frame, Fs20fWave):
            return self._tracker.update(
                frozenset({Condition.SENSOR_OFF}) if frame.sensor_off else frozenset()
            )
        return [] if self._tracker.invalidated else params_reports(frame)


def params_reports(frame: Fs20fParams) -> list[DriverReport]:
    return paired_readings(frame.spo2, frame.pulse, frame.perfusion)


def decode_notification(data: bytes) -> list[DriverReport]:
    """A captured notification of whole frames, every one valid."""
    tracker = ConditionsTracker()
    out: list[DriverReport] = []
    for raw in split_frames(bytes(data)):
        frame = parse_frame(raw)
        if isinstance(frame, Fs20fWave):
            out += tracker.update(
                frozenset({Condition.SENSOR_OFF}) if frame.sensor_off else frozenset()
            )
        elif not tracker.invalidated:
            out += params_reports(frame)
    return out
