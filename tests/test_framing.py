"""The shared line framer: any chunking, any CR/LF combination, garbage without line ends."""

from __future__ import annotations

import pytest

from vitalsd.framing import LineFramer

LINES = [b"first line", b"second", b"third one"]


@pytest.mark.parametrize("ending", [b"\r\n", b"\n", b"\r", b"\n\r"])
def test_every_line_ending(ending: bytes) -> None:
    data = b"".join(line + ending for line in LINES)
    f = LineFramer()
    assert f.feed(data) + f.flush() == LINES


@pytest.mark.parametrize("ending", [b"\r\n", b"\n", b"\r", b"\n\r"])
def test_byte_by_byte_equals_whole(ending: bytes) -> None:
    data = b"".join(line + ending for line in LINES)
    f = LineFramer()
    got: list[bytes] = []
    for i in range(len(data)):
        got += f.feed(data[i : i + 1])
    assert got + f.flush() == LINES


def test_cr_at_chunk_end_waits_for_a_possible_lf() -> None:
    f = LineFramer()
    assert f.feed(b"abc\r") == []
    assert f.feed(b"\ndef\r\n") == [b"abc", b"def"]


def test_overlong_garbage_is_dropped_up_to_the_next_line_end() -> None:
    f = LineFramer(max_line=16)
    assert f.feed(b"x" * 40) == []
    assert f.overruns == 1
    # the tail of the garbage line is discarded, the next line is whole
    assert f.feed(b"yyy\r\ngood\r\n") == [b"good"]


def test_flush_returns_a_last_line_without_ending() -> None:
    f = LineFramer()
    assert f.feed(b"a\r\nb") == [b"a"]
    assert f.flush() == [b"b"]
    assert f.flush() == []
