"""What a BLE health session does with one device: a plan per profile or device model.

The session (``session.py``) is the same for every SIG health device; a plan says which
service, which record characteristics, which clock to write, whether stored records come
through RACP and how to ask for them, and whether to bond first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from vitalsd.links.gatt import GattConnection


class ClockWrite(StrEnum):
    """Which clock characteristic the collector writes (ble-health.md §1.3-1.4)."""

    AUTO = "auto"  # Date Time 0x2A08 if writable in the profile service, else CTS 0x2A2B
    DATE_TIME = "date_time"  # A&D
    CURRENT_TIME = "current_time"  # Omron
    NONE = "none"


class RacpMode(StrEnum):
    """How stored records are asked for (ble-health.md §2.6)."""

    NONE = "none"  # the device pushes what it holds once subscribed
    ALL = "all"  # "report all" every time; records de-duplicated by fingerprint
    SINCE_SEQUENCE = "since_sequence"  # all first, then ≥ last sequence + 1 (glucose)
    LAST = "last"  # "report last record" (Omron)


@dataclass(frozen=True, slots=True)
class RecordSource:
    """A characteristic whose values are records (16-bit UUID)."""

    uuid: int
    live: bool = False  # progress / continuous stream: never stored, never de-duplicated
    required: bool = True


Prepare = Callable[[GattConnection], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class SessionPlan:
    service: int  # the profile service, 16-bit
    records: tuple[RecordSource, ...]
    clock: ClockWrite = ClockWrite.AUTO
    racp: RacpMode = RacpMode.NONE
    pair_first: bool = False  # bond before anything else (Omron)
    reads: tuple[int, ...] = ()  # feature / type characteristics, read once if present
    prepare: Prepare | None = None  # vendor step before the clock write (A&D "send all")
    pushes_memory: bool = False  # pushed records come from memory: undated ones are stored
