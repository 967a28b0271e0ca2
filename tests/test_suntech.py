"""SunTech Advantage OEM NIBP module: golden vectors, simulator, driver end to end.

Vectors: shared/reference/serial-protocols.md §4 — host commands from
github:ak-git/DesktopFX NIBPRequest.java, the BP result from NIBPConverterTest.java;
"derived" vectors are built from the published checksum rule, not captured.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.serial import suntech
from drivers.serial.suntech import SunTechAdvantageDriver, SunTechDecoder, SunTechOptions
from simulators.serial_port import Port, PtyPort, StreamPlan, TcpPort
from simulators.suntech import SunTechModule, SunTechPatient
from tests.sim_harness import serving
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
# ak-git/DesktopFX NIBPConverterTest.java
RESULT = bytes.fromhex("3E 18 73 00 4A 00 1E 01 00 00 00 00 00 00 31 07 55 00 58 00 00 00 00 E9")


def decoder() -> SunTechDecoder:
    return SunTechDecoder(groups=(f"g{i}" for i in itertools.count(1)))


def bp(group: str, sys_: int, dia: int, mean: int, hr: int) -> list[Measurement]:
    return [
        Measurement(Metric.BP_SYSTOLIC, Decimal(sys_), Unit.MMHG, group=group),
        Measurement(Metric.BP_DIASTOLIC, Decimal(dia), Unit.MMHG, group=group),
        Measurement(Metric.BP_MEAN, Decimal(mean), Unit.MMHG, group=group),
        Measurement(Metric.PULSE_RATE_NIBP, Decimal(hr), Unit.PER_MIN, group=group),
    ]


def test_host_commands_match_desktopfx() -> None:
    assert bytes.fromhex("3A 20 A6") == suntech.START_ADULT
    assert bytes.fromhex("3A 79 05 00 48") == suntech.GET_CUFF_PRESSURE
    assert bytes.fromhex("3A 79 03 00 4A") == suntech.GET_BP_DATA
    assert suntech.host_frame(bytes.fromhex("0C 00 01 01")) == bytes.fromhex("3A 0C 00 01 01 B8")
    # derived (reference §4)
    assert bytes.fromhex("3A 79 01 00 4C") == suntech.ABORT
    assert bytes.fromhex("3A 79 02 40 0B") == suntech.GET_VERSION
    assert suntech.host_frame(b"\x8a") == bytes.fromhex("3A 8A 3C")


def test_published_result_whole() -> None:
    d = decoder()
    assert d.feed(RESULT) == bp("g1", 115, 74, 88, 85)
    assert d.errors == 0


def test_result_byte_by_byte_after_noise_and_a_host_echo() -> None:
    d = decoder()
    stream_ = b"\x00\xff" + suntech.GET_BP_DATA + RESULT
    out: list[DriverReport] = []
    for b in stream_:
        out += d.feed(bytes([b]))
    assert out == bp("g1", 115, 74, 88, 85)
    assert d.errors >= 1


def with_checksum(body: bytes) -> bytes:
    return body + bytes([(-sum(body)) % 256])


def test_error_code_is_an_event_without_values() -> None:
    # derived: the published result with error code 0x57 and the checksum redone
    body = bytearray(RESULT[:-1])
    body[20] = 0x57
    assert decoder().feed(with_checksum(bytes(body))) == [
        DeviceEvent(
            "bp_error",
            "blood pressure failed: inflate timeout, leak or loose cuff (code 0x57)",
            EventSeverity.ERROR,
            device_code="0x57",
        )
    ]


def test_negative_vectors() -> None:
    d = decoder()
    bad = RESULT[:-1] + bytes([RESULT[-1] ^ 1])  # checksum off by one bit
    assert d.feed(bad) == []
    flipped = bytearray(RESULT)
    flipped[2] ^= 0x10  # SYS 115 -> 99, checksum now wrong
    assert d.feed(bytes(flipped)) == []
    assert d.feed(RESULT) == bp("g1", 115, 74, 88, 85)  # resynchronised
    assert d.errors >= 1


def test_status_and_pressure_and_version_frames() -> None:
    d = decoder()
    o, k, a = (with_checksum(b">\x04" + c) for c in (b"O", b"K", b"A"))
    assert o == bytes.fromhex("3E 04 4F 6F")  # derived
    pressure = with_checksum(b">\x05\x96\x00")  # 150 mmHg
    version = with_checksum(b">\x09LX1.23")
    assert d.feed(o + pressure + k + a + version) == [
        DeviceEvent("bp_aborted", "measurement aborted", EventSeverity.WARNING, device_code="A"),
        DeviceIdentity(make="SunTech", model="Advantage", firmware="LX1.23"),
    ]
    assert suntech.cuff_pressure(pressure) == 150


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200), st.integers(0, 23), st.integers(1, 255))
def test_fuzz_random_bytes_and_corrupted_results(junk: bytes, at: int, xor: int) -> None:
    d = decoder()
    d.feed(junk)  # never raises
    corrupt = bytearray(RESULT)
    corrupt[at] ^= xor
    out = d.feed(bytes(corrupt))
    assert not [r for r in out if isinstance(r, Measurement) and r.value in (115, 74, 88, 85)]


# --- simulator -----------------------------------------------------------------------


def test_simulator_answers_commands_byte_faithfully() -> None:
    sent: list[bytes] = []
    module = SunTechModule(SunTechPatient(sys=115, dia=74, hr=85), sent.append, seed=1)
    module.on_input(suntech.GET_CUFF_PRESSURE)
    assert sent.pop() == with_checksum(b">\x05\x00\x00")
    module.on_input(b":\x20\x00")  # bad checksum
    assert sent.pop() == with_checksum(b">\x04D")
    module.on_input(suntech.START_ADULT)
    assert sent.pop() == with_checksum(b">\x04O")
    module.on_input(suntech.START_ADULT)
    assert sent.pop() == with_checksum(b">\x04B")  # busy
    pressures = []
    for _ in range(1000):
        unsolicited = module.next_frame()
        if unsolicited:
            assert unsolicited == with_checksum(b">\x04K")
            break
        module.on_input(suntech.GET_CUFF_PRESSURE)
        pressures.append(int.from_bytes(sent.pop()[2:4], "little"))
    assert max(pressures) > 115 and pressures[-1] < max(pressures)
    module.on_input(suntech.GET_BP_DATA)
    assert decoder().feed(sent.pop()) == bp("g1", 115, 74, 88, 85)


class ListSink:
    def __init__(self) -> None:
        self.reports: list[DriverReport] = []

    def put(self, report: DriverReport) -> None:
        self.reports.append(report)

    def values(self) -> list[Measurement]:
        return [r for r in self.reports if isinstance(r, Measurement)]


@contextlib.asynccontextmanager
async def running(port: Port, module: SunTechModule) -> AsyncIterator[str]:
    port.on_input = module.on_input
    module.send = port.write
    async with serving(port, module.next_frame, StreamPlan(rate=100)) as where:
        yield where


async def drive(where: str, options: SunTechOptions, want: int) -> ListSink:
    link = await open_serial_link(where, SunTechAdvantageDriver.serial_defaults)
    sink = ListSink()
    task = asyncio.create_task(SunTechAdvantageDriver(options, sink).run(link))
    try:
        async with asyncio.timeout(DEADLINE_S):
            while len(sink.values()) < want and not task.done():
                await asyncio.sleep(0.02)
        if task.done():
            task.result()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await link.close()
    return sink


async def test_start_mode_over_pty() -> None:
    module = SunTechModule(SunTechPatient(sys=128, dia=81, hr=66), seed=3)
    async with running(PtyPort(), module) as where:
        opts = SunTechOptions(mode="start", poll_interval=0.05, start_interval=30)
        sink = await drive(where, opts, 4)
    groups = {m.group for m in sink.values()}
    assert len(groups) == 1
    got = {m.metric: m.value for m in sink.values()}
    assert got[Metric.BP_SYSTOLIC] == 128 and got[Metric.BP_DIASTOLIC] == 81
    assert got[Metric.PULSE_RATE_NIBP] == 66
    assert (
        DeviceIdentity(make="SunTech", model="Advantage", firmware=module.version) in sink.reports
    )
    assert module.starts == 1


async def test_watch_mode_over_tcp_never_starts_and_reads_an_operator_measurement() -> None:
    module = SunTechModule(SunTechPatient(sys=140, dia=90, hr=72), seed=4, auto_start_every=20)
    async with running(TcpPort(), module) as where:
        sink = await drive(where, SunTechOptions(poll_interval=0.02), 4)
    assert module.starts == 0  # the driver never inflated the cuff
    got = {m.metric: m.value for m in sink.values()}
    assert got[Metric.BP_SYSTOLIC] == 140 and got[Metric.BP_DIASTOLIC] == 90
