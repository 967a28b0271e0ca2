"""MLLP framing, ACK parsing, and the delivery policy against the real EHR receiver over TCP."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from hl7.ack import AckError, Outcome, classify, parse_ack
from hl7.delivery import DeliveryPolicy, Sender
from hl7.mllp import Deframer, MllpClient, MllpConnectionError, MllpPeer, client_ssl_context, frame
from tests.pki import pki_fixture  # noqa: F401 - the pki fixture
from vitalsd.outbox import Outbox

FAST = DeliveryPolicy(
    ack_timeout=0.5, max_rejects=3, backoff_initial=0.05, backoff_max=0.2, poll_interval=0.2
)


class Ehr:
    """The receiver simulator as a real process on a free port."""

    def __init__(self, tmp: Path, *args: str) -> None:
        self.record = tmp / f"ehr-{id(self)}.jsonl"
        self.p = subprocess.Popen(
            [sys.executable, "-m", "simulators.ehr_receiver", "--port", "0",
             "--record", str(self.record), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        assert self.p.stdout is not None
        ready = json.loads(self.p.stdout.readline() or b"{}")
        assert ready.get("ready"), self.p.stderr.read() if self.p.stderr else ""
        self.port = int(ready["tcp"].rsplit(":", 1)[1])

    def received(self) -> list[dict[str, Any]]:
        if not self.record.exists():
            return []
        lines = self.record.read_text(encoding="utf-8").splitlines()
        return [d for d in map(json.loads, lines) if "raw" in d]

    def stop(self) -> None:
        self.p.terminate()
        self.p.wait(timeout=10)
        for s in (self.p.stdout, self.p.stderr):
            if s is not None:
                s.close()


@pytest.fixture
def ehr_factory(tmp_path: Path) -> Iterator[Any]:
    started: list[Ehr] = []

    def start(*args: str) -> Ehr:
        started.append(Ehr(tmp_path, *args))
        return started[-1]

    yield start
    for e in started:
        e.stop()


@pytest.fixture
async def outbox(tmp_path: Path) -> AsyncIterator[Outbox]:
    box = await Outbox.aopen(tmp_path / "state")
    yield box
    await box.aclose()


def message(control_id: str) -> bytes:
    return (
        f"MSH|^~\\&|VITALSD|CLINIC|EHR|HOSP|20250314103012+0000||ORU^R01^ORU_R01|{control_id}|P|2.6\r"
        f"OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC||97|262688^MDC_DIM_PERCENT^MDC|||||R\r"
    ).encode()


async def deliver_all(
    box: Outbox, peer: MllpPeer, ids: list[str], policy: DeliveryPolicy = FAST
) -> Sender:
    for cid in ids:
        await box.aput("ehr", "hl7", cid, message(cid))
    sender = Sender(box, "ehr", MllpClient(peer), policy)
    task = asyncio.create_task(sender.run(), name="test.sender")
    try:
        async with asyncio.timeout(30):
            while await box.apending(
                "ehr"
            ) or sender.stats.delivered + sender.stats.dead_letters < len(ids):
                await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await sender.flush_acks()
    return sender


# --- framing and parsing -------------------------------------------------------------


def test_deframer_is_lenient_between_frames() -> None:
    d = Deframer()
    assert d.feed(b"\r\n junk" + frame(b"ONE") + b"\r\n\n") == [b"ONE"]
    assert d.feed(b"\x0bTW") == []
    assert d.feed(b"O\x1c") == []
    assert d.feed(b"\r\x0bTORN\x0bTHREE\x1c\r") == [b"TWO", b"THREE"]  # torn frame discarded


def test_parse_ack_real_world_shapes() -> None:
    # python-hl7 create_ack style: LF-free CR segments, MSH-7 without zone (hl7-pcd01.md §4.7)
    ack = parse_ack(
        b"MSH|^~\\&|EHR|HOSP|VITALSD|CLINIC|20250314103012||ACK^R01|A1|P|2.6\rMSA|AA|VSD1\r"
    )
    assert (ack.code, ack.control_id, classify(ack)) == ("AA", "VSD1", Outcome.DELIVERED)
    ae = parse_ack(
        b"MSH|^~\\&|E|H|V|C|20250314||ACK|A2|P|2.6\r\nMSA|AE|VSD2\r\n"
        b"ERR|||204^Unknown key identifier^HL70357|E||||Patient not found\\F\\x\r\n"
    )
    assert classify(ae) is Outcome.CONTENT_ERROR
    assert ae.errors[0].code == "204" and ae.errors[0].text == "Patient not found|x"
    ar = parse_ack(
        b"MSH|^~\\&|E|H|V|C|20250314||ACK|A3|P|2.6\rMSA|AR|VSD3\rERR|||202^Unsupported version^HL70357|E\r"
    )
    assert classify(ar) is Outcome.UNSUPPORTED
    assert classify(parse_ack(b"MSH|^~\\&|E\rMSA|CR|X\r")) is Outcome.REJECTED
    for bad in (b"", b"garbage", b"MSH|^~\\&|E\rPID|1\r", b"MSH|^~\\&|E\rMSA|ZZ|X\r"):
        with pytest.raises(AckError):
            parse_ack(bad)


# --- the policy, one behaviour at a time, against the receiver over TCP ---------------

# (receiver args, delivered, dead letters, receptions per message as numbers in order)
CASES = {
    "AA": (["--mode", "AA"], 3, 0, ["M0", "M1", "M2"]),
    "CA": (["--mode", "CA"], 3, 0, ["M0", "M1", "M2"]),
    "AA+junk": (["--mode", "AA+junk"], 3, 0, ["M0", "M1", "M2"]),
    "AE dead-letters, no loop": (["--script", "2=AE"], 2, 1, ["M0", "M1", "M2"]),
    "CE dead-letters": (["--script", "1=CE"], 2, 1, ["M0", "M1", "M2"]),
    "AR retried to the cap": (["--mode", "AR"], 0, 1, ["M0", "M0", "M0"]),
    "AR then AA": (["--script", "1=AR,2=CR"], 3, 0, ["M0", "M0", "M0", "M1", "M2"]),
    "AR unsupported": (["--mode", "AR", "--err-code", "203:Unsupported version id"], 0, 1, ["M0"]),
    "no ACK resends": (["--script", "2=noack"], 3, 0, ["M0", "M1", "M1", "M2"]),
    "late ACK resends": (
        ["--script", "1=late", "--late-delay", "0.8"],
        3,
        0,
        ["M0", "M0", "M1", "M2"],
    ),
    "wrong MSH-10 resends": (["--script", "1=wrong"], 3, 0, ["M0", "M0", "M1", "M2"]),
    "wrong then right": (["--script", "1=wrong+AA"], 3, 0, ["M0", "M1", "M2"]),
    "drop mid-frame": (["--script", "2=drop"], 3, 0, ["M0", "M1", "M2"]),
    "garbage resends": (["--script", "3=garbage"], 3, 0, ["M0", "M1", "M2", "M2"]),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_ack_policy(case: str, ehr_factory: Any, outbox: Outbox) -> None:
    args, delivered, dead, seen = CASES[case]
    ehr = ehr_factory(*args)
    ids = ["M0", "M1", "M2"][: 1 if case.startswith("AR") and "then" not in case else 3]
    sender = await deliver_all(outbox, MllpPeer("127.0.0.1", ehr.port), ids)
    assert (sender.stats.delivered, sender.stats.dead_letters) == (delivered, dead)
    got = ehr.received()
    assert [d["control_id"] for d in got] == seen
    for d in got:  # every resend is the identical bytes
        assert d["raw"].encode() == message(d["control_id"])
    assert await outbox.apending("ehr") == []
    dead_rows = outbox.messages(state="dead")
    assert len(dead_rows) == dead
    if dead:
        assert dead_rows[0].dead_reason and dead_rows[0].dead_reason.startswith(("AE", "CE", "AR"))
        assert "ERR" in dead_rows[0].dead_reason


WINDOWED = [c for c in CASES if not c.startswith("AR") or "then" in c]


@pytest.mark.parametrize("case", WINDOWED)
async def test_ack_policy_with_messages_in_flight(
    case: str, ehr_factory: Any, outbox: Outbox
) -> None:
    """window > 1: the same outcomes; first sightings in order, resends identical."""
    args, _delivered, dead, _seen = CASES[case]
    ehr = ehr_factory(*args)
    ids = [f"M{i}" for i in range(7)]
    policy = dataclasses.replace(FAST, window=4)
    sender = await deliver_all(outbox, MllpPeer("127.0.0.1", ehr.port), ids, policy)
    assert (sender.stats.delivered, sender.stats.dead_letters) == (len(ids) - dead, dead)
    got = ehr.received()
    assert list(dict.fromkeys(d["control_id"] for d in got)) == ids  # nothing overtakes
    for d in got:
        assert d["raw"].encode() == message(d["control_id"])
    assert await outbox.apending("ehr") == []
    assert len(outbox.messages(state="dead")) == dead


async def test_a_window_keeps_several_messages_in_flight(ehr_factory: Any, outbox: Outbox) -> None:
    ehr = ehr_factory("--script", "1=noack")  # M0 is never answered: the rest already went
    ids = [f"M{i}" for i in range(6)]
    sender = await deliver_all(
        outbox, MllpPeer("127.0.0.1", ehr.port), ids, dataclasses.replace(FAST, window=4)
    )
    assert sender.stats.delivered == 6
    seen = [d["control_id"] for d in ehr.received()]
    assert seen[:5] == ["M0", "M1", "M2", "M3", "M0"]  # then M0 again, alone, first
    assert seen[5:] == ["M1", "M2", "M3", "M4", "M5"]  # the rest again, in order


def test_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="window"):
        DeliveryPolicy(window=0)


async def test_reconnects_when_the_receiver_comes_up_late(
    ehr_factory: Any, outbox: Outbox, tmp_path: Path
) -> None:
    first = ehr_factory()
    port = first.port
    first.stop()  # the port is free now: connection refused until it is back
    await outbox.aput("ehr", "hl7", "R0", message("R0"))
    sender = Sender(outbox, "ehr", MllpClient(MllpPeer("127.0.0.1", port)), FAST)
    task = asyncio.create_task(sender.run(), name="test.sender")
    try:
        async with asyncio.timeout(20):
            while sender.stats.resends < 2:
                await asyncio.sleep(0.05)
        assert "cannot connect" in (sender.stats.last_error or "")
        row = (await outbox.apending("ehr"))[0]
        assert row.attempts >= 1 and row.last_error
        ehr_factory("--port", str(port))
        async with asyncio.timeout(20):
            while await outbox.apending("ehr") or sender.stats.delivered < 1:
                await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_connection_refused_is_a_clear_error() -> None:
    client = MllpClient(MllpPeer("127.0.0.1", 1, connect_timeout=2))
    with pytest.raises(MllpConnectionError, match=r"cannot connect to mllp://127\.0\.0\.1:1"):
        await client.exchange(message("X"), "X", 1.0)


# --- TLS with a CA made here ---------------------------------------------------------


async def test_tls_with_server_verification_and_client_cert(
    pki: Path, ehr_factory: Any, outbox: Outbox
) -> None:
    ehr = ehr_factory("--tls-cert", str(pki / "server.pem"), "--tls-key", str(pki / "server.key"),
                      "--tls-client-ca", str(pki / "ca.pem"))  # fmt: skip
    ctx = client_ssl_context(pki / "ca.pem", pki / "client.pem", pki / "client.key")
    sender = await deliver_all(outbox, MllpPeer("127.0.0.1", ehr.port, ssl=ctx), ["T0", "T1"])
    assert sender.stats.delivered == 2
    assert [d["control_id"] for d in ehr.received()] == ["T0", "T1"]


async def test_tls_refuses_an_unknown_server(pki: Path, ehr_factory: Any) -> None:
    ehr = ehr_factory("--tls-cert", str(pki / "server.pem"), "--tls-key", str(pki / "server.key"))
    client = MllpClient(MllpPeer("127.0.0.1", ehr.port, ssl=client_ssl_context()))  # system CAs
    with pytest.raises(MllpConnectionError, match=r"TLS with mllps://127\.0\.0\.1"):
        await client.exchange(message("X"), "X", 2.0)
    await client.close()
