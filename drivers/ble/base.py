"""The base of the BLE profile drivers, until the GATT link arrives.

Decoding works now (``decode_characteristic``, used by ``vitalsd decode``); ``run()``
raises a clear error because the BLE link is a later part of issue 4.
"""

from __future__ import annotations

from typing import ClassVar

from drivers.ble.characteristics import decode
from vitalsd.driver import Decoder, Driver, DriverOptions
from vitalsd.errors import DeviceError, FramingError
from vitalsd.links.base import ByteLink
from vitalsd.model import DriverReport, Transport


class BleDriverOptions(DriverOptions):
    tolerant: bool = False  # accept documented device quirks (drivers/ble/quirks.py)


class _NoRawBytes(Decoder):
    def __init__(self, driver: str) -> None:
        self.driver = driver

    def feed(self, data: bytes) -> list[DriverReport]:
        raise FramingError(
            f"{self.driver} decodes GATT characteristic values, not a byte stream: "
            "give --characteristic UUID (e.g. 2a35)"
        )


class BleDriver(Driver):
    transports: ClassVar[frozenset[Transport]] = frozenset({Transport.BLE})
    options_model: ClassVar[type[DriverOptions]] = BleDriverOptions
    characteristics: ClassVar[frozenset[int]]
    """The 16-bit UUIDs this profile decodes."""

    @classmethod
    def new_decoder(cls, options: DriverOptions | None = None) -> Decoder:
        return _NoRawBytes(cls.name)

    @classmethod
    def decode_characteristic(
        cls, uuid: int, data: bytes, *, tolerant: bool = False
    ) -> list[DriverReport]:
        return decode(uuid, data, tolerant=tolerant, allowed=cls.characteristics)

    async def run(self, link: ByteLink) -> None:
        raise DeviceError(f"{self.name}: BLE link not available yet (decoding only for now)")
