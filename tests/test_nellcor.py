"""Nellcor N-395/N-595/NPB-29x real-time output: vectors, simulator, end to end, fuzz.

The data line ``12-NOV-97 14:00:05 100 120 50`` is the reference's example (§8, from the
NPB-29x manuals' data-port appendix); header shapes follow OpenICE's nellcor-n595.spec
(github:mdpnp/mdpnp). Column spacing is not published byte-exactly: spacing variants
are tested, and the simulator's widths are an assumption.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.serial.nellcor import NellcorDecoder, NellcorDriver
from simulators.faults import FaultInjector, FaultSettings
from simulators.nellcor import NellcorDevice, NellcorSettings
from simulators.serial_port import PtyPort, StreamPlan, TcpPort
from tests.test_sma_scale import ListSink, drive, serving
from vitalsd.model import (
    Condition,
    DeviceEvent,
    DeviceIdentity,
    DriverReport,
    EventSeverity,
    Flag,
    Measurement,
    Metric,
    Unit,
)

HEADER = b"N-595 VERSION 1.4.1.0 CRC: 3A2C SpO2 Limit: 85-100% PR Limit: 40-170BPM\r\n"
COLUMNS = b"TIME               %SPO2   BPM    PA   Status\r\n"
EXAMPLE = b"12-NOV-97 14:00:05 100 120 50\r\n"  # reference §8
WHEN = datetime(1997, 11, 12, 14, 0, 5)
# OpenICE's data-line regex (reference §8), as an independent check of the simulator.
OPENICE = re.compile(r"^(.{18})\s+([0-9-*]+)\s+([0-9-*]+)\s+([0-9-*]+)(?:\s+([A-Z]{2}))*\s*$")


def values(reports: list[DriverReport]) -> list[Measurement]:
    return [r for r in reports if isinstance(r, Measurement)]


def test_header_and_example_line_byte_by_byte() -> None:
    dec = NellcorDecoder()
    out: list[DriverReport] = []
    for b in HEADER + COLUMNS + EXAMPLE:
        out += dec.feed(bytes([b]))
    group = "19971112140005"
    assert out == [
        DeviceIdentity(make="Nellcor", model="N-595", firmware="1.4.1.0"),
        DeviceEvent("conditions", "all clear", EventSeverity.INFO, device_time=WHEN),
        Measurement(Metric.SPO2, Decimal(100), Unit.PERCENT, WHEN, group=group),
        Measurement(Metric.PULSE_RATE_OXIMETER, Decimal(120), Unit.PER_MIN, WHEN, group=group),
    ]
    assert dec.errors == 0


def test_status_codes_missing_values_and_alarms() -> None:
    dec = NellcorDecoder()
    dec.feed(EXAMPLE)
    out = dec.feed(b"12-NOV-97 14:00:07   ---   ---   ---   SO\r\n")
    assert out == [
        DeviceEvent(
            "conditions",
            "sensor off",
            EventSeverity.WARNING,
            frozenset({Condition.SENSOR_OFF}),
            "SO",
            datetime(1997, 11, 12, 14, 0, 7),
        )
    ]
    # Digits beside "pulse search" are not a reading.
    assert values(dec.feed(b"12-NOV-97 14:00:09    97    80    40   PS\r\n")) == []
    alarm = values(dec.feed(b"12-NOV-97 14:00:11   84*   75    40   SL MO\r\n"))
    assert [(m.metric, m.value, m.flags) for m in alarm] == [
        (Metric.SPO2, Decimal(84), frozenset({Flag.ALARM_LOW, Flag.INTERFERENCE})),
        (Metric.PULSE_RATE_OXIMETER, Decimal(75), frozenset({Flag.INTERFERENCE})),
    ]
    # An undocumented code might be a sensor fault: no number, a device-error condition.
    out = dec.feed(b"12-NOV-97 14:00:13    97    80    40   XY\r\n")
    assert values(out) == [] and isinstance(out[0], DeviceEvent)
    assert out[0].conditions == {Condition.DEVICE_ERROR}
    assert dec.errors == 0


def test_negative_vectors_are_rejected() -> None:
    dec = NellcorDecoder()
    bad = [
        b"12-NOV-97 14:00:05 100 120\r\n",  # a column missing (cut)
        b"12-NOX-97 14:00:05 100 120 50\r\n",  # no such month
        b"31-FEB-97 14:00:05 100 120 50\r\n",  # impossible date
        b"12-NOV-97 14:00:05 1000 120 50\r\n",  # four digits
        b"12-NOV-97 14:00:05 100 1a0 50\r\n",  # garbled digit
        b"12-NOV-97 14:00:05 100 120 50 S\r\n",  # status code cut
    ]
    for line in bad:
        assert values(dec.feed(line)) == [], line
    assert dec.errors == len(bad)
    assert len(values(dec.feed(b"\x00junk" + EXAMPLE[:10] + b"\r\n" + EXAMPLE))) == 2


def test_simulator_lines_match_openice_and_decode_to_what_was_sent() -> None:
    start = datetime(2024, 3, 1, 9, 0, 0)
    dev = NellcorDevice(NellcorSettings(seed=1, start=start, sensor_off_every=20, spo2=86))
    dec = NellcorDecoder()
    for i in range(60):
        wire = dev.next_frame()
        assert wire is not None
        line = dev.sent[-1]
        assert OPENICE.match(line.data.decode().rstrip("\r\n")), line.data
        assert (i % 25 == 0) == wire.startswith(b"N-595 VERSION")
        got = {m.metric: m.value for m in values(dec.feed(wire))}
        if line.spo2 is None:
            assert got == {}
        else:
            assert got == {Metric.SPO2: line.spo2, Metric.PULSE_RATE_OXIMETER: line.bpm}
    assert dev.sent[59].device_time == datetime(2024, 3, 1, 9, 1, 58)
    assert dec.errors == 0


async def test_driver_reads_the_simulator_over_pty_and_tcp_with_faults() -> None:
    faults = FaultSettings(garbage=0.1, cut=0.1, bit_errors=0.1)
    for port in (PtyPort(), TcpPort()):
        dev = NellcorDevice(NellcorSettings(seed=3), FaultInjector(faults, 8))
        sink = ListSink()
        async with serving(port, dev.next_frame, StreamPlan(rate=100)) as where:
            await drive(
                NellcorDriver(NellcorDriver.options_model(), sink),
                where,
                lambda s: len(s.values()) >= 40,
            )
        sent = {x.device_time: x.spo2 for x in dev.sent}
        # Lines that were sent intact must read back exactly (a fault in the line before
        # may spoil one, never change it); faulted lines may be dropped.
        clean = {x.device_time for x in dev.sent if not x.faults}
        checked = [m for m in sink.values() if m.metric is Metric.SPO2 and m.device_time in clean]
        assert checked and all(m.device_time and m.value == sent[m.device_time] for m in checked)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_raise(data: bytes) -> None:
    NellcorDecoder().feed(data)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, len(EXAMPLE) - 3),
    st.binary(min_size=1, max_size=8).filter(lambda b: not any(c in b"0123456789-*" for c in b)),
)
def test_cut_or_junk_lines_give_no_other_value(at: int, junk: bytes) -> None:
    # No checksum: junk made of digits could forge a number undetectably, so the junk
    # here has none. A spliced or cut line may be dropped, never read as other values.
    spliced = EXAMPLE[:at] + junk + EXAMPLE[at:]
    out = values(NellcorDecoder().feed(spliced + EXAMPLE[:at] + b"\r\n"))
    assert {m.value for m in out} <= {Decimal(100), Decimal(120)}
