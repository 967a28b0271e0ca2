"""What every ``GattCentral`` adapter does the same way, whatever the radio stack: the fan-out
of the one shared scan to every subscriber, connection slots (at most ``max_connections``
at once) and one connect at a time, and closing down (links first, then the streams)."""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from abc import abstractmethod
from collections.abc import AsyncIterator
from typing import Generic, TypeVar

from vitalsd.errors import DeviceTimeout, DeviceUnavailable
from vitalsd.links.ad_stream import AdvertisementStream
from vitalsd.links.gatt import Advertisement, GattCentral, GattConnection

ConnT = TypeVar("ConnT", bound=GattConnection)


class AdapterCentral(GattCentral, Generic[ConnT]):
    """The adapter-neutral half of a central; subclasses scan, connect and tear down."""

    def __init__(self, *, max_connections: int, queue_size: int) -> None:
        self.max_connections = max_connections
        self.queue_size = queue_size
        self._streams: weakref.WeakSet[AdvertisementStream] = weakref.WeakSet()
        self._connect_lock = asyncio.Lock()
        self._slots = asyncio.Semaphore(max_connections)
        self._connections: set[ConnT] = set()  # each holds one slot until _released
        self._closed = False

    # --- scanning -------------------------------------------------------------------

    def _publish(self, adv: Advertisement) -> None:
        for stream in list(self._streams):
            stream.push(adv)

    def advertisements(self) -> AsyncIterator[Advertisement]:
        stream = AdvertisementStream(self.queue_size)
        if self._closed:
            stream.push(self._closed_error())
        self._streams.add(stream)
        return stream

    # --- lifecycle ------------------------------------------------------------------

    def _closed_error(self) -> DeviceUnavailable:
        return DeviceUnavailable(f"BLE central {self.description} closed")

    def _not_running(self) -> DeviceUnavailable:
        return DeviceUnavailable(f"BLE central {self.description} is not running")

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for connection in list(self._connections):
            await connection.disconnect()
        ended = self._closed_error()
        for stream in list(self._streams):
            stream.push(ended)
        await self._shut_down()

    @abstractmethod
    async def _shut_down(self) -> None:
        """Stop scanning and let go of the adapter; must finish whatever state it is in."""

    # --- connecting -----------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _connect_turn(
        self, address: str, timeout: float, *, where: str, holder: ConnT | None = None
    ) -> AsyncIterator[None]:
        """One connect's turn: a free slot (waiting ``timeout`` at most), then the adapter's
        connect lock. A failed connect gives its slot back: directly, or through
        ``_released(holder)`` when the connection exists already (its disconnect callback
        may have given the slot back first, and a slot must not be given back twice)."""
        try:
            async with asyncio.timeout(timeout):
                await self._slots.acquire()
        except TimeoutError:
            raise DeviceUnavailable(
                f"{where}: all {self.max_connections} connection slots busy for "
                f"{timeout:g} s; cannot connect to {address}"
            ) from None
        if holder is not None:
            self._connections.add(holder)  # from here on, _released gives the slot back
        try:
            async with self._connect_lock:
                yield
        except BaseException:
            if holder is None:
                self._slots.release()
            else:
                self._released(holder)
            raise

    def _not_accepted(self, address: str, timeout: float) -> DeviceTimeout:
        return DeviceTimeout(
            f"{address} did not accept a connection within {timeout:g} s "
            "(out of range, or it stopped advertising)"
        )

    def _released(self, conn: ConnT) -> None:
        if conn in self._connections:
            self._connections.discard(conn)
            self._slots.release()
