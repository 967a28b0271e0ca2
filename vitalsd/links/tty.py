"""A local serial device (``/dev/ttyUSB0``, a by-id symlink, a pty) read on the event loop.

pyserial opens and configures the port; after that the link works on the raw,
non-blocking file descriptor with ``add_reader``/``add_writer``, so an idle port costs
no thread and a read wakes exactly when the kernel has bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
import termios

import serial

from vitalsd.errors import LinkError
from vitalsd.links.base import ByteLink, SerialSettings
from vitalsd.links.blocking import run_blocking
from vitalsd.links.port_errors import disconnected, io_error, open_timeout, tty_open_error

_LOGGER = logging.getLogger(__name__)

_READ_SIZE = 4096
_CLOSE_TIMEOUT_S = 5.0  # close() after tcflush should be instant; don't hang shutdown on it


def _open_port(port: str, settings: SerialSettings) -> serial.Serial:
    """Blocking: open and configure the port (runs in a worker thread)."""
    try:
        mode = os.stat(port).st_mode
    except OSError as err:
        raise tty_open_error(port, err) from err
    if not stat.S_ISCHR(mode):
        raise LinkError(f"{port}: not a serial device (expected a character device like a tty)")
    ser = serial.Serial()
    ser.port = port
    ser.baudrate = settings.baudrate
    ser.bytesize = settings.bytesize
    ser.parity = settings.parity
    ser.stopbits = settings.stopbits
    ser.xonxoff = settings.xonxoff
    ser.rtscts = settings.rtscts
    ser.exclusive = True  # flock: a second daemon (or a stray minicom) gets "port busy"
    ser.timeout = 0
    try:
        # pyserial already ignores ENOTTY from the DTR/RTS ioctls that ptys reject.
        ser.open()
    except (OSError, serial.SerialException) as err:
        raise tty_open_error(port, err) from err
    return ser


def _close_port(ser: serial.Serial) -> None:
    """Blocking: drop unsent output first so close() does not wait out the driver's
    closing_wait (30 s on most USB-serial drivers) when flow control has stalled."""
    # termios.error is not an OSError; a hung-up line (EIO) raises it here.
    with contextlib.suppress(OSError, termios.error, serial.SerialException):
        ser.reset_output_buffer()
    ser.close()


async def open_tty_link(port: str, settings: SerialSettings) -> TtyLink:
    """Open a local serial device without blocking the event loop."""
    try:
        ser = await run_blocking(
            f"vitalsd-open {port}",
            lambda: _open_port(port, settings),
            timeout=settings.open_timeout,
            on_abandon=_close_port,
        )
    except TimeoutError as err:
        raise open_timeout(port, settings.open_timeout) from err
    _LOGGER.debug("%s: opened at %d baud", port, settings.baudrate)
    return TtyLink(port, ser)


class TtyLink(ByteLink):
    """An open local serial port."""

    def __init__(self, port: str, ser: serial.Serial) -> None:
        self._port = port
        self._ser = ser
        fd = ser.fileno()
        os.set_blocking(fd, False)
        self._fd = fd
        self._loop = asyncio.get_running_loop()
        self._closed = False
        self._reading = False
        self._write_lock = asyncio.Lock()
        self._waiters: set[asyncio.Future[None]] = set()

    @property
    def description(self) -> str:
        return self._port

    async def read(self) -> bytes:
        if self._reading:
            raise RuntimeError(f"{self._port}: read() is already waiting on this link")
        self._reading = True
        try:
            woken = False
            while True:
                self._check_open()
                try:
                    # pyserial leaves VMIN=0, so an idle port reads b"" rather than EAGAIN.
                    data = os.read(self._fd, _READ_SIZE)
                except BlockingIOError:
                    data = b""
                except OSError as err:  # EIO: pty master closed, adapter unplugged
                    raise io_error(self._port, err) from err
                if data:
                    return data
                if woken:  # the kernel said "readable" yet there is nothing: hung up
                    raise disconnected(self._port, "end of file")
                await self._wait_ready(writing=False)
                woken = True
        finally:
            self._reading = False

    async def write(self, data: bytes) -> None:
        async with self._write_lock:  # concurrent writers must not interleave frames
            view = memoryview(data)
            while view:
                self._check_open()
                try:
                    sent = os.write(self._fd, view)
                except BlockingIOError:
                    await self._wait_ready(writing=True)
                    continue
                except OSError as err:
                    raise io_error(self._port, err) from err
                view = view[sent:]

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        # Unregister before the fd is closed: the number may be reused by the next open.
        self._loop.remove_reader(self._fd)
        self._loop.remove_writer(self._fd)
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(disconnected(self._port, "link closed"))
        try:
            await run_blocking(
                f"vitalsd-close {self._port}",
                lambda: _close_port(self._ser),
                timeout=_CLOSE_TIMEOUT_S,
            )
        except TimeoutError:
            _LOGGER.warning("%s: closing the port is taking long; left to finish alone", self._port)
        except (OSError, termios.error, serial.SerialException) as err:
            _LOGGER.debug("%s: error while closing: %s", self._port, err)
        _LOGGER.debug("%s: closed", self._port)

    def _check_open(self) -> None:
        if self._closed:
            raise disconnected(self._port, "link closed")

    async def _wait_ready(self, *, writing: bool) -> None:
        waiter: asyncio.Future[None] = self._loop.create_future()

        def wake() -> None:
            if not waiter.done():
                waiter.set_result(None)

        if writing:
            self._loop.add_writer(self._fd, wake)
        else:
            self._loop.add_reader(self._fd, wake)
        self._waiters.add(waiter)
        try:
            await waiter
        finally:
            self._waiters.discard(waiter)
            if not self._closed:  # after close the fd (number) is no longer ours
                if writing:
                    self._loop.remove_writer(self._fd)
                else:
                    self._loop.remove_reader(self._fd)
