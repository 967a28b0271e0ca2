"""``socket://host:port``: a network serial server (Moxa NPort "TCP Server" mode, ser2net
raw TCP) reached over asyncio's own TCP transport.

The server applies its own line settings (set in its web UI), so ``SerialSettings``
does not travel; only the bytes do.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from urllib.parse import urlsplit

from vitalsd.errors import LinkError
from vitalsd.links.base import ByteLink, SerialSettings
from vitalsd.links.port_errors import connect_error, disconnected, io_error, open_timeout

_LOGGER = logging.getLogger(__name__)

_READ_SIZE = 4096
SOCKET_FORM = "socket://<host>:<port>"

# A device server that loses power sends no FIN; keepalive notices within about a minute
# instead of never (an idle vital-signs link may legitimately be silent for hours).
_KEEPALIVE_IDLE_S = 30
_KEEPALIVE_INTERVAL_S = 10
_KEEPALIVE_COUNT = 3


def parse_socket_url(url: str) -> tuple[str, int]:
    """Host and port of a ``socket://`` URL, or a LinkError naming the expected form."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "socket" or not parts.hostname or port is None:
        raise LinkError(f"{url}: malformed network serial address (expected {SOCKET_FORM})")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise LinkError(
            f"{url}: unexpected path or options (expected {SOCKET_FORM}; "
            "line settings are configured on the server itself)"
        )
    return parts.hostname, port


def _enable_keepalive(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    # The per-socket knobs are Linux/BSD only; elsewhere the system defaults apply.
    for name, value in (
        ("TCP_KEEPIDLE", _KEEPALIVE_IDLE_S),
        ("TCP_KEEPINTVL", _KEEPALIVE_INTERVAL_S),
        ("TCP_KEEPCNT", _KEEPALIVE_COUNT),
    ):
        option = getattr(socket, name, None)
        if option is not None:
            sock.setsockopt(socket.IPPROTO_TCP, option, value)


async def open_tcp_link(url: str, settings: SerialSettings) -> TcpLink:
    """Connect to a raw-TCP serial server, bounded by ``settings.open_timeout``."""
    host, port = parse_socket_url(url)
    try:
        async with asyncio.timeout(settings.open_timeout):
            reader, writer = await asyncio.open_connection(host, port)
    except TimeoutError as err:
        raise open_timeout(url, settings.open_timeout) from err
    except OSError as err:  # refused, unreachable, unknown host
        raise connect_error(url, err) from err
    sock = writer.get_extra_info("socket")
    if sock is not None:
        _enable_keepalive(sock)
    _LOGGER.debug(
        "%s: connected; serial settings are not sent, the server's own settings apply", url
    )
    return TcpLink(url, reader, writer)


class TcpLink(ByteLink):
    """An open connection to a raw-TCP serial server."""

    def __init__(
        self, url: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._url = url
        self._reader = reader
        self._writer = writer
        self._closed = False

    @property
    def description(self) -> str:
        return self._url

    async def read(self) -> bytes:
        if self._closed:
            raise disconnected(self._url, "link closed")
        try:
            data = await self._reader.read(_READ_SIZE)
        except OSError as err:  # reset by peer, keepalive timeout
            raise io_error(self._url, err) from err
        if not data:
            if self._closed:
                raise disconnected(self._url, "link closed")
            raise disconnected(self._url, "connection closed by the server")
        return data

    async def write(self, data: bytes) -> None:
        if self._closed:
            raise disconnected(self._url, "link closed")
        try:
            self._writer.write(data)
            await self._writer.drain()
        except OSError as err:
            raise io_error(self._url, err) from err

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except OSError as err:  # the peer was already gone; closing still succeeded
            _LOGGER.debug("%s: error while closing: %s", self._url, err)
        _LOGGER.debug("%s: closed", self._url)
