"""Lost bytes in the Contec CMS50D+/E/F streams (no checksum): properties.

Frames: the reference's vectors (shared/reference/serial-protocols.md §10): the v7 real-
time packets captured in github:headrotor/contec_data (decoded with github:timegrid/
CMS50Dplus7's rules: PR 65, SpO2 97) and the other captured packet types, and the old
protocol's derived packet ``85 40 03 48 61`` (PR 72, SpO2 97, github:atbrask/CMS50Dplus
layout). The other packets are derived from the same layouts, by hand.

Neither generation has a checksum: a packet is only its bit-7 layout, and a value byte
changed into another value byte cannot be seen in one packet. The driver's guard is that
a value is used only when two packets in a row agree on it, so the properties here are:
one lost run of bytes, or any number of layout-breaking byte changes plus at most one
value-for-value change, never yields a reading no intact packet gave.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.serial.contec import ContecDriver, ContecOptions, ContecV7Driver
from tests.test_serial_fuzz import (
    EXAMPLES,
    Reading,
    chunked,
    decode,
    lost_run,
    readings,
    traceable,
)
from vitalsd.driver import Decoder

OLD = [
    bytes.fromhex("85 40 03 48 61"),  # reference: PR 72, SpO2 97
    bytes.fromhex("85 0A 43 02 5F"),  # derived: PR 130 (bit 7 in byte 2), SpO2 95
    bytes.fromhex("85 01 03 48 60"),  # derived: PR 72, SpO2 96
    bytes.fromhex("90 00 20 00 7F"),  # derived: finger out, searching, no values
]
V7 = [
    bytes.fromhex("01 E0 85 B3 96 C1 E1 FF FF"),  # capture: PR 65, SpO2 97
    bytes.fromhex("01 E0 85 AA 95 C1 E1 FF FF"),  # capture: PR 65, SpO2 97
    bytes.fromhex("01 E0 85 B3 96 F8 DC FF FF"),  # derived: PR 120, SpO2 92
    bytes.fromhex("04 80 F5 F3 E5 F2 A0 A0 A0"),  # capture: user name reply
    bytes.fromhex("7D 81 AA 80 80 80 80 80 80"),  # capture: host command echo
]


def new_old() -> Decoder:
    return ContecDriver.new_decoder(ContecOptions(packets_per_report=1))


def new_v7() -> Decoder:
    return ContecV7Driver.new_decoder(ContecOptions(packets_per_report=1))


CASES = [(new_old, OLD), (new_v7, V7)]


@st.composite
def streams(draw: st.DrawFn) -> tuple[int, list[bytes]]:
    """A protocol and its packets, each repeated (the device sends ~60 a second)."""
    which = draw(st.sampled_from([0, 1]))
    packets = draw(st.lists(st.sampled_from(CASES[which][1]), min_size=1, max_size=5))
    counts = draw(st.lists(st.integers(1, 3), min_size=len(packets), max_size=len(packets)))
    return which, [p for p, n in zip(packets, counts, strict=True) for _ in range(n)]


def allowed(which: int, packets: list[bytes]) -> list[Reading]:
    new = CASES[which][0]
    return [r for p in packets for r in readings(decode(new, [p * 2]))]


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.data(), streams())
def test_rechunking_changes_nothing(data: st.DataObject, s: tuple[int, list[bytes]]) -> None:
    which, packets = s
    stream = b"".join(packets)
    new = CASES[which][0]
    assert decode(new, data.draw(chunked(stream))) == decode(new, [stream])


@settings(max_examples=EXAMPLES, deadline=None)
@given(streams(), st.integers(0, 150), st.integers(1, 30))
def test_a_lost_run_of_bytes_gives_no_reading_no_packet_gave(
    s: tuple[int, list[bytes]], start: int, length: int
) -> None:
    which, packets = s
    damaged, _, _ = lost_run(b"".join(packets), start, length)
    ok = allowed(which, packets)
    for got in readings(decode(CASES[which][0], [damaged])):
        assert traceable(got, ok), (damaged.hex(" "), got)


@settings(max_examples=EXAMPLES, deadline=None)
@given(streams(), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=4))
def test_changed_bytes_give_no_reading_no_packet_gave(
    s: tuple[int, list[bytes]], hits: list[tuple[int, int]]
) -> None:
    which, packets = s
    stream = b"".join(packets)
    out = bytearray(stream)
    same_class = 0
    for pos, byte in hits:
        pos %= len(out)
        if (stream[pos] ^ byte) & 0x80 == 0:
            # A value byte for a value byte: invisible in one packet; the agreement of
            # two packets catches one such change, not the same change made twice.
            same_class += 1
            if same_class > 1:
                continue
        out[pos] = byte
    ok = allowed(which, packets)
    for got in readings(decode(CASES[which][0], [bytes(out)])):
        assert traceable(got, ok), (bytes(out).hex(" "), got)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([0, 1]))
def test_garbage_never_raises_and_gives_nothing_without_two_agreeing_packets(
    data: bytes, which: int
) -> None:
    # Garbage that happens to hold two well-formed packets in a row with equal values is
    # indistinguishable from the device: that, and only that, may give a reading.
    got = readings(decode(CASES[which][0], [data]))
    if got:
        size = 5 if which == 0 else 9
        assert any(data[i : i + size] and _agreeing_pair(data, i, size) for i in range(len(data)))


def _agreeing_pair(data: bytes, i: int, size: int) -> bool:
    a, b = data[i : i + size], data[i + size : i + 2 * size]
    if len(b) < size:
        return False
    if size == 5:  # old: sync bit on byte 0 only; PR bit 7 in byte 2, SpO2 in byte 4
        layout = all((x[0] & 0x80) and not any(c & 0x80 for c in x[1:]) for x in (a, b))
        return layout and (a[2] & 0x40, a[3], a[4]) == (b[2] & 0x40, b[3], b[4])
    layout = all(not x[0] & 0x80 and all(c & 0x80 for c in x[1:]) for x in (a, b))
    return layout and (a[0], a[1] & 0x18, a[5], a[6]) == (b[0], b[1] & 0x18, b[5], b[6])
