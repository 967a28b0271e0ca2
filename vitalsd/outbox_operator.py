"""What clinic IT does to an outbox (``vitalsd outbox list|show|retry|drop``).

Kept apart from the delivery path in ``outbox.py``; ``Outbox`` inherits these actions.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import TypeVar

from vitalsd.outbox_rows import (
    BY_ID,
    COLUMNS,
    OutboxMessage,
    OutboxStats,
    message_from_row,
    time_or_none,
)
from vitalsd.outbox_schema import OutboxError

T = TypeVar("T")


class OperatorActions:
    """Listing, showing, retrying and dropping messages; needs the outbox's primitives."""

    def _read(self, sql: str, args: Sequence[object] = ()) -> list[tuple[object, ...]]:
        raise NotImplementedError

    def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        raise NotImplementedError

    def _shrink(self, destination: str, n: int, size: int) -> None:
        raise NotImplementedError

    def get(self, message_id: int) -> OutboxMessage | None:
        rows = self._read(BY_ID, (message_id,))
        return message_from_row(rows[0]) if rows else None

    def messages(
        self, *, destination: str | None = None, state: str | None = None, limit: int = 1000
    ) -> list[OutboxMessage]:
        rows = self._read(
            f"SELECT {COLUMNS} FROM messages WHERE (?1 IS NULL OR destination = ?1) "  # noqa: S608 - constant column list
            "AND (?2 IS NULL OR state = ?2) ORDER BY id LIMIT ?3",
            (destination, state, limit),
        )
        return [message_from_row(r) for r in rows]

    def stats(self) -> list[OutboxStats]:
        rows = self._read(
            "SELECT destination, SUM(state = 'pending'), SUM(state = 'dead'), SUM(size), "
            "MIN(CASE WHEN state = 'pending' THEN created END) FROM messages "
            "GROUP BY destination ORDER BY destination"
        )
        return [
            OutboxStats(str(d), int(p), int(x), int(b), time_or_none(o))  # type: ignore[call-overload, arg-type]
            for d, p, x, b, o in rows
        ]

    def retry(self, message_id: int) -> int:
        """Queue a dead letter again, at the back (a new id); returns the new id."""

        def work(db: sqlite3.Connection) -> int:
            row = db.execute("SELECT state FROM messages WHERE id = ?", (message_id,)).fetchone()
            if row is None:
                raise OutboxError(f"no message {message_id} in the outbox")
            if row[0] != "dead":
                raise OutboxError(f"message {message_id} is not a dead letter; it is still queued")
            # Same bytes, same control id: a resend, not a new message.
            cur = db.execute(
                "INSERT INTO messages (destination, kind, control_id, created, payload, size,"
                " attempts, last_attempt, last_error) SELECT destination, kind, control_id,"
                " created, payload, size, attempts, last_attempt, last_error FROM messages"
                " WHERE id = ?",
                (message_id,),
            )
            db.execute("DELETE FROM messages WHERE id = ?", (message_id,))
            return int(cur.lastrowid or 0)

        return self._write(work)

    def drop(self, message_id: int) -> OutboxMessage:
        """Remove a message for good (an operator's decision); returns what was removed."""

        def work(db: sqlite3.Connection) -> OutboxMessage:
            rows = db.execute(BY_ID, (message_id,)).fetchall()
            if not rows:
                raise OutboxError(f"no message {message_id} in the outbox")
            db.execute("DELETE FROM messages WHERE id = ?", (message_id,))
            msg = message_from_row(rows[0])
            self._shrink(msg.destination, 1, msg.size)
            return msg

        return self._write(work)
