"""The durable outbox: messages committed to SQLite before they are sent, kept until acked.

One file (``state_dir/outbox.sqlite3``) holds every destination's queue, FIFO by row id.
It knows nothing of HL7 or MQTT: a message is opaque payload bytes plus a destination,
a kind and a control id. A message leaves only when its output says it was delivered
(``delivered``) or an operator drops it; one that can never be delivered becomes a dead
letter with its reason, for ``vitalsd outbox``. Beside the messages, an output may keep
*held* rows — readings waiting to become a message (opaque bytes again) — committed on
arrival and released in the same transaction that commits their message (``acommit``).
The outbox is bounded (messages and bytes, dead letters included, so the disk is bounded
too): when full, ``put`` raises ``OutboxFull`` — an ``OutputUnavailable``, so the bus
keeps the item in memory and retries — and the oldest message is never dropped to make
room.

Every method has a blocking form (for the CLI) and an ``a``-prefixed one that runs it in
a worker thread, so an fsync never stalls the event loop. The ``a``-prefixed writes go
through group commit (``outbox_writer``): concurrent ones share a transaction and its fsync,
and each returns only once its own write is committed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from vitalsd.errors import OutputUnavailable
from vitalsd.outbox_ids import IdAllocator
from vitalsd.outbox_operator import OperatorActions
from vitalsd.outbox_rows import COLUMNS, OutboxMessage, OutboxStats, message_from_row
from vitalsd.outbox_schema import OUTBOX_FILE, OutboxError, connect, connect_reader
from vitalsd.outbox_writer import GroupCommit, Outcome, Work, run_group

_LOGGER = logging.getLogger(__name__)

T = TypeVar("T")

__all__ = [
    "OUTBOX_FILE",
    "IdAllocator",
    "Outbox",
    "OutboxError",
    "OutboxFull",
    "OutboxLimits",
    "OutboxMessage",
    "OutboxStats",
]


class OutboxFull(OutputUnavailable):
    """The outbox reached its configured bound; nothing new is taken until it drains."""


@dataclass(frozen=True, slots=True)
class OutboxLimits:
    max_messages: int = 100_000
    max_bytes: int = 256 * 1024 * 1024


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class Outbox(OperatorActions):
    """A handle on the outbox file. Thread-safe; share one per process where you can."""

    def __init__(self, db: sqlite3.Connection, path: Path, limits: OutboxLimits) -> None:
        self._db = db
        self.path = path
        self.limits = limits
        self._lock = threading.Lock()
        self._usage: dict[str, tuple[int, int]] = {}  # destination → (messages, bytes)
        self._full: set[str] = set()
        self._group = GroupCommit(self._write_group, f"vitalsd.outbox[{path}].writer")
        self._queue_db: sqlite3.Connection | None = None  # pending() reads, opened on first use
        self._queue_lock = threading.Lock()

    # --- opening --------------------------------------------------------------------

    @classmethod
    def open(
        cls, state_dir: Path, *, limits: OutboxLimits | None = None, create: bool = True
    ) -> Outbox:
        path = state_dir / OUTBOX_FILE
        return cls(connect(path, create=create), path, limits or OutboxLimits())

    @classmethod
    async def aopen(cls, state_dir: Path, *, limits: OutboxLimits | None = None) -> Outbox:
        return await asyncio.to_thread(cls.open, state_dir, limits=limits)

    def close(self) -> None:
        with self._queue_lock:
            if self._queue_db is not None:
                self._queue_db.close()
                self._queue_db = None
        with self._lock:
            self._db.close()

    async def aclose(self) -> None:
        await self._group.idle()
        await asyncio.to_thread(self.close)

    @property
    def group_commits(self) -> tuple[int, int]:
        """(transactions, writes) committed by group commit so far: writes per fsync."""
        return self._group.groups, self._group.writes

    # --- plumbing -------------------------------------------------------------------

    def _write_group(self, works: Sequence[Work]) -> list[Outcome]:
        try:
            return run_group(self._db, self._lock, works, str(self.path))
        except OutputUnavailable:
            self._usage.clear()  # a write may have counted rows its rollback undid
            raise

    def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` in one immediate transaction; disk problems become OutputUnavailable."""
        ((ok, value),) = self._write_group([work])
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def _read(self, sql: str, args: Sequence[object] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            return list(self._db.execute(sql, args).fetchall())

    def _measure(self, db: sqlite3.Connection, destination: str) -> tuple[int, int]:
        row = db.execute(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM messages WHERE destination = ?",
            (destination,),
        ).fetchone()
        return int(row[0]), int(row[1])

    # --- intake ---------------------------------------------------------------------

    def put(self, destination: str, kind: str, control_id: str, payload: bytes) -> int:
        """Commit one message; return its id. ``OutboxFull`` when over the bound."""
        return self.put_many(destination, [(kind, control_id, payload)])[0]

    def put_many(self, destination: str, items: Sequence[tuple[str, str, bytes]]) -> list[int]:
        """Commit several messages in one transaction (all or none), in order."""
        return self._write(self._put_work(destination, items))

    def _put_work(
        self, destination: str, items: Sequence[tuple[str, str, bytes]]
    ) -> Callable[[sqlite3.Connection], list[int]]:
        added = sum(len(p) for _k, _c, p in items)

        def work(db: sqlite3.Connection) -> list[int]:
            usage = self._usage.get(destination)
            if usage is None or self._over(usage, len(items), added):
                # Counted afresh when near the bound: the CLI may have dropped rows.
                usage = self._measure(db, destination)
            if self._over(usage, len(items), added):
                self._alarm(destination, usage)
                raise OutboxFull(
                    f"outbox for {destination} is full ({usage[0]} messages, {usage[1]} bytes; "
                    f"limits {self.limits.max_messages} / {self.limits.max_bytes}): "
                    "the destination is not taking messages; check it and `vitalsd outbox list`"
                )
            created = _now()
            ids = [
                int(
                    db.execute(
                        "INSERT INTO messages (destination, kind, control_id, created, payload,"
                        " size) VALUES (?, ?, ?, ?, ?, ?)",
                        (destination, kind, cid, created, payload, len(payload)),
                    ).lastrowid
                    or 0
                )
                for kind, cid, payload in items
            ]
            self._usage[destination] = (usage[0] + len(items), usage[1] + added)
            if destination in self._full:
                self._full.discard(destination)
                _LOGGER.warning("outbox for %s takes messages again", destination)
            return ids

        return work

    async def aput(self, destination: str, kind: str, control_id: str, payload: bytes) -> int:
        return (await self.aput_many(destination, [(kind, control_id, payload)]))[0]

    async def aput_many(
        self, destination: str, items: Sequence[tuple[str, str, bytes]]
    ) -> list[int]:
        return await self._group.submit(self._put_work(destination, items))

    # --- held readings ----------------------------------------------------------------

    async def acommit(
        self,
        destination: str,
        items: Sequence[tuple[str, str, bytes]],
        *,
        hold: Sequence[bytes] = (),
        release: Sequence[int] = (),
    ) -> tuple[list[int], list[int]]:
        """Commit messages, newly held rows and the release of held rows, all or none.

        Returns (message ids, held row ids). ``OutboxFull`` (nothing committed) when the
        messages would go over the bound.
        """
        put = self._put_work(destination, items) if items else None
        created = _now()

        def work(db: sqlite3.Connection) -> tuple[list[int], list[int]]:
            ids = put(db) if put is not None else []
            held = [
                int(
                    db.execute(
                        "INSERT INTO held (destination, created, payload) VALUES (?, ?, ?)",
                        (destination, created, payload),
                    ).lastrowid
                    or 0
                )
                for payload in hold
            ]
            db.executemany(
                "DELETE FROM held WHERE id = ? AND destination = ?",
                [(i, destination) for i in release],
            )
            return ids, held

        return await self._group.submit(work)

    def held(self, destination: str) -> list[tuple[int, bytes]]:
        """(row id, payload) of every row ``destination`` holds, oldest first."""
        rows = self._read(
            "SELECT id, payload FROM held WHERE destination = ? ORDER BY id", (destination,)
        )
        return [(int(i), bytes(p)) for i, p in rows]  # type: ignore[call-overload]

    async def aheld(self, destination: str) -> list[tuple[int, bytes]]:
        return await asyncio.to_thread(self.held, destination)

    def _over(self, usage: tuple[int, int], count: int, size: int) -> bool:
        return (
            usage[0] + count > self.limits.max_messages or usage[1] + size > self.limits.max_bytes
        )

    def _alarm(self, destination: str, usage: tuple[int, int]) -> None:
        if destination not in self._full:
            self._full.add(destination)
            _LOGGER.error(
                "ALARM: outbox for %s is full (%d messages, %d bytes): new readings are held "
                "in memory and refused here until it drains; nothing queued is dropped",
                destination,
                usage[0],
                usage[1],
            )

    def is_full(self, destination: str) -> bool:
        return destination in self._full

    # --- delivery -------------------------------------------------------------------

    def pending(self, destination: str, *, after: int = 0, limit: int = 100) -> list[OutboxMessage]:
        """The oldest pending messages with an id above ``after``, in FIFO order."""
        # Its own connection: the sender's next read never queues behind a commit's fsync.
        with self._queue_lock:
            if self._queue_db is None:
                self._queue_db = connect_reader(self.path)
            rows = self._queue_db.execute(
                f"SELECT {COLUMNS} FROM messages WHERE destination = ? "  # noqa: S608 - constant column list
                "AND state = 'pending' AND id > ? ORDER BY id LIMIT ?",
                (destination, after, limit),
            ).fetchall()
        return [message_from_row(r) for r in rows]

    async def apending(
        self, destination: str, *, after: int = 0, limit: int = 100
    ) -> list[OutboxMessage]:
        return await asyncio.to_thread(self.pending, destination, after=after, limit=limit)

    def delivered(self, ids: Sequence[int]) -> None:
        """The destination has these messages: they leave the outbox."""
        if ids:
            self._write(self._delivered_work(ids))

    def _delivered_work(self, ids: Sequence[int]) -> Callable[[sqlite3.Connection], None]:
        def work(db: sqlite3.Connection) -> None:
            for destination, n, size in db.execute(
                "SELECT destination, COUNT(*), SUM(size) FROM messages WHERE id IN "
                "(SELECT value FROM json_each(?)) GROUP BY destination",
                (json.dumps(list(ids)),),
            ).fetchall():
                self._shrink(str(destination), int(n), int(size))
            db.executemany("DELETE FROM messages WHERE id = ?", [(i,) for i in ids])

        return work

    async def adelivered(self, ids: Sequence[int]) -> None:
        if ids:
            await self._group.submit(self._delivered_work(list(ids)))

    def _shrink(self, destination: str, n: int, size: int) -> None:
        usage = self._usage.get(destination)
        if usage is not None:
            self._usage[destination] = (max(0, usage[0] - n), max(0, usage[1] - size))

    def attempt_failed(self, message_id: int, error: str) -> None:
        """Record a try that did not deliver (the message stays pending)."""
        self._write(
            lambda db: db.execute(
                "UPDATE messages SET attempts = attempts + 1, last_attempt = ?, last_error = ? "
                "WHERE id = ?",
                (_now(), error[:500], message_id),
            )
        )

    async def aattempt_failed(self, message_id: int, error: str) -> None:
        await asyncio.to_thread(self.attempt_failed, message_id, error)

    def dead_letter(self, message_id: int, reason: str) -> None:
        """Park a message that cannot be delivered as it is; kept for an operator."""
        now = _now()
        self._write(
            lambda db: db.execute(
                "UPDATE messages SET state = 'dead', attempts = attempts + 1, last_attempt = ?,"
                " last_error = ?, dead_reason = ?, dead_at = ? WHERE id = ?",
                (now, reason[:500], reason[:500], now, message_id),
            )
        )

    async def adead_letter(self, message_id: int, reason: str) -> None:
        await asyncio.to_thread(self.dead_letter, message_id, reason)

    # --- identifiers ----------------------------------------------------------------

    def reserve(self, counter: str, count: int) -> range:
        """Reserve ``count`` consecutive numbers of a persistent counter (never reused)."""

        def work(db: sqlite3.Connection) -> range:
            row = db.execute("SELECT value FROM counters WHERE name = ?", (counter,)).fetchone()
            start = int(row[0]) if row else 1
            db.execute(
                "INSERT INTO counters (name, value) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                (counter, start + count),
            )
            return range(start, start + count)

        return self._write(work)
