"""Lost bytes in SMA SCP-0499 scale replies (no checksum): properties and regressions.

Frames: the reference's replies (shared/reference/serial-protocols.md §5, derived from the
Sartorius PR5220 examples: stable 5.025 lb, centre of zero, motion 7.650 kg), the
dashed zero-error reply, and the hand-laid replies of tests/test_sma_scale.py. Damage
model and excused cases: tests/test_serial_fuzz.py.

A reply has no checksum and its flags no redundancy: a lost run that glues the status,
mode and motion flags of one reply to the weight of the next is itself a well-formed
reply ("motion 7.650 kg" read as stable), and so is a flag changed into another valid
flag. The guard is the decoder's: a weighing needs ``stable_readings`` (default 3)
identical stable replies, which one lost run or two changed bytes cannot forge. The
properties run with that default; ``test_one_spliced_reply_is_not_a_weighing`` pins it.
"""

from __future__ import annotations

import re
from decimal import Decimal

from hypothesis import strategies as st

from drivers.serial.sma_scale import SmaScaleDriver, SmaScaleOptions
from tests.test_serial_fuzz import (
    corruption_property,
    corruptions,
    decode,
    decode_alone,
    garbage_property,
    lost_run_property,
    readings,
    rechunking_property,
)
from vitalsd.driver import Decoder
from vitalsd.model import Metric


def reply(status: str, mode: str, weight: str, unit: str, motion: str = " ") -> bytes:
    """Laid out as the reference says: s r n m f, 10-character weight, 3-character unit."""
    return f"\n{status}1{mode}{motion} {weight:>10}{unit:<3}\r".encode()


STABLE_5_025_LB = reply(" ", "G", "5.025", "lb")  # reference §5
ZERO_LB = reply("Z", "G", "0.000", "lb")  # reference §5
MOTION_7_65_KG = reply(" ", "G", "7.650", "kg", "M")  # reference §5
REPLIES = [
    STABLE_5_025_LB,
    ZERO_LB,
    MOTION_7_65_KG,
    reply("E", "G", "-" * 10, "lb"),
    reply(" ", "G", "80.5", "lb"),
    reply(" ", "G", "123", "oz"),
    reply(" ", "G", "3480", "g"),
    reply(" ", "N", "80.5", "lb"),
    reply(" ", "G", "-12.40", "lb"),
    reply(" ", "G", "181.2", "lb"),
]
# Each reply repeated, as a scale polled twice a second repeats itself.
frames = st.lists(
    st.tuples(st.sampled_from(REPLIES), st.integers(1, 4)), min_size=1, max_size=4
).map(lambda runs: [r for r, n in runs for _ in range(n)])
# The reference's weight field: 10 characters, right-justified number with an optional
# sign and decimal point. Any bytes that keep that field well-formed are undetectable
# (losing "-" of "-12.40" beside a pad leaves " 12.40"), so a splice is excused when it
# is a documented reply with another well-formed weight field.
_WEIGHT_FIELD = re.compile(rb" *[-+]?(?:0|[1-9]\d*)(?:\.\d+)?")


def reply_shape(frame: bytes) -> bytes:
    field = frame[6:16]
    if len(frame) == 20 and _WEIGHT_FIELD.fullmatch(field):
        field = b"<weight>"
    return frame[:6] + field + frame[16:]


STABLE = SmaScaleOptions().stable_readings


def new() -> Decoder:
    return SmaScaleDriver.new_decoder(SmaScaleOptions())


test_rechunking_changes_nothing = rechunking_property(new, frames)
test_a_lost_run_of_bytes_gives_no_reading_no_frame_gave = lost_run_property(
    new,
    frames,
    max_start=320,
    max_length=40,
    documented=REPLIES,
    shape_of=reply_shape,
    repeat=STABLE,
)
test_corrupted_bytes_give_no_reading_no_frame_gave = corruption_property(
    new,
    frames,
    corruptions.filter(lambda hits: len(hits) <= 2),
    spare=b" -+",  # pad and sign
    repeat=STABLE,
)
test_garbage_gives_nothing_and_never_raises = garbage_property(new)


# --- regressions: each reply below was read as a weight before the field was tightened --


def new_eager() -> Decoder:
    return SmaScaleDriver.new_decoder(SmaScaleOptions(stable_readings=1))


def _rejected(frame: bytes) -> None:
    assert decode_alone(new_eager, frame) == ([], 1), frame


def test_a_weight_that_lost_or_gained_a_digit_is_rejected() -> None:
    _rejected(reply(" ", "G", "012.40", "lb"))  # "-" hit by noise: was 12.40 lb
    _rejected(reply(" ", "G", " .025", "lb"))  # "5" hit by noise: was 0.025 lb
    _rejected(reply(" ", "G", "80.", "lb"))  # ends in its point: was 80 lb


def test_every_documented_reply_still_parses() -> None:
    for frame in REPLIES:
        assert decode_alone(new, frame)[1] == 0, frame


def test_one_spliced_reply_is_not_a_weighing() -> None:
    # Found by hypothesis with stable_readings=1: the stable flags of a 5.025 lb reply
    # glued to the weight of a motion reply read as a stable 7.650 kg. Undetectable in
    # one reply; three identical stable replies (the default) are needed for a weighing.
    spliced = STABLE_5_025_LB[:5] + MOTION_7_65_KG[5:]
    assert spliced == reply(" ", "G", "7.650", "kg")
    stream = STABLE_5_025_LB + spliced + MOTION_7_65_KG * 3
    weighed = readings(decode(new, [ZERO_LB + STABLE_5_025_LB * 3 + stream]))
    assert weighed == [frozenset({(Metric.BODY_WEIGHT, Decimal("5.025"))})]
