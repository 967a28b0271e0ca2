"""Lost bytes in the Detecto solo printed record (no checksum): properties, regressions.

Frames: the solo manual's example record (shared/reference/serial-protocols.md §6, manual
0044-0391-0M Rev A p.20), with ASCII and typeset quote marks, and the optional-field,
kg and empty-platform records of tests/test_detecto_solo.py. Damage model and excused
cases: tests/test_serial_fuzz.py.
"""

from __future__ import annotations

from hypothesis import example
from hypothesis import strategies as st

from drivers.serial.detecto_solo import DetectoSoloDriver
from tests.test_serial_fuzz import (
    corruption_property,
    decode_alone,
    garbage_property,
    lost_run_property,
    rechunking_property,
)
from vitalsd.driver import Decoder

MANUAL = b"12:00,08/07/15,21.5,5'03.0\",132.3lb\r"
RECORDS = [
    MANUAL,
    "12:01,08/07/15,21.5,5\u201903.0\u201d,132.3lb\r".encode(),  # as typeset in the manual
    b"09:15,01/02/24,,,61.4kg\r",
    b"09:16,01/02/24,22.0,165.0cm,61.4kg\r",
    b"09:17,01/02/24,,,0.0lb\r",
    b"12:02,08/07/15,23.4,5'03.0\",132.3lb\r",  # simulator's format_record(WHEN, 132.3, 63.0)
    b"12:03,08/07/15,24.9,5'11.5\",181.0lb\r",
    b"09:18,01/02/24,,,100.5lb\r",
]
frames = st.lists(st.sampled_from(RECORDS), min_size=1, max_size=5, unique=True)


def new() -> Decoder:
    return DetectoSoloDriver.new_decoder()


test_rechunking_changes_nothing = rechunking_property(new, frames)
test_a_lost_run_of_bytes_gives_no_reading_no_frame_gave = lost_run_property(
    new,
    frames,
    max_start=200,
    max_length=50,
    examples=[
        example(fs=[RECORDS[7]], start=17, length=1),  # "100.5lb" lost its "1": read as 0.5 lb
    ],
    variable_width=True,
    documented=RECORDS,
    field_sep=b",",
)
test_corrupted_bytes_give_no_reading_no_frame_gave = corruption_property(
    new,
    frames,
    examples=[
        example(fs=[MANUAL], hits=[(28, 9)]),  # ",\t32.3lb": the tab was stripped, weight 32.3
    ],
    spare=b",",
)
test_garbage_gives_nothing_and_never_raises = garbage_property(new)


# --- regressions: each record below was read as values before the checks were added ----


def _rejected(record: bytes) -> None:
    assert decode_alone(new, record) == ([], 1), record


def test_whitespace_at_a_field_edge_is_not_stripped() -> None:
    _rejected(b"12:00,08/07/15,21.5,5'03.0\",\t32.3lb\r")  # "1" hit by noise: was 32.3 lb
    _rejected(b"12:00,08/07/15, 1.5,5'03.0\",132.3lb\r")  # "2" hit by noise: was BMI 1.5


def test_a_number_that_lost_its_first_digit_is_rejected() -> None:
    _rejected(b"09:18,01/02/24,,,00.5lb\r")  # "100.5lb" lost "1": was 0.5 lb
    _rejected(b"09:16,01/02/24,02.0,165.0cm,61.4kg\r")  # BMI "22.0" lost "2"
    _rejected(b"09:16,01/02/24,22.0,065.0cm,61.4kg\r")  # a height that lost "1"


def test_inches_of_twelve_or_more_are_rejected() -> None:
    # 5'11.5" and 5'03.0" spliced inside the inches ("5'1" + "3.0"): was 73.0 in.
    spliced = RECORDS[6][:23] + MANUAL[23:]
    assert spliced == b"12:03,08/07/15,24.9,5'13.0\",132.3lb\r"
    _rejected(spliced)


def test_every_documented_record_still_decodes() -> None:
    for record in RECORDS:
        assert decode_alone(new, record)[1] == 0, record
