"""The Masimo simulator against the reference grammar, and the real driver against it.

The simulator is written from shared/reference/serial-protocols.md §1 and never imports
the driver; here both meet over real pseudo-terminals and real TCP sockets, through the
production serial link.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from drivers.serial.masimo import MasimoAscii1Decoder, MasimoAscii1Driver
from simulators.faults import FaultInjector, FaultSettings
from simulators.masimo import (
    MasimoDevice,
    MasimoLineSource,
    MasimoSettings,
    SentRecord,
    format_line,
)
from simulators.serial_port import Port, PtyPort, StreamPlan, TcpPort, stream
from tests.sim_harness import serving
from vitalsd.links.base import ByteLink
from vitalsd.links.serial import open_serial_link
from vitalsd.model import DriverReport, Measurement, Metric

DEADLINE_S = 30.0  # generous: bounds a hang on a loaded machine, never measures speed
START = datetime(2016, 2, 22, 22, 47, 45)

# The Rad-8 line grammar, written out independently of driver and simulator from the
# capture in github:yahnatan/pulseox:README.md (reference §1).
RAD8_LINE = re.compile(
    rb"(?P<time>\d\d/\d\d/\d\d \d\d:\d\d:\d\d) SN=(?P<sn>[0-9A-Za-z]{10}|-{10}) "
    rb"SPO2=(?P<spo2>\d{3}|---)% BPM=(?P<bpm>\d{3}|---) PI=(?P<pi>\d\d\.\d\d|--\.--)% "
    rb"SPCO=--\.-% SPMET=--\.-% DESAT=-- PIDELTA=\+-- "
    rb"ALARM=(?P<alarm>[0-9A-F]{4}) EXC=(?P<exc>[0-9A-F]{6})\r\n"
)


def source(**kw: object) -> MasimoLineSource:
    return MasimoLineSource(MasimoSettings(start=START, seed=11, **kw))  # type: ignore[arg-type]


def test_first_line_is_the_published_capture_byte_for_byte() -> None:
    # github:yahnatan/pulseox:README.md, first captured line
    captured = b"02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 PI=03.60% SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000800\r\n"
    assert format_line(START, "0000056661", 98, 97, "03.60", 0, 0x800) == captured


def test_lines_follow_the_grammar_and_decode_to_what_was_sent() -> None:
    src = source(sensor_off_every=40, sensor_off_for=7, spo2=90, bpm=55, pi=0.4)
    decoder = MasimoAscii1Decoder()
    offs = 0
    for i in range(400):
        line = src.next_line()
        m = RAD8_LINE.fullmatch(line.data)
        assert m, line.data
        assert line.device_time == START + timedelta(seconds=i)
        assert m["time"] == line.device_time.strftime("%m/%d/%y %H:%M:%S").encode()
        got = {r.metric: r for r in decoder.feed(line.data) if isinstance(r, Measurement)}
        if line.spo2 is None:
            offs += 1
            assert got == {}
            assert m["exc"] in (b"000801", b"000820")
            continue
        assert line.bpm is not None and line.pi is not None
        assert int(m["spo2"]) == line.spo2 and int(m["bpm"]) == line.bpm
        assert got[Metric.SPO2].value == line.spo2
        assert got[Metric.PULSE_RATE_OXIMETER].value == line.bpm
        assert got[Metric.PERFUSION_INDEX].value == Decimal(line.pi)
        assert all(r.device_time == line.device_time for r in got.values())
    assert offs == 9 * 7 + 0  # windows at 40, 80, ..., 360
    assert decoder.errors == 0


def test_silence_keeps_the_device_clock_running() -> None:
    device = MasimoDevice(source(silence_every=10, silence_for=3), FaultInjector(FaultSettings()))
    frames = [device.next_frame() for _ in range(20)]
    assert [i for i, f in enumerate(frames) if f is None] == [10, 11, 12]
    assert frames[13] is not None and frames[13].startswith(b"02/22/16 22:47:58 ")


class FdLink(ByteLink):
    """A minimal ByteLink over the pty slave, for the no-pyserial cross-check."""

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        self._ready = asyncio.Event()
        asyncio.get_running_loop().add_reader(self.fd, self._ready.set)

    @property
    def description(self) -> str:
        return "test fd link"

    async def read(self) -> bytes:
        while True:
            await self._ready.wait()
            self._ready.clear()
            with contextlib.suppress(BlockingIOError):
                data = os.read(self.fd, 4096)
                if data:
                    return data

    async def write(self, data: bytes) -> None:
        os.write(self.fd, data)

    async def close(self) -> None:
        if self.fd >= 0:
            asyncio.get_running_loop().remove_reader(self.fd)
            os.close(self.fd)
            self.fd = -1


class ListSink:
    def __init__(self) -> None:
        self.reports: list[DriverReport] = []

    def put(self, report: DriverReport) -> None:
        self.reports.append(report)

    def spo2(self) -> list[Measurement]:
        return [r for r in self.reports if isinstance(r, Measurement) and r.metric is Metric.SPO2]


@contextlib.asynccontextmanager
async def running(port: Port, device: MasimoDevice, plan: StreamPlan) -> AsyncIterator[str]:
    async with serving(port, device.next_frame, plan) as where:
        yield where


async def read_with_driver(link: ByteLink, until: Callable[[ListSink], bool]) -> ListSink:
    sink = ListSink()
    driver = MasimoAscii1Driver(MasimoAscii1Driver.options_model(), sink)
    task = asyncio.create_task(driver.run(link), name="test driver")
    try:
        async with asyncio.timeout(DEADLINE_S):
            while not until(sink) and not task.done():
                await asyncio.sleep(0.02)
        if task.done():
            task.result()  # surface the driver's error
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await link.close()
    return sink


def check_against_sent(sink: ListSink, records: list[SentRecord], tainted: set[datetime]) -> int:
    """Every SpO2 equals the one sent for its timestamp; returns how many were checked."""
    sent = {r.line.device_time: r.line.spo2 for r in records}
    checked = 0
    for m in sink.spo2():
        assert m.device_time is not None
        if m.device_time in tainted:
            continue
        assert m.value == sent[m.device_time], m
        checked += 1
    return checked


@pytest.mark.parametrize("transport", ["pty", "pty-fd", "tcp"])
async def test_driver_reads_the_simulator(transport: str) -> None:
    records: list[SentRecord] = []
    device = MasimoDevice(source(), FaultInjector(FaultSettings()), records.append)
    port: Port = TcpPort() if transport == "tcp" else PtyPort()
    async with running(port, device, StreamPlan(rate=50, count=40)) as where:
        if transport == "pty-fd":
            link: ByteLink = FdLink(where)
        else:
            link = await open_serial_link(where, MasimoAscii1Driver.serial_defaults)
        sink = await read_with_driver(link, lambda s: len(s.spo2()) >= 30)
    assert check_against_sent(sink, records, set()) >= 30
    times = [m.device_time for m in sink.spo2() if m.device_time is not None]
    assert times == sorted(times) and len(set(times)) == len(times)


def tainted_times(records: list[SentRecord]) -> set[datetime]:
    """Timestamps a flipped bit may have falsified undetectably.

    ASCII 1 has no checksum and 8N1 no parity: a bit flip that turns one digit into
    another digit (e.g. '9' 0x39 -> '1' 0x31) leaves a well-formed line with a wrong
    number, which no receiver can catch. Those lines, under both their true time and
    the time their corrupted stamp now shows, are left out of the strict check.
    """
    out: set[datetime] = set()
    for r in records:
        for f in r.faults:
            if f.kind == "bit" and all(0x30 <= b <= 0x39 for b in f.detail):
                out.add(r.line.device_time)
                m = re.search(rb"(\d\d)/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d)", r.wire)
                if m:
                    mo, d, y, h, mi, s = (int(g) for g in m.groups())
                    with contextlib.suppress(ValueError):
                        out.add(datetime(2000 + y, mo, d, h, mi, s))
    return out


@pytest.mark.parametrize("transport", ["pty", "tcp"])
async def test_faults_never_yield_a_wrong_number(transport: str) -> None:
    records: list[SentRecord] = []
    faults = FaultSettings(garbage=0.15, cut=0.15, bit_errors=0.3)
    device = MasimoDevice(
        source(sensor_off_every=50, sensor_off_for=5), FaultInjector(faults, 5), records.append
    )
    port: Port = TcpPort() if transport == "tcp" else PtyPort()
    count = 400
    async with running(port, device, StreamPlan(rate=200, count=count)) as where:
        link = await open_serial_link(where, MasimoAscii1Driver.serial_defaults)
        # Read until the device has sent its last line and the last clean line near
        # the end has arrived (or the deadline ends a hang).

        def done(sink: ListSink) -> bool:
            if len(records) < count:
                return False
            # The last line that must come through: clean, after a clean one (a cut or
            # trailing junk in the line before glues onto it and spoils it).
            pairs = zip(records[-40:], records[-39:], strict=False)
            ok = [
                b.line.device_time
                for a, b in pairs
                if not a.faults and not b.faults and b.line.spo2 is not None
            ]
            got = {m.device_time for m in sink.spo2()}
            return not ok or ok[-1] in got

        sink = await read_with_driver(link, done)
    assert sum(1 for r in records if r.faults) > 100
    assert check_against_sent(sink, records, tainted_times(records)) > 100


async def test_pty_without_a_reader_never_wedges() -> None:
    port = PtyPort()
    device = MasimoDevice(source(), FaultInjector(FaultSettings()))
    await port.open()
    try:
        # A device with a receiver that is never there: it must keep its pace, not block.
        plan = StreamPlan(rate=2000, count=3000, wait_for_listener=False)
        async with asyncio.timeout(DEADLINE_S):
            assert await stream(port, device.next_frame, plan) == 3000
        assert port.dropped > 0
    finally:
        await port.close()


async def test_unplug_replugs_a_new_pty_behind_the_same_link(tmp_path: Path) -> None:
    link = tmp_path / "ox.tty"
    port = PtyPort(link)
    replugs: list[dict[str, str]] = []
    device = MasimoDevice(source(), FaultInjector(FaultSettings()))
    first = (await port.open())["pty"]
    plan = StreamPlan(rate=20, disconnect_every=0.3, reconnect_after=0.2)
    task = asyncio.create_task(
        stream(port, device.next_frame, plan, on_replug=replugs.append), name="test replug"
    )
    try:
        assert os.readlink(link) == first
        sink = await read_with_driver(FdLink(str(link)), lambda s: len(replugs) >= 1)
        assert sink.spo2()
        second = replugs[0]["pty"]
        assert os.readlink(link) == second and replugs[0]["link"] == str(link)
        sink = await read_with_driver(FdLink(str(link)), lambda s: len(s.spo2()) >= 2)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await port.close()
        port.remove_link()
    assert not link.exists() and not link.is_symlink()


def sim(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "simulators", "masimo", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )


def test_cli_serves_count_lines_over_tcp_and_exits_0() -> None:
    p = sim("--tcp", "0", "--count", "3", "--rate", "10", "--seed", "1")
    try:
        assert p.stdout is not None
        ready = json.loads(p.stdout.readline())
        assert ready["ready"] is True and ready["protocol"] == "masimo"
        host, port = ready["tcp"].rsplit(":", 1)
        data = b""
        with socket.create_connection((host, int(port)), timeout=DEADLINE_S) as s:
            while chunk := s.recv(4096):
                data += chunk
        assert p.wait(timeout=DEADLINE_S) == 0
        lines = data.splitlines(keepends=True)
        assert len(lines) == 3
        assert all(RAD8_LINE.fullmatch(line) for line in lines)
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()
        for f in (p.stdout, p.stderr):
            if f is not None:
                f.close()


def test_cli_sigterm_exits_cleanly_and_removes_the_link(tmp_path: Path) -> None:
    link = tmp_path / "ox.tty"
    p = sim("--pty", "--link", str(link))
    try:
        assert p.stdout is not None and p.stderr is not None
        ready = json.loads(p.stdout.readline())
        assert ready == {
            "ready": True,
            "protocol": "masimo",
            "pty": ready["pty"],
            "link": str(link),
        }
        assert os.readlink(link) == ready["pty"]
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=DEADLINE_S) == 0
        assert not link.is_symlink()
        assert b"Traceback" not in p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()
        for f in (p.stdout, p.stderr):
            if f is not None:
                f.close()


def test_cli_bad_options_get_a_clear_message() -> None:
    for args, text in [
        (("--tcp", "0", "--cut", "1.5"), b"not a probability"),
        (("--tcp", "0", "--serial", "ABC-1"), b"1 to 10 letters or digits"),
        (("--tcp", "0", "--rate", "0"), b"must be above 0"),
        (("--tcp", "0", "--link", "/tmp/x"), b"--link goes with --pty"),
        (("--tcp", "0", "--spo2", "120"), b"expected 50 to 100"),
    ]:
        p = sim(*args)
        _, err = p.communicate(timeout=DEADLINE_S)
        assert p.returncode == 2, (args, err)
        assert text in err and b"Traceback" not in err, err
