"""Welch Allyn SureTemp Plus OEM module: golden vectors, simulator, driver end to end.

Vectors: shared/reference/serial-protocols.md §3, OEM Implementation Manual 71332-0000B
(page per vector below); all checksums verified there. "Derived" vectors are built from
the published layout, not copied from the manual.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.serial import suretemp
from drivers.serial.suretemp import SureTempDecoder, SureTempModuleDriver, SureTempOptions
from simulators.serial_port import Port, PtyPort, StreamPlan, TcpPort
from simulators.suretemp import SureTempModule, SureTempSettings
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
H = bytes.fromhex
# (host, module) pairs, manual pages 63, 59, 60, 58, 65
TEMP = (
    H("03 02 10 94 1C 01 00 00 3A"),
    H("03 02 10 94 1C 02 13 00 00 00 00 00 76 AF 99 43 4E 00 00 00 00 00 02 00 00 01 00 D4"),
)
SET_MONITOR = (H("03 02 10 2A 12 01 01 00 01 AC"), H("03 02 10 2A 12 02 00 00 AD"))
LOCK_PROBE = (H("03 02 10 35 03 01 01 00 01 B0"), H("03 02 10 35 03 02 00 00 B1"))
VERSION = (H("03 02 10 29 36 01 01 00 02 88"), H("03 02 10 29 36 02 04 00 37 2E 35 00 EC"))
ASYNC_ON = (H("03 02 10 94 34 01 01 00 01 20"), H("03 02 10 94 34 02 00 00 21"))
IDENTITY = DeviceIdentity(make="Welch Allyn", model="SureTemp Plus module")


def record(final_k: float, state: int, algorithm: int = 0, probe: int = 0, err: int = 0) -> bytes:
    """Derived: a 941C response with this record (layout p.36)."""
    data = struct.pack("<ffIbbbh?b", final_k, 307.37, 78, 0, algorithm, state, err, True, probe)
    return suretemp.packet(0x941C, 2, data)


def test_host_commands_are_the_published_bytes() -> None:
    assert suretemp.command(0x941C) == TEMP[0]
    assert suretemp.command(0x2A12, b"\x01") == SET_MONITOR[0]
    assert suretemp.command(0x3503, b"\x01") == LOCK_PROBE[0]
    assert suretemp.command(0x2936, b"\x02") == VERSION[0]
    assert suretemp.command(0x9434, b"\x01") == ASYNC_ON[0]


def test_published_capture_both_directions() -> None:
    d = SureTempDecoder()
    capture = b"".join(
        b for pair in (TEMP, SET_MONITOR, LOCK_PROBE, VERSION, ASYNC_ON) for b in pair
    )
    # The p.63 record is state 2 READY with final 0.0 K: no reading, only the identity.
    assert d.feed(capture) == [
        IDENTITY,
        DeviceIdentity("Welch Allyn", "SureTemp Plus module", firmware="7.5"),
    ]
    assert d.errors == 0


def test_final_reading_once_per_measurement_byte_by_byte() -> None:
    d = SureTempDecoder()
    seq = (
        record(0.0, 2)
        + record(310.05, 6)
        + record(310.05, 6)
        + record(0.0, 0)
        + record(309.95, 7, 1, 2)
    )
    out: list[DriverReport] = []
    for b in seq:
        out += d.feed(bytes([b]))
    assert out == [
        IDENTITY,
        Measurement(Metric.TEMP_ORAL, Decimal("310.05"), Unit.KELVIN),
        Measurement(Metric.TEMP_RECTAL, Decimal("309.95"), Unit.KELVIN),
    ]


def test_not_readings() -> None:
    d = SureTempDecoder()
    assert d.feed(record(0.0, 6)) == [IDENTITY]  # final state, no final temperature
    assert d.feed(record(320.0, 8) + record(0.0, 0)) == [
        DeviceEvent(
            "temp_out_of_range",
            "temperature above the measurable range",
            EventSeverity.WARNING,
            device_code="state 8",
        )
    ]
    assert d.feed(record(310.0, 6, algorithm=3, probe=1) + record(0.0, 0)) == [
        DeviceEvent("temp_not_patient", "calibration key or no probe")
    ]
    assert d.feed(record(0.0, 20, err=17)) == [
        DeviceEvent("temp_error", "thermometer error 17", EventSeverity.ERROR, device_code="17")
    ]
    assert d.feed(suretemp.packet(0x941C, 3)) == [
        DeviceEvent(
            "command_rejected",
            "module refused command 941C",
            EventSeverity.WARNING,
            device_code="941C",
        )
    ]


def test_negative_vectors_and_resync() -> None:
    d = SureTempDecoder()
    good = record(310.05, 6)
    bad = good[:-1] + bytes([good[-1] ^ 0x01])
    assert d.feed(bad) == []
    flipped = bytearray(good)
    flipped[10] ^= 0x40  # inside the float: checksum no longer matches
    assert d.feed(b"\x03\x02" + bytes(flipped)) == []
    assert d.feed(good) == [IDENTITY, Measurement(Metric.TEMP_ORAL, Decimal("310.05"), Unit.KELVIN)]
    assert d.errors >= 1


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=200), st.integers(0, 27), st.integers(1, 255))
def test_fuzz_random_bytes_and_corrupted_records(junk: bytes, at: int, xor: int) -> None:
    d = SureTempDecoder()
    d.feed(junk)
    corrupt = bytearray(record(310.05, 6))
    corrupt[at] ^= xor
    out = d.feed(bytes(corrupt))
    assert not [r for r in out if isinstance(r, Measurement) and r.value == Decimal("310.05")]


# --- simulator -----------------------------------------------------------------------


def test_simulator_answers_the_published_commands_byte_for_byte() -> None:
    sent: list[bytes] = []
    module = SureTempModule(SureTempSettings(), sent.append)
    for host, reply in (SET_MONITOR, LOCK_PROBE, VERSION, ASYNC_ON):
        module.on_input(host)
        assert sent.pop() == reply
    module.on_input(TEMP[0][:-1] + b"\x00")  # bad checksum: NAK
    assert sent.pop() == suretemp.packet(0x941C, 3)
    module.on_input(suretemp.command(0x1234))
    assert sent.pop() == suretemp.packet(0x1234, 3)


@contextlib.asynccontextmanager
async def running(port: Port, module: SureTempModule) -> AsyncIterator[str]:
    port.on_input = module.on_input
    module.send = port.write
    async with serving(port, module.next_frame, StreamPlan(rate=100)) as where:
        yield where


class ListSink:
    def __init__(self) -> None:
        self.reports: list[DriverReport] = []

    def put(self, report: DriverReport) -> None:
        self.reports.append(report)


@pytest.mark.parametrize("port_type", [PtyPort, TcpPort])
async def test_driver_reads_finals_from_the_simulator(port_type: type[Port]) -> None:
    module = SureTempModule(SureTempSettings(celsius=37.2, measure_every=30, serial="WA42"))
    sink = ListSink()
    async with running(port_type(), module) as where:
        link = await open_serial_link(where, SureTempModuleDriver.serial_defaults)
        task = asyncio.create_task(
            SureTempModuleDriver(SureTempOptions(poll_interval=0.02), sink).run(link)
        )
        try:
            async with asyncio.timeout(DEADLINE_S):
                while module.measurements < 3 and not task.done():
                    await asyncio.sleep(0.02)
            await asyncio.sleep(0.1)
            if task.done():
                task.result()
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await link.close()
    values = [r for r in sink.reports if isinstance(r, Measurement)]
    assert 2 <= len(values) <= module.measurements  # once per measurement, never more
    assert all(v == Measurement(Metric.TEMP_ORAL, Decimal("310.35"), Unit.KELVIN) for v in values)
    assert DeviceIdentity("Welch Allyn", "SureTemp Plus module", "WA42", "7.5") in sink.reports
