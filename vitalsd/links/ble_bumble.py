"""``GattCentral`` on bumble: a USB/UART HCI dongle without BlueZ, or bumble's virtual link.

bumble is optional (``pip install 'vitalsd[bumble]'``) and imported only when a central
starts. The same code serves a real dongle (``transport="usb:0"``) and the in-process
virtual radio of the tests (``link=LocalLink()``): real ATT/GATT/SMP bytes either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vitalsd.errors import DeviceUnavailable
from vitalsd.links.ad_structures import advertisement_from_ad, normalize_address
from vitalsd.links.ble_bumble_gatt import BumbleConnection
from vitalsd.links.ble_central_base import AdapterCentral
from vitalsd.links.gatt import GattConnection

if TYPE_CHECKING:
    from bumble.device import Device
    from bumble.link import LocalLink

log = logging.getLogger(__name__)

DEFAULT_CENTRAL_ADDRESS = "F0:F0:F0:F0:F0:F0"  # random static (two top bits set)
_RSSI_NOT_AVAILABLE = 127


def missing_bumble() -> DeviceUnavailable:
    return DeviceUnavailable(
        "the bumble BLE backend needs the bumble package: pip install 'vitalsd[bumble]'"
    )


class BumbleCentral(AdapterCentral[BumbleConnection]):
    """One bumble ``Device`` acting as central: a shared active scan and serialized connects."""

    def __init__(
        self,
        *,
        transport: str | None = None,
        link: LocalLink | None = None,
        address: str = DEFAULT_CENTRAL_ADDRESS,
        name: str = "vitalsd",
        keystore: Path | None = None,
        max_connections: int = 4,
        queue_size: int = 256,
    ) -> None:
        if (transport is None) == (link is None):
            raise ValueError("give either a bumble transport spec or a virtual link")
        super().__init__(max_connections=max_connections, queue_size=queue_size)
        self.transport_spec = transport
        self.link = link
        self.address = address
        self.name = name
        self.keystore = keystore
        self.description = f"bumble {transport}" if transport else "bumble virtual radio"
        self.device: Device | None = None
        self._transport: Any = None
        self._controller: Any = None
        self._addresses: dict[str, Any] = {}  # "AA:..." → hci.Address as last advertised
        self._bond: dict[int, bool] = {}  # connection handle → bond flag for its pairing

    # --- lifecycle ------------------------------------------------------------------

    async def start(self) -> None:
        try:
            from bumble import hci, pairing
            from bumble.device import Device
            from bumble.keys import JsonKeyStore
        except ImportError:
            raise missing_bumble() from None
        if self.link is not None:
            from bumble.controller import Controller

            self._controller = Controller(self.name, link=self.link)
            device = Device.with_hci(
                self.name, hci.Address(self.address), self._controller, self._controller
            )
        else:
            assert self.transport_spec is not None
            device = Device.with_hci(self.name, hci.Address(self.address), *await self._open())
        if self.keystore is not None:
            # Bonds must outlive a restart, or every bonded device needs pairing again.
            self.keystore.parent.mkdir(parents=True, exist_ok=True)
            device.keystore = JsonKeyStore(None, str(self.keystore))
        device.pairing_config_factory = lambda connection: pairing.PairingConfig(
            sc=True, mitm=False, bonding=self._bond.get(connection.handle, True)
        )
        device.on("advertisement", self._on_advertisement)
        self.device = device
        try:
            await device.power_on()
            await device.start_scanning(active=True, filter_duplicates=False)
        except Exception as exc:  # any failure here means "adapter unusable"
            await self.close()
            raise DeviceUnavailable(f"{self.description}: cannot power on and scan: {exc}") from exc
        log.info("BLE central %s scanning", self.description)

    async def _open(self) -> tuple[Any, Any]:
        from bumble.transport import open_transport

        assert self.transport_spec is not None
        try:
            self._transport = await open_transport(self.transport_spec)
        except Exception as exc:  # bumble raises many kinds; all mean "no adapter"
            raise DeviceUnavailable(
                f"cannot open the Bluetooth adapter '{self.transport_spec}' (bumble "
                f"transport): {exc}. Check the [ble] transport setting and that the dongle "
                "is plugged in and not claimed by the kernel's btusb driver"
            ) from exc
        return self._transport.source, self._transport.sink

    async def _shut_down(self) -> None:
        device, self.device = self.device, None
        if device is not None:
            with contextlib.suppress(Exception):
                if device.is_scanning:
                    await device.stop_scanning()
            with contextlib.suppress(Exception):
                await device.power_off()
        if self._controller is not None and self.link is not None:
            self.link.remove_controller(self._controller)
            self._controller = None
        if self._transport is not None:
            with contextlib.suppress(Exception):
                await self._transport.close()
            self._transport = None

    # --- scanning -------------------------------------------------------------------

    def _on_advertisement(self, report: Any) -> None:
        address = normalize_address(str(report.address))
        self._addresses[address] = report.address
        rssi = None if report.rssi == _RSSI_NOT_AVAILABLE else int(report.rssi)
        adv = advertisement_from_ad(
            address,
            ((int(t), bytes(d)) for t, d in report.data.ad_structures),
            rssi=rssi,
            connectable=bool(report.is_connectable),
        )
        self._publish(adv)

    # --- connecting -----------------------------------------------------------------

    async def connect(self, address: str, *, timeout: float = 20.0) -> GattConnection:
        from bumble import core, hci

        device = self.device
        if device is None:
            raise self._not_running()
        address = normalize_address(address)
        # The connection object exists only once bumble has connected: no holder, so a
        # failed connect gives its slot straight back.
        async with self._connect_turn(address, timeout, where=self.description):
            try:
                peer_address = self._addresses.get(address) or hci.Address(address)
                # bumble waits for the controller to confirm a cancelled connect; one
                # that never does (the virtual controller) must not hang us.
                async with asyncio.timeout(timeout + 1.0):
                    connection = await device.connect(peer_address, timeout=timeout)
            except (core.TimeoutError, TimeoutError) as exc:
                if isinstance(exc, TimeoutError) and self._controller is not None:
                    # bumble 0.0.236's virtual controller ignores LE Create Connection
                    # Cancel; clear its pending connect so the next one is allowed.
                    self._controller.pending_le_connection = None
                raise self._not_accepted(address, timeout) from None
            except (core.BaseBumbleError, hci.HCI_Error) as exc:
                raise DeviceUnavailable(f"connecting to {address} failed: {exc}") from exc
        conn = BumbleConnection(self, connection, address)
        self._connections.add(conn)
        log.debug("BLE connected to %s via %s", address, self.description)
        return conn
