"""The bus: a slow or failing output never blocks devices or other outputs, loses nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from vitalsd.bus import Bus
from vitalsd.errors import OutputRejected, OutputUnavailable
from vitalsd.model import BusItem, DeviceKind, DeviceState, DeviceStatus
from vitalsd.output import Output, OutputEnvironment, OutputOptions

ENV = OutputEnvironment(name="t", state_dir=Path("/nonexistent"), site_id="test")


def status(n: int) -> DeviceStatus:
    return DeviceStatus(
        device_id=f"d{n}",
        driver="t",
        device_kind=DeviceKind.SCALE,
        state=DeviceState.ONLINE,
        since=datetime.now(UTC),
    )


class Recorder(Output):
    name: ClassVar[str] = "recorder"
    summary: ClassVar[str] = "test"

    def __init__(self) -> None:
        super().__init__(OutputOptions(), ENV)
        self.items: list[BusItem] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.failures_left = 0
        self.reject = False
        self.closed = False

    async def handle(self, item: BusItem) -> None:
        await self.gate.wait()
        if self.reject:
            raise OutputRejected("never")
        if self.failures_left:
            self.failures_left -= 1
            raise OutputUnavailable("disk full")
        self.items.append(item)

    async def close(self) -> None:
        self.closed = True


async def test_slow_output_does_not_hold_up_the_others() -> None:
    slow, fast = Recorder(), Recorder()
    slow.gate.clear()  # stuck
    bus = Bus([("slow", slow), ("fast", fast)])
    bus.start()
    for n in range(100):
        bus.publish(status(n))  # never blocks
    async with asyncio.timeout(10):
        while len(fast.items) < 100:
            await asyncio.sleep(0.01)
    assert slow.items == []
    assert bus.pending() == {"slow": 100, "fast": 0}
    slow.gate.set()
    assert await bus.drain(10) == {}
    await bus.close()
    assert [s.device_id for s in slow.items] == [f"d{n}" for n in range(100)]
    assert slow.closed and fast.closed


async def test_unavailable_output_keeps_the_item_and_retries_in_order() -> None:
    out = Recorder()
    out.failures_left = 3
    bus = Bus([("flaky", out)])
    bus.start()
    for n in range(5):
        bus.publish(status(n))
    assert await bus.drain(30) == {}
    await bus.close()
    assert [s.device_id for s in out.items] == ["d0", "d1", "d2", "d3", "d4"]
    assert bus.outputs["flaky"].retries == 3
    assert bus.outputs["flaky"].delivered == 5


async def test_rejected_item_is_counted_not_retried_forever() -> None:
    out = Recorder()
    out.reject = True
    bus = Bus([("picky", out)])
    bus.start()
    bus.publish(status(1))
    assert await bus.drain(10) == {}
    await bus.close()
    assert bus.outputs["picky"].rejected == 1


async def test_drain_reports_what_an_output_did_not_take() -> None:
    out = Recorder()
    out.gate.clear()
    bus = Bus([("stuck", out)])
    bus.start()
    for n in range(3):
        bus.publish(status(n))
    assert await bus.drain(0.2) == {"stuck": 3}
    await bus.close()


async def test_full_queue_is_counted_and_does_not_block() -> None:
    out = Recorder()
    out.gate.clear()
    bus = Bus([("stuck", out)], queue_size=2)
    bus.start()
    for n in range(5):
        bus.publish(status(n))
    assert bus.outputs["stuck"].overflowed >= 2
    out.gate.set()
    await bus.drain(10)
    await bus.close()


class BatchRecorder(Recorder):
    """An output that takes a batch all or none (as one transaction would)."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[str]] = []
        self.bad: set[str] = set()  # device ids this output rejects

    async def handle(self, item: BusItem) -> None:
        await self.handle_many([item])

    async def handle_many(self, items: Sequence[BusItem]) -> None:
        await self.gate.wait()
        ids = [i.device_id for i in items if isinstance(i, DeviceStatus)]
        self.batches.append(ids)
        if self.bad.intersection(ids):
            raise OutputRejected(f"cannot take {sorted(self.bad.intersection(ids))}")
        if self.failures_left:
            self.failures_left -= 1
            raise OutputUnavailable("disk full")  # none of the batch was taken
        self.items.extend(items)


async def _run(bus: Bus, n: int, out: Recorder, *, drain: float = 30) -> None:
    bus.start()
    out.gate.clear()  # let items queue up behind the first
    for i in range(n):
        bus.publish(status(i))
    out.gate.set()
    assert await bus.drain(drain) == {}
    await bus.close()


async def test_queued_items_go_to_the_output_as_batches_in_order() -> None:
    out = BatchRecorder()
    bus = Bus([("db", out)], batch_max=40)
    await _run(bus, 100, out)
    assert [s.device_id for s in out.items] == [f"d{i}" for i in range(100)]
    assert len(out.batches) < 100 and max(map(len, out.batches)) == 40  # capped
    assert bus.outputs["db"].delivered == 100 and bus.pending() == {"db": 0}


async def test_an_unavailable_batch_is_retried_whole_without_duplicates() -> None:
    out = BatchRecorder()
    out.failures_left = 2
    bus = Bus([("db", out)])
    await _run(bus, 50, out)
    assert [s.device_id for s in out.items] == [f"d{i}" for i in range(50)]
    assert out.batches[0] == out.batches[1] == out.batches[2]  # the same batch, again
    stats = bus.outputs["db"]
    assert (stats.delivered, stats.retries, stats.rejected) == (50, 2, 0)


async def test_a_rejected_batch_is_retried_one_by_one_to_isolate_the_bad_item() -> None:
    out = BatchRecorder()
    out.bad = {"d7"}
    bus = Bus([("db", out)])
    await _run(bus, 20, out)
    assert [s.device_id for s in out.items] == [f"d{i}" for i in range(20) if i != 7]
    stats = bus.outputs["db"]
    assert (stats.delivered, stats.rejected) == (19, 1)
    assert [len(b) for b in out.batches if len(b) > 1]  # it did try a batch first
    assert bus.pending() == {"db": 0}


async def test_an_output_without_handle_many_gets_one_item_at_a_time() -> None:
    out = Recorder()
    out.failures_left = 1  # not atomic: a batch retried whole could duplicate items
    bus = Bus([("plain", out)])
    await _run(bus, 30, out)
    assert [s.device_id for s in out.items] == [f"d{i}" for i in range(30)]
    assert bus.outputs["plain"].delivered == 30
