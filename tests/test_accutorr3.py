"""Datascope Accutorr 3 PC interface: golden vector, simulator, driver end to end.

Vector: shared/reference/serial-protocols.md §9, Accutorr 3 service manual p.1-53
example ``P:--,85,120, 45, 80,000,010,000, 5`` (decoded in the documented field order:
its mean of 45 below a diastolic of 80 is the manual's, and puts that order in doubt, so
the driver reports it and charts no pressure). Other lines are derived from the
documented grammar.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.serial.accutorr3 import Accutorr3Decoder, Accutorr3Driver, Accutorr3Options
from simulators.accutorr3 import Accutorr3Monitor, AccutorrSettings, patient_line
from simulators.serial_port import Port, PtyPort, StreamPlan, TcpPort, stream
from vitalsd.links.serial import open_serial_link
from vitalsd.model import (
    DeviceEvent,
    DeviceIdentity,
    DriverReport,
    EventSeverity,
    Measurement,
    Metric,
    Unit,
)

DEADLINE_S = 30.0
MANUAL = b"P:--,85,120, 45, 80,000,010,000, 5\r\n"
IDENTITY = DeviceIdentity(make="Datascope", model="Accutorr 3")


def decoder(max_age: int = 5) -> Accutorr3Decoder:
    return Accutorr3Decoder(max_age, (f"g{i}" for i in itertools.count(1)))


def test_manual_example_byte_by_byte_after_banner_and_prompt() -> None:
    d = decoder()
    out: list[DriverReport] = []
    for b in b"ACCUTORR PC Interface is ready\r\n>" + MANUAL + b">":
        out += d.feed(bytes([b]))
    assert out == [
        IDENTITY,
        DeviceEvent("status", "status bytes 000,010,000", device_code="000,010,000"),
        DeviceEvent(
            "nibp_inconsistent",
            "NIBP not charted: mean 45 is not between diastolic 80 and systolic 120 "
            "(field order in doubt)",
            severity=EventSeverity.WARNING,
        ),
    ]
    assert d.errors == 1


def test_consistent_nibp_in_the_documented_order_is_charted() -> None:
    out = decoder().feed(b"P:--,85,120, 93, 80,000,010,000, 5\r\n")
    assert [m for m in out if isinstance(m, Measurement)] == [
        Measurement(Metric.BP_SYSTOLIC, Decimal(120), Unit.MMHG, group="g1"),
        Measurement(Metric.BP_DIASTOLIC, Decimal(80), Unit.MMHG, group="g1"),
        Measurement(Metric.BP_MEAN, Decimal(93), Unit.MMHG, group="g1"),
        Measurement(Metric.PULSE_RATE_NIBP, Decimal(85), Unit.PER_MIN, group="g1"),
    ]


def test_nibp_reported_once_spo2_every_poll() -> None:
    d = decoder()
    line = b">P:97,72,118, 92, 79,000,000,000, 0\r\n"
    first = d.feed(line)
    again = d.feed(line.replace(b" 0\r", b" 1\r"))
    assert [m.metric for m in first if isinstance(m, Measurement)] == [
        Metric.BP_SYSTOLIC,
        Metric.BP_DIASTOLIC,
        Metric.BP_MEAN,
        Metric.SPO2,
        Metric.PULSE_RATE_OXIMETER,
    ]
    assert again == [
        Measurement(Metric.SPO2, Decimal(97), Unit.PERCENT, group="g3"),
        Measurement(Metric.PULSE_RATE_OXIMETER, Decimal(72), Unit.PER_MIN, group="g3"),
    ]
    # same numbers, but the age went back to 0: a new measurement
    assert len(d.feed(line)) == 5


def test_stale_nibp_at_connect_is_not_reported() -> None:
    assert decoder(max_age=5).feed(b"P:--,85,120, 93, 80,000,000,000,42\r\n") == [
        IDENTITY,
        DeviceEvent("status", "status bytes 000,000,000", device_code="000,000,000"),
    ]


@pytest.mark.parametrize(
    "line",
    [
        b"P:--,85,120, 45, 80,000,010,000\r\n",  # cut: 8 fields
        b"P:--,85,120, 45, 80,000,010,000, 5,7\r\n",  # 10 fields
        b"P:--,85,1X0, 45, 80,000,010,000, 5\r\n",  # noise in a number
        b"P:--,85,1200, 45, 80,000,010,000, 5\r\n",  # 4 digits
        b"P:--,85,120, 45, 80,00,010,000, 5\r\n",  # status not 3 digits
        b"P:--,85,120,\xb145, 80,000,010,000, 5\r\n",  # non-ASCII
    ],
)
def test_negative_vectors(line: bytes) -> None:
    d = decoder()
    assert d.feed(line) == []
    assert d.errors == 1
    good = b"P:--,85,120, 93, 80,000,010,000, 5\r\n"
    assert len(d.feed(good)) == 6  # the next good line still decodes


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_random_bytes_never_raise(junk: bytes) -> None:
    d = decoder()
    d.feed(junk)
    d.flush()


def test_simulator_formats_the_manual_example_byte_for_byte() -> None:
    assert patient_line(None, 85, (120, 45, 80), (0, 10, 0), 5) == MANUAL


def test_simulator_answers_commands() -> None:
    sent: list[bytes] = []
    monitor = Accutorr3Monitor(AccutorrSettings(), sent.append)
    assert monitor.next_frame() == b"ACCUTORR PC Interface is ready\r\n>"
    monitor.on_input(b"C")
    assert sent.pop() == b">"
    monitor.on_input(b"P")
    assert sent.pop() == b"P:97,72,121, 94, 81,000,000,000, 0\r\n>"


@pytest.mark.parametrize("port_type", [PtyPort, TcpPort])
async def test_driver_reads_the_simulator(port_type: type[Port]) -> None:
    monitor = Accutorr3Monitor(AccutorrSettings(spo2=None, pulse=64, nibp_every=20))
    port = port_type()
    port.on_input = monitor.on_input
    monitor.send = port.write
    info = await port.open()
    where = info.get("pty") or f"socket://{info['tcp']}"
    sim = asyncio.create_task(stream(port, monitor.next_frame, StreamPlan(rate=100)))
    sink: list[DriverReport] = []

    class Sink:
        def put(self, report: DriverReport) -> None:
            sink.append(report)

    def systolics() -> list[Measurement]:
        return [r for r in sink if isinstance(r, Measurement) and r.metric is Metric.BP_SYSTOLIC]

    link = await open_serial_link(where, Accutorr3Driver.serial_defaults)
    driver = Accutorr3Driver(Accutorr3Options(poll_interval=0.02), Sink())
    task = asyncio.create_task(driver.run(link))
    try:
        async with asyncio.timeout(DEADLINE_S):
            while len(systolics()) < 3 and not task.done():
                await asyncio.sleep(0.02)
        if task.done():
            task.result()
    finally:
        for t in (task, sim):
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t
        await link.close()
        await port.close()
    values = [int(m.value) for m in systolics()]
    assert all(v in (120, 121, 122) for v in values)
    assert all(a != b for a, b in itertools.pairwise(values))  # each NIBP once
    assert IDENTITY in sink
