"""Where a simulated device's bytes go: a pseudo-terminal or a raw-TCP serial server.

A pty looks to the daemon exactly like a USB-serial adapter (``--link`` gives it a stable
path, as ``/dev/serial/by-id`` does); TCP looks like a network serial server (Moxa NPort,
ser2net) in raw "TCP server" mode. Writes never block: a device does not wait for its
receiver, and bytes nobody takes are lost, exactly as on a UART.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import select
import sys
import termios
import tty
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path

_LOGGER = logging.getLogger(__name__)

_TCP_BACKLOG_LIMIT = 64 * 1024  # a client not reading past this loses lines, like a UART
_LISTENER_POLL_S = 0.05
_DRAIN_TIMEOUT_S = 5.0

FrameSource = Callable[[], bytes | None]
"""Called once per device tick; returns the bytes to send, or None for a quiet tick."""


InputHandler = Callable[[bytes], None]
"""Receives what the host sends (commands to a polled device)."""

_INPUT_POLL_S = 0.01


class Port(ABC):
    """One place a simulated device is plugged in."""

    on_input: InputHandler | None = None
    """Set by polled-device simulators; streaming devices leave it unset (input dropped)."""

    @abstractmethod
    async def open(self) -> dict[str, str]:
        """Start serving; return where, for the ready announcement."""

    @abstractmethod
    def listening(self) -> bool:
        """Whether anyone is there to receive bytes right now."""

    @abstractmethod
    def write(self, data: bytes) -> None:
        """Send bytes now, or drop them if nobody can take them. Never blocks."""

    async def drain(self) -> None:
        """Wait (bounded) until written bytes have left; default: nothing to wait for."""
        await asyncio.sleep(0)

    @abstractmethod
    async def close(self) -> None:
        """Stop serving (an unplug, or the end). Safe to call twice."""


class PtyPort(Port):
    """A fresh pty per ``open()``; ``link`` is re-pointed at each new one (a replug) and
    is absent while unplugged."""

    def __init__(self, link: Path | None = None) -> None:
        self.link = link
        self.path = ""
        self._master = -1
        self.dropped = 0
        self._input_task: asyncio.Task[None] | None = None

    async def open(self) -> dict[str, str]:
        master, slave = os.openpty()
        try:
            # Raw: no CR/LF translation and no echo, so the bytes arrive as the device
            # sent them. The settings outlive our slave fd while the master is open.
            tty.setraw(slave)
            self.path = os.ttyname(slave)
        finally:
            # Closing our slave end is what lets listening() see when nobody has the
            # port open (the master then reports a hang-up).
            os.close(slave)
        os.set_blocking(master, False)
        self._master = master
        info = {"pty": self.path}
        if self.link is not None:
            tmp = self.link.with_name(f".{self.link.name}.{os.getpid()}.new")
            try:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
                tmp.symlink_to(self.path)
                tmp.replace(self.link)  # atomic: the daemon never sees a missing link
            except OSError as err:
                await self.close()
                raise OSError(f"cannot create link {self.link}: {err.strerror or err}") from None
            info["link"] = str(self.link)
        if self.on_input is not None:
            # A master with no slave open is always "readable" to epoll, so poll instead.
            self._input_task = asyncio.create_task(
                self._poll_input(), name=f"vitalsd-sim pty input {self.path}"
            )
        return info

    async def _poll_input(self) -> None:
        while True:
            self.listening()  # reads and delivers whatever the host wrote
            await asyncio.sleep(_INPUT_POLL_S)

    def listening(self) -> bool:
        if self._master < 0:
            return False
        poller = select.poll()
        poller.register(self._master, select.POLLIN)
        events = dict(poller.poll(0)).get(self._master, 0)
        if events & select.POLLIN:
            self._discard_input()
        return not events & select.POLLHUP

    def _discard_input(self) -> None:
        # Input must always be read, or a host that writes would eventually stall the
        # pty; devices that take commands get it, the others ignore it.
        try:
            data = os.read(self._master, 4096)
        except OSError:
            return
        if data and self.on_input is not None:
            self.on_input(data)

    def write(self, data: bytes) -> None:
        if not self.listening():
            self.dropped += len(data)
            return
        try:
            sent = os.write(self._master, data)
        except OSError:  # EAGAIN (receiver not reading) or EIO (just closed)
            sent = 0
        if sent < len(data):
            self.dropped += len(data) - sent
            _LOGGER.debug("pty full: dropped %d bytes", len(data) - sent)

    async def drain(self) -> None:
        # A master has no "all sent" signal; what is unread waits in the slave's input
        # queue, which only a slave fd can measure. Closing before it empties loses it.
        if not self.listening():
            return  # nobody there: whatever is queued will never be read
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError:
            await asyncio.sleep(1.0)  # cannot look: give the reader a moment
            return
        try:
            await wait_until(lambda: not _unread(fd), _DRAIN_TIMEOUT_S)
        finally:
            os.close(fd)

    async def close(self) -> None:
        task, self._input_task = self._input_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._master >= 0:
            # The link goes first, as udev removes a by-id link on unplug: pty numbers are
            # recycled system-wide, lowest first, so a link left pointing at ours would soon
            # lead a host retrying it into some other program's new pty.
            self.remove_link()
            os.close(self._master)
            self._master = -1

    def remove_link(self) -> None:
        """Remove ``link`` if it still points at our pty (a newer simulator may own it).

        A simulator killed with SIGKILL cannot do this: whoever kills it removes the link.
        """
        if self.link is None:
            return
        with contextlib.suppress(OSError):
            if os.readlink(self.link) == self.path:
                self.link.unlink()


async def wait_until(predicate: Callable[[], bool], timeout: float | None = None) -> bool:
    """Poll ``predicate`` until true (True) or ``timeout`` seconds pass (False).

    Polling, because the states watched here (a pty's hang-up, a queue's fill) have no
    event to wait on: a pty master with no slave open is always "readable" to epoll.
    """
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else loop.time() + timeout
    while True:
        if predicate():
            return True
        if deadline is not None and loop.time() >= deadline:
            return False
        await asyncio.sleep(_LISTENER_POLL_S)


def _unread(fd: int) -> int:
    raw = fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0")
    return int.from_bytes(raw, sys.byteorder, signed=True)


class _Client(asyncio.Protocol):
    def __init__(self, port: TcpPort) -> None:
        self.port = port
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.port.clients.add(self)
        _LOGGER.info("client connected: %s", transport.get_extra_info("peername"))

    def connection_lost(self, exc: Exception | None) -> None:
        self.port.clients.discard(self)

    def data_received(self, data: bytes) -> None:
        if self.port.on_input is not None:
            self.port.on_input(data)


class TcpPort(Port):
    """Serves every connected client the same bytes; the port survives unplugs."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.clients: set[_Client] = set()
        self._server: asyncio.Server | None = None

    async def open(self) -> dict[str, str]:
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(
                lambda: _Client(self), self.host, self.port, reuse_address=True
            )
        except OSError as err:
            raise OSError(
                f"cannot listen on {self.host}:{self.port}: {err.strerror or err}"
            ) from None
        # Keep the chosen port across unplug/replug so the daemon's URL stays valid.
        self.port = self._server.sockets[0].getsockname()[1]
        return {"tcp": f"{self.host}:{self.port}"}

    def listening(self) -> bool:
        return bool(self.clients)

    def write(self, data: bytes) -> None:
        for client in list(self.clients):
            t = client.transport
            if t is None or t.is_closing():
                continue
            if t.get_write_buffer_size() < _TCP_BACKLOG_LIMIT:
                t.write(data)
            else:
                _LOGGER.debug("client not reading: dropped %d bytes", len(data))

    async def drain(self) -> None:
        await wait_until(
            lambda: (
                not any(
                    c.transport is not None and c.transport.get_write_buffer_size()
                    for c in self.clients
                )
            ),
            _DRAIN_TIMEOUT_S,
        )

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for client in list(self.clients):
            if client.transport is not None:
                client.transport.close()  # flushes what is buffered, then FIN
        self.clients.clear()
        if server is not None:
            await server.wait_closed()
