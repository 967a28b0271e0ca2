"""Rows of the outbox as values: a queued message and a destination's counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["OutboxMessage", "OutboxStats", "message_from_row", "time_or_none"]


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: int
    destination: str
    kind: str
    control_id: str
    created: datetime
    payload: bytes
    size: int
    state: str  # "pending" or "dead"
    attempts: int
    last_attempt: datetime | None
    last_error: str | None
    dead_reason: str | None
    dead_at: datetime | None


@dataclass(frozen=True, slots=True)
class OutboxStats:
    destination: str
    pending: int
    dead: int
    bytes: int
    oldest_pending: datetime | None


def time_or_none(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def message_from_row(row: tuple[object, ...]) -> OutboxMessage:
    (id_, dest, kind, cid, created, payload, size, state, attempts, last, err, reason, dead) = row
    return OutboxMessage(
        id=int(id_),  # type: ignore[call-overload]
        destination=str(dest),
        kind=str(kind),
        control_id=str(cid),
        created=datetime.fromisoformat(str(created)),
        payload=bytes(payload),  # type: ignore[call-overload]
        size=int(size),  # type: ignore[call-overload]
        state=str(state),
        attempts=int(attempts),  # type: ignore[call-overload]
        last_attempt=time_or_none(last),  # type: ignore[arg-type]
        last_error=err,  # type: ignore[arg-type]
        dead_reason=reason,  # type: ignore[arg-type]
        dead_at=time_or_none(dead),  # type: ignore[arg-type]
    )


COLUMNS = (
    "id, destination, kind, control_id, created, payload, size, state, attempts, "
    "last_attempt, last_error, dead_reason, dead_at"
)
BY_ID = f"SELECT {COLUMNS} FROM messages WHERE id = ?"  # noqa: S608 - constant column list
