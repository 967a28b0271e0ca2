"""BerryMed BM1000 (B/C/E) finger oximeter: 5-byte frames on the Microchip transparent
UART characteristic ``49535343-1E4D-4BD9-BA61-23C647249616``.

Source: ble-health.md §3.10 — Adafruit ``adafruit_ble_berrymed_pulse_oximeter`` and
``github:bgould/berrymed-pulseox-reader:packet.go`` (protocol ``zh2x/BCI_Protocol``)::

    byte 0  bit 7 = 1 (sync), bits 0-3 signal strength, bit 4 signal flag (meaning
            disputed: unused here), bit 5 probe unplugged, bit 6 pulse beep
    byte 1  pleth 0-100
    byte 2  bits 0-3 bar graph, bit 4 no finger, bit 5 searching, bit 6 = pulse bit 7
    byte 3  pulse rate bits 0-6 (255 overall = invalid)
    byte 4  SpO2 (127 = invalid)

Only byte 0 has bit 7 set: a frame is a sync byte and four bytes without bit 7, and a
lost byte usually brings the next sync byte inside the five. Not always: lose a byte of
one frame and the sync byte of the next, and the rest joins into a well-formed frame
with made-up values. There is no checksum, so a reading counts only when two adjacent
frames agree on it; the device repeats its values in every waveform frame, so this
costs one frame, while a made-up frame would need a twin made up the same way.

The device streams frames at its waveform rate (tens per second), each repeating the
current SpO2 and pulse; ``report_every`` keeps one reading in that many frames.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from drivers.ble.oximeter_readings import ConditionsTracker, live_readings
from vitalsd.driver import Decoder
from vitalsd.errors import FramingError
from vitalsd.framing import GapMarkingFramer
from vitalsd.model import Condition, DriverReport

_LOGGER = logging.getLogger(__name__)

FRAME_LEN = 5
SYNC = 0x80
PROBE_UNPLUGGED, PULSE_BEEP = 0x20, 0x40
NO_FINGER, SEARCHING, PULSE_BIT7 = 0x10, 0x20, 0x40
SPO2_INVALID = 127
PULSE_INVALID = 255


@dataclass(frozen=True, slots=True)
class BerryMedFrame:
    signal: int
    probe_unplugged: bool
    pulse_beep: bool
    pleth: int
    bar: int
    no_finger: bool
    searching: bool
    pulse: int
    spo2: int


def match_frame(buf: bytes) -> int:
    """``FrameMatcher``: sync byte, then four bytes with bit 7 clear."""
    if not buf[0] & SYNC:
        return -1
    for i in range(1, FRAME_LEN):
        if i >= len(buf):
            return 0
        if buf[i] & SYNC:
            return -1
    return FRAME_LEN


def parse_frame(frame: bytes) -> BerryMedFrame:
    if len(frame) != FRAME_LEN:
        raise FramingError(f"BerryMed frame: {len(frame)} bytes, expected {FRAME_LEN}")
    if not frame[0] & SYNC:
        raise FramingError(f"BerryMed frame: first byte 0x{frame[0]:02x} lacks the sync bit 7")
    for i in range(1, FRAME_LEN):
        if frame[i] & SYNC:
            raise FramingError(
                f"BerryMed frame: byte {i} (0x{frame[i]:02x}) has bit 7 set: "
                "a sync byte inside a frame, bytes were lost"
            )
    b0, b2 = frame[0], frame[2]
    return BerryMedFrame(
        signal=b0 & 0x0F,
        probe_unplugged=bool(b0 & PROBE_UNPLUGGED),
        pulse_beep=bool(b0 & PULSE_BEEP),
        pleth=frame[1],
        bar=b2 & 0x0F,
        no_finger=bool(b2 & NO_FINGER),
        searching=bool(b2 & SEARCHING),
        pulse=frame[3] | (b2 & PULSE_BIT7) << 1,
        spo2=frame[4],
    )


def frame_conditions(frame: BerryMedFrame) -> frozenset[Condition]:
    conditions: set[Condition] = set()
    if frame.probe_unplugged:
        conditions.add(Condition.NO_SENSOR)
    if frame.no_finger:
        conditions.add(Condition.SENSOR_OFF)
    if frame.searching:
        conditions.add(Condition.PULSE_SEARCH)
    return frozenset(conditions)


def frame_values(frame: BerryMedFrame) -> tuple[int, int] | None:
    """(SpO2, pulse), or None when the frame carries no valid reading."""
    if frame_conditions(frame):
        return None
    # SpO2 127 marks the whole reading invalid (the pulse byte then holds junk, §3.10);
    # 101-126 are undefined and treated the same.
    if frame.spo2 > 100 or frame.pulse == PULSE_INVALID:
        return None
    return frame.spo2, frame.pulse


class BerryMedDecoder(Decoder):
    def __init__(self, report_every: int = 1) -> None:
        self._framer = GapMarkingFramer(match_frame)
        self._tracker = ConditionsTracker()
        self._every = report_every
        self._since = report_every  # the first confirmed frame reports at once
        self._previous: tuple[int, int] | None = None  # values of the last adjacent frame

    @property
    def errors(self) -> int:
        return self._framer.errors

    def feed(self, data: bytes) -> list[DriverReport]:
        out: list[DriverReport] = []
        for raw, gap in self._framer.feed(data):
            if gap:
                self._previous = None
            frame = parse_frame(raw)  # cannot fail: the matcher checked the layout
            out += self._tracker.update(frame_conditions(frame))
            values = frame_values(frame)
            confirmed = values is not None and values == self._previous
            self._previous = values
            if values is None:
                self._since = self._every  # report the first valid reading again at once
                continue
            if not confirmed:
                continue
            self._since += 1
            if self._since >= self._every:
                self._since = 0
                out += live_readings(*values)
        return out


def decode_notification(data: bytes) -> list[DriverReport]:
    """A captured notification: whole frames only, every one valid."""
    data = bytes(data)
    if len(data) % FRAME_LEN:
        raise FramingError(
            f"BerryMed: {len(data)} bytes is not a whole number of {FRAME_LEN}-byte frames"
        )
    tracker = ConditionsTracker()
    out: list[DriverReport] = []
    for i in range(0, len(data), FRAME_LEN):
        frame = parse_frame(data[i : i + FRAME_LEN])
        out += tracker.update(frame_conditions(frame))
        values = frame_values(frame)
        if values is not None:
            out += live_readings(*values)
    return out
