"""Fuzzing the Masimo ASCII 1 decoder: no exception escapes, and a damaged line gives no value.

ASCII 1 has no checksum, so "a frame whose checksum fails" becomes "a line that is not
whole": cut short, spliced with junk, or glued to the next line. Such lines must not yield
any number; intact lines around them must still decode.
"""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from drivers.serial.masimo import MasimoAscii1Decoder
from vitalsd.model import Measurement

# Rad-8 capture, github:yahnatan/pulseox:README.md (reference §1)
GOOD = (
    b"02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 PI=03.60% SPCO=--.-% SPMET=--.-% "
    b"DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000800\r\n"
)
GOOD_VALUES = {"98", "97", "3.60"}


def values(data: bytes) -> list[str]:
    d = MasimoAscii1Decoder()
    reports = d.feed(data) + d.flush()
    return [str(r.value) for r in reports if isinstance(r, Measurement)]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_never_raise(data: bytes) -> None:
    values(data)


@example(start=38, length=18)  # found by CI: "SPO2=0" + "60% ..." once read as SpO2 60
@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=1, max_value=len(GOOD) - 3), st.integers(min_value=1, max_value=40))
def test_a_cut_line_gives_no_value_and_the_next_line_still_decodes(start: int, length: int) -> None:
    cut = GOOD[:start] + GOOD[start + length :]
    got = values(cut.rstrip(b"\r\n") + b"\r\n" + GOOD)
    # The cut line may only survive if what was removed was a whole uncoded token
    # (e.g. " SPCO=--.-%"), in which case its values are still the true ones.
    assert got[-3:] == ["98", "97", "3.60"]
    assert set(got) <= GOOD_VALUES


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=18, max_value=len(GOOD) - 3),
    st.binary(min_size=1, max_size=12).filter(lambda b: not any(48 <= c <= 57 for c in b)),
)
def test_junk_spliced_into_a_line_gives_no_wrong_value(pos: int, junk: bytes) -> None:
    # Junk without digits cannot forge a number; it may only make the line invalid.
    got = values(GOOD[:pos] + junk + GOOD[pos:])
    assert set(got) <= GOOD_VALUES
