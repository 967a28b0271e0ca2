"""Held readings: stale readings a site chose not to send at all until a person decides
(``[context] stale_records = "hold"``).

They are durable (SQLite in the state directory, committed before ``hold`` returns, as
the outbox does), listed on /status and by ``vitalsd context held list``, and leave only
by ``release`` (sent unassociated, never to a patient) or ``drop`` (logged). A held
reading was accepted by the daemon, so it is never discarded silently.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from vitalsd.errors import ContextError
from vitalsd.jsondoc import observation_doc
from vitalsd.model import (
    Context,
    DeviceIdentity,
    DeviceKind,
    Flag,
    Location,
    Metric,
    Observation,
    Unit,
)

_LOGGER = logging.getLogger(__name__)

FILE_NAME = "held.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS held (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    device_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    time TEXT NOT NULL,
    reason TEXT,
    held_at TEXT NOT NULL,
    value_text TEXT NOT NULL,
    source_value_text TEXT,
    doc TEXT NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class HeldReading:
    """A summary for lists: no value, no patient (there is none)."""

    id: str
    device_id: str
    metric: str
    time: str
    reason: str | None
    held_at: str

    def doc(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "device_id": self.device_id,
            "metric": self.metric,
            "time": self.time,
            "reason": self.reason,
            "held_at": self.held_at,
        }


def _t(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _observation(doc: dict[str, Any], value: str, source_value: str | None) -> Observation:
    """The observation back from its stored document (values from their exact text)."""
    loc = doc.get("location", {})
    received = _t(doc["receive_time"])
    assert received is not None
    source = doc.get("source")
    return Observation(
        id=doc["id"],
        device_id=doc["device_id"],
        driver=doc["driver"],
        device_kind=DeviceKind(doc["device_kind"]),
        metric=Metric(doc["metric"]),
        mdc_code=int(doc["code"]["mdc"]),
        mdc_refid=doc["code"]["mdc_refid"],
        loinc=doc["code"].get("loinc"),
        value=Decimal(value),
        unit=Unit(doc["unit"]),
        mdc_unit_code=int(doc["unit_code"]["mdc"]),
        mdc_unit_refid=doc["unit_code"]["mdc_refid"],
        receive_time=received,
        device_time=_t(doc.get("device_time")),
        identity=DeviceIdentity(**doc.get("identity", {})),
        context=Context(
            location=Location(**loc), unassociated_reason=doc.get("unassociated_reason")
        ),
        flags=frozenset(Flag(f) for f in doc.get("flags", [])),
        group=doc.get("group"),
        stored=bool(doc.get("stored")),
        sequence=doc.get("sequence"),
        source_value=Decimal(source_value) if source_value is not None else None,
        source_unit=Unit(source["unit"]) if source else None,
    )


class HeldReadings:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / FILE_NAME
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as err:
            raise ContextError(f"cannot open held readings at {self.path}: {err}") from None

    def close(self) -> None:
        self._db.close()

    def hold(self, obs: Observation) -> None:
        """Store ``obs`` durably; it carries no patient (held readings never do)."""
        if obs.context.patient is not None:  # defensive: a held reading is unattributed
            obs = replace(obs, context=Context(location=obs.context.location))
        doc = observation_doc(obs)
        try:
            self._insert(obs, doc)
        except sqlite3.Error as err:
            raise ContextError(f"cannot write {self.path}: {err}") from None

    def _insert(self, obs: Observation, doc: dict[str, Any]) -> None:
        with self._db:
            self._db.execute(
                "INSERT OR IGNORE INTO held (id, device_id, metric, time, reason, held_at,"
                " value_text, source_value_text, doc) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    obs.id,
                    obs.device_id,
                    obs.metric.value,
                    obs.time.isoformat(),
                    obs.context.unassociated_reason,
                    obs.receive_time.isoformat(),
                    format(obs.value, "f"),
                    format(obs.source_value, "f") if obs.source_value is not None else None,
                    json.dumps(doc),
                ),
            )

    def count(self) -> int:
        row = self._db.execute("SELECT COUNT(*) FROM held").fetchone()
        return int(row[0])

    def entries(self) -> list[HeldReading]:
        rows = self._db.execute(
            "SELECT id, device_id, metric, time, reason, held_at FROM held ORDER BY seq"
        ).fetchall()
        return [HeldReading(*row) for row in rows]

    def _select(self, ids: list[str] | None) -> list[tuple[str, str, str | None, str]]:
        sql = "SELECT id, value_text, source_value_text, doc FROM held"
        if ids is None:
            return list(self._db.execute(sql + " ORDER BY seq"))
        unknown = [
            i
            for i in ids
            if not self._db.execute("SELECT 1 FROM held WHERE id = ?", (i,)).fetchone()
        ]
        if unknown:
            raise ContextError(f"no held reading with id {', '.join(unknown)}")
        marks = ",".join("?" * len(ids))
        return list(self._db.execute(f"{sql} WHERE id IN ({marks}) ORDER BY seq", ids))

    def peek(self, ids: list[str] | None = None) -> list[Observation]:
        """The held observations (all, or those named), oldest first, still held."""
        return [
            _observation(json.loads(doc), value, source)
            for _id, value, source, doc in self._select(ids)
        ]

    def remove(self, ids: list[str]) -> None:
        with self._db:
            self._db.executemany("DELETE FROM held WHERE id = ?", [(i,) for i in ids])
