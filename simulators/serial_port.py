"""Where a simulated device's bytes go: a pseudo-terminal or a raw-TCP serial server.

A pty looks to the daemon exactly like a USB-serial adapter (``--link`` gives it a stable
path, as ``/dev/serial/by-id`` does); TCP looks like a network serial server (Moxa NPort,
ser2net) in raw "TCP server" mode. Writes never block: a device does not wait for its
receiver, and bytes nobody takes are lost, exactly as on a UART.
"""

from __future__ import annotations

import argparse
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
from dataclasses import dataclass
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
    """A fresh pty per ``open()``; ``link`` is re-pointed at each new one (a replug)."""

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
            os.close(self._master)
            self._master = -1

    def remove_link(self) -> None:
        """Remove ``link`` if it still points at our pty (a newer simulator may own it)."""
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


@dataclass(frozen=True, slots=True)
class StreamPlan:
    """How a streaming device paces itself, and when it gets unplugged."""

    rate: float = 1.0  # ticks (lines) per second
    count: int | None = None  # stop after this many ticks
    wait_for_listener: bool = True  # the device is switched on when someone connects
    disconnect_every: float = 0.0  # wall seconds between unplugs (0: never)
    reconnect_after: float = 1.0  # wall seconds unplugged

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise ValueError(f"--rate {self.rate}: must be above 0")
        if self.count is not None and self.count < 0:
            raise ValueError(f"--count {self.count}: must not be negative")
        if self.disconnect_every < 0 or self.reconnect_after < 0:
            raise ValueError("--disconnect-every and --reconnect-after must not be negative")


async def stream(
    port: Port,
    next_frame: FrameSource,
    plan: StreamPlan,
    *,
    on_replug: Callable[[dict[str, str]], None] | None = None,
) -> int:
    """Tick ``next_frame`` at ``plan.rate`` into an open ``port`` until count or cancel.

    Ticks are scheduled from the start time, not from the previous tick, so a raised rate
    does not drift. Returns the number of ticks. The caller opens and closes ``port``.
    """
    loop = asyncio.get_running_loop()
    if plan.wait_for_listener:
        # Switched on when the cable is connected: captures and tests then start at the
        # device's first line instead of wherever they happened to attach.
        await wait_until(port.listening)
    start = loop.time()
    next_unplug = start + plan.disconnect_every if plan.disconnect_every else None
    ticks = 0
    while plan.count is None or ticks < plan.count:
        if next_unplug is not None and loop.time() >= next_unplug:
            await port.close()
            _LOGGER.info("unplugged for %g s", plan.reconnect_after)
            await asyncio.sleep(plan.reconnect_after)
            info = await port.open()
            _LOGGER.info("replugged: %s", info)
            if on_replug is not None:
                on_replug(info)
            next_unplug = loop.time() + plan.disconnect_every
        frame = next_frame()
        if frame:
            port.write(frame)
        ticks += 1
        delay = start + ticks / plan.rate - loop.time()
        await asyncio.sleep(max(0.0, delay))
    await port.drain()
    return ticks


def add_port_arguments(parser: argparse.ArgumentParser) -> None:
    """Where to serve, and how to pace and unplug: shared by every serial simulator."""
    where = parser.add_argument_group("where the device is plugged in (one of)")
    choice = where.add_mutually_exclusive_group(required=True)
    choice.add_argument("--pty", action="store_true", help="serve on a new pseudo-terminal")
    choice.add_argument(
        "--tcp",
        type=int,
        metavar="PORT",
        help="serve raw TCP like a network serial server (0: pick a free port)",
    )
    where.add_argument(
        "--link", type=Path, metavar="PATH", help="with --pty: keep a symlink PATH -> the pty"
    )
    where.add_argument("--host", default="127.0.0.1", help="with --tcp: address to listen on")
    pace = parser.add_argument_group("pace and unplugging")
    pace.add_argument("--rate", type=float, default=1.0, metavar="HZ", help="lines per second")
    pace.add_argument("--count", type=int, metavar="N", help="stop after N lines (exit 0)")
    pace.add_argument(
        "--no-wait",
        action="store_true",
        help="start sending at once, not when the first reader connects",
    )
    pace.add_argument(
        "--disconnect-every",
        type=float,
        default=0.0,
        metavar="S",
        help="unplug every S seconds: close the pty (a new one replaces it) or TCP clients",
    )
    pace.add_argument(
        "--reconnect-after", type=float, default=1.0, metavar="S", help="replug after S seconds"
    )


def port_from_args(args: argparse.Namespace) -> Port:
    if args.link is not None and not args.pty:
        raise ValueError("--link goes with --pty")
    return PtyPort(args.link) if args.pty else TcpPort(args.host, args.tcp)


def plan_from_args(args: argparse.Namespace) -> StreamPlan:
    return StreamPlan(
        rate=args.rate,
        count=args.count,
        wait_for_listener=not args.no_wait,
        disconnect_every=args.disconnect_every,
        reconnect_after=args.reconnect_after,
    )
