"""What every ``GattConnection`` adapter does the same way: when and why the link ended,
the characteristic index (first of each UUID), the notify-or-indicate choice, and the
words of the ``DeviceError``s a GATT operation ends in, so both adapters say the same."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from vitalsd.errors import BleGattError, BlePairingError, DeviceDisconnected, DeviceTimeout
from vitalsd.links.ble_hints import ATT_HINTS, short_uuid
from vitalsd.links.gatt import GattConnection, GattService

if TYPE_CHECKING:
    from vitalsd.links.ble_central_base import AdapterCentral

CharT = TypeVar("CharT")  # the stack's own characteristic object


class AdapterConnection(GattConnection, Generic[CharT]):
    def __init__(self, central: AdapterCentral[Any], address: str) -> None:
        self.central = central
        self.address = address
        self._services: tuple[GattService, ...] | None = None
        # By UUID, the first of each: bleak refuses a UUID that two characteristics share,
        # and both adapters must pick the same one.
        self._chars: dict[str, CharT] = {}
        self._gone: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    # --- the end of the link --------------------------------------------------------

    def _settle(self, reason: str) -> None:
        """Record why the link ended; the first reason stands."""
        if not self._gone.done():
            self._gone.set_result(reason)

    def _ended(self, reason: str) -> None:
        """The link is gone: record why and give the central its slot back."""
        self._settle(reason)
        self.central._released(self)

    @property
    def is_connected(self) -> bool:
        return not self._gone.done()

    def _disconnected(self) -> DeviceDisconnected:
        reason = self._gone.result() if self._gone.done() else "link lost"
        return DeviceDisconnected(f"{self.address} disconnected: {reason}")

    async def wait_disconnected(self) -> str:
        return await asyncio.shield(self._gone)

    # --- characteristics ------------------------------------------------------------

    async def _char(self, uuid: str) -> CharT:
        """The stack's characteristic for a normalized ``uuid`` (services discovered first)."""
        await self.services()
        found = self._chars.get(uuid)
        if found is None:
            raise BleGattError(
                f"{self.address} has no characteristic {short_uuid(uuid)} (wrong driver for "
                "this device?)"
            )
        return found

    def _indications(
        self, uuid: str, can_notify: bool, can_indicate: bool, indicate: bool | None
    ) -> bool:
        """Whether to subscribe with indications (None: if offered); refuses what is not."""
        wanted = can_indicate if indicate is None else indicate
        if (wanted and not can_indicate) or (not wanted and not can_notify):
            offered = [n for n, ok in (("notify", can_notify), ("indicate", can_indicate)) if ok]
            raise BleGattError(
                f"{short_uuid(uuid)} on {self.address} does not offer "
                f"{'indications' if wanted else 'notifications'} "
                f"(offers: {', '.join(offered) or 'neither'})"
            )
        return wanted

    # --- failures in words ----------------------------------------------------------

    def _att_error(self, what: str, code: int, fallback: str) -> BleGattError:
        hint = ATT_HINTS.get(code, fallback)
        return BleGattError(
            f"{what} on {self.address} failed: ATT error 0x{code:02X} ({hint})", code
        )

    def _no_answer(self, what: str) -> DeviceTimeout:
        return DeviceTimeout(f"{what} on {self.address}: no answer from the device")

    def _failed(self, what: str, exc: BaseException) -> BleGattError:
        return BleGattError(f"{what} on {self.address} failed: {exc}")

    def _pairing_failed(self, detail: str) -> BlePairingError:
        return BlePairingError(f"pairing with {self.address} failed: {detail}")
