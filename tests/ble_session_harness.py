"""Running a BLE health driver's session against a simulated peripheral, for the tests."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from drivers.ble.base import BleDriver, BleDriverOptions
from vitalsd.links.gatt import BleLink, BleTarget, GattCentral, JsonCursorStore
from vitalsd.model import DeviceEvent, DeviceIdentity, DriverReport, Measurement

# The gateway's local time in these tests; written to every device as its clock.
NOW = datetime(2026, 3, 2, 9, 30, 0)


@dataclass
class Collector:
    """A ``DeviceSink`` that keeps everything, in order."""

    reports: list[DriverReport] = field(default_factory=list)

    def put(self, report: DriverReport) -> None:
        self.reports.append(report)

    @property
    def measurements(self) -> list[Measurement]:
        return [r for r in self.reports if isinstance(r, Measurement)]

    @property
    def events(self) -> list[DeviceEvent]:
        return [r for r in self.reports if isinstance(r, DeviceEvent)]

    @property
    def identities(self) -> list[DeviceIdentity]:
        return [r for r in self.reports if isinstance(r, DeviceIdentity)]

    def values(self) -> list[tuple[str, str, datetime | None, bool]]:
        return [(m.metric.value, str(m.value), m.device_time, m.stored) for m in self.measurements]


async def session(
    driver_cls: type[BleDriver],
    central: GattCentral,
    cursor: Path,
    *,
    target: BleTarget | None = None,
    sink: Collector | None = None,
    now: datetime = NOW,
    **options: object,
) -> Collector:
    """One ``run_ble`` of a fresh driver; raises what the driver raises."""
    sink = sink or Collector()
    settings = BleDriverOptions.model_validate({"silence_timeout": 5.0, "linger": 0.5, **options})
    driver = driver_cls(settings, sink)
    driver.clock = lambda: now
    link = BleLink(central, target or driver_cls.ble_advertised[0], JsonCursorStore(cursor))
    async with asyncio.timeout(30):
        await driver.run_ble(link)
    return sink
