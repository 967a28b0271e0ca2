"""Lost bytes in the Accutorr 3 ``P:`` reply (plain ASCII, no checksum): properties and
regressions.

Frames: the service manual's example reply ``P:--,85,120, 45, 80,000,010,000, 5`` (with mean 93)
(shared/reference/serial-protocols.md §9, Accutorr 3 service manual pp.1-52/1-53), the
power-up banner and ``>`` prompt (p.1-37), and the replies of tests/test_accutorr3.py
(the simulator formats the manual's example byte for byte). Only replies whose NIBP is
fresh (at most 5 minutes old) are used, so that a frame decoded alone reports what it
holds. Damage model and excused cases: tests/test_serial_fuzz.py.
"""

from __future__ import annotations

import itertools
import re

from hypothesis import example
from hypothesis import strategies as st

from drivers.serial.accutorr3 import Accutorr3Decoder, Accutorr3Driver
from tests.test_serial_fuzz import (
    corruption_property,
    decode_alone,
    garbage_property,
    lost_run_property,
    rechunking_property,
    shape,
)
from vitalsd.driver import Decoder

# The manual's example with a mean between diastolic and systolic: the example itself
# (mean 45, diastolic 80) is reported as inconsistent, never charted (test_accutorr3.py).
MANUAL = b"P:--,85,120, 93, 80,000,010,000, 5\r\n"
REPLIES = [
    MANUAL,
    b"P:97,72,118, 92, 79,000,000,000, 0\r\n",
    b"P:97,72,121, 94, 81,000,000,000, 0\r\n",  # simulator's first reply
    b"P:100,64,--,--,--,000,000,000,--\r\n",  # simulator: no NIBP yet
    b"P:--,--,--,--,--,000,000,000,--\r\n",
]
OTHER = [b"ACCUTORR PC Interface is ready\r\n", b">"]
frames = st.lists(st.sampled_from(REPLIES + OTHER), min_size=1, max_size=5, unique=True)


def reply_shape(frame: bytes) -> bytes:
    """Digits as 9, but SpO2, pulse and minutes of 2 or 3 digits alike: those have no
    fixed width ("85", "100"); the NIBP fields keep theirs (3, right-justified)."""
    fields = frame.split(b",")
    for i in (0, 1, 8):
        if i < len(fields):
            fields[i] = re.sub(rb"[1-9]\d\d?", b"99", fields[i])
    return shape(b",".join(fields))


def new() -> Decoder:
    return Accutorr3Driver.new_decoder()


def numbered() -> Decoder:
    # Groups are random per decoder; numbered, two decoders' reports compare equal.
    return Accutorr3Decoder(groups=map(str, itertools.count()))


test_rechunking_changes_nothing = rechunking_property(numbered, frames)
test_a_lost_run_of_bytes_gives_no_reading_no_frame_gave = lost_run_property(
    new,
    frames,
    max_start=200,
    max_length=50,
    examples=[
        example(fs=[MANUAL], start=9, length=1),  # "120" lost its "2": read as systolic 10
        example(fs=REPLIES[:2], start=16, length=37),  # found by hypothesis: DIA 79 under 120/45
    ],
    documented=REPLIES,
    shape_of=reply_shape,
    field_sep=b",",
)
test_corrupted_bytes_give_no_reading_no_frame_gave = corruption_property(new, frames, spare=b" ")
test_garbage_gives_nothing_and_never_raises = garbage_property(new)


# --- regressions: each reply below was read as values before the widths were checked ---


def _rejected(reply: bytes) -> None:
    assert decode_alone(new, reply) == ([], 1), reply


def test_a_field_narrower_than_its_width_is_rejected() -> None:
    _rejected(b"P:--,85,10, 93, 80,000,010,000, 5\r\n")  # "120" lost "2": was SYS 10
    _rejected(b"P:--,85,120,93, 80,000,010,000, 5\r\n")  # " 93" lost its pad
    _rejected(b"P:--,85,120, 3, 80,000,010,000, 5\r\n")  # " 93" lost "9": was MAP 3
    _rejected(b"P:--,5,120, 93, 80,000,010,000, 5\r\n")  # "85" lost "8": was pulse 5
    _rejected(b"P:--,85,120, 93, 80,000,010,000,5\r\n")  # " 5" lost its pad


def test_a_splice_across_replies_is_rejected() -> None:
    # The head of the manual's reply glued to the tail of the next one (found by
    # hypothesis): was systolic 120 / mean 45 with the next reply's diastolic 79.
    _rejected(b"P:--,85,120, 45,79,000,000,000, 0\r\n")


def test_a_leading_zero_or_spo2_over_100_is_rejected() -> None:
    _rejected(b"P:--,85,120, 93, 80,000,010,000,05\r\n")
    _rejected(b"P:97,07,118, 92, 79,000,000,000, 0\r\n")
    _rejected(b"P:197,72,118, 92, 79,000,000,000, 0\r\n")


def test_zero_padded_3_digit_fields_are_read() -> None:
    # The manual's text says "3-digit fields"; its example pads with spaces. Both pass.
    got, errors = decode_alone(new, b"P:097,072,118,092,079,000,000,000,000\r\n")
    assert errors == 0 and len(got) == 2


def test_every_documented_reply_still_decodes() -> None:
    for reply in REPLIES:
        assert decode_alone(new, reply)[1] == 0, reply
