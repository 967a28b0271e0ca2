"""Simulator ports deliver what the host sends to polled-device simulators."""

from __future__ import annotations

import asyncio
import os

from simulators.serial_port import PtyPort, TcpPort


async def _wait(pred, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout):
        while not pred():
            await asyncio.sleep(0.01)


async def test_pty_port_hands_host_bytes_to_the_device() -> None:
    got = bytearray()
    port = PtyPort()
    port.on_input = got.extend
    info = await port.open()
    fd = os.open(info["pty"], os.O_RDWR | os.O_NOCTTY)
    try:
        os.write(fd, b"\nW\r")
        await _wait(lambda: bytes(got) == b"\nW\r")
        port.write(b"reply\r\n")
        await _wait(lambda: True)
        assert os.read(fd, 100) == b"reply\r\n"
    finally:
        os.close(fd)
        await port.close()


async def test_tcp_port_hands_host_bytes_to_the_device() -> None:
    got = bytearray()
    port = TcpPort()
    port.on_input = got.extend
    info = await port.open()
    host, _, number = info["tcp"].rpartition(":")
    reader, writer = await asyncio.open_connection(host, int(number))
    try:
        writer.write(b":\x20\xa6")
        await writer.drain()
        await _wait(lambda: bytes(got) == b":\x20\xa6")
        await _wait(port.listening)
        port.write(b">ok")
        assert await asyncio.wait_for(reader.readexactly(3), 10) == b">ok"
    finally:
        writer.close()
        await writer.wait_closed()
        await port.close()
