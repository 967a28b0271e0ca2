"""Held rows: readings an output keeps before they become a message, committed with it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from vitalsd.outbox import OUTBOX_FILE, Outbox, OutboxFull, OutboxLimits
from vitalsd.outbox_schema import SCHEMA_VERSION


async def test_held_rows_are_released_in_the_transaction_of_their_message(
    tmp_path: Path,
) -> None:
    box = await Outbox.aopen(tmp_path)
    _, held = await box.acommit("ehr", [], hold=[b"sys", b"dia"])
    _, other = await box.acommit("mqtt", [], hold=[b"not ehr's"])
    assert box.held("ehr") == [(held[0], b"sys"), (held[1], b"dia")]
    ids, more = await box.acommit(
        "ehr", [("hl7", "C1", b"msg")], hold=[b"spo2"], release=[*held, *other]
    )
    assert [m.control_id for m in box.pending("ehr")] == ["C1"] and len(ids) == 1
    assert box.held("ehr") == [(more[0], b"spo2")]
    assert box.held("mqtt") == [(other[0], b"not ehr's")]  # another destination's: untouched
    await box.aclose()


async def test_a_refused_commit_changes_no_held_row(tmp_path: Path) -> None:
    box = await Outbox.aopen(tmp_path, limits=OutboxLimits(max_messages=1))
    _, held = await box.acommit("ehr", [], hold=[b"a"])
    with pytest.raises(OutboxFull):
        await box.acommit("ehr", [("hl7", "C1", b"1"), ("hl7", "C2", b"2")], release=held)
    assert box.held("ehr") == [(held[0], b"a")] and box.pending("ehr") == []
    await box.aclose()


def test_a_version_1_file_gains_the_held_table_and_keeps_its_messages(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / OUTBOX_FILE)
    db.executescript(
        """
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT, destination TEXT NOT NULL,
            kind TEXT NOT NULL, control_id TEXT NOT NULL, created TEXT NOT NULL,
            payload BLOB NOT NULL, size INTEGER NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'dead')),
            attempts INTEGER NOT NULL DEFAULT 0, last_attempt TEXT, last_error TEXT,
            dead_reason TEXT, dead_at TEXT);
        CREATE INDEX messages_queue ON messages (destination, state, id);
        CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
        INSERT INTO messages (destination, kind, control_id, created, payload, size)
            VALUES ('ehr', 'hl7', 'OLD1', '2026-11-27T00:00:00+00:00', X'6F6C64', 3);
        PRAGMA user_version=1;
        """
    )
    db.close()
    box = Outbox.open(tmp_path)
    assert [m.payload for m in box.pending("ehr")] == [b"old"]
    assert box.held("ehr") == []
    box.close()
    db = sqlite3.connect(tmp_path / OUTBOX_FILE)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    db.close()
