"""The output API: what a delivery plugin (jsonl, HL7, MQTT, ...) implements.

The bus gives each output its own queue and task, so an output may take its time in
``handle``; it never holds up a device or another output. An output owns its delivery
guarantee: raise ``OutputUnavailable`` to have the bus keep the item and retry it, or
``OutputRejected`` for an item that can never be delivered.

The bus hands over whatever has queued up at once through ``handle_many``, so an output
with a durable store can take a burst in one transaction (one fsync) instead of one per
item. Outputs that do not override it get their items one ``handle`` at a time.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from vitalsd.latency import LatencySnapshot
from vitalsd.model import BusItem

OUTPUT_API_VERSION = 1


class OutputOptions(BaseModel):
    """Options of an output (``[outputs.options]``). Subclass to add more."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True)
class OutputEnvironment:
    """What the daemon tells an output about where it runs."""

    name: str  # the instance name from config ("ehr", "local-log")
    state_dir: Path  # where durable state (outboxes, cursors) lives
    site_id: str


@dataclass(frozen=True, slots=True)
class OutputHealth:
    """What an output knows about its own delivery, for /status and /metrics.

    ``None`` means "not applicable to this output" (a file has no connection).
    """

    connected: bool | None = None
    queued: int | None = None  # durable outbox depth (the bus queue is counted apart)
    dead_letters: int | None = None
    last_ack: datetime | None = None
    last_ack_code: str | None = None
    last_error: str | None = None
    ack_latency: LatencySnapshot | None = None


class Output(ABC):
    """Base of every output; one instance per ``[[outputs]]`` entry."""

    name: ClassVar[str]
    """The type used in config (``type = "jsonl"``); the entry point's name."""
    summary: ClassVar[str]
    options_model: ClassVar[type[OutputOptions]] = OutputOptions
    api_version: ClassVar[int] = OUTPUT_API_VERSION

    def __init__(self, options: OutputOptions, env: OutputEnvironment) -> None:
        self.options = options
        self.env = env

    async def start(self) -> None:  # noqa: B027 - optional hook, empty on purpose
        """Open files or connections before the first item. Default: nothing."""

    @abstractmethod
    async def handle(self, item: BusItem) -> None:
        """Take one item. Returning means the output has it (written, queued durably...)."""

    async def handle_many(self, items: Sequence[BusItem]) -> None:
        """Take several items, in order, all or none.

        Returning means the output has every one of them. ``OutputUnavailable`` means it
        has none of them (an output that overrides this makes the batch atomic, e.g. one
        SQLite transaction): the bus keeps them all and calls again with the same batch.
        ``OutputRejected`` makes the bus hand that batch over one ``handle`` at a time, so
        only the bad item is rejected. The default calls ``handle`` for each item, which
        is not atomic, so the bus only calls ``handle_many`` on outputs that override it.
        """
        for item in items:
            await self.handle(item)

    async def close(self) -> None:  # noqa: B027 - optional hook, empty on purpose
        """Flush and release everything. Called once, after the last ``handle``."""

    def health(self) -> OutputHealth:
        """Delivery state for the status page and metrics; cheap, never blocks."""
        return OutputHealth()
