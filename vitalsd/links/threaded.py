"""``rfc2217://`` and any other pyserial URL: the blocking pyserial client behind a thread.

pyserial's RFC 2217 client has no file descriptor the event loop could watch (its own
reader thread parses the telnet stream), and neither asyncio bridge can drive it. So one
named reader thread per link does short blocking reads and hands bytes (or the error
that ended them) to the loop; read() just awaits what arrived.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import TypeVar

import serial

from vitalsd.errors import DeviceError
from vitalsd.links.base import ByteLink, SerialSettings
from vitalsd.links.blocking import run_blocking
from vitalsd.links.port_errors import connect_error, disconnected, open_timeout

_LOGGER = logging.getLogger(__name__)

_A = TypeVar("_A")

_POLL_S = 0.1  # how long a blocking read waits before the thread re-checks for close()
_CLOSE_TIMEOUT_S = 10.0  # pyserial's rfc2217 close joins its own thread (up to 7 s)


def _open_url(url: str, settings: SerialSettings) -> serial.SerialBase:
    """Blocking: connect, negotiate and configure (runs in a worker thread)."""
    try:
        ser = serial.serial_for_url(
            url,
            do_not_open=True,
            baudrate=settings.baudrate,
            bytesize=settings.bytesize,
            parity=settings.parity,
            stopbits=settings.stopbits,
            xonxoff=settings.xonxoff,
            rtscts=settings.rtscts,
            timeout=_POLL_S,
        )
        ser.open()
    except (OSError, ValueError, serial.SerialException) as err:
        raise connect_error(url, err) from err
    return ser


def _close_quietly(ser: serial.SerialBase) -> None:
    try:
        ser.close()
    except (OSError, serial.SerialException) as err:
        _LOGGER.debug("%s: error while closing: %s", ser.port, err)


def _lost_reason(err: BaseException) -> str:
    text = str(err)
    if "reader thread died" in text:  # pyserial's rfc2217 wording for a closed socket
        return "connection to the server lost"
    return text


async def open_threaded_link(url: str, settings: SerialSettings) -> ThreadedLink:
    """Open a pyserial URL in a worker thread, bounded by ``settings.open_timeout``."""
    try:
        ser = await run_blocking(
            f"vitalsd-open {url}",
            lambda: _open_url(url, settings),
            timeout=settings.open_timeout,
            on_abandon=_close_quietly,
        )
    except TimeoutError as err:
        raise open_timeout(url, settings.open_timeout) from err
    _LOGGER.debug("%s: opened at %d baud", url, settings.baudrate)
    return ThreadedLink(url, ser)


class ThreadedLink(ByteLink):
    """An open pyserial port whose blocking reads run in a thread this link owns."""

    def __init__(self, url: str, ser: serial.SerialBase) -> None:
        self._url = url
        self._ser = ser
        self._loop = asyncio.get_running_loop()
        self._chunks: deque[bytes] = deque()
        self._error: DeviceError | None = None
        self._arrived = asyncio.Event()
        self._write_lock = asyncio.Lock()
        self._stop = threading.Event()
        self._closed = False
        self._thread = threading.Thread(
            target=self._read_loop, name=f"vitalsd-read {url}", daemon=True
        )
        self._thread.start()

    @property
    def description(self) -> str:
        return self._url

    async def read(self) -> bytes:
        if self._closed:
            raise disconnected(self._url, "link closed")
        while not self._chunks and self._error is None:
            self._arrived.clear()
            await self._arrived.wait()
        if self._chunks:  # deliver bytes that arrived before a disconnect first
            data = b"".join(self._chunks)
            self._chunks.clear()
            return data
        assert self._error is not None
        raise self._error

    async def write(self, data: bytes) -> None:
        if self._closed:
            raise disconnected(self._url, "link closed")
        if self._error is not None:
            raise self._error
        async with self._write_lock:  # one write thread at a time keeps frames in order
            try:
                await run_blocking(f"vitalsd-write {self._url}", lambda: self._ser.write(data))
            except (OSError, serial.SerialException) as err:
                raise disconnected(self._url, str(err)) from err

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._chunks.clear()
        self._fail(disconnected(self._url, "link closed"))

        def stop_and_close() -> None:
            # Join first so the reader never touches a port that is being closed.
            self._thread.join()
            _close_quietly(self._ser)

        try:
            await run_blocking(
                f"vitalsd-close {self._url}", stop_and_close, timeout=_CLOSE_TIMEOUT_S
            )
        except TimeoutError:
            _LOGGER.warning("%s: closing is taking long; left to finish alone", self._url)
        _LOGGER.debug("%s: closed", self._url)

    # --- called on the loop, scheduled from the reader thread ----------------------------

    def _deliver(self, data: bytes) -> None:
        if self._closed:
            return
        self._chunks.append(data)
        self._arrived.set()

    def _fail(self, error: DeviceError) -> None:
        if self._error is None:
            self._error = error
        self._arrived.set()

    # --- the reader thread ---------------------------------------------------------------

    def _read_loop(self) -> None:
        ser = self._ser
        while not self._stop.is_set():
            try:
                data = ser.read(1)  # returns after _POLL_S with b"" when idle
                # in_waiting lives on the concrete handler classes, not on SerialBase
                pending: int = getattr(ser, "in_waiting", 0)
                if data and pending:
                    data += ser.read(pending)
            except (OSError, serial.SerialException) as err:
                if not self._stop.is_set():
                    _LOGGER.debug("%s: reader thread ends: %s", self._url, err)
                    self._post(self._fail, disconnected(self._url, _lost_reason(err)))
                return
            if data:
                self._post(self._deliver, data)

    def _post(self, callback: Callable[[_A], None], arg: _A) -> None:
        try:
            self._loop.call_soon_threadsafe(callback, arg)
        except RuntimeError:  # loop closed without close(); nobody is listening any more
            self._stop.set()
