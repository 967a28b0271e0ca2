"""A tiny test peripheral built with bumble directly (no simulator code involved), so the
link layer is tested on its own: a thermometer-like GATT server that records writes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from bumble import gatt
from bumble.core import AdvertisingData
from bumble.device import Connection, Device
from bumble.link import LocalLink
from bumble.pairing import PairingConfig, PairingDelegate

from simulators.ble.radio import powered_device

HTS = "00001809-0000-1000-8000-00805f9b34fb"
TEMP_MEASUREMENT = "00002a1c-0000-1000-8000-00805f9b34fb"  # indicate
TEMP_TYPE = "00002a1d-0000-1000-8000-00805f9b34fb"  # read
INTERMEDIATE = "00002a1e-0000-1000-8000-00805f9b34fb"  # notify
BOTH = "00002a52-0000-1000-8000-00805f9b34fb"  # write + notify + indicate (RACP-like)
SECRET = "00002a49-0000-1000-8000-00805f9b34fb"  # read needs encryption
CONTROL = "233bf001-5a34-1b6d-975c-000d5690abe4"  # write, write without response
HANG_UP = "0000fff1-0000-1000-8000-00805f9b34fb"  # reading it makes the device hang up

ADDRESS = "C0:11:22:33:44:55"
NAME = "TEST-THERMO"
COMPANY = 0x020E


@dataclass
class ThermometerPeripheral:
    device: Device
    temp: gatt.Characteristic[bytes]
    intermediate: gatt.Characteristic[bytes]
    both: gatt.Characteristic[bytes]
    writes: list[tuple[str, bytes]] = field(default_factory=list)

    @property
    def connection(self) -> Connection:
        return next(iter(self.device.connections.values()))

    async def indicate(self, value: bytes) -> None:
        await self.device.indicate_subscribers(self.temp, value)

    async def notify(self, value: bytes) -> None:
        await self.device.notify_subscribers(self.intermediate, value)

    async def hang_up(self) -> None:
        await self.connection.disconnect()


class _Refuse(PairingDelegate):
    """A device that is not in pairing mode."""

    async def accept(self) -> bool:
        return False


class _HangUpOnPairing(PairingDelegate):
    """A device that switches itself off when asked to pair."""

    def __init__(self, device: Device) -> None:
        super().__init__()
        self.device = device

    async def accept(self) -> bool:
        for connection in list(self.device.connections.values()):
            await connection.disconnect()
        return False


def _hang_up_on_read(device: Device) -> gatt.CharacteristicValue[bytes]:
    async def read(connection: Connection) -> bytes:
        await connection.disconnect()
        return b""

    return gatt.CharacteristicValue(read=read)


def _writer(peripheral: list[ThermometerPeripheral], name: str) -> gatt.CharacteristicValue[bytes]:
    def write(_connection: Connection, value: bytes) -> None:
        peripheral[0].writes.append((name, bytes(value)))

    return gatt.CharacteristicValue(write=write)


@contextlib.asynccontextmanager
async def thermometer_peripheral(
    radio: LocalLink,
    *,
    address: str = ADDRESS,
    name: str = NAME,
    advertise: bool = True,
    pairable: bool | str = True,
) -> AsyncIterator[ThermometerPeripheral]:
    """A powered, advertising thermometer on ``radio``. (bumble's virtual controller
    answers a scan request with the advertising data again, so scan-response merging
    cannot be exercised here; ``test_ble_ad_structures`` covers the parsing.)"""
    async with powered_device(name, address, link=radio) as device:
        holder: list[ThermometerPeripheral] = []
        temp: gatt.Characteristic[bytes] = gatt.Characteristic(
            TEMP_MEASUREMENT, gatt.Characteristic.Properties.INDICATE, gatt.Characteristic.READABLE
        )
        intermediate: gatt.Characteristic[bytes] = gatt.Characteristic(
            INTERMEDIATE, gatt.Characteristic.Properties.NOTIFY, gatt.Characteristic.READABLE
        )
        both: gatt.Characteristic[bytes] = gatt.Characteristic(
            BOTH,
            gatt.Characteristic.Properties.WRITE
            | gatt.Characteristic.Properties.NOTIFY
            | gatt.Characteristic.Properties.INDICATE,
            gatt.Characteristic.WRITEABLE,
            _writer(holder, "both"),
        )
        device.add_service(
            gatt.Service(
                HTS,
                [
                    temp,
                    intermediate,
                    gatt.Characteristic(
                        TEMP_TYPE,
                        gatt.Characteristic.Properties.READ,
                        gatt.Characteristic.READABLE,
                        b"\x02",
                    ),
                    both,
                    gatt.Characteristic(
                        SECRET,
                        gatt.Characteristic.Properties.READ,
                        gatt.Characteristic.READ_REQUIRES_ENCRYPTION,
                        b"\x21\x00",
                    ),
                    gatt.Characteristic(
                        HANG_UP,
                        gatt.Characteristic.Properties.READ,
                        gatt.Characteristic.READABLE,
                        _hang_up_on_read(device),
                    ),
                    gatt.Characteristic(
                        CONTROL,
                        gatt.Characteristic.Properties.WRITE
                        | gatt.Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
                        gatt.Characteristic.WRITEABLE,
                        _writer(holder, "control"),
                    ),
                ],
            )
        )
        if pairable == "hang-up":
            hang_up = _HangUpOnPairing(device)
            device.pairing_config_factory = lambda _c: PairingConfig(delegate=hang_up)
        elif not pairable:
            device.pairing_config_factory = lambda _c: PairingConfig(delegate=_Refuse())
        holder.append(ThermometerPeripheral(device, temp, intermediate, both))
        device.advertising_data = bytes(
            AdvertisingData(
                [
                    (AdvertisingData.Type.FLAGS, bytes([0x06])),
                    (AdvertisingData.Type.COMPLETE_LOCAL_NAME, name.encode()),
                    (AdvertisingData.Type.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS, b"\x09\x18"),
                    (
                        AdvertisingData.Type.MANUFACTURER_SPECIFIC_DATA,
                        COMPANY.to_bytes(2, "little") + b"\x08",
                    ),
                ]
            )
        )
        if advertise:
            await device.start_advertising(auto_restart=False)
        yield holder[0]
