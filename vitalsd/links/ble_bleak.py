"""``GattCentral`` on bleak + bleak-retry-connector: the production adapter (BlueZ on Linux).

One ``BleakScanner`` per adapter, active and unfiltered (a UUID filter in BlueZ drops
advertisement-only devices that put their UUID only in service data), fanned out to every
driver; connects go through ``establish_connection`` with the scanner's ``BLEDevice``
(never an address string: that starts a scan of its own and breaks concurrent connects),
one at a time per adapter and at most ``max_connections`` at once. Errors become
``DeviceError``s whose message says what to do about the known BlueZ failure modes.

``scanner_backend``/``client_backend`` select a bleak backend other than the platform's;
the tests run this module's code through a bleak backend over bumble's virtual radio.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bleak import BleakClient, BleakScanner
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakDBusError,
    BleakDeviceNotFoundError,
    BleakError,
)
from bleak_retry_connector import (
    BleakAbortedError,
    BleakNotFoundError,
    BleakOutOfConnectionSlotsError,
    establish_connection,
)

from vitalsd.errors import DeviceUnavailable
from vitalsd.links.ble_bleak_gatt import BleakConnection
from vitalsd.links.ble_central_base import AdapterCentral
from vitalsd.links.ble_hints import ABORT_HINT, dbus_message
from vitalsd.links.gatt import Advertisement, GattConnection, normalize_uuid

_LOGGER = logging.getLogger(__name__)


def advertisement_from_bleak(device: BLEDevice, data: AdvertisementData) -> Advertisement:
    return Advertisement(
        address=device.address.upper(),
        name=data.local_name or device.name or None,
        rssi=data.rssi,
        service_uuids=tuple(dict.fromkeys(normalize_uuid(u) for u in data.service_uuids)),
        service_data={normalize_uuid(k): bytes(v) for k, v in data.service_data.items()},
        manufacturer_data={int(k): bytes(v) for k, v in data.manufacturer_data.items()},
    )


def _recording_client(attempts: list[Exception]) -> type[BleakClient]:
    """``BleakClient`` that notes why each connect attempt failed: at our deadline the
    retry loop may still be running, and its last error is the useful message."""

    class RecordingClient(BleakClient):
        async def connect(self, **kwargs: Any) -> None:
            try:
                await super().connect(**kwargs)
            except Exception as exc:  # not a cancel: that is our own deadline
                attempts.append(exc)
                raise

    return RecordingClient


class BleakCentral(AdapterCentral[BleakConnection]):
    def __init__(
        self,
        *,
        adapter: str = "hci0",
        max_connections: int = 4,
        max_attempts: int = 4,
        queue_size: int = 256,
        scanner_backend: type[BaseBleakScanner] | None = None,
        client_backend: type[BaseBleakClient] | None = None,
    ) -> None:
        super().__init__(max_connections=max_connections, queue_size=queue_size)
        self.adapter = adapter
        self.max_attempts = max_attempts
        self.scanner_backend = scanner_backend
        self.client_backend = client_backend
        stack = "BlueZ" if scanner_backend is None else scanner_backend.__name__
        self.description = f"{adapter} (bleak/{stack})"
        self._scanner: BleakScanner | None = None
        self._devices: dict[str, BLEDevice] = {}

    async def start(self) -> None:
        scanner = BleakScanner(
            detection_callback=self._on_advertisement,
            scanning_mode="active",
            bluez={"adapter": self.adapter},
            backend=self.scanner_backend,
        )
        try:
            await scanner.start()
        except BleakBluetoothNotAvailableError as exc:
            raise DeviceUnavailable(
                f"Bluetooth adapter {self.adapter} is not available ({exc.reason.name}): "
                "is it plugged in and powered (bluetoothctl power on), and is "
                "bluetooth.service running?"
            ) from None
        except BleakDBusError as exc:
            raise DeviceUnavailable(f"cannot scan on {self.adapter}: {dbus_message(exc)}") from None
        except FileNotFoundError:
            raise DeviceUnavailable(
                f"cannot scan on Bluetooth adapter {self.adapter}: there is no D-Bus system "
                "bus here (/run/dbus/system_bus_socket); vitalsd's bleak backend needs dbus "
                "and BlueZ (bluetooth.service) running"
            ) from None
        except (BleakError, OSError) as exc:
            # BlueZ not installed, adapter name wrong, D-Bus access refused, ...
            raise DeviceUnavailable(
                f"cannot scan on Bluetooth adapter {self.adapter}: "
                f"{str(exc) or type(exc).__name__}. vitalsd needs BlueZ (bluetooth.service) "
                "and access to the D-Bus system bus"
            ) from None
        self._scanner = scanner
        _LOGGER.info("BLE central %s scanning", self.description)

    async def _shut_down(self) -> None:
        scanner, self._scanner = self._scanner, None
        if scanner is not None:
            try:
                await scanner.stop()
            except Exception:  # closing must finish whatever state the stack is in
                _LOGGER.debug("stopping the scan on %s failed", self.adapter, exc_info=True)

    def _on_advertisement(self, device: BLEDevice, data: AdvertisementData) -> None:
        adv = advertisement_from_bleak(device, data)
        self._devices[adv.address] = device
        self._publish(adv)

    async def connect(self, address: str, *, timeout: float = 20.0) -> GattConnection:
        if self._scanner is None:
            raise self._not_running()
        address = address.upper()
        device = self._devices.get(address)
        if device is None:
            raise DeviceUnavailable(
                f"{address} has not advertised on {self.adapter} yet: connect when it "
                "advertises (after a measurement, or press its Bluetooth button)"
            )
        # The connection exists before bleak connects: its disconnect callback may give
        # the slot back during a failed connect, so the slot is tied to it from the start.
        conn = BleakConnection(self, address)
        async with self._connect_turn(address, timeout, where=self.adapter, holder=conn):
            conn.client = await self._establish(device, conn, timeout)
        _LOGGER.debug("BLE connected to %s via %s", address, self.description)
        return conn

    async def _establish(self, device: BLEDevice, conn: BleakConnection, timeout: float) -> Any:
        address = conn.address
        attempts: list[Exception] = []  # what each try of the retry loop ran into
        try:
            async with asyncio.timeout(timeout):
                return await establish_connection(
                    _recording_client(attempts),
                    device,
                    address,
                    disconnected_callback=conn._on_disconnected,
                    max_attempts=self.max_attempts,
                    backend=self.client_backend,
                )
        except TimeoutError:
            last = attempts[-1] if attempts else None
            if last is None or isinstance(last, TimeoutError):
                raise self._not_accepted(address, timeout) from None
            # Retries still running at our deadline: say what the last one ran into.
            raise DeviceUnavailable(
                f"no connection to {address} within {timeout:g} s: {self._problem(address, last)}"
            ) from None
        except BleakError as exc:
            raise DeviceUnavailable(self._problem(address, exc)) from None

    def _problem(self, address: str, exc: BaseException) -> str:
        """A failed connect (bleak-retry-connector's error, or BlueZ's) in words."""
        text = str(exc)
        if isinstance(exc, BleakOutOfConnectionSlotsError) or any(
            s in text for s in ("available connection", "connection slot")
        ):
            return (
                f"{self.adapter} is out of connection slots connecting to {address}: lower "
                "[ble] max_connections or add a second USB adapter"
            )
        if isinstance(exc, BleakAbortedError) or "abort-by-local" in text:
            return f"connecting to {address}: {ABORT_HINT}"
        if isinstance(exc, BleakNotFoundError | BleakDeviceNotFoundError):
            return f"{address} was not found by BlueZ: out of range, or it stopped advertising"
        # bleak-retry-connector wraps BlueZ's error; its D-Bus name says what to do.
        dbus = exc if isinstance(exc, BleakDBusError) else exc.__cause__
        if isinstance(dbus, BleakDBusError):
            return f"connecting to {address}: {dbus_message(dbus)}"
        return f"connecting to {address} failed: {text or type(exc).__name__}"
