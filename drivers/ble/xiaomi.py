"""Xiaomi Mi Scale v1 and Mi Body Composition Scale 2: weight from advertisements only.

Decoding: drivers/ble/xiaomi_frames.py. The driver never connects: it listens to the
scale's advertisements for as long as the link lives and reports each weighing once.
The last weighing reported is kept in the device's cursor, so a restart while the
scale still repeats it charts nothing twice.
"""

from __future__ import annotations

import logging
from typing import ClassVar

from drivers.ble.base import BleDriver
from drivers.ble.payload import PayloadError
from drivers.ble.xiaomi_frames import (
    MI_SCALE_V1,
    MI_SCALE_V2,
    WeighingDebouncer,
    decode_service_data,
    parse_service_data,
    weighing_reports,
)
from vitalsd.driver import Decoder, DriverOptions
from vitalsd.errors import DeviceError, FramingError
from vitalsd.links.gatt import BleLink, BleTarget, normalize_uuid
from vitalsd.model import DeviceIdentity, DeviceKind, DriverReport

_LOGGER = logging.getLogger(__name__)
_CURSOR_KEY = "last_weighing"


class XiaomiScaleDriver(BleDriver):
    name = "xiaomi_scale"
    summary = "Xiaomi Mi Scale v1 / Body Composition Scale 2 (weight from advertisements)"
    kinds: ClassVar[frozenset[DeviceKind]] = frozenset({DeviceKind.SCALE})
    characteristics: ClassVar[frozenset[int]] = frozenset()
    # Service data under 0x181D/0x181B. A SIG weight scale (A&D UC-352BLE) lists 0x181D
    # too; such adverts carry no Mi payload and are ignored here.
    ble_advertised: ClassVar[tuple[BleTarget, ...]] = (
        BleTarget(service=MI_SCALE_V1),
        BleTarget(service=MI_SCALE_V2),
    )

    @classmethod
    def new_decoder(cls, options: DriverOptions | None = None) -> Decoder:
        return _AdvertisementsOnly()

    @classmethod
    def decode_advertisement(cls, uuid: str, data: bytes) -> list[DriverReport]:
        """``vitalsd decode --advertisement --uuid 181d``: one service-data payload."""
        return decode_service_data(normalize_uuid(uuid), data)

    async def run_ble(self, link: BleLink) -> None:
        state = link.cursor.load()
        last = state.get(_CURSOR_KEY)
        debouncer = WeighingDebouncer(last if isinstance(last, str) else None)
        identified: set[str] = set()
        async for adv in link.advertisements():
            for uuid in (MI_SCALE_V1, MI_SCALE_V2):
                payload = adv.service_data.get(uuid)
                if payload is None:
                    continue
                try:
                    weighing = parse_service_data(uuid, payload)
                except PayloadError as err:
                    _LOGGER.debug("%s: service data ignored: %s", adv.address, err)
                    continue
                if adv.address not in identified:
                    identified.add(adv.address)
                    self.sink.put(
                        DeviceIdentity(make="Xiaomi", model=weighing.model, address=adv.address)
                    )
                if not debouncer.accept(weighing):
                    continue
                for report in weighing_reports(weighing):
                    self.sink.put(report)
                link.cursor.save({**state, _CURSOR_KEY: weighing.key})
        raise DeviceError(f"{link.description}: the advertisement stream ended")


class _AdvertisementsOnly(Decoder):
    def feed(self, data: bytes) -> list[DriverReport]:
        raise FramingError(
            "xiaomi_scale decodes advertisement service data, not a byte stream: "
            "give --advertisement --uuid 181d (Mi Scale v1) or 181b (v2)"
        )
