"""The systemd notify protocol (sd_notify(3)), without libsystemd.

Datagrams of newline-separated ``KEY=VALUE`` lines to the AF_UNIX socket named in
``$NOTIFY_SOCKET``; systemd documents the protocol itself as the stable interface, so
thirty lines beat a C extension. Everything is a no-op when not run by systemd.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

_LOGGER = logging.getLogger(__name__)


class Notifier:
    """Sends notify messages; silently does nothing without a socket."""

    def __init__(self, address: str | None) -> None:
        # A leading "@" names a socket in the Linux abstract namespace.
        self.address = "\0" + address[1:] if address and address.startswith("@") else address
        self._sock: socket.socket | None = None
        self._warned = False

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        env = os.environ if environ is None else environ
        return cls(env.get("NOTIFY_SOCKET") or None)

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def send(self, *lines: str) -> bool:
        """Send one message (``"READY=1"``, ``"STATUS=..."``); True when it was sent."""
        if not self.address:
            return False
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto("\n".join(lines).encode(), self.address)
        except OSError as err:
            # Never fatal: a missing notify socket must not take the readings down.
            if not self._warned:
                _LOGGER.warning("cannot notify systemd at %s: %s", self.address, err)
                self._warned = True
            return False
        return True

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def monotonic_usec() -> int:
    """CLOCK_MONOTONIC in microseconds, as ``RELOADING=1`` wants it beside."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def watchdog_period(environ: Mapping[str, str] | None = None) -> float | None:
    """Seconds between keep-alives (half of ``WatchdogSec``), or None when not wanted."""
    env = os.environ if environ is None else environ
    pid = env.get("WATCHDOG_PID")
    if pid and pid != str(os.getpid()):
        return None  # meant for another process (e.g. we were exec'd by a wrapper)
    try:
        usec = int(env.get("WATCHDOG_USEC", "0"))
    except ValueError:
        return None
    return usec / 2e6 if usec > 0 else None


async def keep_alive(
    notifier: Notifier, period: float, status: Callable[[], str] | None = None
) -> None:
    """Ping ``WATCHDOG=1`` every ``period`` s from the event loop, with a fresh STATUS.

    Sent from a plain loop task on purpose: if anything blocks the loop, the pings stop
    and systemd restarts the service, which is exactly what a wedged daemon needs.
    """
    last_status = None
    while True:
        lines = ["WATCHDOG=1"]
        if status is not None:
            text = status()
            if text != last_status:
                lines.append(f"STATUS={text}")
                last_status = text
        notifier.send(*lines)
        await asyncio.sleep(period)
