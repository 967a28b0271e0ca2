"""BerryMed BM1000 (B/C/E) Bluetooth finger oximeter (Microchip transparent UART).

Decoding: drivers/ble/berrymed_frames.py. Session: drivers/ble/streaming.py.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from drivers.ble.base import BleDriverOptions
from drivers.ble.berrymed_frames import BerryMedDecoder, decode_notification
from drivers.ble.streaming import StreamingOximeterDriver
from vitalsd.driver import Decoder, DriverOptions
from vitalsd.links.gatt import BleTarget
from vitalsd.model import DriverReport

TRANSPARENT_UART_SERVICE = "49535343-fe7d-4ae5-8fa9-9fafd205e455"
TRANSPARENT_UART_NOTIFY = "49535343-1e4d-4bd9-ba61-23c647249616"


class BerryMedOptions(BleDriverOptions):
    report_every: int = Field(
        default=100,
        ge=1,
        le=10_000,
        description=(
            "report SpO2 and pulse once every N valid frames (the device repeats them in "
            "every waveform frame, tens per second)"
        ),
    )


class BerryMedDriver(StreamingOximeterDriver):
    name = "berrymed_bm1000"
    summary = "BerryMed BM1000 B/C/E Bluetooth oximeter (5-byte frames: SpO2, pulse)"
    make = "BerryMed"
    model = "BM1000"
    notify_characteristic: ClassVar[str] = TRANSPARENT_UART_NOTIFY
    # The UART service is Microchip's generic one, so the name decides (Adafruit's
    # library: "BerryMed", labels BM1000/B/C/E).
    ble_advertised: ClassVar[tuple[BleTarget, ...]] = (
        BleTarget(name="BerryMed*"),
        BleTarget(name="BM1000*"),
    )
    options_model: ClassVar[type[DriverOptions]] = BerryMedOptions

    @classmethod
    def new_decoder(cls, options: DriverOptions | None = None) -> Decoder:
        every = options.report_every if isinstance(options, BerryMedOptions) else 1
        return BerryMedDecoder(every)

    @classmethod
    def decode_one(cls, data: bytes) -> list[DriverReport]:
        return decode_notification(data)
