"""One subscriber's view of a central's shared scan: a bounded queue of advertisements."""

from __future__ import annotations

import asyncio

from vitalsd.errors import DeviceError
from vitalsd.links.gatt import Advertisement


class AdvertisementStream:
    """One subscriber's bounded queue; when it overflows the oldest report goes (adverts
    repeat, so the newest one is the one worth keeping)."""

    def __init__(self, size: int) -> None:
        self.queue: asyncio.Queue[Advertisement | DeviceError] = asyncio.Queue(size)
        self.dropped = 0

    def push(self, item: Advertisement | DeviceError) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(item)

    def __aiter__(self) -> AdvertisementStream:
        return self

    async def __anext__(self) -> Advertisement:
        item = await self.queue.get()
        if isinstance(item, DeviceError):
            self.queue.put_nowait(item)  # every later call sees the same end
            raise item
        return item
