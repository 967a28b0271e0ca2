"""Nonin OEM III Data Format #2 golden vectors (shared/reference/serial-protocols.md §2).

The packet and its negative vectors are the verified bytes of
github:pez-globo/pufferfish-software:firmware/ventilator-controller-stm32/Core/Test/
Pufferfish/Driver/Serial/Nonin/TestNoninOEM3.cpp ("Validate NoninOEM3 for valid packet
data": HR 72, SpO2 97 in every variant, firmware revision 48).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
from decimal import Decimal
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.serial.nonin_df2 import NoninDf2Decoder, NoninDf2Driver, NoninDf2Options, match_frame
from simulators.faults import FaultInjector, FaultSettings
from simulators.nonin_df2 import NoninDf2Device, NoninSettings, SentPacket
from simulators.serial_port import Port, PtyPort, StreamPlan, TcpPort, stream
from vitalsd.links.serial import open_serial_link
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

PACKET = bytes.fromhex(
    "01 81 01 00 83  01 80 01 48 CA  01 80 01 61 E3  01 80 01 30 B2  01 80 01 00 82"
    "01 80 01 00 82  01 80 01 00 82  01 80 01 00 82  01 80 01 61 E3  01 80 01 61 E3"
    "01 80 01 61 E3  01 80 01 00 82  01 80 01 00 82  01 80 01 00 82  01 80 01 48 CA"
    "01 80 01 61 E3  01 80 01 61 E3  01 80 01 00 82  01 80 01 00 82  01 80 01 00 82"
    "01 80 01 48 CA  01 80 01 00 82  01 80 01 48 CA  01 80 01 00 82  01 80 01 00 82"
)
FRAMES = [PACKET[i : i + 5] for i in range(0, 125, 5)]


def values(group: str, flags: frozenset[Flag] = frozenset()) -> list[Measurement]:
    return [
        Measurement(Metric.SPO2, Decimal(97), Unit.PERCENT, None, flags, group),
        Measurement(Metric.PULSE_RATE_OXIMETER, Decimal(72), Unit.PER_MIN, None, flags, group),
    ]


HEAD = [
    DeviceIdentity(make="Nonin", firmware="48"),
    DeviceEvent("conditions", "all clear", EventSeverity.INFO, frozenset()),
]


def frame(status: int, data: int, pleth: int = 1) -> bytes:
    body = bytes([1, status, pleth, data])
    return body + bytes([sum(body) & 0xFF])


def with_status(status_bits: int) -> bytes:
    """The Pufferfish packet with extra STATUS bits in every frame, checksums redone."""
    return b"".join(frame(f[1] | status_bits, f[3], f[2]) for f in FRAMES)


def test_pufferfish_packet_decodes_to_the_stated_values() -> None:
    d = NoninDf2Decoder()
    assert d.feed(PACKET) == [*HEAD, *values("nonin-df2-1")]
    assert d.errors == 0


def test_byte_by_byte_feeding_gives_the_same_result() -> None:
    d = NoninDf2Decoder()
    out = [r for b in PACKET for r in d.feed(bytes([b]))]
    assert out == [*HEAD, *values("nonin-df2-1")]


def test_checksum_error_is_rejected_and_packet_dropped() -> None:
    # TestNoninOEM3.cpp: second frame ends in CB instead of CA -> framing error
    assert match_frame(bytes.fromhex("01 80 01 48 CB")) == -1
    bad = PACKET[:9] + b"\xcb" + PACKET[10:]
    d = NoninDf2Decoder()
    assert d.feed(bad) == []
    assert d.errors >= 1
    # and the stream resynchronises on the next packet
    assert d.feed(PACKET) == [*HEAD, *values("nonin-df2-1")]


def test_status_bit7_clear_is_a_framing_error() -> None:
    # TestNoninOEM3.cpp: status byte 7F in the second frame
    assert match_frame(bytes.fromhex("01 7F 01 48 CA")) == -1
    bad = PACKET[:6] + b"\x7f" + PACKET[7:]
    d = NoninDf2Decoder()
    assert d.feed(bad) == []
    assert d.errors >= 1


def test_short_packet_before_sync_is_missed_data() -> None:
    # TestNoninOEM3.cpp "23 frames of first packet and 1 frame of second packet"
    d = NoninDf2Decoder()
    assert d.feed(b"".join(FRAMES[:23]) + FRAMES[0]) == []
    assert d.errors == 1
    assert d.feed(b"".join(FRAMES[1:])) == [*HEAD, *values("nonin-df2-1")]


def test_joining_mid_packet_waits_for_sync() -> None:
    d = NoninDf2Decoder()
    assert d.feed(b"".join(FRAMES[7:]) + PACKET[:3]) == []
    assert d.feed(PACKET[3:]) == [*HEAD, *values("nonin-df2-1")]


def test_reports_once_per_n_packets() -> None:
    d = NoninDf2Decoder(packets_per_report=3)
    out = d.feed(PACKET * 7)
    ms = [r for r in out if isinstance(r, Measurement)]
    assert [m.group for m in ms] == ["nonin-df2-1"] * 2 + ["nonin-df2-4"] * 2 + ["nonin-df2-7"] * 2
    opts = NoninDf2Options(packets_per_report=1)
    every = NoninDf2Driver.new_decoder(opts).feed(PACKET * 2)
    assert len([r for r in every if isinstance(r, Measurement)]) == 4


def test_missing_markers_never_become_numbers() -> None:
    # SpO2 127 and HR 511 mean "no value" (Pufferfish Types.h)
    frames = list(FRAMES)
    frames[8] = frame(0x80, 127)
    frames[19] = frame(0x80, 0x03)
    frames[20] = frame(0x80, 0x7F)
    d = NoninDf2Decoder()
    assert d.feed(b"".join(frames)) == HEAD


def test_sensor_disconnect_and_out_of_track_give_conditions_not_values() -> None:
    d = NoninDf2Decoder(packets_per_report=1)
    assert d.feed(with_status(0x40)) == [
        HEAD[0],
        DeviceEvent(
            "conditions", "no sensor", EventSeverity.WARNING, frozenset({Condition.NO_SENSOR})
        ),
    ]
    assert d.feed(with_status(0x10 | 0x08)) == [
        DeviceEvent(
            "conditions",
            "pulse search, sensor fault",
            EventSeverity.WARNING,
            frozenset({Condition.PULSE_SEARCH, Condition.SENSOR_FAULT}),
        )
    ]
    assert d.feed(PACKET) == [HEAD[1], *values("nonin-df2-3")]


def test_artifact_and_perfusion_colour_are_flags() -> None:
    d = NoninDf2Decoder(packets_per_report=1)
    got = d.feed(with_status(0x20 | 0x02))  # artifact, green perfusion
    assert got == [*HEAD, *values("nonin-df2-1", frozenset({Flag.ARTIFACT}))]
    got = d.feed(with_status(0x04))  # red perfusion
    assert got == [
        DeviceEvent(
            "conditions", "low perfusion", EventSeverity.INFO, frozenset({Condition.LOW_PERFUSION})
        ),
        *values("nonin-df2-2", frozenset({Flag.LOW_PERFUSION})),
    ]
    got = d.feed(with_status(0x06))  # yellow
    assert got[1:] == values("nonin-df2-3", frozenset({Flag.LOW_SIGNAL_QUALITY}))


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_random_bytes_never_raise(data: bytes) -> None:
    d = NoninDf2Decoder(packets_per_report=1)
    d.feed(data)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 124), st.integers(1, 255)), min_size=1, max_size=4),
    st.integers(1, 9),
)
def test_fuzz_corrupted_packets_never_give_a_wrong_value(
    edits: list[tuple[int, int]], chunk: int
) -> None:
    """Every corrupted byte that breaks a checksum drops its packet; values that do come
    out are the packet's own (97 / 72) or none."""
    bad = bytearray(PACKET)
    for at, xor in edits:
        bad[at] ^= xor
    stream = bytes(bad) + PACKET
    d = NoninDf2Decoder(packets_per_report=1)
    out = [r for i in range(0, len(stream), chunk) for r in d.feed(stream[i : i + chunk])]
    ms = [r for r in out if isinstance(r, Measurement)]
    # a frame whose checksum still matches after the edit may carry changed data; only
    # packets whose every frame passes the checksum may yield values at all
    frames_ok = all(match_frame(bytes(bad[i : i + 5])) == 5 for i in range(0, 125, 5))
    if not frames_ok:
        assert len(ms) <= 2, out  # only the clean second packet
    for m in ms:
        if not frames_ok:
            assert m.value == (97 if m.metric is Metric.SPO2 else 72)


# --- simulator and driver end to end --------------------------------------------------


def test_simulator_packet_matches_the_pufferfish_layout() -> None:
    from simulators.nonin_df2 import packet

    sim = packet(97, 72, 48, 0, 0.0)
    # pleth differs (the published packet has a flat pleth of 1); data bytes must not
    assert [sim[i + 3] for i in range(0, 125, 5)] == [PACKET[i + 3] for i in range(0, 125, 5)]
    assert all(match_frame(sim[i : i + 5]) == 5 for i in range(0, 125, 5))
    assert NoninDf2Decoder().feed(sim) == [*HEAD, *values("nonin-df2-1")]


@pytest.mark.parametrize("transport", ["pty", "tcp"])
async def test_driver_reads_the_simulator_with_faults(transport: str) -> None:
    sent: list[SentPacket] = []
    faults = FaultInjector(FaultSettings(garbage=0.1, cut=0.1, bit_errors=0.2), 7)
    device = NoninDf2Device(
        NoninSettings(seed=3, sensor_off_every=12, sensor_off_for=3), faults, sent.append
    )
    port: Port = TcpPort() if transport == "tcp" else PtyPort()

    def done(reports: list[DriverReport]) -> bool:
        off = any(
            isinstance(r, DeviceEvent) and Condition.NO_SENSOR in r.conditions for r in reports
        )
        return off and sum(isinstance(r, Measurement) for r in reports) >= 20

    info = await port.open()
    task = asyncio.create_task(stream(port, device.next_frame, StreamPlan(rate=60)), name="sim")
    sink: list[DriverReport] = []
    where = info.get("pty") or f"socket://{info['tcp']}"
    link = await open_serial_link(where, NoninDf2Driver.serial_defaults)
    driver = NoninDf2Driver(NoninDf2Options(packets_per_report=1), SimpleNamespace(put=sink.append))
    run = asyncio.create_task(driver.run(link), name="driver")
    try:
        async with asyncio.timeout(30):
            while not done(sink) and not run.done():
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
    assert any(p.faulted for p in sent)
    good = {(p.spo2, p.hr) for p in sent}
    ms = [r for r in sink if isinstance(r, Measurement)]
    by_group: dict[str | None, dict[Metric, Decimal]] = {}
    for m in ms:
        by_group.setdefault(m.group, {})[m.metric] = m.value
    for got in by_group.values():
        pair_ = (int(got[Metric.SPO2]), int(got[Metric.PULSE_RATE_OXIMETER]))
        assert pair_ in good  # never a value that was not sent together
    assert any(isinstance(r, DeviceEvent) and Condition.NO_SENSOR in r.conditions for r in sink)


def test_cli_serves_packets_over_tcp() -> None:
    p = subprocess.Popen(
        [sys.executable, "-m", "simulators", "nonin-df2", "--tcp", "0", "--count", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert p.stdout is not None
        ready = json.loads(p.stdout.readline())
        assert ready["ready"] is True and ready["protocol"] == "nonin-df2"
        host, port = ready["tcp"].rsplit(":", 1)
        data = b""
        with socket.create_connection((host, int(port)), timeout=30) as s:
            while chunk := s.recv(4096):
                data += chunk
        assert p.wait(timeout=30) == 0
        assert len(data) == 250
        assert [r for r in NoninDf2Decoder(1).feed(data) if isinstance(r, Measurement)]
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()
        for f in (p.stdout, p.stderr):
            if f is not None:
                f.close()
