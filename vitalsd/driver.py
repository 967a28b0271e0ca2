"""The driver API: what a device-protocol plugin implements and what it may call.

A driver turns bytes from a ``ByteLink`` into ``Measurement``s, ``DeviceEvent``s and a
``DeviceIdentity``, and hands each to its ``DeviceSink``. It never does I/O beyond its
link and knows nothing of HL7 or MQTT. Decoding is pure: ``Decoder.feed`` is a plain
function of the bytes so that tests and ``vitalsd decode`` call it directly.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from vitalsd.errors import DeviceError, DeviceTimeout
from vitalsd.links.base import SerialSettings
from vitalsd.links.gatt import BleTarget
from vitalsd.model import DeviceKind, DriverReport, Transport

if TYPE_CHECKING:
    from vitalsd.links.base import ByteLink
    from vitalsd.links.gatt import BleLink

D = TypeVar("D", bound="Decoder")

DRIVER_API_VERSION = 1
"""Bumped when the ``Driver`` contract changes incompatibly."""


class DriverOptions(BaseModel):
    """Per-device options of a driver (``[devices.options]``). Subclass to add more."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    silence_timeout: float = Field(
        default=30.0,
        gt=0,
        description="seconds without a byte before the device counts as gone",
    )


class DeviceSink(Protocol):
    """Where a running driver puts what it decoded. The core provides it."""

    def put(self, report: DriverReport) -> None:
        """Accept a measurement, an event or the device's identity."""


class Decoder(ABC):
    """Stateful, pure decoding: bytes in any chunking → reports, in order."""

    @abstractmethod
    def feed(self, data: bytes) -> list[DriverReport]:
        """Decode what these bytes complete; keep partial frames for the next call."""

    def flush(self) -> list[DriverReport]:
        """Decode whatever is left at the end of a capture. Default: nothing."""
        return []

    @property
    def errors(self) -> int:
        """How many frames were rejected as corrupt so far."""
        return 0


class Driver(ABC):
    """Base of every device driver; one instance per configured device and connection."""

    name: ClassVar[str]
    """The name used in config (``driver = "masimo_ascii1"``); the entry point's name."""
    summary: ClassVar[str]
    """One line for ``vitalsd drivers``: make, models, protocol."""
    kinds: ClassVar[frozenset[DeviceKind]]
    transports: ClassVar[frozenset[Transport]]
    options_model: ClassVar[type[DriverOptions]] = DriverOptions
    serial_defaults: ClassVar[SerialSettings] = SerialSettings()
    ble_advertised: ClassVar[tuple[BleTarget, ...]] = ()
    """Advertisements this driver serves (service and/or name pattern), for ``vitalsd
    scan`` and for BLE entries that give only an address."""
    api_version: ClassVar[int] = DRIVER_API_VERSION

    def __init__(self, options: DriverOptions, sink: DeviceSink) -> None:
        self.options = options
        self.sink = sink
        self.decoder: Decoder | None = None

    def track(self, decoder: D) -> D:
        """Register the decoder ``run`` uses, so its rejected frames show in metrics."""
        self.decoder = decoder
        return decoder

    @property
    def decode_errors(self) -> int:
        """Frames rejected as corrupt on this connection so far."""
        return self.decoder.errors if self.decoder is not None else 0

    @classmethod
    @abstractmethod
    def new_decoder(cls, options: DriverOptions | None = None) -> Decoder:
        """A fresh decoder for one connection (or one captured byte string)."""

    async def run(self, link: ByteLink) -> None:
        """Talk to the device until the link fails; raise to have the supervisor reconnect.

        The default suits devices that stream on their own: read, decode, put. Polled
        devices override this with their command/response exchange.
        """
        decoder = self.track(self.new_decoder(self.options))
        while True:
            try:
                async with asyncio.timeout(self.options.silence_timeout):
                    data = await link.read()
            except TimeoutError:
                raise DeviceTimeout(
                    f"no data for {self.options.silence_timeout:g} s from {link.description}"
                ) from None
            for report in decoder.feed(data):
                self.sink.put(report)

    async def run_ble(self, link: BleLink) -> None:
        """Serve one BLE device (drivers with ``Transport.BLE``).

        Wait for the device's advertisement, connect, run the session; return normally
        when the device ended a complete session (the supervisor then waits for the next
        advertisement at once, without backoff); raise ``DeviceError`` on a failure.
        """
        raise DeviceError(f"{self.name} has no BLE support")
