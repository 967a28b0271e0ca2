"""Lost bytes in Nonin real-time ASCII output (no checksum): properties and regressions.

Frames are the reference's vectors (shared/reference/serial-protocols.md §7, from the
Nonin 9847 p.44, 8500 p.21, 2500 p.24, Avant 9600 p.32 and Avant 4000 p.35 operator
manuals), the same ones tests/test_nonin_ascii.py pins. Damage model and excused cases:
tests/test_serial_fuzz.py.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.serial.nonin_ascii import NoninAsciiDriver
from tests.test_serial_fuzz import (
    EXAMPLES,
    check_corruption,
    check_garbage,
    check_lost_run,
    chunked,
    corruptions,
    decode,
)
from vitalsd.driver import Decoder

VECTORS = [
    b"SPO2=097 HR=072\r\n",
    b"SPO2=--- HR=---\r\n",
    b"SPO2=097 HR=072*\r\n",
    b"14:02:09 SPO2=097 HR=072\r\n",
    b"SPO2=097 HR=072 F\r\n",
    b"SPO2=097 HR=072B\r\n",
]
# The same layouts with other values, so that a splice has different digits to mix.
OTHERS = [
    b"SPO2=085 HR=101\r\n",
    b"SPO2=100 HR=---\r\n",
    b"SPO2=--- HR=060*\r\n",
    b"14:02:10 SPO2=091 HR=118\r\n",
    b"SPO2=088 HR=099 F\r\n",
    b"SPO2=093 HR=065B\r\n",
]
frames = st.lists(st.sampled_from(VECTORS + OTHERS), min_size=1, max_size=6)
# Every combination the manuals describe (time prefix on the 9847/8600V, "---" for a
# missing value, F / * / B suffixes): the shapes a splice may take undetectably.
GRAMMAR = [
    f"{t}SPO2={s} HR={h}{f}{m}{b}\r\n".encode()
    for t in ("", "14:02:09 ")
    for s in ("097", "---")
    for h in ("072", "---")
    for f in ("", " F")
    for m in ("", "*")
    for b in ("", "B")
]


def new() -> Decoder:
    return NoninAsciiDriver.new_decoder()


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.data(), frames)
def test_rechunking_changes_nothing(data: st.DataObject, fs: list[bytes]) -> None:
    stream = b"".join(fs)
    assert decode(new, data.draw(chunked(stream))) == decode(new, [stream])


@settings(max_examples=EXAMPLES, deadline=None)
@given(frames, st.integers(0, 200), st.integers(1, 40))
def test_a_lost_run_of_bytes_gives_no_reading_no_frame_gave(
    fs: list[bytes], start: int, length: int
) -> None:
    check_lost_run(new, fs, start, length, documented=GRAMMAR)


@settings(max_examples=EXAMPLES, deadline=None)
@given(frames, corruptions)
def test_corrupted_bytes_give_no_reading_no_frame_gave(
    fs: list[bytes], hits: list[tuple[int, int]]
) -> None:
    check_corruption(new, fs, hits)


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.binary(max_size=300))
def test_garbage_gives_nothing_and_never_raises(data: bytes) -> None:
    check_garbage(new, data)
