"""Contec CMS50D+/E/F, both generations (shared/reference/serial-protocols.md §10):
golden vectors, the simulator's bytes, and driver + simulator over pty and socket://.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.serial.contec import (
    CMD_KEEPALIVE,
    CMD_START_REALTIME,
    ContecDecoder,
    ContecDriver,
    ContecV7Decoder,
    ContecV7Driver,
    match_old,
    match_v7,
)
from simulators.contec import ContecDevice, ContecSettings, SentPacket, old_packet, v7_realtime
from simulators.faults import FaultInjector, FaultSettings
from simulators.serial_port import Port, PtyPort, StreamPlan, TcpPort
from tests.sim_harness import serving
from vitalsd.links.serial import open_serial_link
from vitalsd.model import (
    Condition,
    DeviceEvent,
    DeviceIdentity,
    DriverReport,
    EventSeverity,
    Measurement,
    Metric,
    Unit,
)

DEADLINE_S = 30.0
HEAD = [
    DeviceIdentity(make="Contec"),
    DeviceEvent("conditions", "all clear", EventSeverity.INFO, frozenset()),
]
# Real capture, github:headrotor/contec_data (decoded with github:timegrid/CMS50Dplus7's
# rules; verified in the reference): signal 5, pleth 51/42, PR 65, SpO2 97, PI invalid.
V7_RT1 = bytes.fromhex("01 E0 85 B3 96 C1 E1 FF FF")
V7_RT2 = bytes.fromhex("01 E0 85 AA 95 C1 E1 FF FF")
V7_HOST_USER = bytes.fromhex("7D 81 AA 80 80 80 80 80 80")
V7_USER_REPLY = bytes.fromhex("04 80 F5 F3 E5 F2 A0 A0 A0")
# Derived in the reference from github:atbrask/CMS50Dplus's layout: PR 72, SpO2 97.
OLD = bytes.fromhex("85 40 03 48 61")


def pair(group: str, spo2: int, pr: int) -> list[Measurement]:
    return [
        Measurement(Metric.SPO2, Decimal(spo2), Unit.PERCENT, group=group),
        Measurement(Metric.PULSE_RATE_OXIMETER, Decimal(pr), Unit.PER_MIN, group=group),
    ]


def test_v7_capture_decodes_to_the_stated_values() -> None:
    d = ContecV7Decoder()
    stream_ = V7_RT1 + V7_RT2 + V7_HOST_USER + V7_USER_REPLY
    assert d.feed(stream_) == [*HEAD, *pair("contec-2", 97, 65)]
    assert d.errors == 0


def test_v7_host_commands_are_the_captured_bytes() -> None:
    assert bytes.fromhex("7D 81 A1 80 80 80 80 80 80") == CMD_START_REALTIME
    assert bytes.fromhex("7D 81 AF 80 80 80 80 80 80") == CMD_KEEPALIVE


def test_old_protocol_vector_byte_by_byte() -> None:
    d = ContecDecoder()
    out = [r for b in OLD * 2 for r in d.feed(bytes([b]))]
    assert out == [*HEAD, *pair("contec-2", 97, 72)]
    assert old_packet(97, 72, 64, False) == OLD  # the simulator speaks the same bytes


def test_old_pulse_bit7_and_markers() -> None:
    # PR 130 = 0x82: bit 7 travels in byte 2 (0x40)
    d = ContecDecoder(packets_per_report=1)
    pkt = old_packet(95, 130, 10, False)
    assert pkt[2] & 0x40 and d.feed(pkt * 2)[2:] == pair("contec-2", 95, 130)
    finger_out = old_packet(None, None, 0, True)
    assert d.feed(finger_out * 3) == [
        DeviceEvent(
            "conditions",
            "pulse search, sensor off",
            EventSeverity.WARNING,
            frozenset({Condition.SENSOR_OFF, Condition.PULSE_SEARCH}),
        )
    ]


def test_single_packets_and_disagreeing_pairs_give_no_value() -> None:
    d = ContecDecoder(packets_per_report=1)
    assert d.feed(old_packet(97, 72, 1, False)) == HEAD
    assert d.feed(old_packet(96, 72, 1, False)) == []  # differs from the one before
    assert d.feed(old_packet(96, 72, 1, False)) == pair("contec-3", 96, 72)


def test_v7_searching_and_probe_error_give_no_values() -> None:
    d = ContecV7Decoder(packets_per_report=1)
    out = d.feed(v7_realtime(None, None, 3, True) * 2)
    assert out[2:] == [] and out[1] == DeviceEvent(
        "conditions", "pulse search", EventSeverity.WARNING, frozenset({Condition.PULSE_SEARCH})
    )


def test_negative_layouts_are_rejected() -> None:
    assert match_old(bytes.fromhex("85 40 83 48 61")) == -1  # sync bit inside
    assert match_old(bytes.fromhex("05 40 03 48 61")) == -1  # no sync bit
    assert match_v7(bytes.fromhex("01 E0 85 33 96 C1 E1 FF FF")) == -1  # payload bit 7 clear
    assert match_v7(bytes.fromhex("81 E0 85 B3")) == -1
    d = ContecV7Decoder(packets_per_report=1)
    # a packet missing a byte: the next type byte arrives too early
    broken = V7_RT1[:6] + V7_RT1[7:]
    assert d.feed(broken + V7_RT2 + V7_RT2) == [*HEAD, *pair("contec-2", 97, 65)]
    assert d.errors == 1


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300), st.booleans())
def test_fuzz_random_bytes_never_raise(data: bytes, v7: bool) -> None:
    d = ContecV7Decoder(1) if v7 else ContecDecoder(1)
    for r in d.feed(data):
        if isinstance(r, Measurement):
            assert r.value <= (100 if r.metric is Metric.SPO2 else 255)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 17), st.integers(1, 255), st.booleans())
def test_fuzz_corruption_breaking_the_layout_gives_no_value(at: int, xor: int, v7: bool) -> None:
    good = (V7_RT1 * 2) if v7 else (OLD * 2 + OLD[:0])
    at %= len(good)
    bad = bytearray(good)
    bad[at] ^= xor
    matcher = match_v7 if v7 else match_old
    size = 9 if v7 else 5
    layout_ok = all(matcher(bytes(bad[i : i + size])) == size for i in range(0, len(bad), size))
    d = ContecV7Decoder(1) if v7 else ContecDecoder(1)
    ms = [r for r in d.feed(bytes(bad)) if isinstance(r, Measurement)]
    if not layout_ok:
        assert ms == []


# --- driver and simulator end to end --------------------------------------------------


class ListSink:
    def __init__(self) -> None:
        self.reports: list[DriverReport] = []

    def put(self, report: DriverReport) -> None:
        self.reports.append(report)

    def values(self, metric: Metric) -> list[Measurement]:
        return [r for r in self.reports if isinstance(r, Measurement) and r.metric is metric]


@contextlib.asynccontextmanager
async def running(port: Port, device: ContecDevice, plan: StreamPlan) -> AsyncIterator[str]:
    port.on_input = device.on_input
    async with serving(port, device.next_frame, plan) as where:
        yield where


async def drive(
    driver_cls: type[ContecDriver], where: str, until: Callable[[ListSink], bool]
) -> ListSink:
    sink = ListSink()
    options = driver_cls.options_model.model_validate({"packets_per_report": 5})
    driver = driver_cls(options, sink)
    link = await open_serial_link(where, driver_cls.serial_defaults)
    task = asyncio.create_task(driver.run(link), name="test contec driver")
    try:
        async with asyncio.timeout(DEADLINE_S):
            while not until(sink) and not task.done():
                await asyncio.sleep(0.02)
        if task.done():
            task.result()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await link.close()
    return sink


@pytest.mark.parametrize("transport", ["pty", "tcp"])
@pytest.mark.parametrize("protocol", ["old", "v7"])
async def test_driver_reads_the_simulator_with_faults(transport: str, protocol: str) -> None:
    sent: list[SentPacket] = []
    faults = FaultInjector(FaultSettings(garbage=0.05, cut=0.05, bit_errors=0.05), 3)
    device = ContecDevice(ContecSettings(protocol=protocol, seed=4), faults, sent.append)
    driver_cls = ContecV7Driver if protocol == "v7" else ContecDriver
    port: Port = TcpPort() if transport == "tcp" else PtyPort()
    async with running(port, device, StreamPlan(rate=300)) as where:
        sink = await drive(driver_cls, where, lambda s: len(s.values(Metric.SPO2)) >= 10)
    if protocol == "v7":
        assert device.commands[0] == 0xA1  # the driver started the stream
    # No checksum: a value may come only from two agreeing packets. Every reported value
    # must be one the device really sent (bit errors in a value byte are the only way to
    # a wrong number, and the agreement rule needs two identical ones).
    sent_spo2 = {p.spo2 for p in sent if not p.faulted}
    sent_pr = {p.pr for p in sent if not p.faulted}
    assert {int(m.value) for m in sink.values(Metric.SPO2)} <= sent_spo2
    assert {int(m.value) for m in sink.values(Metric.PULSE_RATE_OXIMETER)} <= sent_pr


async def test_v7_simulator_is_silent_until_started_and_answers_user_info() -> None:
    device = ContecDevice(ContecSettings(protocol="v7"), FaultInjector(FaultSettings()))
    assert device.next_frame() is None
    device.on_input(b"\x7d\x81\xa1\x80")  # half a command: nothing yet
    assert device.next_frame() is None
    device.on_input(b"\x80\x80\x80\x80\x80" + V7_HOST_USER)
    out = device.next_frame()
    assert out is not None and out.startswith(V7_USER_REPLY) and out[9] == 0x01
    device.on_input(bytes.fromhex("7D 81 A2 80 80 80 80 80 80"))
    assert device.next_frame() is None
    device.on_input(bytes.fromhex("7D 81 A1 00 80 80 80 80 80"))  # malformed: ignored
    assert device.next_frame() is None


def test_cli_contec_v7_over_tcp() -> None:
    p = subprocess.Popen(
        [sys.executable, "-m", "simulators", "contec", "--protocol", "v7", "--tcp", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert p.stdout is not None
        ready = json.loads(p.stdout.readline())
        assert ready["ready"] is True and ready["protocol"] == "contec-v7"
        host, port = ready["tcp"].rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=DEADLINE_S) as s:
            s.sendall(CMD_START_REALTIME)
            data = b""
            while len(data) < 18:
                data += s.recv(4096)
        assert data[0] == 0x01 and match_v7(data[:9]) == 9
        p.terminate()
        assert p.wait(timeout=DEADLINE_S) == 0
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()
        for f in (p.stdout, p.stderr):
            if f is not None:
                f.close()
