"""Jumper JPD-500F ("My Oximeter") Bluetooth finger oximeter.

Decoding: drivers/ble/jumper_frames.py. Session: drivers/ble/streaming.py.
"""

from __future__ import annotations

from typing import ClassVar

from drivers.ble.base import BleDriverOptions
from drivers.ble.jumper_frames import JumperDecoder, decode_notification
from drivers.ble.streaming import StreamingOximeterDriver
from vitalsd.driver import Decoder, DriverOptions
from vitalsd.links.gatt import BleTarget
from vitalsd.model import DriverReport

JUMPER_SERVICE = "cdeacb80-5235-4c07-8846-93a37ee6b86d"
JUMPER_NOTIFY = "cdeacb81-5235-4c07-8846-93a37ee6b86d"


class JumperDriver(StreamingOximeterDriver):
    name = "jumper_jpd500f"
    summary = "Jumper JPD-500F Bluetooth oximeter (vendor stream: SpO2, pulse, PI)"
    make = "Jumper"
    model = "JPD-500F"
    notify_characteristic: ClassVar[str] = JUMPER_NOTIFY
    ble_advertised: ClassVar[tuple[BleTarget, ...]] = (
        BleTarget(service=JUMPER_SERVICE),
        BleTarget(name="My Oximeter"),
    )
    options_model: ClassVar[type[DriverOptions]] = BleDriverOptions

    @classmethod
    def new_decoder(cls, options: DriverOptions | None = None) -> Decoder:
        return JumperDecoder()

    @classmethod
    def decode_one(cls, data: bytes) -> list[DriverReport]:
        return decode_notification(data)
