"""Masimo "ASCII 1" golden vectors (shared/reference/serial-protocols.md §1).

Each vector is a published line with the values it states; the expected objects are
written out whole.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from drivers.serial.masimo import MasimoAscii1Decoder
from vitalsd.model import (
    Condition,
    DeviceEvent,
    DeviceIdentity,
    EventSeverity,
    Flag,
    Measurement,
    Metric,
    Unit,
)

# Rad-8 captured with `cat /dev/ttyUSB0` — github:yahnatan/pulseox:README.md
RAD8 = [
    b"02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 PI=03.60% SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000800\r\n",
    b"02/22/16 22:47:46 SN=0000056661 SPO2=098% BPM=096 PI=03.95% SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000800\r\n",
    b"02/22/16 22:47:49 SN=0000056661 SPO2=098% BPM=097 PI=02.41% SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000800\r\n",
]
# Radical-7 example string — MD PnP poxrad_discrete.h
RADICAL7 = b"12/01/05 11:56:29 SN=0123456789 SPO2=098% BPM=240 PI=20.00% SPCO=01.0% SPMET=00.5% DESAT=01 PIDELTA=-02 PVI=027 ALARM=0000 EXC=000820\r\n"
# Rad-8, no sensor — comment in github:remkolems/masimo-datacapture:masimo-capture.py
NO_SENSOR = b"03/19/16 13:37:12 SN=0000093112 SPO2=---% BPM=---% DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000001\r\n"
# Radical-7 "color" firmware — comment in masimo-capture.py (line-wrapped there)
COLOR = b"03/17/16 19:19:36 SN=---------- SPO2=098% BPM=123 PI=00.55 SPCO=--% SPMET=--.-% SPHB=--.- SPOC=-- RESVD=--- DESAT=-- PIDELTA=+-- PVI=--- ALARM=000000 EXC=0000C00 EXC1=00000000\r\n"


def rad8_readings(t: datetime, spo2: str, bpm: str, pi: str) -> list[Measurement]:
    g = t.strftime("%Y%m%d%H%M%S")
    return [
        Measurement(Metric.SPO2, Decimal(spo2), Unit.PERCENT, t, frozenset(), g),
        Measurement(Metric.PULSE_RATE_OXIMETER, Decimal(bpm), Unit.PER_MIN, t, frozenset(), g),
        Measurement(Metric.PERFUSION_INDEX, Decimal(pi), Unit.PERCENT, t, frozenset(), g),
    ]


def test_rad8_capture() -> None:
    d = MasimoAscii1Decoder()
    reports = d.feed(b"".join(RAD8))
    t1, t2, t3 = (datetime(2016, 2, 22, 22, 47, s) for s in (45, 46, 49))
    assert reports == [
        DeviceIdentity(make="Masimo", serial="0000056661"),
        DeviceEvent("conditions", "all clear", EventSeverity.INFO, frozenset(), device_time=t1),
        *rad8_readings(t1, "98", "97", "3.60"),
        *rad8_readings(t2, "98", "96", "3.95"),
        *rad8_readings(t3, "98", "97", "2.41"),
    ]
    assert d.errors == 0


def test_radical7_example_has_sensor_off_so_no_numbers() -> None:
    # EXC=000820: "Masimo SET" (0x800) plus sensor off (0x20). The digits are there,
    # but the device says the sensor is off: no reading may come of them.
    reports = MasimoAscii1Decoder().feed(RADICAL7)
    assert reports == [
        DeviceIdentity(make="Masimo", serial="0123456789"),
        DeviceEvent(
            "conditions",
            "sensor off",
            EventSeverity.WARNING,
            frozenset({Condition.SENSOR_OFF}),
            device_time=datetime(2005, 12, 1, 11, 56, 29),
        ),
    ]


def test_no_sensor_line() -> None:
    reports = MasimoAscii1Decoder().feed(NO_SENSOR)
    assert reports == [
        DeviceIdentity(make="Masimo", serial="0000093112"),
        DeviceEvent(
            "conditions",
            "no sensor",
            EventSeverity.WARNING,
            frozenset({Condition.NO_SENSOR}),
            device_time=datetime(2016, 3, 19, 13, 37, 12),
        ),
    ]


def test_color_firmware_line() -> None:
    # EXC=0000C00: Masimo SET (0x800) + low signal IQ (0x400): values stand, flagged.
    t = datetime(2016, 3, 17, 19, 19, 36)
    low_iq = frozenset({Flag.LOW_SIGNAL_QUALITY})
    g = "20160317191936"
    assert MasimoAscii1Decoder().feed(COLOR) == [
        DeviceIdentity(make="Masimo", serial=None),  # "----------": serial never set
        DeviceEvent(
            "conditions",
            "low signal quality",
            EventSeverity.INFO,
            frozenset({Condition.LOW_SIGNAL_QUALITY}),
            device_time=t,
        ),
        Measurement(Metric.SPO2, Decimal("98"), Unit.PERCENT, t, low_iq, g),
        Measurement(Metric.PULSE_RATE_OXIMETER, Decimal("123"), Unit.PER_MIN, t, low_iq, g),
        Measurement(Metric.PERFUSION_INDEX, Decimal("0.55"), Unit.PERCENT, t, low_iq, g),
    ]


def test_conditions_are_reported_on_change_only() -> None:
    d = MasimoAscii1Decoder()
    d.feed(RAD8[0])
    again = d.feed(RAD8[1])
    assert not any(isinstance(r, DeviceEvent) for r in again)
    off = d.feed(RAD8[2].replace(b"EXC=000800", b"EXC=000820"))
    assert next(r for r in off if isinstance(r, DeviceEvent)).conditions == {Condition.SENSOR_OFF}
    assert not any(isinstance(r, Measurement) for r in off)
    back = d.feed(RAD8[0])
    assert next(r for r in back if isinstance(r, DeviceEvent)).message == "all clear"


@pytest.mark.parametrize(
    ("alarm", "spo2_flags", "pulse_flags"),
    [
        ("0001", {Flag.ALARM_HIGH}, set()),
        ("0002", {Flag.ALARM_LOW}, set()),
        ("0004", set(), {Flag.ALARM_HIGH}),
        ("0008", set(), {Flag.ALARM_LOW}),
        ("0040", {Flag.LOW_BATTERY}, {Flag.LOW_BATTERY}),
    ],
)
def test_alarm_bits_become_flags(alarm: str, spo2_flags: set[Flag], pulse_flags: set[Flag]) -> None:
    line = RAD8[0].replace(b"ALARM=0000", f"ALARM={alarm}".encode())
    got = {
        r.metric: r.flags for r in MasimoAscii1Decoder().feed(line) if isinstance(r, Measurement)
    }
    assert got[Metric.SPO2] == spo2_flags
    assert got[Metric.PULSE_RATE_OXIMETER] == pulse_flags


@pytest.mark.parametrize(
    "exc",
    ["000001", "000002", "000008", "000020", "000080", "000100", "001000", "020000", "040000"],
)
def test_every_sensor_fault_bit_withholds_numbers(exc: str) -> None:
    line = RAD8[0].replace(b"EXC=000800", f"EXC={exc}".encode())
    assert not any(isinstance(r, Measurement) for r in MasimoAscii1Decoder().feed(line))


def test_dashes_are_no_value_never_a_number() -> None:
    line = RAD8[0].replace(b"SPO2=098%", b"SPO2=---%").replace(b"PI=03.60%", b"PI=--.--%")
    got = [r for r in MasimoAscii1Decoder().feed(line) if isinstance(r, Measurement)]
    assert [r.metric for r in got] == [Metric.PULSE_RATE_OXIMETER]


@pytest.mark.parametrize(
    "bad",
    [
        b"02/22/16 22:47:45 SN=0000056661 SPO2=09",  # cut short (device reset)
        b"02/22/16 22:47:45 SN=0000056661 SPO2=0902/22/16 22:47:46 SN=0000056661 SPO2=098% BPM=096 PI=03.95% ALARM=0000 EXC=000800",  # glued
        b"02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 PI=03.60% ALARM=0000",  # no EXC
        b"02/22/16 22:47:45 SN=0000056661 SPO2=98% BPM=097 PI=03.60% ALARM=0000 EXC=000800",  # width
        b"02/22/16 22:47:45 SN=0000056661 SPO2=0\xb88% BPM=097 PI=03.60% ALARM=0000 EXC=000800",  # bit 7 flipped
        b"02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=0w7 PI=03.60% ALARM=0000 EXC=000800",
        b"02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 PI=03.60% ALARM=0000 EXC=00G800",
        b"13/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 PI=03.60% ALARM=0000 EXC=000800",  # month 13
        b"\x00\xff\x13garbage",
    ],
)
def test_malformed_lines_are_rejected_whole(bad: bytes) -> None:
    d = MasimoAscii1Decoder()
    reports = d.feed(bad + b"\r\n")
    assert reports == []
    assert d.errors == 1


@pytest.mark.parametrize("ending", [b"\r\n", b"\n", b"\r", b"\n\r"])
def test_any_line_ending_and_any_chunking(ending: bytes) -> None:
    data = b"".join(line.rstrip(b"\r\n") + ending for line in RAD8)
    whole = MasimoAscii1Decoder()
    expected = whole.feed(data) + whole.flush()
    bytewise = MasimoAscii1Decoder()
    got = []
    for i in range(len(data)):
        got += bytewise.feed(data[i : i + 1])
    got += bytewise.flush()
    assert got == expected
    assert len([r for r in got if isinstance(r, Measurement)]) == 9


def test_garbage_between_lines_does_not_disturb_good_lines() -> None:
    d = MasimoAscii1Decoder()
    data = b"\x00\x7f junk \r\n" + RAD8[0] + b"\xfe\xfe\r\n" + RAD8[1]
    got = [r for r in d.feed(data) if isinstance(r, Measurement)]
    assert [r.value for r in got] == [
        Decimal("98"),
        Decimal("97"),
        Decimal("3.60"),
        Decimal("98"),
        Decimal("96"),
        Decimal("3.95"),
    ]
    assert d.errors == 2


# --- completeness, identity and quality bits (lines derived from RAD8[0] above) -----


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"EXC=000800", b"EXC=00"),  # cut inside EXC: would read as "no exceptions"
        (b"EXC=000800", b"EXC=0008"),
        (b"EXC=000800", b"EXC=000"),  # Radical-5 width, but beside a 4-digit ALARM
        (b"ALARM=0000", b"ALARM=000000"),  # colour-firmware ALARM without its EXC1
        (b"ALARM=0000 EXC=000800", b"EXC=000800 ALARM=0000"),  # EXC not last: glued/cut
        (b"EXC=000800", b"EXC=000800 EXC1=0000"),  # EXC1 cut short
        (b"EXC=000800", b"EXC=000800 EXC1=0000000G"),
        (b"SN=0000056661", b"SN=00000566611"),  # SN is 10 characters
        (b"BPM=097", b"BPM=097%"),  # '%' only in the odd all-dash form
        (b"SPO2=098%", b"SPO2=098% SPO2=099%"),  # repeated key
        (b"22:47:45", b"25:47:45"),
    ],
)
def test_incomplete_or_reshaped_lines_are_rejected(old: bytes, new: bytes) -> None:
    line = RAD8[0].replace(old, new)
    assert line != RAD8[0]
    d = MasimoAscii1Decoder()
    assert d.feed(line) == []
    assert d.errors == 1


def test_rejected_line_is_counted_and_the_next_good_one_decodes() -> None:
    d = MasimoAscii1Decoder()
    got = d.feed(RAD8[0][:60] + RAD8[1] + RAD8[2])  # a reset mid-line glues two lines
    assert d.errors == 1
    assert [r.device_time for r in got if isinstance(r, Measurement)] == [
        datetime(2016, 2, 22, 22, 47, 49)
    ] * 3


def test_sensor_off_with_digits_present_gives_no_number() -> None:
    # Radical-7 example (MD PnP poxrad_discrete.h) prints digits under EXC=000820.
    got = MasimoAscii1Decoder().feed(RADICAL7 + RADICAL7.replace(b"11:56:29", b"11:56:30"))
    assert not any(isinstance(r, Measurement) for r in got)


@pytest.mark.parametrize(
    ("exc", "flags", "conditions"),
    [
        ("000804", {Flag.LOW_PERFUSION}, {Condition.LOW_PERFUSION}),
        ("000810", {Flag.INTERFERENCE}, {Condition.INTERFERENCE}),
        ("000840", {Flag.INTERFERENCE}, {Condition.AMBIENT_LIGHT}),
        ("000C00", {Flag.LOW_SIGNAL_QUALITY}, {Condition.LOW_SIGNAL_QUALITY}),
    ],
)
def test_quality_bits_keep_values_and_flag_them(
    exc: str, flags: set[Flag], conditions: set[Condition]
) -> None:
    got = MasimoAscii1Decoder().feed(RAD8[0].replace(b"EXC=000800", f"EXC={exc}".encode()))
    event = next(r for r in got if isinstance(r, DeviceEvent))
    assert event.conditions == conditions and event.severity is EventSeverity.INFO
    values = [r for r in got if isinstance(r, Measurement)]
    assert len(values) == 3 and all(r.flags == flags for r in values)


def test_alarm_active_and_silenced_are_conditions() -> None:
    got = MasimoAscii1Decoder().feed(RAD8[0].replace(b"ALARM=0000", b"ALARM=0032"))
    event = next(r for r in got if isinstance(r, DeviceEvent))
    assert event.conditions == {Condition.ALARM_ACTIVE, Condition.ALARM_SILENCED}
    assert event.message == "alarm active, alarm silenced"
    assert event.severity is EventSeverity.INFO
    spo2 = next(r for r in got if isinstance(r, Measurement) and r.metric is Metric.SPO2)
    assert spo2.flags == {Flag.ALARM_LOW}


def test_identity_is_reported_on_the_first_line_and_on_change_only() -> None:
    d = MasimoAscii1Decoder()
    first = d.feed(RAD8[0])
    same = d.feed(RAD8[1])
    other = d.feed(RAD8[2].replace(b"SN=0000056661", b"SN=0000000042"))
    ident = [[r for r in batch if isinstance(r, DeviceIdentity)] for batch in (first, same, other)]
    assert ident == [
        [DeviceIdentity(make="Masimo", serial="0000056661")],
        [],
        [DeviceIdentity(make="Masimo", serial="0000000042")],
    ]


def test_flush_decodes_a_last_line_without_ending_and_feed_never_raises() -> None:
    d = MasimoAscii1Decoder()
    assert d.feed(RAD8[0].rstrip(b"\r\n")) == []
    assert len([r for r in d.flush() if isinstance(r, Measurement)]) == 3
    noise = bytes(range(256)) * 8 + b"\r\n" + b"=" * 2000 + b"\n"
    assert d.feed(noise) == []
    assert d.errors >= 2


def test_radical5_widths_are_accepted() -> None:
    # Derived, not captured: reference §1 gives Radical-5 ALARM 2 and EXC 3 hex digits
    # (MD PnP poxrad_discrete.h); the rest is RAD8[0]'s shape without the rainbow tokens.
    line = b"02/22/16 22:47:45 SPO2=098% BPM=097 PI=03.60% ALARM=00 EXC=800\r\n"
    got = MasimoAscii1Decoder().feed(line)
    assert got[0] == DeviceIdentity(make="Masimo", serial=None)
    assert [r.value for r in got if isinstance(r, Measurement)] == [
        Decimal("98"),
        Decimal("97"),
        Decimal("3.60"),
    ]
