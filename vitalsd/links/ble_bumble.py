"""``GattCentral`` on bumble: a USB/UART HCI dongle without BlueZ, or bumble's virtual link.

bumble is optional (``pip install 'vitalsd[bumble]'``) and imported only when a central
starts. The same code serves a real dongle (``transport="usb:0"``) and the in-process
virtual radio of the tests (``link=LocalLink()``): real ATT/GATT/SMP bytes either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vitalsd.errors import (
    DeviceTimeout,
    DeviceUnavailable,
)
from vitalsd.links.ad_stream import AdvertisementStream
from vitalsd.links.ad_structures import advertisement_from_ad, normalize_address
from vitalsd.links.ble_bumble_gatt import BumbleConnection
from vitalsd.links.gatt import (
    Advertisement,
    GattCentral,
    GattConnection,
)

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


class BumbleCentral(GattCentral):
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
        self.transport_spec = transport
        self.link = link
        self.address = address
        self.name = name
        self.keystore = keystore
        self.max_connections = max_connections
        self.queue_size = queue_size
        self.description = f"bumble {transport}" if transport else "bumble virtual radio"
        self.device: Device | None = None
        self._transport: Any = None
        self._controller: Any = None
        self._streams: weakref.WeakSet[AdvertisementStream] = weakref.WeakSet()
        self._addresses: dict[str, Any] = {}  # "AA:..." → hci.Address as last advertised
        self._connect_lock = asyncio.Lock()
        self._slots = asyncio.Semaphore(max_connections)
        self._connections: set[BumbleConnection] = set()
        self._bond: dict[int, bool] = {}  # connection handle → bond flag for its pairing
        self._closed = False

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

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for connection in list(self._connections):
            await connection.disconnect()
        ended = DeviceUnavailable(f"BLE central {self.description} closed")
        for stream in list(self._streams):
            stream.push(ended)
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
        for stream in list(self._streams):
            stream.push(adv)

    def advertisements(self) -> AsyncIterator[Advertisement]:
        stream = AdvertisementStream(self.queue_size)
        if self._closed:
            stream.push(DeviceUnavailable(f"BLE central {self.description} closed"))
        self._streams.add(stream)
        return stream

    # --- connecting -----------------------------------------------------------------

    async def connect(self, address: str, *, timeout: float = 20.0) -> GattConnection:
        from bumble import core, hci

        device = self.device
        if device is None:
            raise DeviceUnavailable(f"BLE central {self.description} is not running")
        address = normalize_address(address)
        try:
            async with asyncio.timeout(timeout):
                await self._slots.acquire()
        except TimeoutError:
            raise DeviceUnavailable(
                f"{self.description}: all {self.max_connections} connection slots busy "
                f"for {timeout:g} s; cannot connect to {address}"
            ) from None
        try:
            async with self._connect_lock:
                peer_address = self._addresses.get(address) or hci.Address(address)
                try:
                    # bumble waits for the controller to confirm a cancelled connect; one
                    # that never does (the virtual controller) must not hang us.
                    async with asyncio.timeout(timeout + 1.0):
                        connection = await device.connect(peer_address, timeout=timeout)
                except TimeoutError:
                    if self._controller is not None:
                        # bumble 0.0.236's virtual controller ignores LE Create Connection
                        # Cancel; clear its pending connect so the next one is allowed.
                        self._controller.pending_le_connection = None
                    raise
        except (core.TimeoutError, TimeoutError):
            self._slots.release()
            raise DeviceTimeout(
                f"{address} did not accept a connection within {timeout:g} s "
                "(out of range, or it stopped advertising)"
            ) from None
        except (core.BaseBumbleError, hci.HCI_Error) as exc:
            self._slots.release()
            raise DeviceUnavailable(f"connecting to {address} failed: {exc}") from exc
        except BaseException:
            self._slots.release()
            raise
        conn = BumbleConnection(self, connection, address)
        self._connections.add(conn)
        log.debug("BLE connected to %s via %s", address, self.description)
        return conn

    def _released(self, conn: BumbleConnection) -> None:
        if conn in self._connections:
            self._connections.discard(conn)
            self._slots.release()
