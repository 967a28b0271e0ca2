"""A simulated SIG health peripheral on bumble: one profile service, its clock, RACP,
the Device Information Service, and the faults a clinic sees.

Behaviour follows ble-health.md: §1.3/§1.4 the collector writes Date Time 0x2A08 (inside
the profile service, A&D) or Current Time 0x2A2B (CTS 0x1805, Omron); §1.6 measurement
records are indicated (glucose: notified); §2.6 RACP 0x2A52: the collector enables
indications on RACP and on the record characteristic, then writes a request; records
stream, then ``06 00 <op> <code>``; §4.2 cuffs push what they hold once subscribed and
hang up themselves. Knobs (``Knobs``): pairing required, drop the link after N records
of a transfer (once), answer every RACP request with an error code, slow records.

Records are bytes built with ``health_records``; the peripheral only stores, filters by
sequence number and sends them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bumble import hci
from bumble.att import ATT_Error
from bumble.core import UUID, AdvertisingData
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.pairing import PairingConfig, PairingDelegate

from simulators.ble.health_records import racp_count, racp_response
from simulators.ble.sig_fields import current_time, date_time, parse_date_time

_LOGGER = logging.getLogger(__name__)

RACP = 0x2A52
DATE_TIME = 0x2A08
CURRENT_TIME = 0x2A2B
CURRENT_TIME_SERVICE = 0x1805
DEVICE_INFORMATION = 0x180A
# RACP (§2.6) op codes, operators, response codes; ATT 0xFD = CCCD improperly configured.
OP_REPORT, OP_ABORT, OP_NUMBER = 0x01, 0x03, 0x04
ALL, GREATER_OR_EQUAL, FIRST, LAST = 0x01, 0x03, 0x05, 0x06
SUCCESS, OP_NOT_SUPPORTED, OPERATOR_NOT_SUPPORTED = 0x01, 0x02, 0x04
INVALID_OPERAND, NO_RECORDS, OPERAND_NOT_SUPPORTED = 0x05, 0x06, 0x09
CCCD_IMPROPERLY_CONFIGURED = 0xFD


def sig(short: int) -> UUID:
    return UUID.from_16_bits(short)


@dataclass
class StoredRecord:
    """One record in device memory; ``sequence`` is what RACP filters on."""

    data: bytes
    sequence: int
    transferred: bool = False


@dataclass
class Knobs:
    require_pairing: bool = False  # clock, RACP and feature reads need an encrypted link
    drop_after: int | None = None  # hang up (as a radio loss) after this many records, once
    racp_error: int | None = None  # answer every RACP request with this response code
    record_delay: float = 0.0  # seconds between records: slow indications
    racp_operators: frozenset[int] = frozenset({ALL, GREATER_OR_EQUAL, FIRST, LAST})
    racp_mute: bool = False  # take RACP requests and never answer
    disconnect_when_done: bool = True  # cuff behaviour: hang up after the transfer


@dataclass
class DeviceInfo:
    """Device Information Service 0x180A values; ``system_id`` is the 8-byte field."""

    manufacturer: str = "Simulated"
    model: str = "SIM-1"
    serial: str = "0000001"
    firmware: str = "1.0"
    system_id: bytes | None = None


@dataclass
class Profile:
    """Which service and characteristics a device exposes, and how it delivers."""

    service: int  # 0x1810, 0x1809, 0x181D, 0x1822, 0x1808
    measurement: int  # record characteristic: 0x2A35, 0x2A1C, 0x2A9D, 0x2A5E, 0x2A18
    notify: bool = False  # glucose records are notified, the rest indicated
    live: int | None = None  # 0x2A36 / 0x2A1E / 0x2A5F: notified progress or stream
    reads: dict[int, bytes] = field(default_factory=dict)  # feature / type characteristics
    clock: int = DATE_TIME  # DATE_TIME in the profile service, or CURRENT_TIME (CTS)
    racp: bool = False  # stored records through RACP; else pushed once subscribed


@dataclass
class Recorded:
    """What the collector did, for tests to check."""

    clock_writes: list[bytes] = field(default_factory=list)
    racp_requests: list[bytes] = field(default_factory=list)
    vendor_writes: list[bytes] = field(default_factory=list)
    sent: list[bytes] = field(default_factory=list)
    connections: int = 0

    @property
    def clock_set_to(self) -> datetime | None:
        return parse_date_time(self.clock_writes[-1]) if self.clock_writes else None


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
        services = []
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
        services.append(self._device_information())
        self.device.add_services([*services, *extra])
        if self.knobs.require_pairing:
            self.device.pairing_config_factory = lambda _: PairingConfig(
                sc=True,
                mitm=False,
                bonding=True,
                delegate=PairingDelegate(PairingDelegate.NO_OUTPUT_NO_INPUT),
            )

    def _device_information(self) -> Service:
        read = Characteristic.Properties.READ
        perm = Characteristic.Permissions.from_string("READABLE")
        info = self.info
        values = [
            (0x2A29, info.manufacturer.encode()),
            (0x2A24, info.model.encode()),
            (0x2A25, info.serial.encode()),
            (0x2A26, info.firmware.encode()),
        ]
        if info.system_id is not None:
            values.append((0x2A23, info.system_id))
        return Service(
            sig(DEVICE_INFORMATION), [Characteristic(sig(u), read, perm, v) for u, v in values]
        )

    async def start(self, name: str, manufacturer_data: bytes | None = None) -> None:
        """Advertise the profile service and ``name``; again after every disconnection."""
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
        # Fast advertising, as health devices do in the short window after a measurement.
        await self.device.start_advertising(
            advertising_data=bytes(AdvertisingData(ad)),
            auto_restart=True,
            advertising_interval_min=20,
            advertising_interval_max=30,
        )

    async def close(self) -> None:
        """Cancel and await everything this peripheral started."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.device.stop_advertising()

    # --- events --------------------------------------------------------------------

    def _spawn(self, name: str, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=f"sim[{self.info.model}].{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_connection(self, connection: Connection) -> None:
        self.recorded.connections += 1
        self._subscribed = {}
        self._transfer_busy = False
        connection.on("disconnection", lambda _reason: self._on_disconnection())

    def _on_disconnection(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    def _on_subscription(self, uuid: int) -> Callable[[Connection, bool, bool], None]:
        def handler(connection: Connection, notify: bool, indicate: bool) -> None:
            enabled = notify or indicate
            self._subscribed[uuid] = enabled
            push = uuid == self.profile.measurement and not self.profile.racp
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

    async def _send(self, connection: Connection, data: bytes) -> None:
        if self.profile.notify:
            await self.device.notify_subscriber(connection, self.measurement, data)
        else:
            await self.device.indicate_subscriber(connection, self.measurement, data)
        self.recorded.sent.append(data)

    async def _transfer(self, connection: Connection, records: list[StoredRecord]) -> bool:
        """Send records; False when the drop knob hung up part-way."""
        for count, record in enumerate(records):
            if self.knobs.drop_after is not None and count >= self.knobs.drop_after:
                self.knobs.drop_after = None  # one drop per knob setting
                # A radio loss reaches the central as a supervision timeout (0x08).
                await connection.disconnect(hci.HCI_CONNECTION_TIMEOUT_ERROR)
                return False
            if self.knobs.record_delay:
                await asyncio.sleep(self.knobs.record_delay)
            await self._send(connection, record.data)
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
