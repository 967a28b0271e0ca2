"""A bleak backend over bumble, written here for the tests (bleak 3.1 backend API).

bleak has no backend that runs without BlueZ and D-Bus, so the production adapter
(``vitalsd.links.ble_bleak.BleakCentral``) is exercised through this one: real bleak
``BleakScanner``/``BleakClient`` and real bleak-retry-connector on top, bumble's central
on the virtual radio underneath, real ATT/GATT/SMP bytes to the simulated peripherals.

It behaves as BlueZ does where the difference matters to the adapter under test:
notifications are preferred when a characteristic offers both; a pairing failure is a
``BleakDBusError`` ``org.bluez.Error.AuthenticationFailed``; a request cut by a
disconnection is ``org.bluez.Error.Failed: Not connected``; ATT errors are
``BleakGATTProtocolError``. ``BLEDevice.details`` carries no D-Bus path, so
bleak-retry-connector skips its BlueZ-only steps.

``VirtualAdapter(radio).backends()`` gives the (scanner, client) classes to hand to
``BleakCentral(scanner_backend=..., client_backend=...)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid as _uuid
from collections.abc import Callable
from typing import Any

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDBusError, BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bumble import att, core, hci
from bumble.controller import Controller
from bumble.core import AdvertisingData
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.link import LocalLink
from bumble.pairing import PairingConfig

ADAPTER_ADDRESS = "F1:F1:F1:F1:F1:F1"
_PROPERTIES = (
    (0x01, "broadcast"),
    (0x02, "read"),
    (0x04, "write-without-response"),
    (0x08, "write"),
    (0x10, "notify"),
    (0x20, "indicate"),
    (0x40, "authenticated-signed-writes"),
    (0x80, "extended-properties"),
)


def _uuid_str(value: core.UUID) -> str:
    return str(_uuid.UUID(bytes=bytes(reversed(value.to_bytes(force_128=True)))))


class VirtualAdapter:
    """What BlueZ is to bleak: one bumble central on the radio, shared by every scanner
    and client made from ``backends()``; connects are queued one at a time."""

    def __init__(self, radio: LocalLink, address: str = ADAPTER_ADDRESS) -> None:
        self.radio = radio
        self.controller = Controller("bleak-adapter", link=radio)
        self.device = Device.with_hci(
            "bleak-adapter", hci.Address(address), self.controller, self.controller
        )
        self.device.pairing_config_factory = lambda _c: PairingConfig(
            sc=True, mitm=False, bonding=True
        )
        self._on = False
        self._scanners = 0
        self._connect_lock = asyncio.Lock()

    async def power_on(self) -> None:
        if not self._on:
            await self.device.power_on()
            self._on = True

    async def close(self) -> None:
        if self._on:
            with contextlib.suppress(Exception):
                await self.device.power_off()
        self.radio.remove_controller(self.controller)

    async def scanning(self, on: bool) -> None:
        await self.power_on()
        self._scanners += 1 if on else -1
        if on and not self.device.is_scanning:
            await self.device.start_scanning(active=True, filter_duplicates=False)
        elif not on and self._scanners == 0 and self.device.is_scanning:
            await self.device.stop_scanning()

    async def connect(self, address: hci.Address, timeout: float) -> Connection:
        await self.power_on()
        async with self._connect_lock:
            try:
                async with asyncio.timeout(timeout):
                    return await self.device.connect(address, timeout=None)
            except TimeoutError:
                # The virtual controller ignores LE Create Connection Cancel.
                self.controller.pending_le_connection = None
                raise

    def backends(self) -> tuple[type[BaseBleakScanner], type[BaseBleakClient]]:
        adapter = self

        class Scanner(BumbleBleakScanner):
            pass

        class Client(BumbleBleakClient):
            pass

        Scanner.adapter = adapter
        Client.adapter = adapter
        return Scanner, Client


def advertisement_data(report: Advertisement) -> AdvertisementData:
    """bleak's ``AdvertisementData`` from a bumble report, by bumble's own AD parser."""
    data = report.data
    name = data.get(AdvertisingData.Type.COMPLETE_LOCAL_NAME) or data.get(
        AdvertisingData.Type.SHORTENED_LOCAL_NAME
    )
    uuids: list[str] = []
    for kind in (
        AdvertisingData.Type.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
        AdvertisingData.Type.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
        AdvertisingData.Type.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
        AdvertisingData.Type.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    ):
        for group in data.get_all(kind):
            uuids.extend(_uuid_str(u) for u in group)
    service_data: dict[str, bytes] = {}
    pairs = [
        *data.get_all(AdvertisingData.Type.SERVICE_DATA_16_BIT_UUID),
        *data.get_all(AdvertisingData.Type.SERVICE_DATA_128_BIT_UUID),
    ]
    for service, payload in pairs:
        service_data[_uuid_str(service)] = bytes(payload)
    manufacturer = {
        company: bytes(payload)
        for company, payload in data.get_all(AdvertisingData.Type.MANUFACTURER_SPECIFIC_DATA)
    }
    return AdvertisementData(
        local_name=name if isinstance(name, str) else None,
        manufacturer_data=manufacturer,
        service_data=service_data,
        service_uuids=list(dict.fromkeys(uuids)),
        tx_power=None,
        rssi=int(report.rssi),
        platform_data=(report,),
    )


class BumbleBleakScanner(BaseBleakScanner):
    adapter: VirtualAdapter

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._listening = False

    async def start(self) -> None:
        self.seen_devices = {}
        self.adapter.device.on("advertisement", self._on_advertisement)
        self._listening = True
        await self.adapter.scanning(True)

    async def stop(self) -> None:
        if self._listening:
            self.adapter.device.remove_listener("advertisement", self._on_advertisement)
            self._listening = False
            await self.adapter.scanning(False)

    def _on_advertisement(self, report: Advertisement) -> None:
        adv = advertisement_data(report)
        if not self.is_allowed_uuid(adv.service_uuids):
            return
        address = report.address.to_string(with_type_qualifier=False)
        device = self.create_or_update_device(
            address, address, adv.local_name, {"bumble_address": report.address}, adv
        )
        self.call_detection_callbacks(device, adv)


class BumbleBleakClient(BaseBleakClient):
    adapter: VirtualAdapter

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None,
        timeout: float,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        details = getattr(address_or_ble_device, "details", None)
        self._peer_address: hci.Address | None = (
            details.get("bumble_address") if isinstance(details, dict) else None
        )
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._closing = False

    # --- connection -----------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.address

    @property
    def mtu_size(self) -> int:
        return int(self._connection.att_mtu) if self._connection is not None else 23

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        if self._peer_address is None:
            # BlueZ too knows only devices it has seen advertise.
            raise BleakDeviceNotFoundError(self.address, f"Device {self.address} not found")
        timeout = float(kwargs.get("timeout", self._timeout))
        connection = await self.adapter.connect(self._peer_address, timeout)
        self._connection = connection
        self._closing = False
        connection.on("disconnection", self._on_disconnection)
        self._peer = Peer(connection)
        try:
            self.services = await self._discover(self._peer)
            if pair:
                await self.pair()
        except BaseException:
            await self.disconnect()
            raise

    def _on_disconnection(self, _reason: int) -> None:
        self._connection = None
        if not self._closing and self._disconnected_callback is not None:
            self._disconnected_callback()

    async def _discover(self, peer: Peer) -> BleakGATTServiceCollection:
        collection = BleakGATTServiceCollection()
        await peer.discover_services()
        for service in peer.services:
            await peer.discover_characteristics(service=service)
            bleak_service = BleakGATTService(service, service.handle, _uuid_str(service.uuid))
            collection.add_service(bleak_service)
            for proxy in service.characteristics:
                flags = int(proxy.properties)
                characteristic = BleakGATTCharacteristic(
                    proxy,
                    proxy.handle,
                    _uuid_str(proxy.uuid),
                    [name for bit, name in _PROPERTIES if flags & bit],  # type: ignore[misc]
                    lambda: self.mtu_size - 3,
                    bleak_service,
                )
                collection.add_characteristic(characteristic)
                for descriptor in await peer.discover_descriptors(proxy):
                    collection.add_descriptor(
                        BleakGATTDescriptor(
                            descriptor,
                            descriptor.handle,
                            _uuid_str(descriptor.type),
                            characteristic,
                        )
                    )
        return collection

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        self._closing = True
        with contextlib.suppress(core.BaseBumbleError, hci.HCI_Error, TimeoutError):
            async with asyncio.timeout(5):
                await connection.disconnect()
        self._connection = None

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        connection = self._require()
        try:
            await self._guard(connection.pair())
        except core.ProtocolError as exc:
            raise BleakDBusError(
                "org.bluez.Error.AuthenticationFailed", [f"Authentication Failed ({exc})"]
            ) from None

    async def unpair(self) -> None:
        raise BleakError("unpair is not supported by the virtual adapter")

    # --- GATT -----------------------------------------------------------------------

    def _require(self) -> Connection:
        if self._connection is None:
            raise BleakError("Not connected")
        return self._connection

    async def _guard(self, awaitable: Any) -> Any:
        """Await a bumble call; translate its failures as BlueZ would report them."""
        try:
            return await awaitable
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self._connection is None and (task is None or task.cancelling() == 0):
                raise BleakDBusError("org.bluez.Error.Failed", ["Not connected"]) from None
            raise
        except att.ATT_Error as exc:
            raise BleakGATTProtocolError(int(exc.error_code)) from None

    def _peer_or_fail(self) -> Peer:
        self._require()
        assert self._peer is not None
        return self._peer

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        peer = self._peer_or_fail()
        return bytearray(await self._guard(peer.read_value(characteristic.obj)))

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        peer = self._peer_or_fail()
        return bytearray(await self._guard(peer.read_value(descriptor.obj)))

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Any, response: bool
    ) -> None:
        peer = self._peer_or_fail()
        await self._guard(peer.write_value(characteristic.obj, bytes(data), response))

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        peer = self._peer_or_fail()
        await self._guard(peer.write_value(descriptor.obj, bytes(data), True))

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        peer = self._peer_or_fail()

        def deliver(value: bytes) -> None:
            callback(bytearray(value))

        # BlueZ (and bleak's rule for every backend) prefers notifications.
        await self._guard(peer.subscribe(characteristic.obj, deliver, prefer_notify=True))

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        peer = self._peer_or_fail()
        await self._guard(peer.unsubscribe(characteristic.obj))
