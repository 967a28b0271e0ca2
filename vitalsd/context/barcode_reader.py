"""Where scans come from: a scanner's byte stream cut into scans, and the serial reader.

A scanner in serial (RS-232 or "USB CDC / virtual COM") mode sends each scan as the
label's text followed by a configured suffix (CR, CR LF, LF or TAB). A scan cut short by
a misread or a reset has no suffix; its bytes would otherwise be glued to the front of
the next scan, so a fragment left without a suffix for ``incomplete_after`` seconds is
discarded on its own (scanners send a whole scan in one burst).
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from typing import Literal

from vitalsd.errors import ContextSourceError, DeviceError
from vitalsd.links.base import ByteLink, SerialSettings
from vitalsd.links.serial import open_serial_link

_LOGGER = logging.getLogger(__name__)

Suffix = Literal["cr", "crlf", "lf", "tab"]
SUFFIX_BYTES: dict[str, bytes] = {"cr": b"\r", "crlf": b"\r\n", "lf": b"\n", "tab": b"\t"}
MAX_SCAN_BYTES = 1024  # far above any wristband; a stream with no suffix is not a scan


class ScannerUnavailable(ContextSourceError):
    """The scanner is not there (unplugged, wrong path, no permission); retried."""


class ScanReader(ABC):
    """An open scanner: hands out one scan's text at a time."""

    description: str

    @abstractmethod
    async def next_scan(self) -> str:
        """Wait for the next whole scan. Raises ``ScannerUnavailable`` when it goes away."""

    @abstractmethod
    async def close(self) -> None:
        """Release the scanner; safe to call twice."""


class ScanSplitter:
    """Bytes in, whole scans out (suffix removed). Empty scans are skipped."""

    def __init__(self, suffix: Suffix, name: str = "barcode scanner") -> None:
        self.name = name
        # CR LF: the CR ends the scan and the LF leaves an empty one, which is skipped;
        # so a scanner set to CR LF where the site configured CR still works.
        self._ends = frozenset(SUFFIX_BYTES[suffix])
        self._buf = bytearray()
        self.discarded = 0  # fragments thrown away (too long, or left incomplete)

    @property
    def pending(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list[str]:
        scans: list[str] = []
        for byte in data:
            if byte in self._ends:
                if self._buf:
                    scans.append(self._buf.decode("utf-8", errors="replace"))
                self._buf.clear()
            elif len(self._buf) < MAX_SCAN_BYTES:
                self._buf.append(byte)
            else:
                self.discard("longer than any label, no suffix")
        return scans

    def discard(self, why: str) -> None:
        if self._buf:
            self.discarded += 1
            _LOGGER.warning(
                "%s: discarded %d bytes of an incomplete scan (%s)", self.name, len(self._buf), why
            )
        self._buf.clear()


class SerialScanReader(ScanReader):
    """A serial scanner through the daemon's own serial link (ttys, ``socket://``...)."""

    def __init__(self, link: ByteLink, suffix: Suffix, incomplete_after: float) -> None:
        self.link = link
        self.description = link.description
        self.splitter = ScanSplitter(suffix, f"barcode scanner {link.description}")
        self.incomplete_after = incomplete_after
        self._ready: list[str] = []

    @classmethod
    async def open(
        cls, port: str, settings: SerialSettings, suffix: Suffix, incomplete_after: float
    ) -> SerialScanReader:
        try:
            link = await open_serial_link(port, settings)
        except DeviceError as err:
            raise ScannerUnavailable(f"barcode scanner {err}") from err
        return cls(link, suffix, incomplete_after)

    async def next_scan(self) -> str:
        while not self._ready:
            try:
                if self.splitter.pending:
                    async with asyncio.timeout(self.incomplete_after):
                        data = await self.link.read()
                else:
                    data = await self.link.read()
            except TimeoutError:
                self.splitter.discard(f"no suffix within {self.incomplete_after:g} s")
                continue
            except DeviceError as err:
                raise ScannerUnavailable(f"barcode scanner {err}") from err
            self._ready.extend(self.splitter.feed(data))
        return self._ready.pop(0)

    async def close(self) -> None:
        await self.link.close()
