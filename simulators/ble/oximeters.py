"""Simulated streaming BLE oximeters on bumble: Nonin 3230, BerryMed BM1000, Jumper
JPD-500F and Wellue FS20F.

Each advertises like the real device, exposes its vendor notify characteristic and,
once a central subscribes, streams frames (oximeter_encoders.py) every ``interval``
seconds. Knobs (``OximeterScenario``, and ``finger_out`` at run time):

- ``finger_out``: frames carry the device's invalid markers and "no finger" status;
- ``split``: the byte stream is cut into notifications at random boundaries (seeded);
- ``drop_after``: on the first connection, after that many frames send half a frame
  and hang up (mid-transfer), then advertise again;
- ``slow``: an extra delay before every notification.

The Jumper sends each frame as one notification: its waveform frames have no length and
run to the end of the notification, so a stream cut anywhere could never be put back
together (not by the real app either); ``split`` is refused for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from bumble.core import AdvertisingData
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, Service
from bumble.link import LocalLink

from simulators.ble import oximeter_encoders as enc
from simulators.ble.radio import powered_device

_LOGGER = logging.getLogger(__name__)

MAX_NOTIFICATION = 20  # ATT_MTU 23 minus the 3-byte notification header


@dataclass(frozen=True, slots=True)
class OximeterScenario:
    spo2: int = 97
    pulse: int = 72
    perfusion_percent: float = 2.5
    interval: float = 0.02
    split: bool = False
    seed: int = 0
    drop_after: int | None = None
    slow: float = 0.0


@dataclass(frozen=True, slots=True)
class OximeterModel:
    key: str
    name: str  # advertised local name (scan response when a service UUID is advertised)
    service: str
    notify: str
    advertise_service: bool  # whether the advertisement lists the service UUID
    can_split: bool
    frames: Callable[[OximeterScenario, int, bool], list[bytes]]
    """Frames of one tick ``n`` (one reading), finger out or not."""


def _pleth(n: int) -> int:
    return int(50 + 40 * math.sin(n / 3))


def _nonin(s: OximeterScenario, n: int, finger_out: bool) -> list[bytes]:
    if finger_out:
        status, spo2, pulse, pai = 0, enc.NONIN_SPO2_MISSING, enc.NONIN_PULSE_MISSING, 0
    else:
        status = enc.NONIN_SENSOR_CONNECTED | enc.NONIN_SMARTPOINT
        spo2, pulse, pai = s.spo2, s.pulse, round(s.perfusion_percent * 100)
    frame = enc.nonin3230_frame(
        status=status, battery_dv=30, pai_centi=pai, counter=n, spo2=spo2, pulse=pulse
    )
    return [frame]


def _berrymed(s: OximeterScenario, n: int, finger_out: bool) -> list[bytes]:
    if finger_out:
        return [
            enc.berrymed_frame(
                spo2=enc.BERRYMED_SPO2_INVALID, pulse=enc.BERRYMED_PULSE_INVALID, pleth=0,
                signal=0, bar=0, no_finger=True,
            )
        ]  # fmt: skip
    return [enc.berrymed_frame(spo2=s.spo2, pulse=s.pulse, pleth=_pleth(n), beep=n % 8 == 0)]


def _jumper(s: OximeterScenario, n: int, finger_out: bool) -> list[bytes]:
    pleth = enc.jumper_pleth([0 if finger_out else _pleth(n * 4 + i) for i in range(4)])
    if finger_out:
        params = enc.jumper_params(
            pulse=enc.JUMPER_PULSE_INVALID, spo2=enc.JUMPER_SPO2_INVALID, pi_tenths=0
        )
    else:
        pi = round(s.perfusion_percent * 10)
        params = enc.jumper_params(pulse=s.pulse, spo2=s.spo2, pi_tenths=pi)
    return [pleth, params]


def _fs20f(s: OximeterScenario, n: int, finger_out: bool) -> list[bytes]:
    waves = [
        enc.fs20f_wave(
            pleth=0 if finger_out else _pleth(n * 2 + i),
            sensor_off=finger_out,
            scaled=0 if finger_out else _pleth(n * 2 + i) // 8,
            counter=n * 2 + i,
        )
        for i in range(2)
    ]
    if finger_out:
        params = enc.fs20f_params(
            pulse=enc.FS20F_PULSE_INVALID, spo2=enc.FS20F_SPO2_INVALID, pi_milli=0, counter=n
        )
    else:
        pi = round(s.perfusion_percent * 1000)
        params = enc.fs20f_params(pulse=s.pulse, spo2=s.spo2, pi_milli=pi, counter=n)
    return [*waves, params]


NONIN_3230 = OximeterModel(
    "nonin_3230",
    "Nonin3230_502312345",
    "46a970e0-0d5f-11e2-8b5e-0002a5d5c51b",
    "0aad7ea0-0d60-11e2-8e3c-0002a5d5c51b",
    advertise_service=True,
    can_split=True,
    frames=_nonin,
)
BERRYMED_BM1000 = OximeterModel(
    "berrymed_bm1000",
    "BerryMed",
    "49535343-fe7d-4ae5-8fa9-9fafd205e455",
    "49535343-1e4d-4bd9-ba61-23c647249616",
    advertise_service=False,
    can_split=True,
    frames=_berrymed,
)
JUMPER_JPD500F = OximeterModel(
    "jumper_jpd500f",
    "My Oximeter",
    "cdeacb80-5235-4c07-8846-93a37ee6b86d",
    "cdeacb81-5235-4c07-8846-93a37ee6b86d",
    advertise_service=True,
    can_split=False,
    frames=_jumper,
)
# github:roger-/FS20F: advertises "VTM 20F", notifies on FFE4 (service FFE0 assumed).
WELLUE_FS20F = OximeterModel(
    "wellue_fs20f",
    "VTM 20F",
    "0000ffe0-0000-1000-8000-00805f9b34fb",
    "0000ffe4-0000-1000-8000-00805f9b34fb",
    advertise_service=False,
    can_split=True,
    frames=_fs20f,
)
MODELS = {m.key: m for m in (NONIN_3230, BERRYMED_BM1000, JUMPER_JPD500F, WELLUE_FS20F)}


def _uuid_le(uuid: str) -> bytes:
    return bytes.fromhex(uuid.replace("-", ""))[::-1]


def advertising_data(model: OximeterModel) -> tuple[bytes, bytes]:
    """(advertising data, scan response) as the device sends them."""
    flags = (AdvertisingData.FLAGS, bytes([0x06]))
    name = (AdvertisingData.COMPLETE_LOCAL_NAME, model.name.encode())
    if model.advertise_service:
        service = (
            AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
            _uuid_le(model.service),
        )
        return bytes(AdvertisingData([flags, service])), bytes(AdvertisingData([name]))
    return bytes(AdvertisingData([flags, name])), b""


class SimulatedOximeter:
    """One simulated oximeter; ``async with SimulatedOximeter(...)`` powers it up and
    advertises until the block ends."""

    def __init__(
        self,
        model: OximeterModel,
        *,
        link: LocalLink | None,
        address: str,
        scenario: OximeterScenario | None = None,
        finger_out: bool = False,
        transport: str | None = None,
    ) -> None:
        self.model = model
        self.scenario = scenario or OximeterScenario()
        if self.scenario.split and not model.can_split:
            raise ValueError(f"{model.key}: frames are whole notifications, cannot split")
        self.link = link
        self.transport = transport  # a real HCI (``usb:0``) instead of the virtual link
        self.address = address
        self.finger_out = finger_out
        self.connections = 0
        self.frames_sent = 0
        self._random = random.Random(self.scenario.seed)
        self._device: Device | None = None
        self._char = Characteristic(
            model.notify,
            Characteristic.Properties.NOTIFY | Characteristic.Properties.READ,
            Characteristic.Permissions.READABLE,
            b"",
        )
        self._stream: asyncio.Task[None] | None = None
        self._exit = contextlib.AsyncExitStack()

    async def __aenter__(self) -> SimulatedOximeter:
        await self._exit.enter_async_context(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._exit.aclose()

    @contextlib.asynccontextmanager
    async def _run(self) -> AsyncIterator[None]:
        async with powered_device(
            self.model.name, self.address, link=self.link, transport=self.transport
        ) as device:
            self._device = device
            device.add_service(Service(self.model.service, [self._char]))
            device.on("connection", self._on_connection)
            device.on("characteristic_subscription", self._on_subscription)
            adv, scan = advertising_data(self.model)
            device.advertising_data = adv
            device.scan_response_data = scan
            await device.start_advertising(auto_restart=True)
            try:
                yield
            finally:
                await self._stop_stream()
                with contextlib.suppress(Exception):
                    await device.stop_advertising()

    def _on_connection(self, connection: Connection) -> None:
        self.connections += 1
        connection.on("disconnection", lambda _reason: self._on_disconnection())

    def _on_disconnection(self) -> None:
        if self._stream is not None:
            self._stream.cancel()
            self._stream = None

    def _on_subscription(
        self, connection: Connection, characteristic: Any, notify: bool, indicate: bool
    ) -> None:
        if characteristic is not self._char or self._stream is not None:
            return
        if notify or indicate:
            self._stream = asyncio.create_task(
                self._serve(connection, first=self.connections == 1),
                name=f"sim-{self.model.key}-stream",
            )

    async def _stop_stream(self) -> None:
        task, self._stream = self._stream, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _serve(self, connection: Connection, *, first: bool) -> None:
        assert self._device is not None
        device = self._device
        s = self.scenario
        pending = b""  # split mode: bytes not yet notified
        n = 0
        sent_here = 0
        while True:
            for frame in self.model.frames(s, n, self.finger_out):
                if first and s.drop_after is not None and sent_here >= s.drop_after:
                    if pending:
                        await self._notify(device, connection, pending)
                    await self._notify(device, connection, frame[: len(frame) // 2])
                    await connection.disconnect()
                    return
                if s.split:
                    pending += frame
                    while len(pending) >= MAX_NOTIFICATION or (
                        pending and self._random.random() < 0.5
                    ):
                        cut = self._random.randint(1, min(len(pending), MAX_NOTIFICATION))
                        await self._notify(device, connection, pending[:cut])
                        pending = pending[cut:]
                else:
                    await self._notify(device, connection, frame)
                sent_here += 1
                self.frames_sent += 1
            n += 1
            await asyncio.sleep(s.interval)

    async def _notify(self, device: Device, connection: Connection, data: bytes) -> None:
        if self.scenario.slow:
            await asyncio.sleep(self.scenario.slow)
        await device.notify_subscriber(connection, self._char, data)
