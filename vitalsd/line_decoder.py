"""The shared shape of line-based protocol decoders (Masimo, Nellcor, Nonin ASCII, ...)."""

from __future__ import annotations

import logging
from abc import abstractmethod

from vitalsd.driver import Decoder
from vitalsd.errors import FramingError
from vitalsd.framing import LineFramer
from vitalsd.model import DriverReport

_LOGGER = logging.getLogger(__name__)


class LineDecoder(Decoder):
    """Frames lines (any CR/LF) and decodes each with ``decode_line``.

    A line ``decode_line`` rejects with ``FramingError`` is counted in ``errors`` and
    logged at DEBUG with the reason; the next line is decoded as if nothing happened,
    which is all the resynchronisation a line protocol needs.
    """

    protocol = "line"  # for the debug log: which decoder rejected what

    def __init__(self, max_line: int = 1024) -> None:
        self._framer = LineFramer(max_line=max_line)
        self._rejected = 0

    @property
    def errors(self) -> int:
        return self._rejected + self._framer.overruns

    def feed(self, data: bytes) -> list[DriverReport]:
        return self._decode(self._framer.feed(data))

    def flush(self) -> list[DriverReport]:
        return self._decode(self._framer.flush())

    def _decode(self, lines: list[bytes]) -> list[DriverReport]:
        out: list[DriverReport] = []
        for line in lines:
            try:
                out += self.decode_line(line)
            except FramingError as err:
                self._rejected += 1
                _LOGGER.debug("%s line rejected: %s", self.protocol, err)
        return out

    @abstractmethod
    def decode_line(self, line: bytes) -> list[DriverReport]:
        """Reports from one line (without its ending); raise ``FramingError`` to reject it."""
