"""The MLLP listener over real TCP (and TLS) sockets, with a plain echo-ACK handler."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hl7.mllp import MllpClient, MllpConnectionError, MllpPeer, client_ssl_context
from hl7.mllp_server import MllpListen, MllpServer, server_ssl_context
from tests.pki import pki_fixture  # noqa: F401 - the pki fixture


class Recorder:
    """Answers every message with an AA for its MSH-10; ``BOOM`` makes it raise."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, body: bytes, peer: str) -> bytes | None:
        self.bodies.append(body)
        control_id = body.split(b"\r")[0].split(b"|")[9].decode()
        if control_id == "BOOM":
            raise RuntimeError("handler bug")
        if control_id == "QUIET":
            return None
        return (
            f"MSH|^~\\&|R|R|S|S|20250101||ACK|A{control_id}|P|2.5\rMSA|AA|{control_id}\r".encode()
        )


def msg(control_id: str) -> bytes:
    return f"MSH|^~\\&|S|S|R|R|20250101||ADT^A01|{control_id}|P|2.5\rPID|1||X\r".encode()


def framed(control_id: str) -> bytes:
    return b"\x0b" + msg(control_id) + b"\x1c\r"


@pytest.fixture
async def served() -> AsyncIterator[tuple[MllpServer, Recorder]]:
    handler = Recorder()
    server = MllpServer(MllpListen("127.0.0.1", 0, name="test", max_connections=2), handler)
    async with server:
        yield server, handler


async def read_frames(reader: asyncio.StreamReader, n: int) -> list[bytes]:
    data = b""
    async with asyncio.timeout(10):
        while data.count(b"\x1c\r") < n:
            chunk = await reader.read(4096)
            if not chunk:
                break
            data += chunk
    return [part.lstrip(b"\x0b") for part in data.split(b"\x1c\r") if part]


async def test_stray_bytes_coalesced_and_split_frames(
    served: tuple[MllpServer, Recorder],
) -> None:
    server, handler = served
    reader, writer = await asyncio.open_connection(*server.address)
    # Stray CR/LF and junk between frames, two frames in one write, one frame byte by byte.
    writer.write(b"\r\n" + framed("M1") + b"\n\r junk " + framed("M2"))
    for byte in framed("M3"):
        writer.write(bytes([byte]))
        await writer.drain()
    acks = await read_frames(reader, 3)
    assert [a.split(b"\r")[1] for a in acks] == [b"MSA|AA|M1", b"MSA|AA|M2", b"MSA|AA|M3"]
    assert handler.bodies == [msg("M1"), msg("M2"), msg("M3")]
    writer.close()
    await writer.wait_closed()


async def test_drop_mid_frame_loses_only_that_frame(
    served: tuple[MllpServer, Recorder], caplog: pytest.LogCaptureFixture
) -> None:
    server, handler = served
    caplog.set_level(logging.INFO, "hl7.mllp_server")
    reader, writer = await asyncio.open_connection(*server.address)
    writer.write(framed("OK1") + framed("TORN")[:20])
    await read_frames(reader, 1)
    writer.close()
    await writer.wait_closed()
    async with asyncio.timeout(10):
        while server.connections:
            await asyncio.sleep(0.01)
    assert "in the middle of a message" in caplog.text
    reader, writer = await asyncio.open_connection(*server.address)
    writer.write(framed("OK2"))
    assert len(await read_frames(reader, 1)) == 1
    assert [b.split(b"|")[9] for b in handler.bodies] == [b"OK1", b"OK2"]
    writer.close()
    await writer.wait_closed()


async def test_handler_bug_or_no_answer_keeps_the_connection(
    served: tuple[MllpServer, Recorder], caplog: pytest.LogCaptureFixture
) -> None:
    server, _ = served
    reader, writer = await asyncio.open_connection(*server.address)
    writer.write(framed("BOOM") + framed("QUIET") + framed("AFTER"))
    acks = await read_frames(reader, 1)
    assert acks[0].endswith(b"MSA|AA|AFTER\r")
    assert "handling a message from 127.0.0.1" in caplog.text
    writer.close()
    await writer.wait_closed()


async def test_connections_over_the_limit_are_closed(
    served: tuple[MllpServer, Recorder], caplog: pytest.LogCaptureFixture
) -> None:
    server, _ = served
    open_ = [await asyncio.open_connection(*server.address) for _ in range(2)]
    for reader, writer in open_:  # make sure both are being served
        writer.write(framed("HELLO"))
        await read_frames(reader, 1)
    reader3, writer3 = await asyncio.open_connection(*server.address)
    async with asyncio.timeout(10):
        assert await reader3.read() == b""  # closed at once
    assert "already 2 open (max_connections)" in caplog.text
    reader, writer = open_[0]
    writer.write(framed("STILL"))
    assert len(await read_frames(reader, 1)) == 1
    for _, w in [*open_, (reader3, writer3)]:
        w.close()
        await w.wait_closed()


async def test_oversized_frame_closes_the_connection(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "hl7.mllp_server")
    server = MllpServer(MllpListen("127.0.0.1", 0, name="small", max_frame=1000), Recorder())
    async with server:
        reader, writer = await asyncio.open_connection(*server.address)
        writer.write(b"\x0b" + b"A" * 5000)
        async with asyncio.timeout(10):
            assert await reader.read() == b""
        writer.close()
        await writer.wait_closed()
    assert "without an end block" in caplog.text


async def test_close_ends_open_connections() -> None:
    server = MllpServer(MllpListen("127.0.0.1", 0, name="closing"), Recorder())
    await server.start()
    reader, writer = await asyncio.open_connection(*server.address)
    writer.write(framed("X"))
    await read_frames(reader, 1)
    await server.close()  # the conftest guard checks no connection task is left
    async with asyncio.timeout(10):
        assert await reader.read() == b""
    writer.close()
    await writer.wait_closed()


# --- TLS with a CA made here ---------------------------------------------------------


async def test_mutual_tls(pki: Path) -> None:
    tls = server_ssl_context(pki / "server.pem", pki / "server.key", pki / "ca.pem")
    handler = Recorder()
    async with MllpServer(MllpListen("127.0.0.1", 0, name="tls", ssl=tls), handler) as server:
        host, port = server.address
        good = client_ssl_context(pki / "ca.pem", pki / "client.pem", pki / "client.key")
        client = MllpClient(MllpPeer(host, port, ssl=good))
        ack = await client.exchange(msg("T1"), "T1", 10.0)
        assert ack.code == "AA"
        await client.close()
        # Without a client certificate the handshake (or the first read) fails.
        anonymous = MllpClient(MllpPeer(host, port, ssl=client_ssl_context(pki / "ca.pem")))
        with pytest.raises((MllpConnectionError, ssl.SSLError)):
            await anonymous.exchange(msg("T2"), "T2", 10.0)
        await anonymous.close()
    assert [b.split(b"|")[9] for b in handler.bodies] == [b"T1"]
