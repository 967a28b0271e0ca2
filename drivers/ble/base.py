"""The base of the BLE health drivers: decoding, and the session each plan describes.

``decode_characteristic`` serves ``vitalsd decode --characteristic``; ``run_ble`` waits
for the configured device's advertisement, connects and runs one ``BleSession`` with the
driver's ``plan`` (drivers without a plan — advertisement-only or vendor streams —
override ``run_ble``). A raw byte stream means nothing to these drivers.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from pydantic import Field

from drivers.ble.characteristics import decode
from drivers.ble.clock import local_now
from drivers.ble.record_cursor import RecordCursor
from drivers.ble.record_intake import RecordIntake
from drivers.ble.session import BleSession
from drivers.ble.session_plan import SessionPlan
from vitalsd.driver import Decoder, Driver, DriverOptions
from vitalsd.errors import DeviceError, FramingError
from vitalsd.links.base import ByteLink
from vitalsd.links.gatt import BleLink
from vitalsd.model import DriverReport, Transport

_LOGGER = logging.getLogger(__name__)


class BleDriverOptions(DriverOptions):
    tolerant: bool = False  # accept documented device quirks (drivers/ble/quirks.py)
    connect_timeout: float = Field(default=20.0, gt=0, description="seconds to connect")
    step_timeout: float = Field(
        default=10.0, gt=0, description="seconds for each GATT step (discover, read, write)"
    )
    pair_timeout: float = Field(default=30.0, gt=0, description="seconds to pair and bond")
    linger: float = Field(
        default=3.0,
        gt=0,
        description="seconds to wait, after a complete download, for the device to hang up",
    )
    live_window: float = Field(
        default=600.0,
        gt=0,
        description="a pushed record older than this many seconds is marked stored",
    )


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
    plan: ClassVar[SessionPlan | None] = None
    """The GATT session; None for drivers that override ``run_ble``."""
    clock: Callable[[], datetime] = staticmethod(local_now)
    """Device-local time to write to the device (tests set a fixed one)."""

    @classmethod
    def new_decoder(cls, options: DriverOptions | None = None) -> Decoder:
        return _NoRawBytes(cls.name)

    @classmethod
    def decode_characteristic(
        cls, uuid: int, data: bytes, *, tolerant: bool = False
    ) -> list[DriverReport]:
        return decode(uuid, data, tolerant=tolerant, allowed=cls.characteristics)

    @property
    def ble_options(self) -> BleDriverOptions:
        if isinstance(self.options, BleDriverOptions):
            return self.options
        return BleDriverOptions(silence_timeout=self.options.silence_timeout)

    def decode_record(self, uuid: int, data: bytes) -> list[DriverReport]:
        """One record value of this device (a profile may add context, e.g. a site)."""
        return self.decode_characteristic(uuid, data, tolerant=self.ble_options.tolerant)

    def on_read(self, uuid: int, data: bytes) -> None:
        """A feature or type characteristic the plan reads at connect."""
        _LOGGER.debug("%s: %04X = %s", self.name, uuid, data.hex(" "))

    async def run(self, link: ByteLink) -> None:
        raise DeviceError(f"{self.name} talks GATT: configure it with a BLE address or name")

    async def run_ble(self, link: BleLink) -> None:
        plan = self.plan
        if plan is None:
            raise DeviceError(f"{self.name} has no BLE session")
        options = self.ble_options
        adv = await link.next_advertisement()
        _LOGGER.info("%s: %s advertising; connecting", self.name, adv.address)
        connection = await link.connect(adv, timeout=options.connect_timeout)
        try:
            intake = RecordIntake(
                name=self.name,
                sink=self.sink,
                cursor=RecordCursor(link.cursor),
                decode=self.decode_record,
                now=self.clock(),
                live_window=options.live_window,
                tolerant=options.tolerant,
                pushes_memory=plan.pushes_memory,
            )
            session = BleSession(
                name=f"{self.name}:{adv.address}",
                plan=plan,
                connection=connection,
                intake=intake,
                on_read=self.on_read,
                step_timeout=options.step_timeout,
                pair_timeout=options.pair_timeout,
                silence_timeout=options.silence_timeout,
                linger=options.linger,
            )
            await session.run()
        finally:
            with contextlib.suppress(DeviceError):
                await connection.disconnect()
