"""Every ADT trigger from the EHR simulator over a real MLLP connection into a real store."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hl7apy.parser import parse_message
from pydantic import ValidationError

from hl7.adt.options import AdtOptions
from hl7.adt.source import AdtSource
from simulators.ehr_adt import AdtSender, Sent, build_message, main, parse_step
from vitalsd.context.source import SourceEnvironment
from vitalsd.context.store import ContextChange, ContextStore
from vitalsd.errors import ContextSourceError
from vitalsd.model import Location, Patient, Sex

ROOMS = (
    Location("HOSP", "FM", "EXAM1"),
    Location("HOSP", "FM", "EXAM2"),
    Location("HOSP", "FM", "EXAM3", "A"),
)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Rig:
    source: AdtSource
    store: ContextStore
    sender: AdtSender
    clock: Clock
    changes: list[ContextChange] = field(default_factory=list)

    async def send(self, step: str) -> Sent:
        return await self.sender.step(parse_step(step))

    def where(self) -> dict[str, str]:
        """room -> patient id, for every association now in force."""
        return {a.location.room or "": a.patient.id for a in self.store.snapshot()}

    def reasons(self) -> list[str]:
        return [c.reason for c in self.changes]


async def start_rig(tmp_path: Path, **options: Any) -> tuple[Rig, asyncio.Task[None]]:
    clock = Clock()
    store = ContextStore(clock=clock, default_timeout=timedelta(hours=4))  # [context] timeout
    env = SourceEnvironment(name="adt-in", state_dir=tmp_path, site_id="test", rooms=ROOMS)
    source = AdtSource(AdtOptions(bind="127.0.0.1", port=0, **options), env, store)
    task = asyncio.create_task(source.run(), name="test.adt-source")
    async with asyncio.timeout(10):
        await source.listening.wait()
    assert source.address is not None
    rig = Rig(source, store, AdtSender(*source.address), clock)
    store.listen(rig.changes.append)
    return rig, task


async def stop_rig(rig: Rig, task: asyncio.Task[None]) -> None:
    await rig.sender.close()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    r, task = await start_rig(tmp_path)
    yield r
    await stop_rig(r, task)


JANE = "id=MRN1 family=DOE given=JANE dob=19700101 sex=F visit=V77 facility=HOSP poc=FM"


def assert_valid_ack(sent: Sent, code: str) -> Any:
    assert sent.ack_code == code, sent.ack.decode()
    assert sent.ack_control_id == sent.control_id
    ack = parse_message(sent.ack.decode(), validation_level=1)  # hl7apy STRICT
    ack.validate()
    return ack


async def test_a01_associates_the_room_with_the_patient(rig: Rig) -> None:
    sent = await rig.send(f"A01 {JANE} room=EXAM1")
    ack = assert_valid_ack(sent, "AA")
    assert ack.msh.msh_9.to_er7() == "ACK^A01^ACK"
    assert ack.msh.msh_3.to_er7() == "VITALSD"
    assert ack.msh.msh_5.to_er7() == "EPIC_ADT"
    (assoc,) = rig.store.snapshot()
    assert assoc.patient == Patient(
        id="MRN1",
        assigning_authority="HOSP",
        family_name="DOE",
        given_name="JANE",
        visit_number="V77",
        birth_date=date(1970, 1, 1),
        sex=Sex.FEMALE,
    )
    assert assoc.location == Location("HOSP", "FM", "EXAM1")
    assert assoc.source == "adt-in"
    assert assoc.reference == sent.control_id
    assert assoc.expires == assoc.since + timedelta(hours=4)
    device_there = Location("HOSP", "FM", "EXAM1")
    assert rig.store.current("exam1-cuff", device_there) == assoc
    await rig.send(f"A04 {JANE} room=WARD9")  # for another room: /status keeps the A01
    health = rig.source.health()
    assert health.listening
    assert health.last_event_summary == "A01 associated a patient with FM/EXAM1"
    assert "MRN1" not in (health.last_event_summary or "")


async def test_messages_for_other_rooms_are_acknowledged_and_ignored(rig: Rig) -> None:
    assert_valid_ack(await rig.send(f"A01 {JANE} room=WARD9"), "AA")
    assert_valid_ack(await rig.send("A04 id=MRN2 facility=ELSEWHERE poc=FM room=EXAM1"), "AA")
    assert_valid_ack(await rig.send("A01 id=MRN3"), "AA")  # no PV1-3 at all
    # Devices configured for bed A of EXAM3 are not in bed B (store.covers) ...
    assert_valid_ack(await rig.send("A01 id=MRN4 facility=HOSP poc=FM room=EXAM3 bed=B"), "AA")
    assert rig.where() == {}
    # ... but a whole-room admit covers them.
    assert_valid_ack(await rig.send("A01 id=MRN4 facility=HOSP poc=FM room=EXAM3"), "AA")
    assert rig.where() == {"EXAM3": "MRN4"}


async def test_a04_then_a02_moves_and_a03_ends(rig: Rig) -> None:
    assert_valid_ack(await rig.send(f"A04 {JANE} room=EXAM1"), "AA")
    assert rig.where() == {"EXAM1": "MRN1"}
    assert_valid_ack(await rig.send(f"A02 {JANE} room=EXAM2 prior_room=EXAM1"), "AA")
    assert rig.where() == {"EXAM2": "MRN1"}
    assert rig.store.current("c1", Location("HOSP", "FM", "EXAM1")) is None
    assert_valid_ack(await rig.send("A03 id=MRN1 facility=HOSP poc=FM room=EXAM2"), "AA")
    assert rig.where() == {}
    assert rig.reasons() == ["associated", "transferred", "associated", "discharged"]
    assert rig.source.health().last_event_summary == (
        "A03 ended the association in FM/EXAM2 (discharged)"
    )


async def test_a02_out_of_our_rooms_ends_the_association(rig: Rig) -> None:
    await rig.send(f"A01 {JANE} room=EXAM1")
    assert_valid_ack(await rig.send(f"A02 {JANE} room=RADIOLOGY prior_room=EXAM1"), "AA")
    assert rig.where() == {}
    assert rig.reasons()[-1] == "transferred"


async def test_discharge_of_an_unknown_patient_is_fine(rig: Rig) -> None:
    assert_valid_ack(await rig.send("A03 id=NOBODY"), "AA")
    assert rig.changes == []


async def test_a08_updates_only_associated_patients(rig: Rig) -> None:
    assert_valid_ack(await rig.send("A08 id=MRN9 family=ELSE"), "AA")
    await rig.send(f"A01 {JANE} room=EXAM1")
    since = rig.store.snapshot()[0].since
    assert_valid_ack(await rig.send("A08 id=MRN1 family=DOE-SMITH given=JANE sex=F"), "AA")
    (assoc,) = rig.store.snapshot()
    assert (assoc.patient.family_name, assoc.since) == ("DOE-SMITH", since)
    assert rig.reasons() == ["associated", "updated"]


async def test_a11_cancels_and_a13_reassociates(rig: Rig) -> None:
    await rig.send(f"A01 {JANE} room=EXAM1")
    assert_valid_ack(await rig.send("A11 id=MRN1"), "AA")
    assert rig.where() == {}
    assert rig.reasons()[-1] == "cancelled"
    await rig.send(f"A03 {JANE} room=EXAM2")
    assert_valid_ack(await rig.send(f"A13 {JANE} room=EXAM2"), "AA")
    assert rig.where() == {"EXAM2": "MRN1"}


async def test_a12_returns_the_patient(rig: Rig) -> None:
    await rig.send(f"A01 {JANE} room=EXAM1")
    await rig.send(f"A02 {JANE} room=EXAM2 prior_room=EXAM1")
    # A12: PV1-3 is where the patient goes back to, PV1-6 the cancelled location.
    assert_valid_ack(await rig.send(f"A12 {JANE} room=EXAM1 prior_room=EXAM2"), "AA")
    assert rig.where() == {"EXAM1": "MRN1"}


async def test_a40_merge_moves_associations_to_the_survivor(rig: Rig) -> None:
    await rig.send("A01 id=TEMP1 family=UNKNOWN facility=HOSP poc=FM room=EXAM1")
    since = rig.store.snapshot()[0].since
    assert_valid_ack(await rig.send("A40 id=MRN1 family=DOE given=JANE merge_id=TEMP1"), "AA")
    (assoc,) = rig.store.snapshot()
    assert (assoc.patient.id, assoc.patient.family_name) == ("MRN1", "DOE")
    assert (assoc.location.room, assoc.since) == ("EXAM1", since)


async def test_timeout_ends_an_admission_without_discharge(rig: Rig) -> None:
    await rig.send(f"A01 {JANE} room=EXAM1")
    rig.clock.now += timedelta(hours=4, seconds=1)
    assert rig.store.current("c1", Location("HOSP", "FM", "EXAM1")) is None
    assert rig.reasons() == ["associated", "expired"]


async def test_a_resend_is_acknowledged_but_not_applied_twice(rig: Rig) -> None:
    first = await rig.send(f"A01 {JANE} room=EXAM1")
    again = await rig.send("dup")
    assert_valid_ack(again, "AA")
    assert again.control_id == first.control_id
    assert rig.reasons() == ["associated"]  # once
    # The same control id with other content (a sender bug) is applied.
    other = build_message(parse_step(f"A02 {JANE} room=EXAM2"), first.control_id)
    assert (await rig.sender.send(other)).ack_code == "AA"
    assert rig.where() == {"EXAM2": "MRN1"}


@pytest.mark.parametrize(
    ("step", "err"),
    [
        ("A01 facility=HOSP poc=FM room=EXAM1 family=DOE", "ERR||PID^1^3|101^Required field missing^HL70357|E"),
        ("A01 id=M1 sex=X facility=HOSP poc=FM room=EXAM1", "ERR||PID^1^8|103^Table value not found^HL70357|E"),
        ("A01 id=M1 dob=1970-01-01 facility=HOSP poc=FM room=EXAM1", "ERR||PID^1^7|102^Data type error^HL70357|E"),
    ],
)  # fmt: skip
async def test_our_room_but_not_applicable_is_ae(rig: Rig, step: str, err: str) -> None:
    sent = await rig.send(step)
    assert_valid_ack(sent, "AE")
    assert err in sent.ack.decode()
    assert rig.changes == []
    assert (rig.source.health().last_error or "").startswith(f"AE for MSH-10 {sent.control_id}")


@pytest.mark.parametrize(
    ("step", "err"),
    [
        (f"A01 {JANE} room=EXAM1 processing=T", "202^Unsupported processing id"),
        (f"A01 {JANE} room=EXAM1 version=3.0", "203^Unsupported version id"),
    ],
)
async def test_header_problems_are_ar(rig: Rig, step: str, err: str) -> None:
    sent = await rig.send(step)
    assert sent.ack_code == "AR"
    assert err in sent.ack.decode()
    assert rig.changes == []


async def test_other_message_types_and_garbage_are_ar(rig: Rig) -> None:
    oru = b"MSH|^~\\&|LAB|HOSP|VITALSD|CLINIC|20250101||ORU^R01^ORU_R01|L1|P|2.5.1\rPID|1||X\r"
    sent = await rig.sender.send(oru)
    assert_valid_ack(sent, "AR")
    assert "200^Unsupported message type" in sent.ack.decode()
    ack = await rig.sender.send_raw(b"\x0b\x00\xff not HL7 at all\x1c\r")
    assert b"ACK|" in ack
    assert b"\rMSA|AR||the message does not start with an MSH segment\r" in ack
    assert b"100^Segment sequence error" in ack
    # The connection survives both, and the next message is applied.
    assert_valid_ack(await rig.send(f"A01 {JANE} room=EXAM1"), "AA")


async def test_junk_between_frames_and_a_torn_frame(rig: Rig) -> None:
    torn = b"\x0b" + build_message(parse_step(f"A01 {JANE} room=EXAM2"), "TORN")[:40]
    await rig.sender.send_raw(b"\r\n\r\n" + torn, timeout=0.2)  # no answer to half a message
    await rig.sender.close()  # the peer drops mid-frame
    assert_valid_ack(await rig.send(f"A01 {JANE} room=EXAM1"), "AA")
    assert rig.where() == {"EXAM1": "MRN1"}


async def test_enhanced_mode_gets_an_accept_ack(rig: Rig) -> None:
    sent = await rig.send(f"A01 {JANE} room=EXAM1 accept_ack=AL app_ack=NE")
    assert_valid_ack(sent, "CA")
    bad = await rig.send("A01 id=M1 sex=X facility=HOSP poc=FM room=EXAM2 accept_ack=AL")
    assert bad.ack_code == "CE"


async def test_allowed_facilities_and_identifier_authority(tmp_path: Path) -> None:
    rig, task = await start_rig(
        tmp_path, allowed_facilities=("HOSP",), identifier_authority="HOSP", timeout="12h"
    )
    try:
        sent = await rig.send(f"A01 {JANE} room=EXAM1 facility_from=OTHER")
        assert sent.ack_code == "AR"
        assert "sending facility 'OTHER' is not in allowed_facilities" in sent.ack.decode()
        sent = await rig.send("A01 id=M7 authority=SSA facility=HOSP poc=FM room=EXAM1")
        assert_valid_ack(sent, "AE")
        assert "204^Unknown key identifier" in sent.ack.decode()
        assert_valid_ack(await rig.send(f"A01 {JANE} room=EXAM1"), "AA")
        (assoc,) = rig.store.snapshot()
        assert assoc.expires == assoc.since + timedelta(hours=12)  # the source's own timeout
    finally:
        await stop_rig(rig, task)


def test_options_are_checked() -> None:
    with pytest.raises(ValidationError, match="bind"):
        AdtOptions.model_validate({"port": 2575})
    with pytest.raises(ValidationError, match="tls_key is set but tls_cert is not"):
        AdtOptions.model_validate({"bind": "127.0.0.1", "tls_key": "/k.pem"})
    with pytest.raises(ValidationError, match="not a duration"):
        AdtOptions.model_validate({"bind": "127.0.0.1", "timeout": "soon"})
    o = AdtOptions.model_validate(
        {"bind": "0.0.0.0", "timeout": "1h30m", "siu_window_before": "15m"}
    )
    assert (o.timeout, o.siu_window_before, o.port) == (5400.0, 900.0, 2575)
    with pytest.raises(ValidationError, match="extra"):
        AdtOptions.model_validate({"bind": "127.0.0.1", "prot": 1})


async def test_listen_failure_is_a_clear_error(tmp_path: Path, rig: Rig) -> None:
    assert rig.source.address is not None
    env = SourceEnvironment(name="adt-2", state_dir=tmp_path, site_id="t", rooms=ROOMS)
    clash = AdtSource(AdtOptions(bind="127.0.0.1", port=rig.source.address[1]), env, rig.store)
    with pytest.raises(ContextSourceError, match=r"adt-2: cannot listen on 127\.0\.0\.1:"):
        await clash.run()


async def test_simulator_command_line(rig: Rig, tmp_path: Path) -> None:
    assert rig.source.address is not None
    record = tmp_path / "acks.jsonl"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "simulators.cli", "ehr-adt", "--port", str(rig.source.address[1]),
        "--record", str(record), "--send", f"A01 {JANE} room=EXAM1", "--send", "dup",
        "--send", "A03 id=MRN1",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    codes = [line.split('"ack_code": "')[1][:2] for line in out.decode().splitlines()]
    assert codes == ["AA", "AA", "AA"]
    assert len(record.read_text().splitlines()) == 3
    assert rig.reasons() == ["associated", "discharged"]


def test_simulator_rejects_a_bad_step() -> None:
    assert main(["--send", "A99 id=1"]) == 2
    with pytest.raises(ValueError, match="want key=value"):
        parse_step("A01 id")


async def test_latin1_names_declared_or_not(rig: Rig) -> None:
    base = build_message(parse_step(f"A01 {JANE} room=EXAM1"), "L1").decode()
    declared = base.replace(
        "|ADT^A01^ADT_A01|L1|P|2.5.1", "|ADT^A01^ADT_A01|L1|P|2.5.1||||||8859/1"
    )
    sent = await rig.sender.send(declared.replace("DOE^JANE", "MÜLLER^JANE").encode("latin-1"))
    assert sent.ack_code == "AA"
    assert rig.store.snapshot()[0].patient.family_name == "MÜLLER"
    undeclared = base.replace("|L1|", "|L2|").replace("DOE^JANE", "GRÜN^JANE")
    assert (await rig.sender.send(undeclared.encode("latin-1"))).ack_code == "AA"
    assert rig.store.snapshot()[0].patient.family_name == "GRÜN"
