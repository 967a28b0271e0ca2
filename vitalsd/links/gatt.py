"""The GATT link: what BLE drivers talk to, whatever radio stack is underneath.

Drivers are written only against these types. Adapters implement them: bleak (+
bleak-retry-connector) on a Linux gateway, bumble on a USB HCI dongle or on bumble's
virtual link in tests. UUIDs are always full 128-bit lower-case strings
(``uuid16("2a35")`` turns a SIG short form into one).

One ``GattCentral`` owns one adapter: a single continuous scan shared by every device
on it (BlueZ allows one discovery per adapter) and connects serialized per adapter.
A driver's ``run_ble`` gets a ``BleLink`` bound to its configured device: it waits for
that device's advertisements and connects when it decides to.
"""

from __future__ import annotations

import fnmatch
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

BASE_UUID_SUFFIX = "-0000-1000-8000-00805f9b34fb"


def uuid16(short: str | int) -> str:
    """The full 128-bit form of a SIG 16-bit UUID: ``uuid16(0x2A35)`` → ``00002a35-…``."""
    value = int(short, 16) if isinstance(short, str) else short
    if not 0 <= value <= 0xFFFF:
        raise ValueError(f"not a 16-bit UUID: {short!r}")
    return f"0000{value:04x}{BASE_UUID_SUFFIX}"


def normalize_uuid(uuid: str) -> str:
    """Any accepted spelling (``2A35``, ``0x2a35``, full form) as a full lower-case UUID."""
    text = uuid.strip().lower().removeprefix("0x")
    if len(text) in (4, 8) and all(c in "0123456789abcdef" for c in text):
        return f"{int(text, 16):08x}{BASE_UUID_SUFFIX}"
    if len(text) == 36 and text.count("-") == 4:
        return text
    raise ValueError(f"not a Bluetooth UUID: {uuid!r}")


@dataclass(frozen=True, slots=True)
class Advertisement:
    """One advertisement (or scan response) as the adapter reported it."""

    address: str  # "AA:BB:CC:DD:EE:FF", upper case
    name: str | None = None
    rssi: int | None = None
    service_uuids: tuple[str, ...] = ()  # full 128-bit, lower case
    service_data: Mapping[str, bytes] = field(default_factory=dict)  # uuid -> payload
    manufacturer_data: Mapping[int, bytes] = field(default_factory=dict)  # company id -> rest
    connectable: bool = True


@dataclass(frozen=True, slots=True)
class BleTarget:
    """Which device a configured BLE entry means: an address, or a service + name pattern."""

    address: str | None = None  # upper case
    name: str | None = None  # fnmatch pattern on the advertised name: "A&D_UA-651*"
    service: str | None = None  # full UUID that must be advertised (uuids or service data)
    adapter: str | None = None  # "hci0"; None: the default adapter

    def matches(self, adv: Advertisement) -> bool:
        if self.address is not None and adv.address.upper() != self.address.upper():
            return False
        if self.name is not None and not fnmatch.fnmatchcase(adv.name or "", self.name):
            return False
        return not (
            self.service is not None
            and self.service not in adv.service_uuids
            and self.service not in adv.service_data
        )

    def describe(self) -> str:
        service = self.service
        if service is not None and service.endswith(BASE_UUID_SUFFIX):
            service = service[4:8]  # SIG short form reads better: "service 1810"
        parts = [
            self.address or "",
            f"name '{self.name}'" if self.name else "",
            f"service {service}" if service else "",
        ]
        return "BLE " + " ".join(p for p in parts if p)


@dataclass(frozen=True, slots=True)
class GattCharacteristic:
    uuid: str
    properties: frozenset[str]  # "read", "write", "write-without-response", "notify", "indicate"


@dataclass(frozen=True, slots=True)
class GattService:
    uuid: str
    characteristics: tuple[GattCharacteristic, ...]


NotificationHandler = Callable[[bytes], None]
"""Called in the event loop with each notification or indication value, in order."""


class GattConnection(ABC):
    """One connection to one peripheral. Errors raise ``DeviceError`` subclasses
    (``BleGattError`` for ATT errors, ``DeviceDisconnected`` once the link is gone)."""

    address: str

    @property
    @abstractmethod
    def is_connected(self) -> bool: ...

    @abstractmethod
    async def services(self) -> tuple[GattService, ...]:
        """The peripheral's services and characteristics (discovered once, cached)."""

    @abstractmethod
    async def read(self, characteristic: str) -> bytes: ...

    @abstractmethod
    async def write(self, characteristic: str, data: bytes, *, response: bool = True) -> None: ...

    @abstractmethod
    async def subscribe(
        self, characteristic: str, handler: NotificationHandler, *, indicate: bool | None = None
    ) -> None:
        """Enable notifications or indications (None: indications if the characteristic
        offers them, else notifications); returns once the CCCD write is acknowledged."""

    @abstractmethod
    async def unsubscribe(self, characteristic: str) -> None: ...

    @abstractmethod
    async def pair(self, *, bond: bool = True) -> None:
        """Pair (Just Works here; passkey entry needs the host's agent)."""

    @abstractmethod
    async def wait_disconnected(self) -> str:
        """Return (with a reason) once the link is gone, whoever ended it."""

    @abstractmethod
    async def disconnect(self) -> None:
        """End the connection; safe to call twice or after the device hung up."""


class GattCentral(ABC):
    """One adapter, owned by one object for the whole daemon."""

    description: str  # "hci0 (bleak/BlueZ)", "bumble usb:0", ...

    @abstractmethod
    async def start(self) -> None:
        """Power the adapter up and start the shared continuous scan."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    def advertisements(self) -> AsyncIterator[Advertisement]:
        """Every advertisement seen from now on (each caller gets its own stream)."""

    @abstractmethod
    async def connect(self, address: str, *, timeout: float = 20.0) -> GattConnection:
        """Connect (serialized with other connects on this adapter, retried with backoff)."""


class CursorStore(ABC):
    """A small persistent JSON document per device: the last RACP sequence number seen,
    the last record time, ... so that a second download charts nothing twice."""

    @abstractmethod
    def load(self) -> dict[str, object]: ...

    @abstractmethod
    def save(self, state: Mapping[str, object]) -> None:
        """Write atomically (tmp + fsync + rename); a crash leaves the old or new state."""


class BleLink:
    """What a BLE driver's ``run_ble`` gets: the central, the device it serves, its cursor."""

    def __init__(self, central: GattCentral, target: BleTarget, cursor: CursorStore) -> None:
        self.central = central
        self.target = target
        self.cursor = cursor
        self.description = f"{target.describe()} via {central.description}"

    async def advertisements(self) -> AsyncIterator[Advertisement]:
        """This device's advertisements only, from now on."""
        async for adv in self.central.advertisements():
            if self.target.matches(adv):
                yield adv

    async def next_advertisement(self) -> Advertisement:
        async for adv in self.advertisements():
            return adv
        raise AssertionError("advertisement stream ended")  # pragma: no cover

    async def connect(self, adv: Advertisement, *, timeout: float = 20.0) -> GattConnection:
        return await self.central.connect(adv.address, timeout=timeout)


class JsonCursorStore(CursorStore):
    """``CursorStore`` in ``<state_dir>/ble/<device_id>.json``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, object]:
        import json

        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            # A damaged cursor only costs duplicates (de-duplicated downstream), never data.
            return {}
        return data if isinstance(data, dict) else {}

    def save(self, state: Mapping[str, object]) -> None:
        import json
        import os

        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as f:
            json.dump(dict(state), f, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(self.path)
