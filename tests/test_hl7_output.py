"""The ``hl7`` and ``hl7_file`` outputs: report rules, outbox intake, delivery to the receiver,
and kill -9 of a sending process mid-burst."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from hl7.batching import ReportBatcher
from hl7.filedrop import Hl7FileOutput
from hl7.options import Hl7FileOptions, Hl7Options
from hl7.output import Hl7Output
from hl7.sample import sample_report
from tests.test_mllp import Ehr
from vitalsd.errors import OutputUnavailable
from vitalsd.model import DeviceKind, DeviceState, DeviceStatus, Observation
from vitalsd.outbox import Outbox
from vitalsd.output import OutputEnvironment

BP = sample_report("bp").observations
SPO2 = sample_report("spo2").observations
WEIGHT = sample_report("weight").observations


def bp(group: str, *, without: frozenset[str] = frozenset()) -> list[Observation]:
    return [
        dataclasses.replace(o, group=group, id=f"{group}-{o.metric}")
        for o in BP
        if o.metric not in without
    ]


def sample(n: int, device: str = "ox1", **changes: Any) -> list[Observation]:
    """A continuous oximeter's n-th sample (ungrouped SpO2 and pulse)."""
    return [
        dataclasses.replace(
            o, group=None, device_id=device, id=f"{device}-{n}-{o.metric}",
            value=o.value + n, **changes,
        )
        for o in SPO2[:2]
    ]  # fmt: skip


# --- which observations make one message ------------------------------------------


def test_bp_group_is_one_report_at_once() -> None:
    b = ReportBatcher(group_window=2)
    out = [r for o in bp("g1") for r in b.add(o, 0.0)]
    assert [len(r) for r in out] == [4] and len(b) == 0


def test_incomplete_group_closes_on_window_or_next_group() -> None:
    b = ReportBatcher(group_window=2)
    for o in bp("g1", without=frozenset({"bp_mean"})):
        assert b.add(o, 0.0) == []
    assert b.next_due() == 2.0
    assert b.due(1.9) == []
    assert [len(r) for r in b.due(2.0)] == [3]
    for o in bp("g2", without=frozenset({"bp_mean"})):
        b.add(o, 10.0)
    out = b.add(bp("g3")[0], 10.5)  # the same cuff's next reading: g2 is complete
    assert [[o.group for o in r] for r in out] == [["g2"] * 3]


def test_oximeter_summary_is_latest_values_once_per_interval() -> None:
    b = ReportBatcher(summary_interval=60)
    for n in range(30):
        for o in sample(n):
            assert b.add(o, float(n)) == []
        for o in sample(n, device="ox2"):
            b.add(o, float(n) + 5)
    assert b.due(59.0) == []
    (report,) = b.due(60.0)
    assert {o.metric: o.value for o in report} == {
        SPO2[0].metric: SPO2[0].value + 29,
        SPO2[1].metric: SPO2[1].value + 29,
    }
    assert report[0].device_id == "ox1" and len(b) == 1  # ox2 has its own window
    assert [r[0].device_id for r in b.drain()] == ["ox2"]


def test_context_change_and_single_readings() -> None:
    b = ReportBatcher(summary_interval=60)
    b.add(sample(0)[0], 0.0)
    moved = dataclasses.replace(
        sample(1)[0], context=dataclasses.replace(SPO2[0].context, patient=None)
    )
    assert [len(r) for r in b.add(moved, 1.0)] == [1]  # the first patient's summary
    single = dataclasses.replace(WEIGHT[0], group=None)
    assert b.add(single, 2.0) == [(single,)]
    stored = dataclasses.replace(sample(2)[0], stored=True)  # a memory record: not a sample
    assert b.add(stored, 3.0) == [(moved,), (stored,)]  # it also closes the held summary


# --- the hl7 output against the receiver ------------------------------------------


@pytest.fixture
def ehr(tmp_path: Path) -> Iterator[Ehr]:
    e = Ehr(tmp_path)
    yield e
    e.stop()


def make(tmp_path: Path, port: int, **opts: Any) -> Hl7Output:
    options = Hl7Options(
        host="127.0.0.1", port=port, ack_timeout=2, retry_initial=0.05, retry_max=0.2, **opts
    )
    return Hl7Output(options, OutputEnvironment("ehr", tmp_path / "state", "site"))


async def wait_received(ehr: Ehr, n: int) -> list[dict[str, Any]]:
    async with asyncio.timeout(30):
        while len(got := ehr.received()) < n:
            await asyncio.sleep(0.05)
    return got


async def test_reports_reach_the_receiver(tmp_path: Path, ehr: Ehr) -> None:
    out = make(tmp_path, ehr.port, oximeter_summary_interval=0.3)
    await out.start()
    try:
        await out.handle(
            DeviceStatus(
                "cuff", "x", DeviceKind.BLOOD_PRESSURE, DeviceState.ONLINE, datetime.now(UTC)
            )
        )
        for o in bp("g1"):
            await out.handle(o)
        for n in range(5):
            for o in sample(n):
                await out.handle(o)
        got = await wait_received(ehr, 2)
    finally:
        await out.close()
    assert len(got) == 2
    first, summary = (g["raw"] for g in got)
    assert "ORU^R01" in first and first.count("\rOBX|") >= 4
    assert "|128|" in first and "|82|" in first
    assert f"|{SPO2[0].value + 4}|" in summary  # the latest sample, not one message per sample
    assert re.fullmatch(r"VSD\d{17}", got[0]["control_id"])
    box = Outbox.open(tmp_path / "state")
    assert box.pending("ehr") == []
    box.close()


async def test_health_reports_outbox_ack_and_latency(tmp_path: Path, ehr: Ehr) -> None:
    out = make(tmp_path, ehr.port)
    assert out.health().connected is False  # before start: nothing to report yet
    await out.start()
    try:
        for o in bp("g1"):
            await out.handle(o)
        await wait_received(ehr, 1)
        async with asyncio.timeout(30):  # the ACK is processed right after the receiver logs
            while out.health().last_ack_code is None or out.health().queued:
                await asyncio.sleep(0.05)
        h = out.health()
    finally:
        await out.close()
    assert h.connected is True
    assert (h.queued, h.dead_letters, h.last_ack_code) == (0, 0, "AA")
    assert h.last_ack is not None
    assert h.ack_latency is not None and h.ack_latency.count == 1
    assert h.ack_latency.buckets[-1] == (float("inf"), 1)


async def test_close_keeps_held_reports_for_the_next_start(tmp_path: Path, ehr: Ehr) -> None:
    out = make(tmp_path, 1)  # nobody listens on port 1: everything stays queued
    await out.start()
    for n in range(3):
        for o in sample(n):
            await out.handle(o)  # held for a 60 s summary
    await out.close()
    box = Outbox.open(tmp_path / "state")
    (queued,) = box.pending("ehr")
    box.close()
    out = make(tmp_path, ehr.port)
    await out.start()
    try:
        got = await wait_received(ehr, 1)
    finally:
        await out.close()
    assert got[0]["raw"].encode() == queued.payload  # the same bytes, encoded once


async def test_full_outbox_refuses_without_double_counting(tmp_path: Path) -> None:
    out = make(tmp_path, 1, outbox_max_messages=2)
    await out.start()
    try:
        single = [dataclasses.replace(WEIGHT[0], group=None, id=f"w{i}") for i in range(3)]
        await out.handle(single[0])
        await out.handle(single[1])
        for _ in range(2):  # the bus retries the same item
            with pytest.raises(OutputUnavailable, match="full"):
                await out.handle(single[2])
        assert out.outbox is not None
        out.outbox.drop(out.outbox.pending("ehr")[0].id)  # an operator makes room
        await out.handle(single[2])
        assert len(out.outbox.pending("ehr")) == 2
    finally:
        await out.close()


def test_options_are_checked_when_the_config_is_read(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="processing_id"):
        Hl7Options(host="h", port=1, message={"processing_id": "X"})  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="ca_file"):
        Hl7Options(host="h", port=1, tls={"ca_file": tmp_path / "none.pem"})  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="extra"):
        Hl7Options(host="h", port=1, hots="x")  # type: ignore[call-arg]


async def test_file_drop_writes_whole_files(tmp_path: Path) -> None:
    out = Hl7FileOutput(
        Hl7FileOptions(directory=tmp_path / "drop"),
        OutputEnvironment("files", tmp_path / "state", "s"),
    )
    await out.start()
    for o in bp("g1"):
        await out.handle(o)
    await out.handle(dataclasses.replace(WEIGHT[0], group=None))
    await out.close()
    files = sorted((tmp_path / "drop").iterdir())
    assert [f.suffix for f in files] == [".hl7", ".hl7"]  # no temporary file left
    texts = [f.read_bytes() for f in files]
    assert all(t.startswith(b"MSH|^~\\&|") and b"\n" not in t for t in texts)
    assert files[0].stem in texts[0].decode()  # named by MSH-10


# --- kill -9 of the sending process during a burst --------------------------------

BURST = 1500  # 10,000 takes minutes on a loaded 2-core machine; the property is the same

_CHILD = textwrap.dedent(
    """
    import asyncio, dataclasses, sys
    from decimal import Decimal
    from pathlib import Path
    from hl7.options import Hl7Options
    from hl7.output import Hl7Output
    from hl7.sample import sample_report
    from vitalsd.output import OutputEnvironment

    async def main():
        state, port, burst = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[4])
        base = sample_report("weight").observations[0]
        out = Hl7Output(Hl7Options(host="127.0.0.1", port=port, ack_timeout=2,
                                   retry_initial=0.05, retry_max=0.2, window=int(sys.argv[3])),
                        OutputEnvironment("ehr", state, "site"))
        await out.start()
        for i in range(burst):
            obs = dataclasses.replace(base, group=None, id=f"w{i}",
                                      value=Decimal("50.00") + Decimal(i) / 100)
            await out.handle(obs)
            print(i, flush=True)  # accepted: committed to the outbox
        await asyncio.sleep(3600)

    asyncio.run(main())
    """
)


def _value(raw: str) -> int:
    m = re.search(r"\|NM\|[^|]*\|[^|]*\|(\d+\.\d\d)\|", raw)
    assert m, raw
    return round((Decimal(m.group(1)) - 50) * 100)


@pytest.mark.parametrize("window", [1, 8], ids=["one-in-flight", "window-8"])
def test_kill_9_mid_burst_then_restart_delivers_all_in_order(
    tmp_path: Path, ehr: Ehr, window: int
) -> None:
    args = [sys.executable, "-c", _CHILD, str(tmp_path / "state"), str(ehr.port), str(window)]
    first = subprocess.Popen([*args, str(BURST)], stdout=subprocess.PIPE, text=True)
    assert first.stdout is not None
    accepted = -1
    for line in first.stdout:
        accepted = int(line)
        if accepted >= BURST // 2:
            break
    first.send_signal(signal.SIGKILL)
    first.wait()
    accepted = max([accepted, *(int(x) for x in first.stdout.read().split())])
    first.stdout.close()
    second = subprocess.Popen([*args, "0"], stdout=subprocess.DEVNULL)  # just drains
    try:
        deadline = 120.0
        while deadline > 0 and not {_value(d["raw"]) for d in ehr.received()} >= set(
            range(accepted + 1)
        ):
            subprocess.run(["sleep", "0.2"], check=True)
            deadline -= 0.2
    finally:
        second.send_signal(signal.SIGKILL)
        second.wait()
    got = ehr.received()
    firsts: list[int] = []
    by_id: dict[str, str] = {}
    for d in got:
        assert by_id.setdefault(d["control_id"], d["raw"]) == d["raw"]  # duplicates identical
        v = _value(d["raw"])
        if v not in firsts:
            firsts.append(v)
    assert firsts[: accepted + 1] == list(range(accepted + 1))  # every accepted one, in order


# --- readings held for a report survive kill -9 --------------------------------------

_HOLDER = textwrap.dedent(
    """
    import asyncio, dataclasses, sys
    from decimal import Decimal
    from pathlib import Path
    from hl7.options import Hl7Options
    from hl7.output import Hl7Output
    from hl7.sample import sample_report
    from vitalsd.output import OutputEnvironment

    async def main():
        state = Path(sys.argv[1])
        out = Hl7Output(Hl7Options(host="127.0.0.1", port=1, oximeter_summary_interval=3600,
                                   group_window=3600),
                        OutputEnvironment("ehr", state, "site"))
        await out.start()
        spo2 = sample_report("spo2").observations[:2]
        for n in range(5):  # a continuous oximeter: held for its hourly summary
            await out.handle_many([
                dataclasses.replace(o, group=None, device_id="ox1", id=f"ox1-{n}-{o.metric}",
                                    value=o.value + n)
                for o in spo2
            ])
        cuff = [dataclasses.replace(o, group="g1", id=f"g1-{o.metric}")
                for o in sample_report("bp").observations if o.metric != "bp_mean"]
        for o in cuff:  # three of a cuff's four values: the group waits for the last
            await out.handle(o)
        print("held", flush=True)  # every handle returned: all of it is accepted
        await asyncio.sleep(3600)

    asyncio.run(main())
    """
)


def test_readings_held_for_a_report_survive_kill_9(tmp_path: Path, ehr: Ehr) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(tmp_path / "state")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    try:
        assert child.stdout.readline() == "held\n"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    box = Outbox.open(tmp_path / "state")
    assert box.pending("ehr") == []  # no report was due: nothing became a message
    assert len(box.held("ehr")) == 2 + 3  # the latest SpO2 and pulse, the cuff's three
    box.close()

    async def restart() -> list[dict[str, Any]]:
        out = make(tmp_path, ehr.port, oximeter_summary_interval=0.2, group_window=0.2)
        await out.start()  # rebuilds what was held; the windows run from now
        try:
            return await wait_received(ehr, 2)
        finally:
            await out.close()

    got = asyncio.run(restart())
    by_device = {("BP" if "MDC_DEV_SPEC_PROFILE_BP" in g["raw"] else "OX"): g["raw"] for g in got}
    assert f"|{SPO2[0].value + 4}|" in by_device["OX"]  # the latest sample, as before the kill
    assert f"|{SPO2[1].value + 4}|" in by_device["OX"]
    assert "|128|" in by_device["BP"] and "|82|" in by_device["BP"] and "|72|" in by_device["BP"]
    box = Outbox.open(tmp_path / "state")
    assert box.held("ehr") == [] and box.pending("ehr") == []  # released with the message
    box.close()


async def test_a_held_reading_is_released_with_the_message_that_carries_it(
    tmp_path: Path,
) -> None:
    out = make(tmp_path, 1, group_window=3600)  # nobody listens: messages stay queued
    await out.start()
    try:
        assert out.outbox is not None
        cuff = bp("g1")
        await out.handle_many(cuff[:2])
        assert len(out.outbox.held("ehr")) == 2 and out.outbox.pending("ehr") == []
        for n in range(3):  # oximeter samples: only the latest of each metric is held
            await out.handle_many(sample(n))
        assert len(out.outbox.held("ehr")) == 2 + 2
        await out.handle_many(cuff[2:])  # the group is complete: one message, held released
        assert len(out.outbox.held("ehr")) == 2 and len(out.outbox.pending("ehr")) == 1
    finally:
        await out.close()  # the summary is stored as a message on the way out
    box = Outbox.open(tmp_path / "state")
    assert box.held("ehr") == [] and len(box.pending("ehr")) == 2
    box.close()


async def test_a_burst_is_one_commit_and_a_retried_batch_is_not_counted_twice(
    tmp_path: Path,
) -> None:
    out = make(tmp_path, 1, outbox_max_messages=5)
    await out.start()
    try:
        assert out.outbox is not None
        singles = [dataclasses.replace(WEIGHT[0], group=None, id=f"w{i}") for i in range(8)]
        before = out.outbox.group_commits[0]
        await out.handle_many(singles[:4])
        assert out.outbox.group_commits[0] == before + 1  # four messages, one transaction
        for _ in range(2):  # over the bound: none of the batch is taken, and the bus retries
            with pytest.raises(OutputUnavailable, match="full"):
                await out.handle_many(singles[4:8])
        assert len(out.outbox.pending("ehr")) == 4
        for m in out.outbox.pending("ehr")[:3]:
            out.outbox.drop(m.id)  # an operator makes room
        await out.handle_many(singles[4:8])  # the same batch again: four more, not eight
        assert len(out.outbox.pending("ehr")) == 5
    finally:
        await out.close()
