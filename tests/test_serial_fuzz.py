"""Shared machinery of the lost-bytes fuzz tests for serial protocols without a checksum.

Each ``tests/test_<driver>_fuzz.py`` builds a stream from its protocol's documented
frames and checks three properties with hypothesis:

1. any re-chunking of an intact stream decodes to exactly the same reports;
2. a damaged stream never yields a reading that no intact original frame gave: every
   reading group (the measurements one frame yields together) must be a part of what one
   original frame, decoded alone, yields — (metric, value) pairs, the whole tuple;
3. random garbage never raises and never yields a reading.

Damage is what a UART overrun or a noisy line does: a run of bytes lost anywhere (inside
a frame, or across frame ends, gluing the head of one frame to the tail of another), or
bytes replaced. Some damage no receiver of a checksum-less protocol can detect, because
the damaged bytes are themselves a well-formed frame; it is excused, and nothing else:

- a digit replaced by another digit (the corruption strategy never does that);
- a lost run that glues the head of frame A to the tail of frame B into bytes of exactly
  the shape of a documented frame (same bytes, digits aside) — e.g. losing
  ``HR=072\r\nSPO2=085 `` between ``SPO2=097 HR=072`` and ``SPO2=085 HR=101``. The
  readings of exactly that glued frame are allowed; with a time stamp in the frame, they
  carry A's time. A decoder that accepts any other shape fails the test;
- where numbers are space-padded or have no fixed width (``variable_width``, ``spare``,
  ``field_sep`` below): a pad or separator beside a digit turned into a digit or the
  other way round, a number that lost digits but kept one, and a splice whose every
  field has a documented shape whatever its width. Only range checks, and rules across
  fields where a protocol has them, can catch those.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from vitalsd.driver import Decoder
from vitalsd.model import DriverReport, Measurement, Metric

# 300 keeps the suite fast; VITALSD_FUZZ_EXAMPLES=20000 for a deep run before a release.
EXAMPLES = int(os.environ.get("VITALSD_FUZZ_EXAMPLES", "300"))
Reading = frozenset[tuple[Metric, Decimal]]
DecoderFactory = Callable[[], Decoder]
_DIGITS = frozenset(b"0123456789")


def decode(new: DecoderFactory, chunks: Iterable[bytes]) -> list[DriverReport]:
    decoder = new()
    out: list[DriverReport] = []
    for chunk in chunks:
        out += decoder.feed(chunk)
    return out + decoder.flush()


def decode_alone(new: DecoderFactory, data: bytes) -> tuple[list[Reading], int]:
    """The readings of ``data`` fed to a fresh decoder, and the frames it rejected."""
    decoder = new()
    reports = decoder.feed(data) + decoder.flush()
    return readings(reports), decoder.errors


def readings(reports: Sequence[DriverReport]) -> list[Reading]:
    """Measurements grouped as the decoder grouped them (consecutive, same ``group``)."""
    out: list[list[tuple[Metric, Decimal]]] = []
    last: object = object()
    for r in reports:
        if not isinstance(r, Measurement):
            continue
        if r.group != last or r.group is None:
            out.append([])
            last = r.group
        out[-1].append((r.metric, r.value))
    return [frozenset(g) for g in out]


def frame_readings(new: DecoderFactory, frames: Sequence[bytes], repeat: int = 1) -> list[Reading]:
    """What each intact frame yields when decoded alone (the oracle of property 2), sent
    ``repeat`` times where the decoder waits for that many identical frames."""
    found: list[Reading] = []
    for f in frames:
        found += readings(decode(new, [f * repeat]))
    return found


def traceable(got: Reading, allowed: Iterable[Reading]) -> bool:
    return any(got <= a for a in allowed)


@st.composite
def chunked(draw: st.DrawFn, data: bytes) -> list[bytes]:
    """``data`` cut into chunks at arbitrary places (one byte each, up to all at once)."""
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(data) - 1)), max_size=len(data))))
    edges = [0, *(c for c in cuts if c < len(data)), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges) if b > a]


def shape(frame: bytes, variable_width: bool = False) -> bytes:
    """The frame with digits as ``9``; for ``variable_width``, a number of any width as
    one ``#`` — but a leading zero stays visible: no protocol here zero-pads a number it
    does not pad to a fixed width, so "00" is a "100" that lost a digit, not a shape."""
    if variable_width:
        frame = re.sub(rb"(?<![0-9])(?:[1-9][0-9]*|0(?![0-9]))", b"#", frame)
    return bytes(ord("9") if c in _DIGITS else c for c in frame)


def _locate(frames: Sequence[bytes], pos: int) -> tuple[int, int]:
    for i, f in enumerate(frames):
        if pos < len(f):
            return i, pos
        pos -= len(f)
    return len(frames), 0


def glued_frame(
    frames: Sequence[bytes],
    start: int,
    stop: int,
    documented: Iterable[bytes] = (),
    variable_width: bool = False,
    field_sep: bytes | None = None,
    shape_of: Callable[[bytes], bytes] | None = None,
) -> bytes | None:
    """The frame that losing ``[start, stop)`` makes — ``A[:k] + B[m:]``, or ``A`` with a
    hole when the run lies inside it — if it has exactly the shape of a frame (of the
    stream, or ``documented``): then it is undetectable. ``shape_of`` replaces the shape
    rule for a protocol with its own (fixed-width fields holding numbers of any width)."""
    i, a = _locate(frames, start)
    j, b = _locate(frames, stop)
    if j >= len(frames):
        return None
    glued = frames[i][:a] + frames[j][b:]
    known = (*frames, *documented)
    shaped = shape_of or (lambda f: shape(f, variable_width))
    if field_sep is None:
        return glued if shaped(glued) in {shaped(f) for f in known} else None
    # Field by field: each field has the shape that field has in some frame.
    rows = [shaped(f).split(field_sep) for f in known]
    cells = shaped(glued).split(field_sep)
    if all(
        any(len(row) == len(cells) and row[n] == cell for row in rows)
        for n, cell in enumerate(cells)
    ):
        return glued
    return None


def lost_run(stream: bytes, start: int, length: int) -> tuple[bytes, int, int]:
    start = min(start, len(stream) - 1)
    stop = min(len(stream), start + length)
    return stream[:start] + stream[stop:], start, stop


def check_lost_run(
    new: DecoderFactory,
    frames: Sequence[bytes],
    start: int,
    length: int,
    *,
    printed: Sequence[Reading] = (),
    variable_width: bool = False,
    documented: Sequence[bytes] = (),
    field_sep: bytes | None = None,
    shape_of: Callable[[bytes], bytes] | None = None,
    repeat: int = 1,
) -> None:
    """Property 2 for one lost run of bytes.

    ``printed``: values frames print but the decoder rightly withholds (a status code
    says they are no reading) — losing exactly that code is not detectable. With
    ``variable_width`` (numbers not padded to a fixed width) a number that lost a digit
    but kept one is excused too ("100" -> "10" is itself a well-formed field), and so is
    a splice with the fields of a frame whatever its numbers' widths.
    ``documented``: all the protocol's frames, whose shapes a splice may take;
    ``field_sep``: where fields are parsed one by one with no rule across them, a
    splice whose every field has a shape that field has in some frame is excused.
    ``repeat``: how many identical frames the decoder needs before it reports.
    """
    stream = b"".join(frames)
    damaged, a, b = lost_run(stream, start, length)
    allowed = frame_readings(new, frames, repeat) + list(printed)
    glued = glued_frame(frames, a, b, documented, variable_width, field_sep, shape_of)
    if glued is not None:
        allowed += readings(decode(new, [glued * repeat]))
    for got in readings(decode(new, [damaged])):
        assert traceable(got, allowed), (damaged, got)


corruptions = st.lists(
    st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4
)


def corrupt(stream: bytes, hits: Sequence[tuple[int, int]], spare: bytes = b"") -> bytes:
    """``stream`` with bytes replaced — never a digit by a digit (undetectable, see
    above), nor a digit by one of ``spare`` or one of ``spare`` beside a digit by a digit
    (the separator or pad of numbers: see ``check_corruption``)."""
    out = bytearray(stream)
    for pos, byte in hits:
        pos %= len(out)
        if stream[pos] in _DIGITS and (byte in _DIGITS or byte in spare):
            continue
        if stream[pos] in spare and byte in _DIGITS and _next_to_digit(stream, pos):
            continue
        out[pos] = byte
    return bytes(out)


def _next_to_digit(stream: bytes, pos: int) -> bool:
    return any(0 <= p < len(stream) and stream[p] in _DIGITS for p in (pos - 1, pos + 1))


def check_corruption(
    new: DecoderFactory,
    frames: Sequence[bytes],
    hits: Sequence[tuple[int, int]],
    *,
    printed: Sequence[Reading] = (),
    spare: bytes = b"",
    repeat: int = 1,
) -> None:
    """Property 2 for replaced bytes. ``spare``: the separator or pad of numbers — a
    digit turned into it, or it turned into a digit beside a number, changes the number
    as undetectably as a digit turned into a digit ("100" -> "10 ", " 45" -> "145")."""
    allowed = frame_readings(new, frames, repeat) + list(printed)
    damaged = corrupt(b"".join(frames), hits, spare)
    for got in readings(decode(new, [damaged])):
        assert traceable(got, allowed), (damaged, got)


def check_garbage(new: DecoderFactory, data: bytes) -> None:
    assert readings(decode(new, [data])) == []


# --- the properties as tests: a driver's file names each one it runs ---------------------
# Each factory returns a hypothesis test; the driver's file binds it to a test_ name and
# passes its @example regressions, so that only its frames and excuses are its own.

Frames = st.SearchStrategy[list[bytes]]
Property = Callable[..., None]
_SETTINGS = settings(max_examples=EXAMPLES, deadline=None)


def _with(examples: Sequence[example], test: Property) -> Property:
    for ex in examples:
        test = ex(test)
    return test


def rechunking_property(new: DecoderFactory, frames: Frames) -> Property:
    """Property 1. ``new`` must number its groups the same way in every decoder."""

    @_SETTINGS
    @given(st.data(), frames)
    def rechunking(data: st.DataObject, fs: list[bytes]) -> None:
        stream = b"".join(fs)
        assert decode(new, data.draw(chunked(stream))) == decode(new, [stream])

    return rechunking


def lost_run_property(
    new: DecoderFactory,
    frames: Frames,
    max_start: int,
    max_length: int,
    examples: Sequence[example] = (),
    **excused: Any,
) -> Property:
    """Property 2 for lost runs; ``excused``: the keywords of ``check_lost_run``."""

    @_SETTINGS
    @given(frames, st.integers(0, max_start), st.integers(1, max_length))
    def lost_run(fs: list[bytes], start: int, length: int) -> None:
        check_lost_run(new, fs, start, length, **excused)

    return _with(examples, lost_run)


def corruption_property(
    new: DecoderFactory,
    frames: Frames,
    changes: st.SearchStrategy[list[tuple[int, int]]] = corruptions,
    examples: Sequence[example] = (),
    **excused: Any,
) -> Property:
    """Property 2 for replaced bytes; ``excused``: the keywords of ``check_corruption``."""

    @_SETTINGS
    @given(frames, changes)
    def corruption(fs: list[bytes], hits: list[tuple[int, int]]) -> None:
        check_corruption(new, fs, hits, **excused)

    return _with(examples, corruption)


def garbage_property(new: DecoderFactory) -> Property:
    """Property 3."""

    @_SETTINGS
    @given(st.binary(max_size=300))
    def garbage(data: bytes) -> None:
        check_garbage(new, data)

    return garbage


# --- the helpers themselves -------------------------------------------------------------


def test_glued_frame_only_when_it_has_a_frame_shape() -> None:
    frames = [b"A=097\r\n", b"A=085\r\n", b"A=1000\r\n"]
    assert glued_frame(frames, 4, 4 + 7) == b"A=095\r\n"  # "A=09" + "5\r\n"
    assert glued_frame(frames[:2], 4, 4 + 6) is None  # "A=09" + "85\r\n": no frame's shape
    assert glued_frame(frames, 4, 4 + 6) == b"A=0985\r\n"  # the shape of "A=1000"
    assert glued_frame(frames, 11, 11 + 8) == b"A=080\r\n"  # "A=08" + "0\r\n" of 1000
    assert glued_frame(frames, 2, 4) is None  # inside one frame


def test_corrupt_never_turns_a_digit_into_a_digit() -> None:
    assert corrupt(b"A=097", [(3, ord("5")), (1, ord("7")), (4, ord("x"))]) == b"A709x"
