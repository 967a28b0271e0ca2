"""Reusable framers: bytes in, whole frames out, resynchronizing on garbage.

Transports split and merge frames freely (USB-serial latency timers, TCP segments of a
network serial server), so no driver may assume that one read is one frame.
"""

from __future__ import annotations

import re

_LINE_END = re.compile(rb"\r\n|\n\r|\r|\n")


class LineFramer:
    """Splits a byte stream into lines ending in any CR/LF combination.

    Empty lines are skipped. A line longer than ``max_line`` is garbage (a device talking
    at the wrong baud rate, or no line ends at all): it is discarded and counted, and
    framing restarts at the next line end.
    """

    def __init__(self, max_line: int = 1024) -> None:
        self._buf = bytearray()
        self._max_line = max_line
        self._discarding = False
        self.overruns = 0

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return every complete line now available, without its ending."""
        self._buf += data
        lines: list[bytes] = []
        start = 0
        for match in _LINE_END.finditer(self._buf):
            # "\r" at the very end may be the first half of "\r\n": wait for more.
            if match.end() == len(self._buf) and self._buf[-1:] == b"\r":
                break
            line = bytes(self._buf[start : match.start()])
            start = match.end()
            if self._discarding:
                self._discarding = False
                continue
            if line:
                lines.append(line)
        del self._buf[:start]
        if len(self._buf) > self._max_line:
            self.overruns += 1
            self._buf.clear()
            self._discarding = True
        return lines

    def flush(self) -> list[bytes]:
        """Return what is left as a final line (for captured data without a last CR/LF)."""
        rest = bytes(self._buf).strip(b"\r\n")
        self._buf.clear()
        discarding, self._discarding = self._discarding, False
        return [rest] if rest and not discarding else []
