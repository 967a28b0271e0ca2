"""Persistent unique message ids (MSH-10, OBR-3) from a counter kept in the outbox file."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vitalsd.outbox import Outbox


class IdAllocator:
    """Unique, persistent, roughly sortable ids: MSH-10 (≤ 20 chars) and OBR-3 (≤ 16).

    A control id is ``prefix`` + UTC ``yymmddHHMMSS`` + the counter's last 5 digits. The
    counter is persistent, so ids stay unique across restarts; the time part keeps them
    unique even if the state directory is wiped. Numbers are reserved in blocks (one
    commit per block); a crash only leaves a gap, never a repeat.
    """

    BLOCK = 1000

    def __init__(self, outbox: Outbox, counter: str, *, prefix: str = "VSD") -> None:
        if len(prefix) > 3 or not prefix.isascii() or not prefix.isalnum():
            raise ValueError("id prefix must be 0-3 ASCII letters or digits")
        self._outbox = outbox
        self._counter = counter
        self._prefix = prefix
        self._numbers: Iterator[int] = iter(())
        self._left = 0

    async def next_number(self) -> int:
        if self._left == 0:
            block = await asyncio.to_thread(self._outbox.reserve, self._counter, self.BLOCK)
            self._numbers, self._left = iter(block), len(block)
        self._left -= 1
        return next(self._numbers)

    async def control_id(self, now: datetime) -> tuple[str, str]:
        """A fresh (MSH-10, OBR-3 filler id) pair."""
        n = await self.next_number()
        stamp = now.astimezone(UTC).strftime("%y%m%d%H%M%S")
        return f"{self._prefix}{stamp}{n % 100_000:05d}", f"{stamp}{n % 10_000:04d}"
