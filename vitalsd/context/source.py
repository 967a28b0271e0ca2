"""The context-source API: plugins that associate patients with rooms or devices.

A source (barcode scanner, HL7 ADT listener, ...) is configured as a
``[[context.sources]]`` entry, registered under the entry-point group
``vitalsd.context_sources`` and run as one named task; it calls the ``ContextStore``
when it learns something. ``run`` returns only when cancelled; raising
``ContextSourceError`` (or anything else) has the daemon log it and restart the source
with backoff, like a device.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from vitalsd.context.store import ContextStore
from vitalsd.model import Location

CONTEXT_SOURCE_API_VERSION = 1


class SourceOptions(BaseModel):
    """Options of a source (``[context.sources.options]``). Subclass to add more."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True)
class SourceEnvironment:
    name: str  # instance name from config
    state_dir: Path
    site_id: str
    rooms: tuple[Location, ...]  # every configured device location (for matching PV1-3)


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """For /status: is the source listening, and what did it last do."""

    listening: bool | None = None
    last_event: datetime | None = None
    last_event_summary: str | None = None  # no patient data: "A02 moved a patient to EXAM3"
    last_error: str | None = None


class ContextSource(ABC):
    name: ClassVar[str]
    summary: ClassVar[str]
    options_model: ClassVar[type[SourceOptions]] = SourceOptions
    api_version: ClassVar[int] = CONTEXT_SOURCE_API_VERSION

    def __init__(self, options: SourceOptions, env: SourceEnvironment, store: ContextStore) -> None:
        self.options = options
        self.env = env
        self.store = store

    @abstractmethod
    async def run(self) -> None:
        """Listen until cancelled."""

    def health(self) -> SourceHealth:
        return SourceHealth()
