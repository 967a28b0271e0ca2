"""An asyncio MLLP (release 1) listener: frames in, one handler call per message, answers out.

Framing is ``hl7.mllp``'s (``frame`` and ``Deframer``), so stray CR/LF or junk between
frames is skipped and a frame torn by a new start block is dropped. Each connection is
one named task owned by the server; ``close`` cancels and awaits them all. Connections
over ``max_connections`` are closed at once with a warning: an interface engine opens
one or two, and a flood is a misconfiguration or an attack. A connection that drops in
the middle of a frame loses only that unacknowledged frame, which the sender resends.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from hl7.mllp import END_BLOCK, START_BLOCK, Deframer, MllpError, frame

__all__ = ["MllpListen", "MllpServer", "server_ssl_context"]

_LOGGER = logging.getLogger(__name__)

Handler = Callable[[bytes, str], Awaitable[bytes | None]]
"""Called with one message body and the peer's "host:port"; returns the answer (unframed)."""


def server_ssl_context(
    cert_file: Path, key_file: Path | None = None, client_ca: Path | None = None
) -> ssl.SSLContext:
    """TLS for the listener; with ``client_ca``, clients must present a certificate it signed."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cert_file), str(key_file) if key_file else None)
    if client_ca is not None:
        ctx.load_verify_locations(str(client_ca))
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


@dataclass(frozen=True, slots=True)
class MllpListen:
    host: str
    port: int
    name: str = "mllp-server"  # in task names and logs
    ssl: ssl.SSLContext | None = None
    max_connections: int = 4
    max_frame: int = 1024 * 1024  # an ADT is a few kB; megabytes without an end are broken


class MllpServer:
    def __init__(self, listen: MllpListen, handler: Handler) -> None:
        self.listen = listen
        self._handler = handler
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._numbers = itertools.count(1)

    @property
    def address(self) -> tuple[str, int]:
        """The bound address (the real port when 0 was asked for)."""
        assert self._server is not None
        assert self._server.sockets
        host, port = self._server.sockets[0].getsockname()[:2]
        return str(host), int(port)

    @property
    def connections(self) -> int:
        return len(self._connections)

    async def start(self) -> None:
        l = self.listen  # noqa: E741
        # A plain (not async) callback: asyncio then creates no task of its own, and every
        # connection task is named and owned here.
        self._server = await asyncio.start_server(
            self._accept, l.host, l.port, ssl=l.ssl, ssl_handshake_timeout=10.0 if l.ssl else None
        )
        host, port = self.address
        _LOGGER.info(
            "%s: listening on %s://%s:%d", l.name, "mllps" if l.ssl else "mllp", host, port
        )

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if server is not None:
            await server.wait_closed()

    async def __aenter__(self) -> MllpServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = _peer_name(writer)
        if self._server is None or len(self._connections) >= self.listen.max_connections:
            _LOGGER.warning(
                "%s: closed a connection from %s: already %d open (max_connections)",
                self.listen.name, peer, len(self._connections),
            )  # fmt: skip
            writer.close()
            return
        number = next(self._numbers)
        task = asyncio.create_task(
            self._serve(reader, writer, peer), name=f"{self.listen.name}.conn{number}[{peer}]"
        )
        self._connections.add(task)
        task.add_done_callback(self._connections.discard)

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str
    ) -> None:
        name = self.listen.name
        _LOGGER.info("%s: connection from %s", name, peer)
        deframer = Deframer(self.listen.max_frame)
        in_frame = False  # inside a frame at the end of the last chunk: for the log only
        reason = "closed by the peer"
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    if in_frame:
                        reason = "closed by the peer in the middle of a message (discarded)"
                    break
                start, end = data.rfind(START_BLOCK), data.rfind(END_BLOCK)
                if start >= 0 or end >= 0:
                    in_frame = start > end
                for body in deframer.feed(data):
                    answer = await self._handle(body, peer)
                    if answer is not None:
                        writer.write(frame(answer))
                        await writer.drain()
        except MllpError as err:
            reason = f"closed: {err}"
        except (OSError, ssl.SSLError) as err:
            reason = f"lost: {err}"
        finally:
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError, TimeoutError):
                async with asyncio.timeout(2.0):
                    await writer.wait_closed()
            _LOGGER.info("%s: connection from %s %s", name, peer, reason)

    async def _handle(self, body: bytes, peer: str) -> bytes | None:
        try:
            return await self._handler(body, peer)
        except Exception:
            # A handler bug: no answer, so the sender resends; the connection stays up.
            _LOGGER.exception("%s: handling a message from %s failed", self.listen.name, peer)
            return None


def _peer_name(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer or "?")
