"""``GattConnection`` on a ``BleakClient``: GATT operations with bleak's and BlueZ's failures
turned into ``DeviceError``s that say what happened and what to do."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.exc import (
    BleakDBusError,
    BleakError,
    BleakGATTProtocolError,
)

from vitalsd.errors import BleGattError, BlePairingError
from vitalsd.links.ble_connection_base import AdapterConnection
from vitalsd.links.ble_hints import dbus_message, short_uuid
from vitalsd.links.gatt import (
    GattCharacteristic,
    GattService,
    NotificationHandler,
    normalize_uuid,
)

if TYPE_CHECKING:
    from vitalsd.links.ble_bleak import BleakCentral

T = TypeVar("T")


class BleakConnection(AdapterConnection[BleakGATTCharacteristic]):
    central: BleakCentral

    def __init__(self, central: BleakCentral, address: str) -> None:
        super().__init__(central, address)
        self.client: BleakClient | None = None

    def _on_disconnected(self, _client: BleakClient) -> None:
        self._ended("the device ended the connection or went out of range")

    @property
    def is_connected(self) -> bool:
        return not self._gone.done() and self.client is not None and self.client.is_connected

    async def _call(self, what: str, operation: Callable[[BleakClient], Awaitable[T]]) -> T:
        """Run one bleak call, mapping its failures to ours with a clear message."""
        if self._gone.done() or self.client is None:
            raise self._disconnected()
        try:
            return await operation(self.client)
        except BleakGATTProtocolError as exc:
            fallback = exc.code.name.lower().replace("_", " ")
            raise self._att_error(what, int(exc.code), fallback) from None
        except BleakDBusError as exc:
            if not self.is_connected:
                raise self._disconnected() from None
            raise BleGattError(f"{what} on {self.address}: {dbus_message(exc)}") from None
        except TimeoutError:
            if not self.is_connected:
                raise self._disconnected() from None
            raise self._no_answer(what) from None
        except (BleakError, EOFError, BrokenPipeError) as exc:
            if not self.is_connected:
                raise self._disconnected() from None
            raise self._failed(what, exc) from None

    async def services(self) -> tuple[GattService, ...]:
        if self._services is None:
            if self.client is None or self._gone.done():
                raise self._disconnected()
            services = []
            for service in self.client.services:
                chars = []
                for c in service.characteristics:
                    uuid = normalize_uuid(c.uuid)
                    self._chars.setdefault(uuid, c)
                    chars.append(GattCharacteristic(uuid, frozenset(c.properties)))
                services.append(GattService(normalize_uuid(service.uuid), tuple(chars)))
            self._services = tuple(services)
        return self._services

    async def read(self, characteristic: str) -> bytes:
        uuid = normalize_uuid(characteristic)
        char = await self._char(uuid)
        value = await self._call(f"read {short_uuid(uuid)}", lambda c: c.read_gatt_char(char))
        return bytes(value)

    async def write(self, characteristic: str, data: bytes, *, response: bool = True) -> None:
        uuid = normalize_uuid(characteristic)
        char = await self._char(uuid)
        await self._call(
            f"write {short_uuid(uuid)}",
            lambda c: c.write_gatt_char(char, bytes(data), response=response),
        )

    async def subscribe(
        self, characteristic: str, handler: NotificationHandler, *, indicate: bool | None = None
    ) -> None:
        uuid = normalize_uuid(characteristic)
        char = await self._char(uuid)
        self._indications(
            uuid, "notify" in char.properties, "indicate" in char.properties, indicate
        )
        # bleak chooses for itself: notifications when a characteristic offers both. The
        # value arrives either way; only the link-layer acknowledgement differs.

        def deliver(_char: Any, value: bytearray) -> None:
            handler(bytes(value))

        await self._call(f"subscribe {short_uuid(uuid)}", lambda c: c.start_notify(char, deliver))

    async def unsubscribe(self, characteristic: str) -> None:
        uuid = normalize_uuid(characteristic)
        char = await self._char(uuid)
        await self._call(f"unsubscribe {short_uuid(uuid)}", lambda c: c.stop_notify(char))

    async def pair(self, *, bond: bool = True) -> None:
        # BlueZ always bonds when it pairs; ``bond`` cannot be honoured there.
        if self._gone.done() or self.client is None:
            raise self._disconnected()
        try:
            await self.client.pair()
        except BleakDBusError as exc:
            if exc.dbus_error == "org.bluez.Error.AlreadyExists":
                return  # bonded already: that is what was asked for
            raise BlePairingError(f"pairing with {self.address}: {dbus_message(exc)}") from None
        except (BleakError, TimeoutError) as exc:
            if self._gone.done():
                raise BlePairingError(
                    f"{self.address} disconnected during pairing: put it in pairing mode and retry"
                ) from None
            raise self._pairing_failed(str(exc) or type(exc).__name__) from None

    async def disconnect(self) -> None:
        if self._gone.done():
            return
        self._settle("disconnected by vitalsd")  # ours, not the disconnect callback's
        client = self.client
        if client is not None:
            with contextlib.suppress(BleakError, TimeoutError, EOFError, BrokenPipeError):
                await client.disconnect()
        self.central._released(self)
