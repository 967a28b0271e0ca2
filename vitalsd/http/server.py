"""A tiny HTTP/1.1 server on ``asyncio.start_server``: one request per connection. GET/HEAD
for the status pages; POST/DELETE only for the token-protected context API (/context).
Enough for a browser, curl, a kiosk and a Prometheus scraper, with no web framework in a
medical-device daemon's dependency tree.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from vitalsd.config import HttpConfig
from vitalsd.errors import VitalsdError
from vitalsd.http.context_api import ContextApi
from vitalsd.http.page import render_page
from vitalsd.http.snapshot import status_snapshot

if TYPE_CHECKING:
    from vitalsd.app import Daemon

_LOGGER = logging.getLogger(__name__)

REQUEST_TIMEOUT_S = 10.0  # a client that never finishes its request is dropped
MAX_HEADER_BYTES = 16 * 1024
MAX_BODY_BYTES = 64 * 1024  # an association request is a few hundred bytes
_REASONS = {
    200: "OK",
    201: "Created",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    500: "Internal Server Error",
}


class StatusServer:
    def __init__(self, daemon: Daemon, config: HttpConfig, registry: CollectorRegistry) -> None:
        self._daemon = daemon
        self._config = config
        self._registry = registry
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.Task[None]] = set()
        self._context_api = ContextApi(daemon)
        self.port = config.port

    async def start(self) -> None:
        cfg = self._config
        try:
            self._server = await asyncio.start_server(
                self._accept, cfg.bind, cfg.port, limit=MAX_HEADER_BYTES
            )
        except OSError as err:
            raise VitalsdError(
                f"status endpoint cannot listen on {cfg.bind}:{cfg.port}: "
                f"{err.strerror or err} (change [http] port, or set enabled = false)"
            ) from None
        self.port = self._server.sockets[0].getsockname()[1]
        _LOGGER.info("status endpoint on http://%s:%d/", cfg.bind, self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._clients):
            task.cancel()
        await asyncio.gather(*self._clients, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # Run each connection in a task we own, so close() can end them all.
        task = asyncio.current_task()
        assert task is not None
        task.set_name("vitalsd.http.client")
        self._clients.add(task)
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                await self._serve_one(reader, writer)
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass  # a client that went away or sent garbage; nothing to tell anyone
        finally:
            self._clients.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, TimeoutError):
                await writer.wait_closed()

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = request_line.split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            await self._respond(writer, 400, "text/plain", b"bad request\n", head_only=False)
            return
        method, target, _version = parts
        path, _, query = target.partition("?")
        if path == "/context" or path.startswith("/context/"):
            await self._serve_context(reader, writer, method, path, query, head)
            return
        if method not in ("GET", "HEAD"):
            await self._respond(writer, 405, "text/plain", b"GET or HEAD only\n", False)
            return
        status, ctype, body = self._route(path)
        await self._respond(writer, status, ctype, body, head_only=method == "HEAD")

    async def _serve_context(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        method: str,
        path: str,
        query: str,
        head: bytes,
    ) -> None:
        headers: dict[str, str] = {}
        for line in head.decode("latin-1").split("\r\n")[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            body = b'{"error": "bad or too large Content-Length"}\n'
            await self._respond(writer, 413 if length > 0 else 400, "application/json", body, False)
            return
        body = await reader.readexactly(length) if length else b""
        status, ctype, reply = self._context_api.handle(method, path, query, headers, body)
        await self._respond(writer, status, ctype, reply, head_only=False)

    def _route(self, path: str) -> tuple[int, str, bytes]:
        if path == "/healthz":
            # Answered from the event loop: if this responds, the loop is alive.
            return 200, "text/plain; charset=utf-8", b"ok\n"
        if path == "/status":
            doc = status_snapshot(self._daemon)
            return 200, "application/json", json.dumps(doc, indent=1).encode() + b"\n"
        if path == "/metrics":
            return 200, CONTENT_TYPE_LATEST, generate_latest(self._registry)
        if path in ("/", "/index.html"):
            page = render_page(status_snapshot(self._daemon), self._config.refresh)
            return 200, "text/html; charset=utf-8", page.encode()
        return 404, "text/plain", b"not found: try /, /status, /metrics or /healthz\n"

    @staticmethod
    async def _respond(
        writer: asyncio.StreamWriter, status: int, ctype: str, body: bytes, head_only: bool
    ) -> None:
        head = (
            f"HTTP/1.1 {status} {_REASONS[status]}\r\n"
            f"Content-Type: {ctype}\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Cache-Control: no-store\r\n"
            "Connection: close\r\n\r\n"
        )
        writer.write(head.encode("latin-1") + (b"" if head_only else body))
        await writer.drain()
