"""The shared line framer: any chunking, any CR/LF combination, garbage without line ends."""

from __future__ import annotations

import pytest

from vitalsd.framing import BinaryFramer, LineFramer

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


def _five_byte(buf: bytes) -> int:
    """A Nonin-#2-like layout: 01, status with bit 7 set, two data bytes, sum checksum."""
    if buf[0] != 0x01 or (len(buf) > 1 and not buf[1] & 0x80):
        return -1
    if len(buf) < 5:
        return 0
    return 5 if sum(buf[:4]) & 0xFF == buf[4] else -1


def _frame(a: int, b: int) -> bytes:
    body = bytes([0x01, 0x80, a, b])
    return body + bytes([sum(body) & 0xFF])


def test_binary_framer_resynchronises_after_garbage_and_bad_checksums() -> None:
    good = [_frame(n, 2 * n) for n in range(1, 6)]
    corrupt = bytearray(_frame(9, 9))
    corrupt[4] ^= 0xFF
    stream = b"\x01\x01\xff" + good[0] + bytes(corrupt) + good[1] + b"\x01\x80" + good[2] + good[3]
    f = BinaryFramer(_five_byte)
    got: list[bytes] = []
    for i in range(len(stream)):  # byte by byte: resync must not depend on chunking
        got += f.feed(stream[i : i + 1])
    assert got == good[:4]
    assert f.errors == 3  # leading junk, the corrupt frame, the stray start bytes
    assert f.feed(good[4]) == [good[4]]


def test_binary_framer_gives_up_on_a_frame_that_never_completes() -> None:
    f = BinaryFramer(lambda buf: 0 if buf[0] == 0x7E else -1, max_frame=8)
    assert f.feed(b"\x7e" + b"\x00" * 20) == []
    assert f.errors == 1


async def test_command_channel_waits_for_the_matching_reply(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import asyncio
    import os
    import tty

    from vitalsd.errors import DeviceTimeout
    from vitalsd.links.base import SerialSettings
    from vitalsd.links.serial import open_serial_link
    from vitalsd.transaction import CommandChannel

    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    link = await open_serial_link(os.ttyname(slave), SerialSettings())
    unsolicited: list[bytes] = []
    channel = CommandChannel(link, LineFramer().feed, on_unsolicited=unsolicited.append)
    loop = asyncio.get_running_loop()

    def device() -> None:  # answers "W" with an unsolicited line first, then the reply
        request = os.read(master, 100)
        if request == b"W\r":
            os.write(master, b"PUSHED\r\nWEIGHT 70.2 kg\r\n")

    loop.add_reader(master, device)
    try:
        reply = await channel.request(b"W\r", accept=lambda f: f.startswith(b"WEIGHT"), timeout=10)
        assert reply == b"WEIGHT 70.2 kg"
        assert unsolicited == [b"PUSHED"]
        with pytest.raises(DeviceTimeout, match=r"no weight within 0\.2 s"):
            await channel.request(b"X\r", accept=lambda f: True, timeout=0.2, what="weight")
    finally:
        loop.remove_reader(master)
        await link.close()
        os.close(master)
        os.close(slave)
