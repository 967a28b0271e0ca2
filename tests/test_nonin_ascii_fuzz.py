"""Lost bytes in Nonin real-time ASCII output (no checksum): properties and regressions.

Frames are the reference's vectors (shared/reference/serial-protocols.md §7, from the
Nonin 9847 p.44, 8500 p.21, 2500 p.24, Avant 9600 p.32 and Avant 4000 p.35 operator
manuals), the same ones tests/test_nonin_ascii.py pins. Damage model and excused cases:
tests/test_serial_fuzz.py.
"""

from __future__ import annotations

from hypothesis import strategies as st

from drivers.serial.nonin_ascii import NoninAsciiDriver
from tests.test_serial_fuzz import (
    corruption_property,
    garbage_property,
    lost_run_property,
    rechunking_property,
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


test_rechunking_changes_nothing = rechunking_property(new, frames)
test_a_lost_run_of_bytes_gives_no_reading_no_frame_gave = lost_run_property(
    new, frames, max_start=200, max_length=40, documented=GRAMMAR
)
test_corrupted_bytes_give_no_reading_no_frame_gave = corruption_property(new, frames)
test_garbage_gives_nothing_and_never_raises = garbage_property(new)
