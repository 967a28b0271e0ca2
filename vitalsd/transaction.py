"""Command/response exchanges with polled devices: one request in flight, a timeout,
and frames that are not the awaited answer handed to whoever wants unsolicited data.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from vitalsd.errors import DeviceTimeout
from vitalsd.links.base import ByteLink

Framer = Callable[[bytes], list[bytes]]


class CommandChannel:
    """Sends requests on a link and waits for the matching reply frame.

    ``framer`` splits incoming bytes into frames (``LineFramer().feed`` or
    ``BinaryFramer(...).feed``). Frames read while waiting that ``accept`` does not
    recognise go to ``on_unsolicited`` (devices that also push data asynchronously).
    """

    def __init__(
        self,
        link: ByteLink,
        framer: Framer,
        *,
        on_unsolicited: Callable[[bytes], None] | None = None,
    ) -> None:
        self.link = link
        self._framer = framer
        self._pending: list[bytes] = []
        self._on_unsolicited = on_unsolicited or (lambda frame: None)
        self._lock = asyncio.Lock()

    async def request(
        self,
        data: bytes,
        *,
        accept: Callable[[bytes], bool],
        timeout: float,
        what: str = "reply",
    ) -> bytes:
        """Write ``data`` and return the first frame ``accept`` takes; ``DeviceTimeout``
        if none arrives within ``timeout`` seconds."""
        async with self._lock:
            # Stale frames from before this request are not its answer.
            for frame in self._pending:
                self._on_unsolicited(frame)
            self._pending.clear()
            await self.link.write(data)
            try:
                async with asyncio.timeout(timeout):
                    return await self._next(accept)
            except TimeoutError:
                raise DeviceTimeout(
                    f"no {what} within {timeout:g} s from {self.link.description}"
                ) from None

    async def read_frame(self) -> bytes:
        """The next frame, solicited or not (for devices that push between requests)."""
        while not self._pending:
            self._pending.extend(self._framer(await self.link.read()))
        return self._pending.pop(0)

    async def _next(self, accept: Callable[[bytes], bool]) -> bytes:
        while True:
            frame = await self.read_frame()
            if accept(frame):
                return frame
            self._on_unsolicited(frame)
