"""Detecto solo: the manual's record, negative vectors, simulator, end to end, fuzz.

Golden vector: shared/reference/serial-protocols.md §6, the example record on p.20 of
the solo manual 0044-0391-0M Rev A (its BMI does not match its height and weight: the
manual's example is illustrative; the driver reports what was printed).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.serial.detecto_solo import DetectoSoloDecoder, DetectoSoloDriver, DetectoSoloOptions
from simulators.detecto_solo import SoloDevice, SoloSettings, format_record
from simulators.faults import FaultInjector, FaultSettings
from simulators.serial_port import PtyPort, StreamPlan, TcpPort
from tests.test_sma_scale import ListSink, drive, serving
from vitalsd.model import DeviceIdentity, DriverReport, Measurement, Metric, Unit

MANUAL = b"12:00,08/07/15,21.5,5'03.0\",132.3lb\r"
MANUAL_TYPESET = "12:00,08/07/15,21.5,5\u201903.0\u201d,132.3lb\r".encode()
WHEN = datetime(2015, 8, 7, 12, 0)
G = "detecto-201508071200"


def values(reports: list[DriverReport]) -> list[Measurement]:
    return [r for r in reports if isinstance(r, Measurement)]


def test_manual_record_decodes_to_the_printed_values_byte_by_byte() -> None:
    dec = DetectoSoloDecoder()
    out: list[DriverReport] = []
    for b in MANUAL:
        out += dec.feed(bytes([b]))
    assert out == [
        DeviceIdentity(make="Detecto", model="solo"),
        Measurement(Metric.BODY_WEIGHT, Decimal("132.3"), Unit.LB, WHEN, group=G),
        Measurement(Metric.BODY_HEIGHT, Decimal("63.0"), Unit.INCH, WHEN, group=G),
        Measurement(Metric.BMI, Decimal("21.5"), Unit.KG_PER_M2, WHEN, group=G),
    ]
    assert values(DetectoSoloDecoder().feed(MANUAL_TYPESET)) == values(out)


def test_optional_fields_kg_and_repeats() -> None:
    dec = DetectoSoloDecoder()
    (w,) = values(dec.feed(b"09:15,01/02/24,,,61.4kg\r"))
    assert (w.value, w.unit, w.metric) == (Decimal("61.4"), Unit.KG, Metric.BODY_WEIGHT)
    assert values(dec.feed(b"09:15,01/02/24,,,61.4kg\r")) == []  # the same print again
    out = values(dec.feed(b"09:16,01/02/24,22.0,165.0cm,61.4kg\r"))
    assert [(m.value, m.unit) for m in out] == [
        (Decimal("61.4"), Unit.KG),
        (Decimal("165.0"), Unit.CM),
        (Decimal("22.0"), Unit.KG_PER_M2),
    ]
    assert values(dec.feed(b"09:17,01/02/24,,,0.0lb\r")) == []  # empty platform
    assert dec.errors == 0


def test_negative_vectors_are_rejected_and_junk_is_skipped() -> None:
    dec = DetectoSoloDecoder()
    bad = [
        b"12:00,08/07/15,21.5,5'03.0\",132.3\r",  # no unit
        b"12:00,13/40/15,21.5,5'03.0\",132.3lb\r",  # impossible date
        b"12:00,08/07/15,21.5,5'03.0\r",  # cut short
        b"12:00,08/07/15,21.5,5'03.0\",132.3lb,9\r",  # six fields
        b"12:00,08/07/15,2x.5,5'03.0\",132.3lb\r",  # BMI malformed
    ]
    for record in bad:
        assert values(dec.feed(record)) == [], record
    assert dec.errors == len(bad)
    assert len(values(dec.feed(b"\x00\xffjunk" + MANUAL))) == 3


def test_simulator_prints_records_the_driver_reads_back() -> None:
    dev = SoloDevice(SoloSettings(seed=2, start=WHEN))
    assert format_record(WHEN, 132.3, 63.0) == b"12:00,08/07/15,23.4,5'03.0\",132.3lb\r"
    frames = b"".join(f for _ in range(30) if (f := dev.next_frame()))
    assert len(dev.printed) == 3
    got = values(DetectoSoloDecoder().feed(frames))
    weights = [m.value for m in got if m.metric is Metric.BODY_WEIGHT]
    assert weights == [Decimal(r.split(b",")[4][:-3].decode()) for r in dev.printed]
    assert dev.handle(b"\nP\r") == dev.printed[-1] and dev.handle(b"\nQ\r") == b""


async def test_driver_reads_prints_and_polls_over_pty_and_tcp() -> None:
    for port, poll in ((PtyPort(), None), (TcpPort(), 0.05)):
        dev = SoloDevice(SoloSettings(seed=4), FaultInjector(FaultSettings()))
        dev.attach(port)
        sink = ListSink()
        driver = DetectoSoloDriver(DetectoSoloOptions(poll_interval=poll), sink)
        async with serving(port, dev.next_frame, StreamPlan(rate=50)) as where:
            await drive(driver, where, lambda s: len(s.values()) >= 6)
        sent = {Decimal(r.split(b",")[4][:-3].decode()) for r in dev.printed}
        got = [m.value for m in sink.values() if m.metric is Metric.BODY_WEIGHT]
        assert got and set(got) <= sent


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_raise(data: bytes) -> None:
    DetectoSoloDecoder().feed(data)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, len(MANUAL) - 2),
    st.binary(min_size=1, max_size=8).filter(lambda b: not any(c in b"0123456789." for c in b)),
)
def test_junk_inside_a_record_never_gives_another_number(at: int, junk: bytes) -> None:
    # No checksum: junk made of digits could forge a number undetectably, so the junk
    # here has none; anything else spliced into a record must not change a value.
    out = values(DetectoSoloDecoder().feed(MANUAL[:at] + junk + MANUAL[at:]))
    assert {m.value for m in out} <= {Decimal("132.3"), Decimal("63.0"), Decimal("21.5")}
