"""``GattConnection`` on a bumble connection: GATT operations with bumble's and ATT's
failures turned into ``DeviceError``s that say what happened and what to do."""

from __future__ import annotations

import asyncio
import contextlib
import uuid as _uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from vitalsd.errors import BlePairingError
from vitalsd.links.ble_connection_base import AdapterConnection
from vitalsd.links.ble_hints import SMP_HINTS, disconnect_reason, short_uuid
from vitalsd.links.gatt import (
    GattCharacteristic,
    GattService,
    NotificationHandler,
    normalize_uuid,
)

if TYPE_CHECKING:
    from bumble.device import Connection, Peer

    from vitalsd.links.ble_bumble import BumbleCentral

DISCONNECT_TIMEOUT_S = 5.0

# bumble's Characteristic.Properties bits → the names GattCharacteristic uses (bleak's).
_PROPERTY_NAMES = {
    0x01: "broadcast",
    0x02: "read",
    0x04: "write-without-response",
    0x08: "write",
    0x10: "notify",
    0x20: "indicate",
    0x40: "authenticated-signed-writes",
    0x80: "extended-properties",
}


def full_uuid(bumble_uuid: Any) -> str:
    """A bumble ``core.UUID`` as the full lower-case 128-bit string."""
    return str(_uuid.UUID(bytes=bytes(reversed(bumble_uuid.to_bytes(force_128=True)))))


def _hci_name(code: int) -> str:
    from bumble import hci

    try:
        return hci.HCI_ErrorCode(code).name
    except ValueError:
        return "HCI reason"


class BumbleConnection(AdapterConnection[Any]):  # characteristics: bumble CharacteristicProxy
    central: BumbleCentral

    def __init__(self, central: BumbleCentral, connection: Connection, address: str) -> None:
        from bumble.device import Peer

        super().__init__(central, address)
        self.connection = connection
        self.peer: Peer = Peer(connection)
        self._discover_lock = asyncio.Lock()
        self._closing = False
        connection.on("disconnection", self._on_disconnection)

    def _on_disconnection(self, reason: int) -> None:
        self._ended(
            "disconnected by vitalsd"
            if self._closing
            else disconnect_reason(reason, _hci_name(reason))
        )

    async def _call(self, what: str, operation: Callable[[], Any]) -> Any:
        """Run a GATT operation, mapping bumble's failures to ours with a clear message."""
        from bumble import att, core

        if self._gone.done():
            raise self._disconnected()
        try:
            return await operation()
        except asyncio.CancelledError:
            # bumble cancels a pending ATT request when the link drops; only a cancel of
            # our own task is a real cancellation.
            task = asyncio.current_task()
            if self._gone.done() and (task is None or task.cancelling() == 0):
                raise self._disconnected() from None
            raise
        except att.ATT_Error as exc:
            raise self._att_error(what, int(exc.error_code), exc.error_name) from None
        except (core.TimeoutError, TimeoutError):
            if self._gone.done():
                raise self._disconnected() from None
            raise self._no_answer(what) from None
        except core.BaseBumbleError as exc:
            if self._gone.done():
                raise self._disconnected() from None
            raise self._failed(what, exc) from exc

    async def services(self) -> tuple[GattService, ...]:
        async with self._discover_lock:
            if self._services is None:
                self._services = await self._call("service discovery", self._discover)
            return self._services

    async def _discover(self) -> tuple[GattService, ...]:
        await self.peer.discover_services()
        services: list[GattService] = []
        for service in self.peer.services:
            await self.peer.discover_characteristics(service=service)
            characteristics: list[GattCharacteristic] = []
            for proxy in service.characteristics:
                uuid = full_uuid(proxy.uuid)
                self._chars.setdefault(uuid, proxy)
                flags = int(proxy.properties)
                names = frozenset(n for bit, n in _PROPERTY_NAMES.items() if flags & bit)
                characteristics.append(GattCharacteristic(uuid, names))
            services.append(GattService(full_uuid(service.uuid), tuple(characteristics)))
        return tuple(services)

    async def read(self, characteristic: str) -> bytes:
        uuid = normalize_uuid(characteristic)
        proxy = await self._char(uuid)
        value = await self._call(f"read {short_uuid(uuid)}", lambda: self.peer.read_value(proxy))
        return bytes(value)

    async def write(self, characteristic: str, data: bytes, *, response: bool = True) -> None:
        uuid = normalize_uuid(characteristic)
        proxy = await self._char(uuid)
        await self._call(
            f"write {short_uuid(uuid)}",
            lambda: self.peer.write_value(proxy, bytes(data), with_response=response),
        )

    async def subscribe(
        self, characteristic: str, handler: NotificationHandler, *, indicate: bool | None = None
    ) -> None:
        uuid = normalize_uuid(characteristic)
        proxy = await self._char(uuid)
        flags = int(proxy.properties)
        indications = self._indications(uuid, bool(flags & 0x10), bool(flags & 0x20), indicate)

        def deliver(value: bytes) -> None:
            handler(bytes(value))

        await self._call(
            f"subscribe {short_uuid(uuid)}",
            lambda: self.peer.subscribe(proxy, deliver, prefer_notify=not indications),
        )

    async def unsubscribe(self, characteristic: str) -> None:
        uuid = normalize_uuid(characteristic)
        proxy = await self._char(uuid)
        await self._call(f"unsubscribe {short_uuid(uuid)}", lambda: self.peer.unsubscribe(proxy))

    async def pair(self, *, bond: bool = True) -> None:
        from bumble import core

        if self._gone.done():
            raise self._disconnected()
        self.central._bond[self.connection.handle] = bond
        try:
            await self.connection.pair()
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self._gone.done() and (task is None or task.cancelling() == 0):
                raise BlePairingError(
                    f"{self.address} disconnected during pairing "
                    f"({self._gone.result()}): put it in pairing mode and retry"
                ) from None
            raise
        except core.ProtocolError as exc:
            code = int(exc.error_code) if exc.error_code is not None else -1
            hint = SMP_HINTS.get(code, exc.error_name or "refused")
            raise self._pairing_failed(hint) from None
        except core.BaseBumbleError as exc:
            raise self._pairing_failed(str(exc)) from exc
        finally:
            self.central._bond.pop(self.connection.handle, None)

    async def disconnect(self) -> None:
        if self._gone.done():
            return
        from bumble import core, hci

        self._closing = True
        # Already going away is fine: the disconnection event settles it. A controller
        # that never confirms (peer vanished from the virtual radio) must not hang us.
        with contextlib.suppress(
            core.BaseBumbleError, hci.HCI_Error, asyncio.InvalidStateError, TimeoutError
        ):
            async with asyncio.timeout(DISCONNECT_TIMEOUT_S):
                await self.connection.disconnect()
        self._ended("disconnected by vitalsd")
