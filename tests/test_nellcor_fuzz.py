"""Lost bytes in Nellcor N-395/N-595/NPB-29x real-time output (no checksum).

Frames: the reference's example data line ``12-NOV-97 14:00:05 100 120 50`` and header
shapes (shared/reference/serial-protocols.md §8, from the NPB-29x manuals' data-port
appendix and OpenICE's nellcor-n595.spec), and the status-code lines of
tests/test_nellcor.py. Damage model and excused cases: tests/test_serial_fuzz.py.
"""

from __future__ import annotations

import re
from decimal import Decimal

from hypothesis import example
from hypothesis import strategies as st

from drivers.serial.nellcor import NellcorDriver
from tests.test_serial_fuzz import (
    corruption_property,
    decode_alone,
    garbage_property,
    lost_run_property,
    rechunking_property,
    shape,
)
from vitalsd.driver import Decoder
from vitalsd.model import Metric

HEADER = b"N-595 VERSION 1.4.1.0 CRC: 3A2C SpO2 Limit: 85-100% PR Limit: 40-170BPM\r\n"
COLUMNS = b"TIME               %SPO2   BPM    PA   Status\r\n"
EXAMPLE = b"12-NOV-97 14:00:05 100 120 50\r\n"  # reference §8
LINES = [
    EXAMPLE,
    b"12-NOV-97 14:00:07   ---   ---   ---   SO\r\n",
    b"12-NOV-97 14:00:09    97    80    40   PS\r\n",
    b"12-NOV-97 14:00:11   84*   75    40   SL MO\r\n",
    b"12-NOV-97 14:00:13    97    80    40   XY\r\n",
    b"12-NOV-97 14:00:15    92    64    38\r\n",
    b"12-NOV-97 14:00:17 98 77 45\r\n",
    # NPB-290 operator's manual, appendix B p.69 (trend printout, same line format)
    b"22-NOV-97 14:00:05 100 120 150\r\n",
    b"22-NOV-97 14:00:07 100 121 154\r\n",
]
# Values printed beside a status code that says they are no reading (PS pulse search,
# XY undocumented): a lost code cannot be detected (status codes are optional).
PRINTED = [frozenset({(Metric.SPO2, Decimal(97)), (Metric.PULSE_RATE_OXIMETER, Decimal(80))})]
frames = st.lists(st.sampled_from([HEADER, COLUMNS, *LINES]), min_size=1, max_size=6, unique=True)


def line_shape(frame: bytes) -> bytes:
    """Numbers of any width, and runs of spaces, as one: column spacing is not published
    byte-exactly, so a splice joining well-formed columns differently is undetectable."""
    return re.sub(rb" +", b" ", shape(frame, variable_width=True))


def new() -> Decoder:
    return NellcorDriver.new_decoder()


test_rechunking_changes_nothing = rechunking_property(new, frames)
test_a_lost_run_of_bytes_gives_no_reading_no_frame_gave = lost_run_property(
    new,
    frames,
    max_start=300,
    max_length=60,
    examples=[example(fs=[EXAMPLE], start=19, length=1)],  # "100" lost its "1": read as SpO2 0
    printed=PRINTED,
    documented=LINES,
    shape_of=line_shape,
    field_sep=b" ",
)
test_corrupted_bytes_give_no_reading_no_frame_gave = corruption_property(
    new,
    frames,
    examples=[
        example(fs=[EXAMPLE], hits=[(19, 9)]),  # found by hypothesis: "\t00" read as SpO2 0
        example(fs=[EXAMPLE], hits=[(21, 9)]),  # "10\t": a tab taken for a column gap, SpO2 10
    ],
    printed=PRINTED,
    spare=b" ",
)
test_garbage_gives_nothing_and_never_raises = garbage_property(new)


# --- regressions: each line below was read as a value before the checks were added -----


def _rejected(line: bytes) -> None:
    assert decode_alone(new, line) == ([], 1), line


def test_a_number_that_lost_its_first_digit_is_rejected() -> None:
    _rejected(b"12-NOV-97 14:00:05 00 120 50\r\n")  # was SpO2 0
    _rejected(b"12-NOV-97 14:00:05 100 020 50\r\n")  # was pulse 20


def test_values_outside_the_device_range_are_rejected() -> None:
    _rejected(b"12-NOV-97 14:00:05 198 77 45\r\n")  # spliced "1" + "98": was SpO2 198
    _rejected(b"12-NOV-97 14:00:05 100 12 50\r\n")  # "120" lost "0": was pulse 12
    _rejected(b"12-NOV-97 14:00:05 0 120 50\r\n")  # SpO2 0 is below the 1 % floor


def test_a_tab_is_not_a_column_gap() -> None:
    _rejected(b"12-NOV-97 14:00:05 10\t 120 50\r\n")  # "100" hit by noise: was SpO2 10


def test_every_published_data_line_still_decodes() -> None:
    for line in (EXAMPLE, LINES[5], LINES[6], LINES[7], LINES[8]):
        got, errors = decode_alone(new, line)
        assert len(got) == 1 and errors == 0, line
