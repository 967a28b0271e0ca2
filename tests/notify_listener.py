"""A real AF_UNIX datagram socket standing where systemd's notify socket would be."""

from __future__ import annotations

import contextlib
import socket
import tempfile
import time
from pathlib import Path


class NotifyListener:
    def __init__(self) -> None:
        # sun_path is ~108 bytes: a short private dir, not pytest's long tmp_path.
        self._dir = tempfile.TemporaryDirectory(prefix="vsd-")
        self.path = str(Path(self._dir.name) / "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages: list[str] = []  # not yet matched by wait_for
        self.received: list[str] = []  # everything, in order

    def drain(self) -> list[str]:
        """Every datagram waiting right now, without blocking."""
        got = []
        self.sock.setblocking(False)
        try:
            while True:
                got.append(self.sock.recv(4096).decode())
        except BlockingIOError:
            pass
        self.messages += got
        self.received += got
        return got

    def wait_for(self, predicate_text: str, timeout: float = 30.0) -> str:
        """The first message (already seen or new) containing ``predicate_text``."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for msg in self.messages[seen:]:
                if predicate_text in msg:
                    self.messages.remove(msg)
                    return msg
            seen = len(self.messages)
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"no notify message with {predicate_text!r}; got {self.messages!r}"
                )
            self._receive(min(left, 0.2))

    def wait_for_line(self, prefix: str, timeout: float = 30.0) -> str:
        """The first line starting with ``prefix`` in anything received, before or after
        this call, and whether or not ``wait_for`` already took its message.

        For STATUS: it rides along only when it changed, so the one message that carries a
        given status may be the very ping an earlier ``wait_for("WATCHDOG=1")`` took.
        """
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines():
                if line.startswith(prefix):
                    return line
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no notify line {prefix!r}; got {self.received!r}")
            self._receive(min(left, 0.2))

    def _receive(self, timeout: float) -> None:
        """At most one datagram, waiting up to ``timeout`` seconds for it."""
        self.sock.setblocking(True)
        self.sock.settimeout(timeout)
        with contextlib.suppress(TimeoutError):
            msg = self.sock.recv(4096).decode()
            self.messages.append(msg)
            self.received.append(msg)

    def lines(self) -> list[str]:
        return [line for msg in self.received for line in msg.splitlines()]

    def close(self) -> None:
        self.sock.close()
        self._dir.cleanup()
