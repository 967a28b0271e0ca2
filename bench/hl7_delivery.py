"""Durable HL7 delivery over loopback: outbox (SQLite WAL, synchronous=FULL) → MLLP → ACK.

Prints messages/s and p50/p99 latency (enqueue → positive ACK) through the outbox and
sender, beside bare MLLP send/ACK of the same messages with no outbox, in the same run.
The receiver is the EHR simulator in its own process, answering AA. One connection, one
message in flight (no pipelining, per the reference), so bare MLLP is the ceiling.

Every put returns only after its commit (group commit: concurrent puts share one fsync).
"1 producer" is one caller awaiting each put before the next — what one bus lane does;
"N producers" are N such callers at once (several outputs or lanes on one outbox file).

    .venv/bin/python bench/hl7_delivery.py [--count 3000] [--producers 8]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hl7.delivery import DeliveryPolicy, Sender
from hl7.mllp import MllpClient, MllpPeer
from hl7.sample import sample_message
from vitalsd.outbox import Outbox, OutboxMessage


class TimedSender(Sender):
    def __init__(self, *args: object, acked: dict[str, float], target: int) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.acked = acked
        self.target = target
        self.done = asyncio.Event()

    async def _deliver(self, msg: OutboxMessage) -> bool:
        ok = await super()._deliver(msg)
        self.acked[msg.control_id] = time.perf_counter()
        if len(self.acked) >= self.target:
            self.done.set()
        return ok


def payloads(count: int, prefix: str) -> list[tuple[str, bytes]]:
    template = sample_message("bp")  # 4 OBX + device rows, a realistic size
    original = template.split("|", 10)[9]
    out = []
    for i in range(count):
        cid = f"{prefix}{i:015d}"
        out.append((cid, template.replace(original, cid, 1).encode()))
    return out


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


async def durable(
    port: int, msgs: list[tuple[str, bytes]], state: Path, producers: int
) -> tuple[float, list[float], float]:
    box = await Outbox.aopen(state)
    acked: dict[str, float] = {}
    sender = TimedSender(
        box,
        "ehr",
        MllpClient(MllpPeer("127.0.0.1", port)),
        DeliveryPolicy(),
        acked=acked,
        target=len(msgs),
    )
    task = asyncio.create_task(sender.run(), name="bench.sender")
    queued: dict[str, float] = {}

    async def produce(share: list[tuple[str, bytes]]) -> None:
        for cid, payload in share:  # awaits its commit before the next, as handle() does
            queued[cid] = time.perf_counter()
            await box.aput("ehr", "hl7.oru_r01", cid, payload)
            sender.wake()

    start = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for n in range(producers):
            group.create_task(produce(msgs[n::producers]), name=f"bench.producer[{n}]")
    await sender.done.wait()
    elapsed = time.perf_counter() - start
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await sender.flush_acks()
    transactions, writes = box.group_commits
    await box.aclose()
    return elapsed, [(acked[c] - queued[c]) * 1000 for c, _ in msgs], writes / transactions


async def backlog(
    port: int, msgs: list[tuple[str, bytes]], state: Path
) -> tuple[float, list[float]]:
    """Drain a committed backlog (after an outage or a restart): delivery alone, with ACKs."""
    box = await Outbox.aopen(state)
    for i in range(0, len(msgs), 500):  # committed durably before the clock starts
        await box.aput_many("ehr", [("hl7.oru_r01", c, p) for c, p in msgs[i : i + 500]])
    acked: dict[str, float] = {}
    sender = TimedSender(
        box,
        "ehr",
        MllpClient(MllpPeer("127.0.0.1", port)),
        DeliveryPolicy(),
        acked=acked,
        target=len(msgs),
    )
    start = time.perf_counter()
    task = asyncio.create_task(sender.run(), name="bench.sender")
    await sender.done.wait()
    elapsed = time.perf_counter() - start
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await sender.flush_acks()
    await box.aclose()
    times = sorted(acked.values())
    gaps = [(b - a) * 1000 for a, b in itertools.pairwise(times)] or [0.0]
    return elapsed, gaps


async def bare(port: int, msgs: list[tuple[str, bytes]]) -> tuple[float, list[float]]:
    client = MllpClient(MllpPeer("127.0.0.1", port))
    lat = []
    start = time.perf_counter()
    for cid, payload in msgs:
        t = time.perf_counter()
        await client.exchange(payload, cid, 10.0)
        lat.append((time.perf_counter() - t) * 1000)
    elapsed = time.perf_counter() - start
    await client.close()
    return elapsed, lat


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--producers", type=int, default=8)
    args = parser.parse_args()
    ehr = subprocess.Popen(
        [sys.executable, "-m", "simulators.ehr_receiver", "--port", "0"],
        stdout=subprocess.PIPE,
    )
    try:
        assert ehr.stdout is not None
        port = int(json.loads(ehr.stdout.readline())["tcp"].rsplit(":", 1)[1])
        runs = []
        for producers in sorted({1, args.producers}):
            msgs = payloads(args.count, f"D{producers:03d}")
            with tempfile.TemporaryDirectory() as tmp:
                d_time, d_lat, per_fsync = asyncio.run(durable(port, msgs, Path(tmp), producers))
            name = f"outbox, {producers} producer{'s' if producers > 1 else ''}"
            runs.append((name, d_time, d_lat, f"   {per_fsync:5.1f} writes/commit"))
        with tempfile.TemporaryDirectory() as tmp:
            k_time, k_gap = asyncio.run(backlog(port, payloads(args.count, "K"), Path(tmp)))
        runs.append(("outbox backlog drain", k_time, k_gap, "   (p50/p99: time between ACKs)"))
        b_time, b_lat = asyncio.run(bare(port, payloads(args.count, "BARE")))
    finally:
        ehr.terminate()
        ehr.wait()
    size = len(msgs[0][1])
    print(f"{args.count} ORU^R01 messages of {size} bytes, AA from the EHR simulator, loopback")
    for name, t, lat, note in [*runs, ("bare MLLP, no outbox", b_time, b_lat, "")]:
        print(
            f"  {name:<24} {args.count / t:8.0f} msg/s   "
            f"p50 {percentile(lat, 50):7.2f} ms   p99 {percentile(lat, 99):7.2f} ms{note}"
        )
    for name, t, _lat, _note in runs:
        print(f"  {name} / bare throughput: {b_time / t:.2f}")
    print("  (writes/commit counts the sender's batched deletes as writes too)")
    print("  (durable latency is enqueue → ACK, so it includes time queued behind others)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
