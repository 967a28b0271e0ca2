"""Reusable framers: bytes in, whole frames out, resynchronizing on garbage.

Transports split and merge frames freely (USB-serial latency timers, TCP segments of a
network serial server), so no driver may assume that one read is one frame.
"""

from __future__ import annotations

import re
from collections.abc import Callable

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


FrameMatcher = Callable[[bytes], int]
"""Looks at a buffer starting at a candidate frame start and answers:

- ``n > 0``: a valid frame of ``n`` bytes starts here (layout and checksum checked);
- ``0``: it may be a frame but more bytes are needed to tell;
- ``-1``: no valid frame starts here (bad start byte, length or checksum).
"""


class BinaryFramer:
    """Frames a binary stream with a protocol's ``FrameMatcher``, resynchronizing by
    sliding one byte at a time past anything that is not a valid frame.

    Sliding (rather than skipping a whole bad frame) is what lets a stream recover when
    a byte was lost or a start byte appears inside data: the next valid frame is found
    wherever it begins. Bytes skipped are counted in ``skipped`` and every run of them
    as one ``errors``.
    """

    def __init__(self, matcher: FrameMatcher, *, max_frame: int = 4096) -> None:
        self._match = matcher
        self._buf = bytearray()
        self._max_frame = max_frame
        self._in_garbage = False
        self.errors = 0
        self.skipped = 0

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        frames: list[bytes] = []
        pos = 0
        buf = bytes(self._buf)
        while pos < len(buf):
            n = self._match(buf[pos:])
            if n > 0:
                frames.append(buf[pos : pos + n])
                pos += n
                self._in_garbage = False
            elif n == 0 and len(buf) - pos < self._max_frame:
                break  # wait for more bytes
            else:
                if not self._in_garbage:
                    self.errors += 1
                    self._in_garbage = True
                self.skipped += 1
                pos += 1
        del self._buf[:pos]
        return frames


class GapMarkingFramer:
    """A ``BinaryFramer`` that also tells, for each frame, whether bytes were skipped
    since the frame before it: a protocol that pairs adjacent frames (a packet of
    several, or two frames confirming each other) must not pair across a gap.
    """

    def __init__(self, matcher: FrameMatcher, *, max_frame: int = 4096) -> None:
        self._matcher = matcher
        self._framer = BinaryFramer(self._match, max_frame=max_frame)
        self._gap = False  # bytes were skipped since the last frame
        self._gaps: list[bool] = []  # one per frame the framer returns, in order

    @property
    def errors(self) -> int:
        return self._framer.errors

    @property
    def skipped(self) -> int:
        return self._framer.skipped

    def _match(self, buf: bytes) -> int:
        # The framer calls the matcher once per frame it returns, and a negative answer
        # is what makes it skip: so the matcher's answers say where the gaps are.
        n = self._matcher(buf)
        if n < 0:
            self._gap = True
        elif n > 0:
            self._gaps.append(self._gap)
            self._gap = False
        return n

    def feed(self, data: bytes) -> list[tuple[bytes, bool]]:
        """Add bytes; return every complete frame with whether bytes were lost before it."""
        frames = self._framer.feed(data)
        gaps, self._gaps = self._gaps, []
        return list(zip(frames, gaps, strict=True))
