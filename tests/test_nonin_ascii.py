"""Nonin real-time ASCII golden vectors (shared/reference/serial-protocols.md §7).

The vectors are the line formats stated in the operator manuals cited there (Nonin 9847
p.44, 8500 p.21, 2500 p.24, Avant 9600 p.32, Avant 4000 p.35); the values are the
manuals' illustrative ones, as the reference labels them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.serial.nonin_ascii import LINE, NoninAsciiDecoder, NoninAsciiDriver
from simulators.faults import FaultInjector, FaultSettings
from simulators.nonin_ascii import NoninAsciiDevice, NoninAsciiSettings, SentLine, format_line
from simulators.serial_port import Port, PtyPort, StreamPlan, TcpPort, stream
from vitalsd.driver import DriverOptions
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

ID = DeviceIdentity(make="Nonin")


def pair(n: int, spo2: int = 97, hr: int = 72) -> list[Measurement]:
    g = f"nonin-ascii-{n}"
    return [
        Measurement(Metric.SPO2, Decimal(spo2), Unit.PERCENT, group=g),
        Measurement(Metric.PULSE_RATE_OXIMETER, Decimal(hr), Unit.PER_MIN, group=g),
    ]


def test_reference_vectors() -> None:
    d = NoninAsciiDecoder()
    out = d.feed(
        b"SPO2=097 HR=072\r\n"
        b"SPO2=--- HR=---\r\n"
        b"SPO2=097 HR=072*\r\n"
        b"14:02:09 SPO2=097 HR=072\r\n"
        b"SPO2=097 HR=072 F\r\n"
        b"SPO2=097 HR=072B\r\n"
    )
    assert out == [
        ID,
        *pair(1),
        DeviceEvent("event_marker", "event marker pressed", EventSeverity.INFO),
        *pair(3),
        *pair(4),
        *pair(5),
        *pair(6),
    ]
    assert d.errors == 0


def test_one_value_missing() -> None:
    out = NoninAsciiDecoder().feed(b"SPO2=--- HR=072\r\nSPO2=095 HR=---\r\n")
    spo2 = Measurement(Metric.SPO2, Decimal(95), Unit.PERCENT, group="nonin-ascii-2")
    assert out == [ID, pair(1)[1], spo2]


def test_header_is_ignored_and_damaged_lines_rejected() -> None:
    d = NoninAsciiDecoder()
    out = d.feed(
        b"NONIN 9847 V1.0 12/01/05\r\n"  # header text (wording unpublished): ignored
        b"SPO2=09\r\n"  # cut short
        b"SPO2=097 HR=07SPO2=097 HR=072\r\n"  # glued
        b"SPO2=197 HR=072\r\n"  # SpO2 over 100
        b"SPO2=0x7 HR=072\r\n"
        b"SPO2=098 HR=071\n\r"
    )
    out += d.flush()  # a final LF CR waits for a possible LF: the capture's end ends it
    assert out == [ID, *pair(1, 98, 71)]
    assert d.errors == 4


def test_byte_by_byte() -> None:
    d = NoninAsciiDecoder()
    data = b"SPO2=097 HR=072\r\n14:02:09 SPO2=096 HR=101\r\n"
    out = [r for b in data for r in d.feed(bytes([b]))]
    assert out == [ID, *pair(1), *pair(2, 96, 101)]


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(data: bytes) -> None:
    d = NoninAsciiDecoder()
    for r in d.feed(data) + d.flush():
        if isinstance(r, Measurement):
            assert 0 <= r.value <= (100 if r.metric is Metric.SPO2 else 999)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 16), st.binary(min_size=1, max_size=3))
def test_fuzz_corrupted_line_never_gives_a_value_other_than_sent(at: int, junk: bytes) -> None:
    line = b"SPO2=097 HR=072"
    bad = line[:at] + junk + line[at + 1 :]
    out = NoninAsciiDecoder().feed(bad + b"\r\n")
    for r in out:
        if isinstance(r, Measurement) and not junk.isdigit():
            assert r.value == (97 if r.metric is Metric.SPO2 else 72), (bad, out)


# --- simulator and driver end to end --------------------------------------------------


def test_simulator_lines_are_the_manual_format() -> None:
    assert format_line(97, 72) == b"SPO2=097 HR=072\r\n"
    assert format_line(None, None) == b"SPO2=--- HR=---\r\n"
    assert format_line(97, 72, datetime(2020, 1, 1, 14, 2, 9), True) == (
        b"14:02:09 SPO2=097 HR=072*\r\n"
    )


@pytest.mark.parametrize("transport", ["pty", "tcp"])
async def test_driver_reads_the_simulator_with_faults(transport: str) -> None:
    sent: list[SentLine] = []
    # No bit errors: the format has no checksum, so a digit flipped into another digit
    # cannot be caught by any receiver (as for Masimo ASCII 1).
    faults = FaultInjector(FaultSettings(garbage=0.2, cut=0.2), 5)
    settings_ = NoninAsciiSettings(seed=2, clock=True, missing_every=10, marker_every=7)
    device = NoninAsciiDevice(settings_, faults, sent.append)
    port: Port = TcpPort() if transport == "tcp" else PtyPort()
    info = await port.open()
    task = asyncio.create_task(stream(port, device.next_frame, StreamPlan(rate=100)), name="sim")
    sink: list[DriverReport] = []
    where = info.get("pty") or f"socket://{info['tcp']}"
    link = await open_serial_link(where, NoninAsciiDriver.serial_defaults)
    driver = NoninAsciiDriver(DriverOptions(), SimpleNamespace(put=sink.append))
    run = asyncio.create_task(driver.run(link), name="driver")
    try:
        async with asyncio.timeout(30):
            while sum(isinstance(r, Measurement) for r in sink) < 40 and not run.done():
                await asyncio.sleep(0.02)
        if run.done():
            run.result()
    finally:
        for t in (run, task):
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t
        await link.close()
        await port.close()
    assert any(s.faulted for s in sent)
    spo2_sent = {s.spo2 for s in sent}
    hr_sent = {s.hr for s in sent}
    for r in sink:
        if isinstance(r, Measurement):
            assert int(r.value) in (spo2_sent if r.metric is Metric.SPO2 else hr_sent)


def test_cli_serves_lines_over_tcp() -> None:
    p = subprocess.Popen(
        [sys.executable, "-m", "simulators", "nonin-ascii", "--tcp", "0", "--count", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert p.stdout is not None
        ready = json.loads(p.stdout.readline())
        assert ready["ready"] is True and ready["protocol"] == "nonin-ascii"
        host, port = ready["tcp"].rsplit(":", 1)
        data = b""
        with socket.create_connection((host, int(port)), timeout=30) as s:
            while chunk := s.recv(4096):
                data += chunk
        assert p.wait(timeout=30) == 0
        lines = data.splitlines()
        assert len(lines) == 3 and all(LINE.fullmatch(x) for x in lines[1:])
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()
        for f in (p.stdout, p.stderr):
            if f is not None:
                f.close()
