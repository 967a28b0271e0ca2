"""The durable outbox: FIFO per destination, dead letters, bounds, ids, and kill -9."""

from __future__ import annotations

import logging
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from vitalsd.errors import OutputUnavailable
from vitalsd.outbox import OUTBOX_FILE, IdAllocator, Outbox, OutboxError, OutboxFull, OutboxLimits
from vitalsd.outbox_schema import SCHEMA_VERSION


def test_fifo_per_destination_and_delivery(tmp_path: Path) -> None:
    box = Outbox.open(tmp_path)
    for i in range(5):
        box.put("ehr", "hl7", f"E{i}", f"ehr-{i}".encode())
        box.put("mqtt", "mqtt", f"M{i}", f"mqtt-{i}".encode())
    ehr = box.pending("ehr")
    assert [m.control_id for m in ehr] == [f"E{i}" for i in range(5)]
    assert [m.payload for m in box.pending("mqtt", limit=2)] == [b"mqtt-0", b"mqtt-1"]
    assert [m.control_id for m in box.pending("ehr", after=ehr[1].id)] == ["E2", "E3", "E4"]
    box.delivered([ehr[0].id, ehr[1].id])
    assert [m.control_id for m in box.pending("ehr")] == ["E2", "E3", "E4"]
    stats = {s.destination: s for s in box.stats()}
    assert (stats["ehr"].pending, stats["ehr"].dead, stats["mqtt"].pending) == (3, 0, 5)
    box.close()


def test_schema_versioned_wal_full(tmp_path: Path) -> None:
    Outbox.open(tmp_path).close()
    db = sqlite3.connect(tmp_path / OUTBOX_FILE)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(OutboxError, match="newer than this vitalsd"):
        Outbox.open(tmp_path)


def test_garbage_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / OUTBOX_FILE).write_bytes(b"this is not a database" * 100)
    with pytest.raises(OutboxError, match="not usable"):
        Outbox.open(tmp_path)


def test_absent_outbox_is_not_created_for_readers(tmp_path: Path) -> None:
    with pytest.raises(OutboxError, match="no outbox at"):
        Outbox.open(tmp_path / "nope", create=False)
    assert not (tmp_path / "nope").exists()


def test_dead_letters_attempts_retry_and_drop(tmp_path: Path) -> None:
    box = Outbox.open(tmp_path)
    a = box.put("ehr", "hl7", "A", b"a")
    b = box.put("ehr", "hl7", "B", b"b")
    box.attempt_failed(a, "timeout")
    box.dead_letter(a, "AE; ERR 204/E unknown patient")
    msg = box.get(a)
    assert msg is not None
    assert (msg.state, msg.attempts, msg.dead_reason) == (
        "dead",
        2,
        "AE; ERR 204/E unknown patient",
    )
    assert [m.control_id for m in box.pending("ehr")] == ["B"]
    assert [m.id for m in box.messages(state="dead")] == [a]
    with pytest.raises(OutboxError, match="not a dead letter"):
        box.retry(b)
    new = box.retry(a)
    assert new > b and box.get(a) is None
    again = box.get(new)
    assert again is not None and again.payload == b"a" and again.control_id == "A"
    assert [m.control_id for m in box.pending("ehr")] == ["B", "A"]  # back of the queue
    assert box.drop(b).control_id == "B"
    with pytest.raises(OutboxError, match="no message"):
        box.drop(b)
    box.close()


def test_full_outbox_alarms_refuses_and_keeps_oldest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    box = Outbox.open(tmp_path, limits=OutboxLimits(max_messages=3, max_bytes=1000))
    ids = [box.put("ehr", "hl7", f"C{i}", b"x" * 10) for i in range(3)]
    with caplog.at_level(logging.ERROR), pytest.raises(OutboxFull, match="full") as err:
        box.put("ehr", "hl7", "C3", b"x")
    assert isinstance(err.value, OutputUnavailable)  # the bus keeps the item and retries
    assert "ALARM" in caplog.text and box.is_full("ehr")
    with pytest.raises(OutboxFull):
        box.put("ehr", "hl7", "C3", b"x")
    assert caplog.text.count("ALARM") == 1  # once, not per refused message
    assert [m.id for m in box.pending("ehr")] == ids  # nothing dropped to make room
    box.put("other", "mqtt", "O", b"x")  # bounds are per destination
    # A drop from another process (the CLI) frees room too.
    other = Outbox.open(tmp_path)
    other.drop(ids[0])
    other.close()
    box.put("ehr", "hl7", "C3", b"x")
    assert not box.is_full("ehr")
    # The byte bound as well.
    small = Outbox.open(tmp_path, limits=OutboxLimits(max_bytes=40))
    with pytest.raises(OutboxFull):
        small.put("ehr", "hl7", "B", b"y" * 20)
    small.close()
    box.close()


async def test_id_allocator_unique_bounded_and_persistent(tmp_path: Path) -> None:
    box = await Outbox.aopen(tmp_path)
    now = datetime(2025, 3, 14, 10, 30, 12, tzinfo=UTC)
    alloc = IdAllocator(box, "hl7:ehr")
    first = [await alloc.control_id(now) for _ in range(1500)]
    await box.aclose()
    box = await Outbox.aopen(tmp_path)
    alloc = IdAllocator(box, "hl7:ehr")
    second = [await alloc.control_id(now) for _ in range(10)]
    await box.aclose()
    controls = [c for c, _ in first + second]
    fillers = [f for _, f in first + second]
    assert len(set(controls)) == len(controls) and len(set(fillers)) == len(fillers)
    assert all(len(c) <= 20 and c.isascii() for c in controls)
    assert all(len(f) <= 16 for f in fillers)
    assert controls[0] == "VSD25031410301200001"
    assert controls == sorted(controls)  # sortable within a second and across restarts


_WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from vitalsd.outbox import Outbox
    box = Outbox.open(Path(sys.argv[1]))
    for i in range(1_000_000):
        box.put_many("ehr", [("hl7", f"K{i:07d}", f"payload {i:07d}".encode() * 20)])
        print(i, flush=True)  # after the commit: this one is promised durable
    """
)


def test_kill_9_mid_burst_loses_nothing_committed(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    last = -1
    for line in child.stdout:
        last = int(line)
        if last >= 300:
            break
    child.send_signal(signal.SIGKILL)
    child.wait()
    # Lines the child printed but we did not read yet are committed too.
    last = max([last, *(int(x) for x in child.stdout.read().split())])
    child.stdout.close()
    box = Outbox.open(tmp_path)
    got = box.pending("ehr", limit=1_000_000)
    box.close()
    numbers = [int(m.control_id[1:]) for m in got]
    assert numbers[: last + 1] == list(range(last + 1))  # all promised, in order
    assert len(numbers) in (last + 1, last + 2)  # at most the one in flight beyond
    assert all(m.payload == f"payload {int(m.control_id[1:]):07d}".encode() * 20 for m in got)


# --- `vitalsd outbox` for clinic IT --------------------------------------------------


def _config(tmp_path: Path) -> str:
    path = tmp_path / "vitalsd.toml"
    path.write_text(f'[site]\nid = "test"\n[daemon]\nstate_dir = "{tmp_path / "state"}"\n')
    return str(path)


def test_cli_refuses_politely_without_an_outbox(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from vitalsd.cli.main import main

    assert main(["outbox", "list", "-c", _config(tmp_path)]) == 1
    assert "no outbox at" in capsys.readouterr().err
    assert not (tmp_path / "state").exists()


def test_cli_list_show_retry_drop(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from vitalsd.cli.main import main

    cfg = _config(tmp_path)
    box = Outbox.open(tmp_path / "state")
    a = box.put("ehr", "hl7.oru_r01", "VSD1", b"MSH|^~\\&|VITALSD\rPID|1\r")
    b = box.put("ehr", "hl7.oru_r01", "VSD2", b"MSH|^~\\&|VITALSD\r")
    box.dead_letter(a, "AE; ERR 204/E")
    box.close()
    assert main(["outbox", "list", "-c", cfg]) == 0
    out = capsys.readouterr().out
    assert "ehr: 1 pending, 1 dead letter(s)" in out and "VSD1" in out and "AE; ERR 204/E" in out
    assert main(["outbox", "show", "-c", cfg, str(a)]) == 0
    out = capsys.readouterr().out
    assert "state:        dead" in out and "MSH|^~\\&|VITALSD\nPID|1" in out
    assert main(["outbox", "retry", "-c", cfg, str(b)]) == 1
    assert "not a dead letter" in capsys.readouterr().err
    assert main(["outbox", "retry", "-c", cfg, str(a)]) == 0
    assert "queued again" in capsys.readouterr().out
    assert main(["outbox", "drop", "-c", cfg, str(b)]) == 0
    assert main(["outbox", "show", "-c", cfg, str(b)]) == 1
    assert "no message" in capsys.readouterr().err
    box = Outbox.open(tmp_path / "state")
    assert [m.control_id for m in box.pending("ehr")] == ["VSD1"]
    box.close()
