"""The outbox's SQLite file: settings, schema and its version, opened the same way everywhere.

Kept apart from ``outbox.py`` so the daemon and ``vitalsd outbox`` (a second process, run
by clinic IT while the daemon is up) agree on the pragmas that make the file durable.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from vitalsd.errors import VitalsdError

SCHEMA_VERSION = 2
OUTBOX_FILE = "outbox.sqlite3"

# user_version is stamped in the same transaction that creates the tables, so a file is
# either empty (version 0) or complete.
_SCHEMA_V1 = """
CREATE TABLE messages (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: FIFO order and CLI ids
    destination  TEXT    NOT NULL,                   -- output instance name ("ehr")
    kind         TEXT    NOT NULL,                   -- "hl7.oru_r01", "mqtt.observation", ...
    control_id   TEXT    NOT NULL,                   -- MSH-10, MQTT message id, ...
    created      TEXT    NOT NULL,                   -- ISO 8601 UTC
    payload      BLOB    NOT NULL,                   -- the exact bytes to send, every time
    size         INTEGER NOT NULL,
    state        TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'dead')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_attempt TEXT,
    last_error   TEXT,
    dead_reason  TEXT,
    dead_at      TEXT
);
CREATE INDEX messages_queue ON messages (destination, state, id);
CREATE TABLE counters (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
);
"""
# v2: readings an output holds before they become a message (an oximeter's summary, a
# blood-pressure group still waiting for its last value), committed on arrival and
# deleted in the transaction that commits the message built from them.
_SCHEMA_V2 = """
CREATE TABLE held (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    destination  TEXT    NOT NULL,
    created      TEXT    NOT NULL,
    payload      BLOB    NOT NULL                    -- the output's own encoding
);
CREATE INDEX held_by_destination ON held (destination, id);
"""
_MIGRATIONS = {1: _SCHEMA_V1, 2: _SCHEMA_V2}  # version → what takes a file to it


class OutboxError(VitalsdError):
    """The outbox file cannot be used (corrupt, newer schema, unreadable)."""


def _apply_pragmas(db: sqlite3.Connection) -> None:
    # WAL + FULL: every commit is synced to the WAL, so a committed message survives
    # kill -9 and power loss (reference/ecosystem.md §5.2).
    mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise OutboxError(f"SQLite refused WAL mode (got {mode!r}); is the disk a network share?")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA busy_timeout=5000")  # the CLI and the daemon share the file
    db.execute("PRAGMA journal_size_limit=67108864")


def _check(db: sqlite3.Connection, path: Path) -> None:
    result = db.execute("PRAGMA quick_check").fetchone()[0]
    if result != "ok":
        raise OutboxError(
            f"outbox {path} failed its integrity check ({result}); move it aside and "
            "restart, then recover messages from the moved file with sqlite3"
        )


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise OutboxError(
            f"outbox {path} has schema version {version}, newer than this vitalsd "
            f"understands ({SCHEMA_VERSION}); upgrade vitalsd rather than downgrade"
        )
    with db:
        db.execute("BEGIN IMMEDIATE")
        # Re-read inside the write lock: another process may have migrated it meanwhile.
        current = int(db.execute("PRAGMA user_version").fetchone()[0])
        for step in range(current + 1, SCHEMA_VERSION + 1):
            for statement in _MIGRATIONS[step].split(";"):
                if statement.strip():
                    db.execute(statement)
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def connect(path: Path, *, create: bool) -> sqlite3.Connection:
    """Open (and with ``create`` make) the outbox at ``path``; clear errors, no tracebacks."""
    if not create and not path.exists():
        raise OutboxError(f"no outbox at {path} (nothing was queued yet, or another state_dir)")
    try:
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN ourselves, so every commit is explicit.
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5.0)
    except (OSError, sqlite3.Error) as err:
        raise OutboxError(f"cannot open outbox {path}: {err}") from err
    try:
        _apply_pragmas(db)
        _check(db, path)
        _migrate(db, path)
    except sqlite3.DatabaseError as err:
        db.close()
        raise OutboxError(f"outbox {path} is not usable: {err}") from err
    except OutboxError:
        db.close()
        raise
    return db


def connect_reader(path: Path) -> sqlite3.Connection:
    """A second connection to an open outbox, for the sender's reads of pending messages.

    In WAL mode a reader on its own connection never waits for a writer's commit and
    fsync; on the writer's connection it would (one connection, one lock).
    """
    try:
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5.0)
        db.execute("PRAGMA busy_timeout=5000")
        db.execute("PRAGMA query_only=1")
    except sqlite3.Error as err:
        raise OutboxError(f"cannot open outbox {path} for reading: {err}") from err
    return db
