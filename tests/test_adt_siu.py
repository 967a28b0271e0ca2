"""SIU appointments placing patients in rooms, over MLLP from the EHR simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hl7.adt.demographics import parse_ts
from hl7.adt.er7 import parse_er7
from simulators.ehr_adt import build_message, parse_step
from tests.test_adt_source import Rig, assert_valid_ack, start_rig, stop_rig

PAT = "id=MRN5 family=ROE given=RICHARD dob=19650505 sex=M facility=HOSP poc=FM"


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    r, task = await start_rig(tmp_path)
    yield r
    await stop_rig(r, task)


def test_the_simulator_writes_the_start_where_the_standard_puts_it() -> None:
    now = datetime(2025, 3, 14, 10, 0, tzinfo=UTC)
    msg = parse_er7(
        build_message(parse_step(f"S12 {PAT} room=EXAM1 start=now+15m"), "S1", now).decode()
    )
    assert [s.name for s in msg.segments] == ["MSH", "SCH", "PID", "RGS", "AIL"]
    assert msg.get("MSH", 9, 3) == "SIU_S12"
    assert parse_ts(msg.get("SCH", 11, 4)) == datetime(2025, 3, 14, 10, 15, tzinfo=UTC)
    assert msg.get("AIL", 3, 2) == "EXAM1"
    assert parse_ts(msg.get("AIL", 6)) == datetime(2025, 3, 14, 10, 15, tzinfo=UTC)
    assert msg.get("SCH", 25) == "Booked"


async def test_s12_starting_now_associates(rig: Rig) -> None:
    sent = await rig.send(f"S12 {PAT} room=EXAM2 start=now+10m")
    ack = assert_valid_ack(sent, "AA")
    assert ack.msh.msh_9.to_er7() == "ACK^S12^ACK"
    assert rig.where() == {"EXAM2": "MRN5"}
    assert rig.source.health().last_event_summary == "S12 associated a patient with FM/EXAM2"


async def test_appointments_at_another_time_are_ignored(rig: Rig) -> None:
    assert_valid_ack(await rig.send(f"S12 {PAT} room=EXAM1 start=now+24h"), "AA")
    assert_valid_ack(await rig.send(f"S12 {PAT} room=EXAM1 start=now-3h"), "AA")
    assert_valid_ack(await rig.send(f"S12 {PAT} room=WARD9 start=now"), "AA")
    assert rig.changes == []


async def test_s14_modification_moves_and_s15_cancels(rig: Rig) -> None:
    await rig.send(f"S12 {PAT} room=EXAM1 start=now")
    assert_valid_ack(await rig.send(f"S14 {PAT} room=EXAM2 start=now-20m"), "AA")
    assert rig.where() == {"EXAM2": "MRN5"}
    assert_valid_ack(await rig.send(f"S15 {PAT} room=EXAM2 status=Cancelled"), "AA")
    assert rig.where() == {}
    assert rig.reasons() == ["associated", "transferred", "associated", "cancelled"]


async def test_a_cancelled_status_in_s14_ends_it(rig: Rig) -> None:
    await rig.send(f"S12 {PAT} room=EXAM1 start=now")
    assert_valid_ack(await rig.send(f"S14 {PAT} room=EXAM1 start=now status=Cancelled"), "AA")
    assert rig.where() == {}


async def test_s12_for_our_room_without_a_patient_is_ae(rig: Rig) -> None:
    sent = await rig.send("S12 facility=HOSP poc=FM room=EXAM1 start=now")
    assert_valid_ack(sent, "AE")
    assert "100^Segment sequence error" in sent.ack.decode()
    assert rig.changes == []
