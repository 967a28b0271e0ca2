"""Nonin 3230 Bluetooth finger oximeter: the proprietary Nonin Oximetry Service.

Decoding: drivers/ble/nonin3230_frames.py. Session: drivers/ble/streaming.py.
"""

from __future__ import annotations

from typing import ClassVar

from drivers.ble.base import BleDriverOptions
from drivers.ble.nonin3230_frames import Nonin3230Decoder, decode_notification
from drivers.ble.streaming import StreamingOximeterDriver
from vitalsd.driver import Decoder, DriverOptions
from vitalsd.links.gatt import BleTarget
from vitalsd.model import DriverReport

NONIN_OXIMETRY_SERVICE = "46a970e0-0d5f-11e2-8b5e-0002a5d5c51b"
NONIN_CONTINUOUS_OXIMETRY = "0aad7ea0-0d60-11e2-8e3c-0002a5d5c51b"


class Nonin3230Driver(StreamingOximeterDriver):
    name = "nonin_3230"
    summary = "Nonin 3230 Bluetooth oximeter (Nonin Oximetry Service: SpO2, pulse, PAI)"
    make = "Nonin"
    model = "3230"
    notify_characteristic: ClassVar[str] = NONIN_CONTINUOUS_OXIMETRY
    # The device names itself "Nonin3230_<serial>" (andreasdri/nonin-3230-ble).
    ble_advertised: ClassVar[tuple[BleTarget, ...]] = (
        BleTarget(service=NONIN_OXIMETRY_SERVICE),
        BleTarget(name="Nonin3230_*"),
    )
    options_model: ClassVar[type[DriverOptions]] = BleDriverOptions

    @classmethod
    def new_decoder(cls, options: DriverOptions | None = None) -> Decoder:
        return Nonin3230Decoder()

    @classmethod
    def decode_one(cls, data: bytes) -> list[DriverReport]:
        return decode_notification(data)
