"""What a simulated SIG health peripheral holds: records, knobs, identity, profile, and
what the collector did to it (ble-health.md §1.3-1.6, §2.6, §4.2); the behaviour is in
``health_peripheral``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bumble.core import UUID
from bumble.gatt import Characteristic, Service

from simulators.ble.sig_fields import parse_date_time

RACP = 0x2A52
DATE_TIME = 0x2A08
CURRENT_TIME = 0x2A2B
CURRENT_TIME_SERVICE = 0x1805
DEVICE_INFORMATION = 0x180A
BODY_COMPOSITION = 0x2A9C
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
    characteristic: int | None = None  # sent on this record characteristic; None: the profile's


@dataclass
class Knobs:
    require_pairing: bool = False  # clock, RACP and feature reads need an encrypted link
    drop_after: int | None = None  # hang up (as a radio loss) after this many records, once
    racp_error: int | None = None  # answer every RACP request with this response code
    record_delay: float = 0.0  # seconds between records: slow indications
    racp_operators: frozenset[int] = frozenset({ALL, GREATER_OR_EQUAL, FIRST, LAST})
    racp_mute: bool = False  # take RACP requests and never answer
    disconnect_when_done: bool = True  # cuff behaviour: hang up after the transfer
    # None: advertise always, again after every session (simple bench mode). A number:
    # advertise only that many seconds after a reading or button press (§4.2 #1).
    advertise_window: float | None = None
    # ATT MTU 23: Body Composition records go as two packets, flags bit 12 (§2.3).
    split_body_composition: bool = False


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
    extra_records: tuple[tuple[int, int], ...] = ()  # (service, characteristic) indicated


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


def device_information(info: DeviceInfo) -> Service:
    """The Device Information Service 0x180A with ``info``'s values."""
    read = Characteristic.Properties.READ
    perm = Characteristic.Permissions.from_string("READABLE")
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
