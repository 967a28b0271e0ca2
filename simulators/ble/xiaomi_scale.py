"""Simulated Xiaomi Mi scales on bumble: weight broadcast as advertisement service data,
never a connection.

Encoded from the layouts in shared/reference/ble-health.md §3.4-3.5 (after
``github:Bluetooth-Devices/xiaomi-ble``): v1 under 0x181D, 10 bytes (control, weight
uint16 LE, Date Time); v2 (Body Composition Scale 2) under 0x181B, 13 bytes (two control
bytes, Date Time, impedance, weight).

A weighing is a sequence of advertisements: unstable weights while the person settles,
then the stabilized weight repeated, then "removed" when they step off.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime

from bumble.core import AdvertisingData
from bumble.device import Device
from bumble.link import LocalLink

from simulators.ble.radio import powered_device

V1_SERVICE, V2_SERVICE = 0x181D, 0x181B
# v1 control byte / v2 control byte 1
V1_LB, V1_JIN, V1_STABILIZED, V1_REMOVED = 0x01, 0x10, 0x20, 0x80
V2_LB = 0x01  # control byte 0
V2_IMPEDANCE_STABLE, V2_STABILIZED, V2_JIN, V2_REMOVED = 0x02, 0x20, 0x40, 0x80


def _date_time(when: datetime) -> bytes:
    return when.year.to_bytes(2, "little") + bytes(
        [when.month, when.day, when.hour, when.minute, when.second]
    )


def _raw_weight(weight: float, unit: str) -> int:
    # kg×200, lb×100, jin×100 (xiaomi-ble _parse_scale_v1)
    return round(weight * (200 if unit == "kg" else 100))


def v1_payload(
    weight: float, when: datetime, *, unit: str = "kg", stabilized: bool, removed: bool = False
) -> bytes:
    control = V1_LB if unit == "lb" else V1_JIN if unit == "jin" else 0
    control |= (V1_STABILIZED if stabilized else 0) | (V1_REMOVED if removed else 0)
    return bytes([control]) + _raw_weight(weight, unit).to_bytes(2, "little") + _date_time(when)


def v2_payload(
    weight: float,
    when: datetime,
    *,
    unit: str = "kg",
    stabilized: bool,
    removed: bool = False,
    impedance: int | None = None,
) -> bytes:
    c0 = 0x02 | (V2_LB if unit == "lb" else 0)  # bit 1 is set in every published capture
    c1 = (V2_JIN if unit == "jin" else 0) | (V2_STABILIZED if stabilized else 0)
    c1 |= (V2_REMOVED if removed else 0) | (V2_IMPEDANCE_STABLE if impedance is not None else 0)
    return (
        bytes([c0, c1])
        + _date_time(when)
        + (impedance or 0).to_bytes(2, "little")
        + _raw_weight(weight, unit).to_bytes(2, "little")
    )


@dataclass(frozen=True, slots=True)
class Weighing:
    weight: float
    when: datetime  # the scale's clock at the stabilized reading
    unit: str = "kg"
    impedance: int | None = None  # v2 only
    unstable: tuple[float, ...] = (20.0, 55.5, 70.25)  # weights shown while settling
    repeats: int = 5  # advertisements carrying the stabilized weight
    removed_repeats: int = 2


def weighing_payloads(model: str, w: Weighing) -> list[bytes]:
    """The service-data payloads of one weighing, in order."""

    def encode(weight: float, *, stabilized: bool, removed: bool = False) -> bytes:
        if model == "v1":
            return v1_payload(weight, w.when, unit=w.unit, stabilized=stabilized, removed=removed)
        impedance = w.impedance if stabilized and not removed else None
        return v2_payload(
            weight, w.when, unit=w.unit, stabilized=stabilized, removed=removed, impedance=impedance
        )

    out = [encode(x, stabilized=False) for x in w.unstable]
    out += [encode(w.weight, stabilized=True)] * w.repeats
    out += [encode(0.0, stabilized=True, removed=True)] * w.removed_repeats
    return out


def service_data_ad(service: int, payload: bytes) -> bytes:
    return bytes(
        AdvertisingData(
            [
                (AdvertisingData.FLAGS, bytes([0x06])),
                (AdvertisingData.SERVICE_DATA_16_BIT_UUID, service.to_bytes(2, "little") + payload),
                (AdvertisingData.COMPLETE_LOCAL_NAME, b"MI SCALE"),
            ]
        )
    )


class SimulatedMiScale:
    """A Mi scale on the virtual radio. ``await scale.weigh(w)`` broadcasts one weighing,
    each payload for ``dwell`` seconds; between weighings the scale is silent."""

    def __init__(
        self,
        *,
        link: LocalLink | None,
        address: str,
        model: str = "v1",
        dwell: float = 0.05,
        transport: str | None = None,
    ) -> None:
        if model not in ("v1", "v2"):
            raise ValueError(f"model must be 'v1' or 'v2', not {model!r}")
        self.link = link
        self.transport = transport  # a real HCI (``usb:0``) instead of the virtual link
        self.address = address
        self.model = model
        self.dwell = dwell
        self.service = V1_SERVICE if model == "v1" else V2_SERVICE
        self._device: Device | None = None
        self._exit = contextlib.AsyncExitStack()

    async def __aenter__(self) -> SimulatedMiScale:
        self._device = await self._exit.enter_async_context(
            powered_device("MI SCALE", self.address, link=self.link, transport=self.transport)
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._exit.aclose()

    async def weigh(self, weighing: Weighing) -> None:
        for payload in weighing_payloads(self.model, weighing):
            await self.broadcast(payload, self.dwell)

    async def broadcast(self, payload: bytes, seconds: float) -> None:
        """Advertise one payload for ``seconds``, then go quiet."""
        device = self._device
        assert device is not None, "use 'async with'"
        await device.start_advertising(
            advertising_data=service_data_ad(self.service, payload),
            advertising_interval_min=20,
            advertising_interval_max=20,
        )
        try:
            await asyncio.sleep(seconds)
        finally:
            await device.stop_advertising()
