"""MLLP (release 1) framing and an asyncio client that sends one message at a time.

Frame = 0x0B + message + 0x1C 0x0D (reference/hl7-pcd01.md §4.1). The reader is lenient:
bytes between frames (a stray CR/LF, junk) are skipped up to the next 0x0B, and a frame
torn by a new start block is discarded. The client keeps one connection, has one message
in flight (``exchange``), and matches the answer on MSA-2 == MSH-10: an ACK for another
control id is a late answer to an earlier send and is ignored. After a timeout or anything
unreadable the connection is closed, so a late ACK can never be taken for the next
message's (Mirth #1441/#2070). ``send`` and ``next_ack`` are the two halves, for a sender
that keeps several messages in flight with an engine that accepts it (``hl7.delivery``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from dataclasses import dataclass
from pathlib import Path

from hl7.ack import Ack, AckError, parse_ack
from vitalsd.errors import OutputUnavailable

_LOGGER = logging.getLogger(__name__)

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\x0d"
MAX_FRAME = 4 * 1024 * 1024  # an ACK is tiny; a peer streaming megabytes is broken


class MllpError(OutputUnavailable):
    """The exchange failed with an unknown outcome: resend the same bytes later."""


class MllpConnectionError(MllpError):
    """Could not connect, or the peer closed or reset the connection."""


class MllpTimeout(MllpError):
    """No matching acknowledgement in time (or an unreadable one)."""


def frame(message: bytes) -> bytes:
    return START_BLOCK + message + END_BLOCK


class Deframer:
    """Splits a byte stream into MLLP message bodies, skipping junk between frames."""

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self._buf = bytearray()
        self._max = max_frame

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out: list[bytes] = []
        while True:
            start = self._buf.find(START_BLOCK)
            if start < 0:
                self._buf.clear()  # nothing but junk / stray newlines
                return out
            if start:
                del self._buf[:start]
            end = self._buf.find(END_BLOCK, 1)
            restart = self._buf.find(START_BLOCK, 1)
            if restart > 0 and (end < 0 or restart < end):
                # A new frame began before this one ended: the first was torn.
                _LOGGER.debug("MLLP: discarded a torn frame of %d bytes", restart)
                del self._buf[:restart]
                continue
            if end < 0:
                if len(self._buf) > self._max:
                    raise MllpTimeout(f"MLLP frame over {self._max} bytes without an end block")
                return out
            out.append(bytes(self._buf[1:end]))
            del self._buf[: end + len(END_BLOCK)]

    def reset(self) -> None:
        self._buf.clear()


def client_ssl_context(
    ca_file: Path | None = None,
    cert_file: Path | None = None,
    key_file: Path | None = None,
    *,
    verify: bool = True,
) -> ssl.SSLContext:
    """TLS for MLLP: verify the server against ``ca_file`` (or the system store), and
    present a client certificate when the receiver wants one."""
    ctx = ssl.create_default_context(
        ssl.Purpose.SERVER_AUTH, cafile=str(ca_file) if ca_file else None
    )
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert_file is not None:
        ctx.load_cert_chain(str(cert_file), str(key_file) if key_file else None)
    return ctx


@dataclass(frozen=True, slots=True)
class MllpPeer:
    host: str
    port: int
    ssl: ssl.SSLContext | None = None
    server_hostname: str | None = None  # for TLS when it differs from host
    connect_timeout: float = 10.0

    def __str__(self) -> str:
        return f"{'mllps' if self.ssl else 'mllp'}://{self.host}:{self.port}"


class MllpClient:
    """One persistent connection to an MLLP receiver; ``exchange`` sends and awaits the ACK."""

    def __init__(self, peer: MllpPeer) -> None:
        self.peer = peer
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._deframer = Deframer()
        self._frames: list[bytes] = []

    @property
    def connected(self) -> bool:
        return self._writer is not None

    async def connect(self) -> None:
        if self._writer is not None:
            return
        p = self.peer
        try:
            async with asyncio.timeout(p.connect_timeout):
                self._reader, self._writer = await asyncio.open_connection(
                    p.host,
                    p.port,
                    ssl=p.ssl,
                    server_hostname=(p.server_hostname or p.host) if p.ssl else None,
                )
        except TimeoutError:
            raise MllpConnectionError(
                f"connecting to {p} timed out after {p.connect_timeout:g} s"
            ) from None
        except ssl.SSLError as err:
            raise MllpConnectionError(f"TLS with {p} failed: {err.reason or err}") from err
        except OSError as err:
            raise MllpConnectionError(f"cannot connect to {p}: {err.strerror or err}") from err
        self._deframer.reset()
        self._frames.clear()
        _LOGGER.info("connected to %s", p)

    async def exchange(self, message: bytes, control_id: str, timeout: float) -> Ack:
        """Send ``message`` and return the ACK whose MSA-2 is ``control_id``.

        Raises ``MllpError`` when the outcome is unknown (no connection, lost connection,
        timeout, unreadable answer); the connection is then closed.
        """
        await self.connect()
        assert self._writer is not None
        try:
            self._writer.write(frame(message))
            async with asyncio.timeout(timeout):
                await self._writer.drain()
                return await self._await_ack(control_id)
        except TimeoutError:
            await self.close()
            raise MllpTimeout(
                f"no ACK for {control_id} from {self.peer} within {timeout:g} s"
            ) from None
        except MllpError:
            await self.close()
            raise
        except (OSError, EOFError) as err:
            await self.close()
            raise MllpConnectionError(f"connection to {self.peer} lost: {err}") from err

    async def send(self, message: bytes) -> None:
        """Write one framed message (connecting first if needed); no waiting for its ACK."""
        await self.connect()
        assert self._writer is not None
        try:
            self._writer.write(frame(message))
            if self._writer.transport.get_write_buffer_size() > 256 * 1024:
                await self._writer.drain()  # a peer that stopped reading: do not buffer on
        except (OSError, EOFError) as err:
            await self.close()
            raise MllpConnectionError(f"connection to {self.peer} lost: {err}") from err

    async def next_ack(self, timeout: float) -> Ack:
        """The next acknowledgement on the connection, whichever message it answers.

        Raises ``MllpError`` (and closes the connection) on timeout, a lost connection or
        an unreadable answer, as ``exchange`` does.
        """
        if self._reader is None or self._writer is None:
            raise MllpConnectionError(f"not connected to {self.peer}")
        try:
            async with asyncio.timeout(timeout):
                await self._writer.drain()
                return await self._read_ack()
        except TimeoutError:
            await self.close()
            raise MllpTimeout(f"no ACK from {self.peer} within {timeout:g} s") from None
        except MllpError:
            await self.close()
            raise
        except (OSError, EOFError) as err:
            await self.close()
            raise MllpConnectionError(f"connection to {self.peer} lost: {err}") from err

    async def _read_ack(self) -> Ack:
        assert self._reader is not None
        while not self._frames:
            data = await self._reader.read(65536)
            if not data:
                raise MllpConnectionError(f"{self.peer} closed the connection")
            self._frames.extend(self._deframer.feed(data))
        body = self._frames.pop(0)
        try:
            return parse_ack(body)
        except AckError as err:
            # Unparseable: the outcome is unknown, same as a timeout (§4.3).
            raise MllpTimeout(f"unreadable answer from {self.peer}: {err}") from err

    async def _await_ack(self, control_id: str) -> Ack:
        while True:
            ack = await self._read_ack()
            if ack.control_id == control_id:
                return ack
            _LOGGER.warning(
                "ignored an ACK for %s from %s while waiting for %s (a late answer)",
                ack.control_id,
                self.peer,
                control_id,
            )

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        self._frames.clear()
        self._deframer.reset()
        if writer is None:
            return
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
            async with asyncio.timeout(2.0):
                await writer.wait_closed()
