"""The output API: what a delivery plugin (jsonl, HL7, MQTT, ...) implements.

The bus gives each output its own queue and task, so an output may take its time in
``handle``; it never holds up a device or another output. An output owns its delivery
guarantee: raise ``OutputUnavailable`` to have the bus keep the item and retry it, or
``OutputRejected`` for an item that can never be delivered.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

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

    async def close(self) -> None:  # noqa: B027 - optional hook, empty on purpose
        """Flush and release everything. Called once, after the last ``handle``."""
