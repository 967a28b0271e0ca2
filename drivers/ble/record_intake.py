"""What happens to each record value a health device sends, in arrival order.

A record split over two values (Body Composition, ble-health.md §2.3) is joined first
(``split_records``); a value the cursor has seen is skipped; an all-NaN blood-pressure
record (A&D keeps its failed tries so, ble-health.md §3.1 #8) is dropped with a DEBUG
log; anything else is
decoded, marked ``stored`` when it came from device memory, handed to the sink, and only
then added to the cursor, which is saved at once: a link lost mid-transfer neither loses
nor repeats a record. From memory means: an RACP download, the device's own storage
flag (PLX), a pushed record older than the live window before the clock we just wrote,
or an undated record from a device that replays its memory (A&D "send all data")."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from drivers.ble.blood_pressure import is_empty, parse_blood_pressure
from drivers.ble.payload import PayloadError
from drivers.ble.quirks import parse_blood_pressure_tolerant
from drivers.ble.record_cursor import RecordCursor, fingerprint
from drivers.ble.split_records import SplitRecords
from vitalsd.driver import DeviceSink
from vitalsd.errors import FramingError
from vitalsd.links.gatt import uuid16
from vitalsd.model import DeviceEvent, DriverReport, EventSeverity, Measurement

_LOGGER = logging.getLogger(__name__)

BLOOD_PRESSURE_MEASUREMENT = 0x2A35
GLUCOSE_MEASUREMENT = 0x2A18


def record_sequence(uuid: int, data: bytes) -> int | None:
    """The record's own sequence number, where the format has one (glucose, §2.5)."""
    if uuid == GLUCOSE_MEASUREMENT and len(data) >= 3:
        return int.from_bytes(data[1:3], "little")
    return None


class RecordIntake:
    """Counts what one session delivered, repeated, dropped and rejected."""

    def __init__(
        self,
        *,
        name: str,
        sink: DeviceSink,
        cursor: RecordCursor,
        decode: Callable[[int, bytes], list[DriverReport]],
        now: datetime,
        live_window: float,
        tolerant: bool = False,
        pushes_memory: bool = False,
    ) -> None:
        self.name = name
        self.sink = sink
        self.cursor = cursor
        self.decode = decode
        self.now = now
        self.live_window = timedelta(seconds=live_window)
        self.tolerant = tolerant
        self.pushes_memory = pushes_memory
        self.delivered = self.repeated = self.dropped = self.rejected = 0
        self.parts = SplitRecords(name)

    def take(self, uuid: int, data: bytes, *, live: bool, from_memory: bool) -> None:
        """Handle one value of characteristic ``uuid`` (16-bit)."""
        if not live:
            whole = self.parts.join(uuid, data)
            if whole is None:
                return  # the first part of a split record: wait for the second
            data = whole
        mark = fingerprint(uuid16(uuid), data)
        if not live and not self.cursor.is_new(mark):
            self.repeated += 1
            return
        try:
            if uuid == BLOOD_PRESSURE_MEASUREMENT and self._all_nan(data):
                _LOGGER.debug("%s: all-NaN blood-pressure record (failed try) dropped", self.name)
                self.dropped += 1
                self.cursor.deliver(mark)
                return
            reports = self.decode(uuid, data)
        except FramingError as err:
            self.rejected += 1
            _LOGGER.warning("%s: record on %04X rejected: %s", self.name, uuid, err)
            self.sink.put(DeviceEvent("record_rejected", str(err), EventSeverity.WARNING))
            if not live:
                self.cursor.deliver(mark)  # a bad record is reported once, not every session
            return
        for report in reports:
            if isinstance(report, Measurement) and not live:
                stored = report.stored or from_memory or self._old(report.device_time)
                report = replace(report, stored=stored)
            self.sink.put(report)
        if not live:
            self.delivered += 1
            self.cursor.deliver(mark, record_sequence(uuid, data))

    def _all_nan(self, data: bytes) -> bool:
        parse = parse_blood_pressure_tolerant if self.tolerant else parse_blood_pressure
        try:
            return is_empty(parse(data))
        except PayloadError:
            return False  # the decoder reports it with its own message

    def _old(self, device_time: datetime | None) -> bool:
        """A pushed record older than the live window came from device memory; so did an
        undated one from a device that replays its memory (A&D "send all data")."""
        if device_time is None:
            return self.pushes_memory
        return device_time < self.now - self.live_window

    def finish(self) -> None:
        """The session is over: a split record still missing its second part is dropped."""
        self.parts.close()

    def summary(self) -> str:
        text = (
            f"{self.delivered} new records, {self.repeated} seen before, "
            f"{self.dropped} failed tries dropped"
        )
        text += f", {self.rejected} rejected" if self.rejected else ""
        incomplete = self.parts.incomplete
        return text + (f", {incomplete} incomplete split records" if incomplete else "")
