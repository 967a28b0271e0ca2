"""The byte buffer of a BLE oximeter decoder that frames its own stream: notifications
cut and join frames anywhere, so bytes wait here until a frame proves its alignment,
and bytes that cannot start one are skipped one at a time.

Each protocol's ``_drain`` keeps its own frame checks (length, type, checksum, counter,
the next byte starting another frame); this class holds only what they share: the
buffer, counting each run of skipped bytes as one error, and the end of a capture.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from typing import ClassVar

from vitalsd.driver import Decoder
from vitalsd.model import DriverReport


class ResyncingDecoder(Decoder):
    label: ClassVar[str]
    """The protocol as named in the debug log ("FS20F", "Nonin 3230")."""
    logger: ClassVar[logging.Logger]
    """The protocol module's logger, so its debug lines stay under its own name."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._in_garbage = False
        self._errors = 0

    @property
    def errors(self) -> int:
        return self._errors

    def feed(self, data: bytes) -> list[DriverReport]:
        self._buf += data
        return self._drain(final=False)

    def flush(self) -> list[DriverReport]:
        out = self._drain(final=True)
        if self._buf:
            self._skip(len(self._buf), "capture ends inside a frame")
        return out

    @abstractmethod
    def _drain(self, *, final: bool) -> list[DriverReport]:
        """Decode every frame the buffer proves; ``final``: no more bytes will come, so
        a frame at the very end needs no following byte to prove its end."""

    def _take(self, n: int) -> None:
        """Consume an accepted frame of ``n`` bytes: the stream is aligned again."""
        del self._buf[:n]
        self._in_garbage = False

    def _skip(self, n: int, why: str) -> None:
        # One error per run of garbage, not per byte: a lost byte costs one, not ten.
        if not self._in_garbage:
            self._errors += 1
            self._in_garbage = True
            self.logger.debug("%s: bytes skipped: %s", self.label, why)
        del self._buf[:n]
