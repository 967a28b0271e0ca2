"""Barcode association: a scanner in the room reads the wristband or visit label.

One source per scanner. A scan is matched against the site's patient ``pattern``
(``vitalsd.context.barcode_pattern``); what a match becomes depends on ``confirm``
(``vitalsd.context.barcode_confirm``): at once, or after the room label is scanned.
The scanner is serial (``port``: a tty, ``socket://``...) or USB HID read from its evdev
node (``hid``). An unplugged scanner is reopened with backoff, forever.

Example (``[[context.sources]]``)::

    [[context.sources]]
    type = "barcode"
    name = "exam3-scanner"
    [context.sources.options]
    hid = "/dev/input/by-id/usb-Honeywell_Imaging_1900-event-kbd"   # or port = "/dev/ttyACM0"
    room = "exam3"
    pattern = 'MRN(?P<id>\\d+)'          # "MRN12345"
    assigning_authority = "HOSP"
    confirm = "room_label"               # then scan "ROOM:EXAM3" within confirm_within s
    expires_after = 1800                 # optional: the association ends after 30 min

Logs never carry the scanned text above DEBUG: it is patient data.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from vitalsd.backoff import Backoff
from vitalsd.context.barcode_confirm import Confirmation, Decision, room_index
from vitalsd.context.barcode_hid import HidScanReader
from vitalsd.context.barcode_pattern import (
    PATIENT_GROUPS,
    ROOM_GROUPS,
    PatientPattern,
    RoomPattern,
    ScanRejected,
    check_date_format,
    compile_pattern,
    strip_aim_prefix,
)
from vitalsd.context.barcode_reader import (
    ScannerUnavailable,
    ScanReader,
    SerialScanReader,
    Suffix,
)
from vitalsd.context.source import ContextSource, SourceEnvironment, SourceHealth, SourceOptions
from vitalsd.context.store import ContextStore
from vitalsd.errors import ContextRejected, ContextSourceError
from vitalsd.links.base import SerialSettings
from vitalsd.model import Location

_LOGGER = logging.getLogger(__name__)


class BarcodeOptions(SourceOptions):
    """One scanner: where it is plugged in, what its labels look like, how to confirm."""

    port: str | None = Field(
        default=None,
        description="serial scanner: /dev/ttyACM0, a /dev/serial/by-id path, socket://host:port",
    )
    serial: SerialSettings = Field(default_factory=SerialSettings)
    suffix: Suffix = Field(default="cr", description="what the scanner sends after each scan")
    hid: str | None = Field(
        default=None,
        description="USB HID (keyboard) scanner: its /dev/input/by-id/...-event-kbd node",
    )
    grab: bool = Field(default=True, description="HID: keep scans from reaching the desktop")
    room: str | None = Field(default=None, description="the room the scanner sits in")
    device: str | None = Field(default=None, description="scope = device: the device id")
    scope: Literal["room", "device"] = "room"
    pattern: str = Field(
        description=(
            "regular expression for the whole scan, with named groups from: "
            + ", ".join(PATIENT_GROUPS)
            + r"; e.g. 'MRN(?P<id>\d+)' for MRN12345"
        )
    )
    assigning_authority: str | None = Field(
        default=None, description="PID-3 assigning authority when the label has none"
    )
    birth_date_format: str = Field(default="%Y%m%d", description="strptime format of birth_date")
    confirm: Literal["none", "room_label"] = "none"
    room_pattern: str = Field(
        default=r"ROOM:(?P<room>[A-Za-z0-9_.-]+)",
        description="confirm = room_label: the room label, with a named group 'room'",
    )
    confirm_within: float = Field(default=60.0, gt=0, description="seconds to scan the room label")
    expires_after: float | None = Field(
        default=None, gt=0, description="seconds an association lasts (none: until replaced)"
    )
    strip_symbology: bool = Field(
        default=True, description="drop an AIM symbology prefix such as ']C1'"
    )
    incomplete_after: float = Field(
        default=0.5, gt=0, description="serial: discard a fragment with no suffix after this"
    )
    retry_max: float = Field(default=30.0, gt=0, description="longest wait between reopens")

    @field_validator("pattern")
    @classmethod
    def _patient_pattern(cls, value: str) -> str:
        compile_pattern(value, PATIENT_GROUPS, ("id", "visit_number"))
        return value

    @field_validator("room_pattern")
    @classmethod
    def _room_pattern(cls, value: str) -> str:
        compile_pattern(value, ROOM_GROUPS, ROOM_GROUPS)
        return value

    @field_validator("birth_date_format")
    @classmethod
    def _date_format(cls, value: str) -> str:
        return check_date_format(value)

    @model_validator(mode="after")
    def _consistent(self) -> BarcodeOptions:
        if (self.port is None) == (self.hid is None):
            raise ValueError("name the scanner with either port (serial) or hid (USB), not both")
        if self.scope == "device" and not self.device:
            raise ValueError('scope = "device" needs device (the id of the device to associate)')
        if self.scope == "room" and self.confirm == "none" and not self.room:
            raise ValueError('confirm = "none" needs room (the room the scanner sits in)')
        return self


class BarcodeSource(ContextSource):
    name: ClassVar[str] = "barcode"
    summary: ClassVar[str] = "barcode scanner (serial or USB HID): wristband or visit label"
    options_model: ClassVar[type[SourceOptions]] = BarcodeOptions

    def __init__(self, options: SourceOptions, env: SourceEnvironment, store: ContextStore) -> None:
        super().__init__(options, env, store)
        assert isinstance(options, BarcodeOptions)
        self.opts = options
        self.patients = PatientPattern.from_text(
            options.pattern, options.birth_date_format, options.assigning_authority
        )
        self.rooms = RoomPattern.from_text(options.room_pattern)
        self.location = self._scanner_location()
        self.confirmation = Confirmation(
            options.confirm,
            within=options.confirm_within,
            rooms=env.rooms,
            scanner_location=self.location,
        )
        self._health = SourceHealth(listening=False)
        self._timer: asyncio.TimerHandle | None = None
        self.scans = 0

    def _scanner_location(self) -> Location | None:
        if self.opts.room is None:
            return None
        found = room_index(self.env.rooms).get(self.opts.room.lower())
        if found is None:
            known = ", ".join(sorted({loc.room for loc in self.env.rooms if loc.room})) or "none"
            raise ContextRejected(
                f"barcode source {self.env.name}: room {self.opts.room!r} is not a room any "
                f"device is configured in (rooms: {known})"
            )
        return found

    @property
    def where(self) -> str:
        return self.opts.hid or self.opts.port or "?"

    # --- running ---------------------------------------------------------------------

    async def run(self) -> None:
        backoff = Backoff(initial=min(0.5, self.opts.retry_max), maximum=self.opts.retry_max)
        try:
            while True:
                try:
                    reader = await self._open()
                except ScannerUnavailable as err:
                    self._unavailable(err)
                    await asyncio.sleep(backoff.next_delay())
                    continue
                backoff.reset()
                try:
                    self._health = replace(self._health, listening=True, last_error=None)
                    _LOGGER.info("barcode %s: listening on %s", self.env.name, self.where)
                    while True:
                        self.handle_scan(await reader.next_scan())
                except ScannerUnavailable as err:
                    self._unavailable(err)
                finally:
                    await reader.close()
                await asyncio.sleep(backoff.next_delay())
        finally:
            self._health = replace(self._health, listening=False)
            self._cancel_timer()

    async def _open(self) -> ScanReader:
        if self.opts.hid is not None:
            return await HidScanReader.open(self.opts.hid, want_grab=self.opts.grab)
        assert self.opts.port is not None
        return await SerialScanReader.open(
            self.opts.port, self.opts.serial, self.opts.suffix, self.opts.incomplete_after
        )

    def _unavailable(self, err: ContextSourceError) -> None:
        was = self._health.listening or self._health.last_error != str(err)
        self._health = replace(self._health, listening=False, last_error=str(err))
        if was:  # once per outage, not once per retry
            _LOGGER.warning("%s; retrying", err)

    # --- one scan --------------------------------------------------------------------

    def handle_scan(self, raw: str) -> Decision | None:
        """Act on one scan's text (suffix already removed). Returns what was decided."""
        self.scans += 1
        scan_id = uuid.uuid4().hex[:12]
        text = raw.strip()
        if self.opts.strip_symbology:
            text = strip_aim_prefix(text)
        _LOGGER.debug("barcode %s: scan %s: %r", self.env.name, scan_id, text)
        if not text.isprintable() or "\ufffd" in text:
            self._rejected(scan_id, "unreadable (noise or unmapped characters)")
            return None
        now = asyncio.get_running_loop().time()
        if self.opts.confirm == "room_label":
            room = self.rooms.room(text)
            if room is not None:
                return self._decided(self.confirmation.room_scanned(room, now))
        try:
            patient = self.patients.parse(text)
        except ScanRejected as err:
            why = str(err)
            if self.opts.confirm == "none" and self.rooms.room(text) is not None:
                why = 'a room label, but this scanner has confirm = "none"'
            self._rejected(scan_id, why)
            return None
        return self._decided(self.confirmation.patient_scanned(patient, scan_id, now))

    def _rejected(self, scan_id: str, why: str) -> None:
        _LOGGER.warning(
            "barcode %s: scan %s rejected: %s (check the label and the pattern)",
            self.env.name,
            scan_id,
            why,
        )
        self._event(f"rejected: {why}")

    def _decided(self, decision: Decision) -> Decision:
        if decision.action == "ignore":
            _LOGGER.warning("barcode %s: %s", self.env.name, decision.note)
            self._event(f"ignored: {decision.note}")
        elif decision.action == "wait":
            _LOGGER.info(
                "barcode %s: patient scan %s read; %s",
                self.env.name,
                decision.scan_id,
                decision.note,
            )
            self._event(f"waiting for a room label: {decision.note}")
            self._arm_timer()
        else:
            self._cancel_timer()
            self._associate(decision)
        return decision

    def _associate(self, decision: Decision) -> None:
        assert decision.patient is not None
        assert decision.location is not None
        expires = timedelta(seconds=self.opts.expires_after) if self.opts.expires_after else None
        where = decision.location.room or "?"
        try:
            if self.opts.scope == "device":
                self.store.associate(
                    decision.patient,
                    source=self.name,
                    device_id=self.opts.device,
                    device_location=decision.location,
                    expires_after=expires,
                    reference=decision.scan_id,
                )
                where = f"{self.opts.device} in {where}"
            else:
                self.store.associate(
                    decision.patient,
                    source=self.name,
                    location=decision.location,
                    expires_after=expires,
                    reference=decision.scan_id,
                )
        except ContextRejected as err:
            self._rejected(decision.scan_id or "?", str(err))
            return
        _LOGGER.info("barcode %s: scan %s associated %s", self.env.name, decision.scan_id, where)
        self._event(f"associated {where}")

    # --- confirmation timeout ---------------------------------------------------------

    def _arm_timer(self) -> None:
        # A timer handle, not a task: nothing to own beyond cancelling it.
        self._cancel_timer()
        self._timer = asyncio.get_running_loop().call_later(
            self.opts.confirm_within, self._expire_pending
        )

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire_pending(self) -> None:
        self._timer = None
        pending = self.confirmation.pending
        # At its own deadline, whatever the loop clock's resolution made of call_later.
        dropped = self.confirmation.expire(pending.deadline) if pending else None
        if dropped is None:
            return
        _LOGGER.warning(
            "barcode %s: patient scan %s dropped: no room label within %g s",
            self.env.name,
            dropped.scan_id,
            self.opts.confirm_within,
        )
        self._event("dropped: no room label in time")

    # --- status ----------------------------------------------------------------------

    def _event(self, summary: str) -> None:
        self._health = replace(
            self._health, last_event=datetime.now(UTC), last_event_summary=summary
        )

    def health(self) -> SourceHealth:
        return self._health
