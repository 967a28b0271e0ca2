"""Group commit for the outbox: concurrent writes share one transaction and one fsync.

With ``synchronous=FULL`` every commit costs an fsync of the WAL, and that — not the
insert — is what limits a put. ``GroupCommit`` queues each asynchronous write; a writer
task takes everything queued, runs it in one transaction in a worker thread (each write
in its own savepoint, so one refused write does not undo its neighbours) and commits
once. Every caller's await returns only after that commit: the guarantee "committed
before ``put`` returns" is unchanged, it just costs one fsync per group, not per message.
Writes queued while a group commits form the next group, so a lone caller waits no longer
than before, and callers are served in the order they queued (FIFO stays FIFO).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from vitalsd.errors import OutputUnavailable

_LOGGER = logging.getLogger(__name__)

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], Any]
Outcome = tuple[bool, Any]  # (True, result) or (False, the exception that write raised)

__all__ = ["GroupCommit", "run_group"]


def run_group(
    db: sqlite3.Connection, lock: threading.Lock, works: Sequence[Work], where: str
) -> list[Outcome]:
    """Run ``works`` in one immediate transaction, each in a savepoint; commit once.

    A write that raises (``OutboxFull``, an operator error) is rolled back alone and its
    exception returned in its place. SQLite trouble (disk full, I/O error, a lock held too
    long) fails the whole group with ``OutputUnavailable``: nothing of it was committed.
    """
    with lock:
        try:
            db.execute("BEGIN IMMEDIATE")
            outcomes: list[Outcome] = []
            try:
                for work in works:
                    db.execute("SAVEPOINT one_write")
                    try:
                        outcomes.append((True, work(db)))
                    except sqlite3.Error:
                        raise
                    except Exception as err:  # noqa: BLE001 - handed back to its caller
                        db.execute("ROLLBACK TO one_write")
                        outcomes.append((False, err))
                    db.execute("RELEASE one_write")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        except sqlite3.OperationalError as err:
            # Disk full, I/O error, locked by a stuck CLI: not these messages' fault.
            raise OutputUnavailable(f"outbox {where}: {err}") from err
        return outcomes


class GroupCommit:
    """Queues asynchronous writes and commits each batch of them in one transaction."""

    def __init__(self, run: Callable[[Sequence[Work]], list[Outcome]], name: str) -> None:
        self._run = run
        self._name = name
        self._queue: list[tuple[Work, asyncio.Future[Any]]] = []
        self._task: asyncio.Task[None] | None = None
        self.groups = 0  # commits made, for benchmarks and tests
        self.writes = 0  # writes committed in them

    async def submit(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``work`` in the next group; returns once that group is committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.append((work, future))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._drain(), name=self._name)
        return await future

    async def idle(self) -> None:
        """Wait until everything queued so far is committed (before closing the file)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def _drain(self) -> None:
        while self._queue:
            # A caller cancelled before its group started never runs; one cancelled
            # during the commit still has its write committed (as with a thread).
            batch = [(w, f) for w, f in self._queue if not f.done()]
            self._queue = []
            if not batch:
                continue
            try:
                outcomes = await asyncio.to_thread(self._run, [w for w, _ in batch])
            except Exception as err:  # noqa: BLE001 - every caller of the group gets it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(err)
                continue
            except BaseException:
                # The loop is shutting down: nobody is left to serve these callers.
                for _, future in batch + self._queue:
                    future.cancel()
                self._queue = []
                raise
            self.groups += 1
            self.writes += len(batch)
            _LOGGER.debug("%s: committed %d write(s) in one transaction", self._name, len(batch))
            for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
                if future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)
