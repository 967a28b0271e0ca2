"""The session of a connected BLE oximeter that streams on one notify characteristic:
wait for its advertisement, connect, subscribe, decode every notification, report.

The stream has no end-of-session marker, so the driver cannot tell a finished spot
check from a lost link: a disconnect raises ``DeviceDisconnected`` (the device shows
offline, the supervisor waits for the next advertisement), and silence longer than
``silence_timeout`` raises ``DeviceTimeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import ClassVar

from drivers.ble.base import BleDriver
from vitalsd.errors import DeviceDisconnected, DeviceError, DeviceTimeout
from vitalsd.links.gatt import BleLink, GattConnection, normalize_uuid, uuid16
from vitalsd.model import DeviceIdentity, DeviceKind, DriverReport

_LOGGER = logging.getLogger(__name__)


class StreamingOximeterDriver(BleDriver):
    kinds: ClassVar[frozenset[DeviceKind]] = frozenset({DeviceKind.PULSE_OXIMETER})
    characteristics: ClassVar[frozenset[int]] = frozenset()
    notify_characteristic: ClassVar[str]
    """Full UUID of the characteristic the device streams on."""
    make: ClassVar[str]
    model: ClassVar[str]

    @classmethod
    def decode_one(cls, data: bytes) -> list[DriverReport]:
        """One captured notification, strictly (for ``vitalsd decode``)."""
        raise NotImplementedError

    @classmethod
    def decode_characteristic(
        cls, uuid: int, data: bytes, *, tolerant: bool = False
    ) -> list[DriverReport]:
        """``vitalsd decode --characteristic ffe4``: the SIG-base short form."""
        return cls.decode_notification(uuid16(uuid), data)

    @classmethod
    def decode_notification(cls, uuid: str, data: bytes) -> list[DriverReport]:
        """``vitalsd decode --characteristic <128-bit UUID>``: one captured notification."""
        if normalize_uuid(uuid) != cls.notify_characteristic:
            raise DeviceError(
                f"{cls.name} decodes characteristic {cls.notify_characteristic}, not {uuid}"
            )
        return cls.decode_one(data)

    async def run_ble(self, link: BleLink) -> None:
        adv = await link.next_advertisement()
        _LOGGER.info("%s: %s advertising; connecting", self.name, adv.address)
        conn = await link.connect(adv, timeout=self.ble_options.connect_timeout)
        try:
            await self._session(conn)
        finally:
            with contextlib.suppress(DeviceError):
                await conn.disconnect()

    async def _session(self, conn: GattConnection) -> None:
        char = self.notify_characteristic
        step = self.ble_options.step_timeout
        try:
            async with asyncio.timeout(step):
                services = await conn.services()
        except TimeoutError:
            raise DeviceTimeout(f"{conn.address}: service discovery took over {step:g} s") from None
        offered = {c.uuid for s in services for c in s.characteristics}
        if char not in offered:
            raise DeviceError(
                f"{conn.address} has no characteristic {char}: is it a {self.make} {self.model}?"
            )
        decoder = self.track(self.new_decoder(self.options))
        heard = asyncio.Event()

        def on_value(data: bytes) -> None:
            heard.set()
            for report in decoder.feed(bytes(data)):
                self.sink.put(report)

        self.sink.put(DeviceIdentity(make=self.make, model=self.model, address=conn.address))
        try:
            async with asyncio.timeout(step):
                await conn.subscribe(char, on_value, indicate=False)
        except TimeoutError:
            raise DeviceTimeout(f"{conn.address}: subscribing took over {step:g} s") from None
        gone = asyncio.create_task(conn.wait_disconnected(), name=f"{self.name}-disconnect")
        try:
            while True:
                heard.clear()
                waiter = asyncio.create_task(heard.wait(), name=f"{self.name}-notification")
                try:
                    done, _ = await asyncio.wait(
                        {gone, waiter}, timeout=self.options.silence_timeout
                    )
                finally:
                    waiter.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await waiter
                if gone in done:
                    raise DeviceDisconnected(
                        f"{self.make} {self.model} {conn.address} disconnected: {gone.result()}"
                    )
                if not done:
                    raise DeviceTimeout(
                        f"no notification for {self.options.silence_timeout:g} s "
                        f"from {conn.address}"
                    )
        finally:
            gone.cancel()
            with contextlib.suppress(asyncio.CancelledError, DeviceError):
                await gone
