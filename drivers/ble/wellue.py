"""Wellue (Viatom) FS20F Bluetooth finger oximeter, advertised as "VTM 20F".

Decoding: drivers/ble/wellue_frames.py. Session: drivers/ble/streaming.py.
"""

from __future__ import annotations

from typing import ClassVar

from drivers.ble.base import BleDriverOptions
from drivers.ble.streaming import StreamingOximeterDriver
from drivers.ble.wellue_frames import Fs20fDecoder, decode_notification
from vitalsd.driver import Decoder, DriverOptions
from vitalsd.links.gatt import BleTarget, uuid16
from vitalsd.model import DriverReport


class WellueFs20fDriver(StreamingOximeterDriver):
    name = "wellue_fs20f"
    summary = "Wellue/Viatom FS20F Bluetooth oximeter (FE-framed stream: SpO2, pulse, PI)"
    make = "Wellue"
    model = "FS20F"
    # github:roger-/FS20F README: notifications on FFE4 once connected.
    notify_characteristic: ClassVar[str] = uuid16(0xFFE4)
    ble_advertised: ClassVar[tuple[BleTarget, ...]] = (BleTarget(name="VTM 20F"),)
    options_model: ClassVar[type[DriverOptions]] = BleDriverOptions

    @classmethod
    def new_decoder(cls, options: DriverOptions | None = None) -> Decoder:
        return Fs20fDecoder()

    @classmethod
    def decode_one(cls, data: bytes) -> list[DriverReport]:
        return decode_notification(data)
