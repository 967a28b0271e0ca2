"""A simulated SIG health peripheral on bumble: one profile service, its clock, RACP,
the Device Information Service, and the faults a clinic sees.

Behaviour follows ble-health.md: §1.3/§1.4 the collector writes Date Time 0x2A08 (inside
the profile service, A&D) or Current Time 0x2A2B (CTS 0x1805, Omron); §1.6 measurement
records are indicated (glucose: notified); §2.6 RACP 0x2A52: the collector enables
indications on RACP and on the record characteristic, then writes a request; records
stream, then ``06 00 <op> <code>``; §4.2 cuffs push what they hold once subscribed and
hang up themselves, and advertise only in a window after a reading (``measure``) or a
button press (``press_button``), or again after a drop. Knobs (``Knobs``): pairing
required, drop the link after N records of a transfer (once), answer every RACP request
with an error code, slow records, the advertising window (None: advertise always).

Records are bytes built with ``health_records``; the peripheral only stores, filters by
sequence number and sends them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from bumble import hci
from bumble.att import ATT_Error
from bumble.core import AdvertisingData
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.pairing import PairingConfig, PairingDelegate

from simulators.ble.advertising import Advertiser
from simulators.ble.health_records import racp_count, racp_response, split_body_composition
from simulators.ble.health_settings import (
    ALL,
    BODY_COMPOSITION,
    CCCD_IMPROPERLY_CONFIGURED,
    CURRENT_TIME,
    CURRENT_TIME_SERVICE,
    DATE_TIME,
    FIRST,
    GREATER_OR_EQUAL,
    INVALID_OPERAND,
    LAST,
    NO_RECORDS,
    OP_ABORT,
    OP_NOT_SUPPORTED,
    OP_NUMBER,
    OP_REPORT,
    OPERAND_NOT_SUPPORTED,
    OPERATOR_NOT_SUPPORTED,
    RACP,
    SUCCESS,
    DeviceInfo,
    Knobs,
    Profile,
    Recorded,
    StoredRecord,
    device_information,
    sig,
)
from simulators.ble.sig_fields import current_time, date_time, parse_date_time

_LOGGER = logging.getLogger(__name__)


class HealthPeripheral:
    """Serve one profile on a powered bumble ``Device``; ``start()`` advertises."""

    def __init__(
        self,
        device: Device,
        profile: Profile,
        *,
        stored: list[StoredRecord] | None = None,
        live: list[bytes] | None = None,
        knobs: Knobs | None = None,
        info: DeviceInfo | None = None,
        clock: datetime | None = None,
        extra_services: list[Service] | None = None,
    ) -> None:
        self.device = device
        self.profile = profile
        self.stored = list(stored or [])
        self.live = list(live or [])
        self.knobs = knobs or Knobs()
        self.info = info or DeviceInfo()
        self.clock = clock  # None: never set (all-unknown Date Time)
        self.recorded = Recorded()
        self._tasks: set[asyncio.Task[None]] = set()
        self._subscribed: dict[int, bool] = {}
        self._transfer_busy = False
        self._connected = self._window_pending = self._interrupted = False
        self._reopen: set[asyncio.Task[None]] = set()
        self.advertiser: Advertiser | None = None
        self._build(extra_services or [])

    # --- GATT database -----------------------------------------------------------

    def _perm(self, base: str, write: bool = False) -> Characteristic.Permissions:
        needs = "WRITE_REQUIRES_ENCRYPTION" if write else "READ_REQUIRES_ENCRYPTION"
        text = base + (f"|{needs}" if self.knobs.require_pairing else "")
        return Characteristic.Permissions.from_string(text)

    def _build(self, extra: list[Service]) -> None:
        p = self.profile
        props = Characteristic.Properties
        self.measurement = Characteristic(
            sig(p.measurement),
            props.NOTIFY if p.notify else props.INDICATE,
            Characteristic.Permissions.from_string("READABLE"),
            b"",
        )
        self.measurement.on("subscription", self._on_subscription(p.measurement))
        chars: list[Characteristic[Any]] = [self.measurement]
        self.record_chars = {p.measurement: self.measurement}
        services = []
        for service, uuid in p.extra_records:  # e.g. Body Composition 0x2A9C in 0x181B
            extra_char: Characteristic[Any] = Characteristic(
                sig(uuid), props.INDICATE, Characteristic.Permissions.from_string("READABLE"), b""
            )
            extra_char.on("subscription", self._on_subscription(uuid))
            self.record_chars[uuid] = extra_char
            services.append(Service(sig(service), [extra_char]))
        self.live_char: Characteristic[Any] | None = None
        if p.live is not None:
            self.live_char = Characteristic(
                sig(p.live), props.NOTIFY, Characteristic.Permissions.from_string("READABLE"), b""
            )
            chars.append(self.live_char)
        for uuid, value in p.reads.items():
            chars.append(Characteristic(sig(uuid), props.READ, self._perm("READABLE"), value))
        clock_char: Characteristic[bytes] = Characteristic(
            sig(p.clock),
            props.READ | props.WRITE | (props.NOTIFY if p.clock == CURRENT_TIME else 0),
            self._perm("READABLE|WRITEABLE", write=True),
            CharacteristicValue[bytes](read=self._read_clock, write=self._write_clock),
        )
        if p.clock == DATE_TIME:
            chars.append(clock_char)
        else:
            services.append(Service(sig(CURRENT_TIME_SERVICE), [clock_char]))
        if p.racp:
            self.racp: Characteristic[bytes] = Characteristic(
                sig(RACP),
                props.WRITE | props.INDICATE,
                self._perm("WRITEABLE", write=True),
                CharacteristicValue[bytes](write=self._write_racp),
            )
            self.racp.on("subscription", self._on_subscription(RACP))
            chars.append(self.racp)
        services.insert(0, Service(sig(p.service), chars))
        services.append(device_information(self.info))
        self.device.add_services([*services, *extra])
        if self.knobs.require_pairing:
            self.device.pairing_config_factory = lambda _: PairingConfig(
                sc=True,
                mitm=False,
                bonding=True,
                delegate=PairingDelegate(PairingDelegate.NO_OUTPUT_NO_INPUT),
            )

    async def start(self, name: str, manufacturer_data: bytes | None = None) -> None:
        """Advertise the profile service and ``name``: always (``advertise_window`` None),
        or for one window now if the device holds records not yet sent."""
        ad = [
            (AdvertisingData.FLAGS, bytes((0x06,))),
            (
                AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
                self.profile.service.to_bytes(2, "little"),
            ),
            (AdvertisingData.COMPLETE_LOCAL_NAME, name.encode()),
        ]
        if manufacturer_data is not None:
            ad.append((AdvertisingData.MANUFACTURER_SPECIFIC_DATA, manufacturer_data))
        self.device.on("connection", self._on_connection)
        self.advertiser = Advertiser(
            self.device,
            bytes(AdvertisingData(ad)),
            window=self.knobs.advertise_window,
            label=self.info.model,
        )
        await self.advertiser.start(open_window=bool(self.stored or self.live))

    async def press_button(self) -> None:
        """The user presses the device's Bluetooth button: advertise for one window (at
        once, or after the current connection ends)."""
        if self._connected:
            self._window_pending = True
        elif self.advertiser is not None:
            await self.advertiser.open()

    async def measure(self, data: bytes) -> StoredRecord:
        """A new reading taken on the device: stored with the next sequence number, then
        advertised for one window, as a real cuff or scale does."""
        sequence = max((r.sequence for r in self.stored), default=0) + 1
        record = StoredRecord(data, sequence)
        self.stored.append(record)
        await self.press_button()
        return record

    async def close(self) -> None:
        """Cancel and await everything this peripheral started."""
        tasks = [*self._tasks, *self._reopen]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.advertiser is not None:
            await self.advertiser.close()

    # --- events --------------------------------------------------------------------

    def _spawn(self, name: str, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=f"sim[{self.info.model}].{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_connection(self, connection: Connection) -> None:
        self.recorded.connections += 1
        self._connected = True
        self._subscribed = {}
        self._transfer_busy = False
        connection.on("disconnection", lambda _reason: self._on_disconnection())

    def _on_disconnection(self) -> None:
        self._connected = False
        for task in list(self._tasks):
            task.cancel()
        # A device cut off mid-transfer tries again; one asked while connected, too.
        if self._window_pending or self._interrupted:
            self._window_pending = self._interrupted = False
            task = asyncio.get_running_loop().create_task(
                self.press_button(), name=f"sim[{self.info.model}].advertise-again"
            )
            self._reopen.add(task)
            task.add_done_callback(self._reopen.discard)

    def _on_subscription(self, uuid: int) -> Callable[[Connection, bool, bool], None]:
        def handler(connection: Connection, notify: bool, indicate: bool) -> None:
            enabled = notify or indicate
            self._subscribed[uuid] = enabled
            # A device with several record characteristics pushes once all are subscribed.
            subscribed = all(self._subscribed.get(u) for u in self.record_chars)
            push = uuid in self.record_chars and subscribed and not self.profile.racp
            if enabled and push:
                self._spawn("push", self._push(connection))

        return handler

    def _read_clock(self, _connection: Connection) -> bytes:
        if self.profile.clock == CURRENT_TIME:
            return current_time(self.clock) if self.clock else bytes(10)
        return date_time(self.clock)

    def _write_clock(self, _connection: Connection, value: bytes) -> None:
        self.recorded.clock_writes.append(bytes(value))
        self.clock = parse_date_time(value)

    # --- delivery ------------------------------------------------------------------

    def records_to_push(self) -> list[StoredRecord]:
        """What a cuff pushes on subscription: whatever it has not transferred yet."""
        return [r for r in self.stored if not r.transferred]

    async def _send(self, connection: Connection, data: bytes, uuid: int | None = None) -> None:
        char = self.record_chars[uuid or self.profile.measurement]
        parts = [data]
        if self.knobs.split_body_composition and char.uuid == sig(BODY_COMPOSITION):
            parts = split_body_composition(data)
        for part in parts:
            if self.profile.notify:
                await self.device.notify_subscriber(connection, char, part)
            else:
                await self.device.indicate_subscriber(connection, char, part)
            self.recorded.sent.append(part)

    async def _transfer(self, connection: Connection, records: list[StoredRecord]) -> bool:
        """Send records; False when the drop knob hung up part-way."""
        for count, record in enumerate(records):
            if self.knobs.drop_after is not None and count >= self.knobs.drop_after:
                self.knobs.drop_after = None  # one drop per knob setting
                self._interrupted = True
                # A radio loss reaches the central as a supervision timeout (0x08).
                await connection.disconnect(hci.HCI_CONNECTION_TIMEOUT_ERROR)
                return False
            if self.knobs.record_delay:
                await asyncio.sleep(self.knobs.record_delay)
            await self._send(connection, record.data, record.characteristic)
            record.transferred = True
        return True

    async def _push(self, connection: Connection) -> None:
        if self.knobs.require_pairing and not connection.encryption:
            _LOGGER.debug("subscription on an unencrypted link: nothing sent")
            return
        if not await self._transfer(connection, self.records_to_push()):
            return
        await self._send_live(connection)
        if self.knobs.disconnect_when_done:
            await connection.disconnect()

    async def _send_live(self, connection: Connection) -> None:
        for data in self.live:
            if self.live_char is not None:
                await self.device.notify_subscriber(connection, self.live_char, data)
            else:
                await self._send(connection, data)
            self.recorded.sent.append(data)

    def _write_racp(self, connection: Connection, value: bytes) -> None:
        self.recorded.racp_requests.append(bytes(value))
        if not (self._subscribed.get(RACP) and self._subscribed.get(self.profile.measurement)):
            raise ATT_Error(CCCD_IMPROPERLY_CONFIGURED)
        if self._transfer_busy and value[:1] != bytes((OP_ABORT,)):
            raise ATT_Error(0xFE)  # procedure already in progress
        self._transfer_busy = True
        self._spawn("racp", self._racp(connection, bytes(value)))

    def _select(self, operator: int, operand: bytes) -> list[StoredRecord] | int:
        """Records for an operator, or a response code when the request is wrong."""
        records = sorted(self.stored, key=lambda r: r.sequence)
        if operator not in self.knobs.racp_operators:
            return OPERATOR_NOT_SUPPORTED
        if operator == ALL:
            return records
        if operator in (FIRST, LAST):
            return records[:1] if operator == FIRST else records[-1:]
        if operator == GREATER_OR_EQUAL:
            if len(operand) != 3:
                return INVALID_OPERAND
            if operand[0] != 0x01:
                return OPERAND_NOT_SUPPORTED
            low = int.from_bytes(operand[1:3], "little")
            return [r for r in records if r.sequence >= low]
        return OPERATOR_NOT_SUPPORTED

    async def _racp(self, connection: Connection, request: bytes) -> None:
        try:
            await self._answer(connection, request)
        finally:
            self._transfer_busy = False

    async def _answer(self, connection: Connection, request: bytes) -> None:
        op = request[0] if request else 0
        operator = request[1] if len(request) > 1 else 0
        indicate = self.device.indicate_subscriber
        if self.knobs.racp_mute:
            return
        if self.knobs.racp_error is not None:
            await indicate(connection, self.racp, racp_response(op, self.knobs.racp_error))
            return
        if op not in (OP_REPORT, OP_NUMBER, OP_ABORT):
            await indicate(connection, self.racp, racp_response(op, OP_NOT_SUPPORTED))
            return
        if op == OP_ABORT:
            await indicate(connection, self.racp, racp_response(op, SUCCESS))
            return
        selected = self._select(operator, request[2:])
        if isinstance(selected, int):
            await indicate(connection, self.racp, racp_response(op, selected))
            return
        if op == OP_NUMBER:
            await indicate(connection, self.racp, racp_count(len(selected)))
            return
        if not selected:
            await indicate(connection, self.racp, racp_response(op, NO_RECORDS))
            return
        if not await self._transfer(connection, selected):
            return
        await indicate(connection, self.racp, racp_response(op, SUCCESS))
        await self._send_live(connection)
        if self.knobs.disconnect_when_done:
            await connection.disconnect()


# Re-exported: callers build devices from this module alone.
__all__ = ["CURRENT_TIME", "DATE_TIME", "DeviceInfo", "HealthPeripheral", "Knobs", "Profile"]
__all__ += ["Recorded", "StoredRecord", "sig"]
