"""Group commit: concurrent outbox writes share a transaction, each still all-or-none."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from vitalsd.outbox import Outbox, OutboxFull, OutboxLimits


async def test_concurrent_puts_share_commits_and_keep_their_order(tmp_path: Path) -> None:
    box = await Outbox.aopen(tmp_path)
    ids = await asyncio.gather(*(box.aput("ehr", "k", f"c{i}", b"x" * 10) for i in range(50)))
    transactions, writes = box.group_commits
    assert writes == 50
    assert transactions < 50  # queued while a group committed, they went together
    assert ids == sorted(ids)  # callers are served in the order they queued
    assert [m.control_id for m in box.pending("ehr", limit=100)] == [f"c{i}" for i in range(50)]
    await box.aclose()
    reopened = Outbox.open(tmp_path, create=False)  # committed means on disk
    assert len(reopened.pending("ehr", limit=100)) == 50
    reopened.close()


async def test_a_refused_write_does_not_undo_its_neighbours(tmp_path: Path) -> None:
    box = await Outbox.aopen(tmp_path, limits=OutboxLimits(max_messages=3))
    results = await asyncio.gather(
        box.aput_many("ehr", [("k", "a", b"1"), ("k", "b", b"2")]),
        box.aput_many("ehr", [("k", "c", b"3"), ("k", "d", b"4")]),  # over the bound
        box.aput("other", "k", "e", b"5"),
        return_exceptions=True,
    )
    assert isinstance(results[1], OutboxFull)
    assert [m.control_id for m in box.messages()] == ["a", "b", "e"]
    await box.adelivered([m.id for m in box.pending("ehr")])
    assert [m.control_id for m in box.messages()] == ["e"]
    with pytest.raises(OutboxFull):
        await box.aput_many("other", [("k", "f", b"6")] * 3)
    await box.aclose()
