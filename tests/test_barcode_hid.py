"""USB HID scanners: input_event records decoded into scans, read from a real fd (a FIFO).

Event layout and codes from linux/input.h and linux/input-event-codes.h: a 64-bit
``struct input_event`` is struct timeval (two longs), u16 type, u16 code, s32 value;
EV_SYN 0x00, EV_KEY 0x01, EV_MSC 0x04; KEY_1 2, KEY_ENTER 28, KEY_LEFTSHIFT 42,
KEY_M 50, KEY_R 19, KEY_N 49, KEY_6 7 (Shift+6 is '^' on the US layout), KEY_KP5 76.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import struct
from functools import partial
from pathlib import Path

import pytest

from simulators.barcode_scanner import keystrokes
from simulators.serial_port import wait_until
from tests.barcode_source_harness import barcode_source
from vitalsd.context.barcode import BarcodeSource
from vitalsd.context.barcode_hid import EVENT, UNMAPPED, KeyDecoder
from vitalsd.context.store import ContextChange
from vitalsd.model import Location

EXAM3 = Location(room="exam3")
WAIT_S = 20.0


def ev(type_: int, code: int, value: int) -> bytes:
    return struct.pack("@llHHi", 1_700_000_000, 250_000, type_, code, value)


def key(code: int) -> bytes:
    return ev(1, code, 1) + ev(0, 0, 0) + ev(1, code, 0) + ev(0, 0, 0)


def test_event_record_is_24_bytes_as_on_a_64_bit_kernel() -> None:
    assert EVENT.size == 24 == len(ev(1, 28, 1))


def test_hand_built_events_decode_to_text() -> None:
    # "M" (Shift + KEY_M), "r", "n", "^" (Shift + KEY_6), "1", keypad "5", Enter;
    # EV_MSC scan codes (type 4) in between, as real keyboards send them.
    shift_down, shift_up = ev(1, 42, 1), ev(1, 42, 0)
    data = (
        ev(4, 4, 0x70010)
        + shift_down
        + key(50)
        + shift_up
        + key(19)
        + key(49)
        + shift_down
        + key(7)
        + shift_up
        + key(2)
        + key(76)
        + ev(1, 28, 1)
        + ev(1, 28, 0)
    )
    assert KeyDecoder().feed(data) == ["Mrn^15"]


def test_records_split_across_reads_wait_for_their_rest() -> None:
    decoder = KeyDecoder()
    data = keystrokes("^MRN^12345^DOE^JANE")
    scans: list[str] = []
    for i in range(0, len(data), 7):  # 7 does not divide 24: every record is split
        scans += decoder.feed(data[i : i + 7])
    assert scans == ["^MRN^12345^DOE^JANE"]


def test_every_label_character_round_trips_and_unknown_keys_mark_the_scan() -> None:
    text = "".join(chr(c) for c in range(0x20, 0x7F))
    assert KeyDecoder().feed(keystrokes(text)) == [text]
    # KEY_F1 (59) types nothing a label has: the scan is then unreadable, not shortened.
    assert KeyDecoder().feed(key(30) + key(59) + key(28)) == [f"a{UNMAPPED}"]
    # Auto-repeat (value 2) and a lone Enter produce nothing.
    assert KeyDecoder().feed(ev(1, 30, 1) + ev(1, 30, 2) + ev(1, 30, 0) + key(28)) == ["a"]
    assert KeyDecoder().feed(key(28)) == []


def _open_writer(path: Path) -> int | None:
    try:
        return os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as err:
        if err.errno == errno.ENXIO:  # no reader yet
            return None
        raise


def running(
    path: Path, tmp_path: Path, **options: object
) -> contextlib.AbstractAsyncContextManager[tuple[BarcodeSource, asyncio.Queue[ContextChange]]]:
    opts = {"hid": str(path), "room": "exam3", "pattern": r"MRN(?P<id>\d+)", "retry_max": 0.2}
    return barcode_source(opts | options, tmp_path, name="scanner", room=EXAM3)


async def _writer(path: Path) -> int:
    fds: list[int] = []

    def attempt() -> bool:
        fd = _open_writer(path)
        if fd is not None:
            fds.append(fd)
        return bool(fds)

    assert await wait_until(attempt, WAIT_S), "the source never opened the FIFO"
    return fds[0]


def _said(caplog: pytest.LogCaptureFixture, text: str, times: int) -> bool:
    """Whether a warning containing ``text`` was logged exactly ``times`` times."""
    return times == sum(
        text in r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING
    )


async def _associated(changes: asyncio.Queue[ContextChange]) -> str:
    while True:
        change = await asyncio.wait_for(changes.get(), WAIT_S)
        if change.after is not None:
            return change.after.patient.id


async def test_hid_scans_from_a_fifo_associate_and_unplug_replug_is_survived(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "usb-Scanner-event-kbd"
    async with running(path, tmp_path) as (source, changes):
        # Not there yet: the message names the path and says what to check.
        assert await wait_until(lambda: source.health().last_error is not None, WAIT_S)
        assert f"barcode scanner {path}: not there" in str(source.health().last_error)
        os.mkfifo(path)
        for n, mrn in enumerate(("12345", "67890"), start=1):
            fd = await _writer(path)
            try:
                # A scan split mid-record, then a rejected scan, then a good one.
                data = keystrokes("XYZ") + keystrokes(f"MRN{mrn}")
                os.write(fd, data[:30])
                os.write(fd, data[30:])
                assert await _associated(changes) == mrn
                assert source.health().listening is True
            finally:
                os.close(fd)  # unplug: the reader sees end of file
            assert await wait_until(partial(_said, caplog, f"{path}: disconnected", n), WAIT_S)
    assert "rejected: no match" in caplog.text
    assert "XYZ" not in caplog.text.replace("'XYZ'", "")  # only at DEBUG, quoted
