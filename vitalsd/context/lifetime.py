"""What keeps the context store honest over time: it survives a restart (context.json in
the state directory, written atomically on every change), associations end on their
timeout even when no reading asks, and every change is logged — at INFO without
patient data, at DEBUG with the ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from vitalsd.context.codec import association_doc, association_from_doc
from vitalsd.context.store import ContextChange, ContextStore
from vitalsd.errors import ContextError
from vitalsd.model import Association, AssociationScope

_LOGGER = logging.getLogger(__name__)

FILE_NAME = "context.json"
FILE_VERSION = 1
IDLE_CHECK_S = 60.0  # with no timeout pending, look again now and then anyway


def where(a: Association) -> str:
    """The room (and bed) or device an association is about; never patient data."""
    if a.scope == AssociationScope.DEVICE and a.device_id:
        return a.device_id
    room = a.location.room or "?"
    return f"{room} bed {a.location.bed}" if a.location.bed else room


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves the old or the new file."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    tmp.replace(path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class ContextLifetime:
    """Persistence, expiry and logging around one ``ContextStore``."""

    def __init__(self, store: ContextStore, state_dir: Path) -> None:
        self.store = store
        self.path = state_dir / FILE_NAME
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._unlisten = store.listen(self._on_change)
        self.last_save_error: str | None = None

    # --- persistence -----------------------------------------------------------------

    def load(self) -> int:
        """Restore what was saved before a restart; expired associations are dropped."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return 0
        except OSError as err:
            _LOGGER.error("cannot read %s: %s; starting without associations", self.path, err)
            return 0
        try:
            doc: dict[str, Any] = json.loads(raw)
            saved = tuple(association_from_doc(a) for a in doc.get("associations", []))
        except (ValueError, KeyError, TypeError, ContextError) as err:
            _LOGGER.error("%s is damaged (%s); starting without associations", self.path, err)
            return 0
        count = self.store.restore(saved)
        _LOGGER.info(
            "context: %d association(s) restored, %d expired while stopped",
            count,
            len(saved) - count,
        )
        if count != len(saved):
            self.save()
        return count

    def save(self) -> None:
        doc = {
            "v": FILE_VERSION,
            "associations": [association_doc(a) for a in self.store.snapshot()],
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, json.dumps(doc, indent=1).encode())
            self.last_save_error = None
        except OSError as err:
            # The association still holds in memory; only a restart would lose it.
            self.last_save_error = f"{self.path}: {err.strerror or err}"
            _LOGGER.error("context not saved: %s", self.last_save_error)

    # --- changes ---------------------------------------------------------------------

    def _on_change(self, change: ContextChange) -> None:
        assoc = change.after or change.before
        if assoc is None:
            return
        if change.reason == "associated":
            _LOGGER.info("%s: patient associated by %s", where(assoc), assoc.source)
        elif change.reason == "updated":
            _LOGGER.info("%s: patient details updated by %s", where(assoc), assoc.source)
        else:
            _LOGGER.info("%s: association ended (%s)", where(assoc), change.reason)
        _LOGGER.debug(
            "%s: %s patient %s^%s (since %s)",
            where(assoc),
            change.reason,
            assoc.patient.id,
            assoc.patient.assigning_authority or "",
            assoc.since.isoformat(),
        )
        self.save()
        self._wake.set()

    # --- expiry ----------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._expire_loop(), name="vitalsd.context.expiry")

    async def close(self) -> None:
        self._unlisten()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _expire_loop(self) -> None:
        while True:
            self.store.expire()
            self._wake.clear()
            due = self.store.next_expiry()
            delay = IDLE_CHECK_S
            if due is not None:
                delay = min(delay, max(0.0, (due - self.store.now()).total_seconds()))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay + 0.01):
                    await self._wake.wait()

    def next_expiry(self) -> datetime | None:
        return self.store.next_expiry()
