"""Scan-and-confirm: the state machine alone, then the source acting on a real store."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from vitalsd.context.barcode import BarcodeOptions, BarcodeSource
from vitalsd.context.barcode_confirm import Confirmation
from vitalsd.context.source import SourceEnvironment
from vitalsd.context.store import ContextChange, ContextStore
from vitalsd.errors import ContextRejected
from vitalsd.model import AssociationScope, Location, Patient

EXAM3 = Location(facility="Clinic", point_of_care="FM", room="exam3")
EXAM4 = Location(facility="Clinic", point_of_care="FM", room="exam4", bed="A")
ROOMS = (EXAM3, EXAM4)
JANE = Patient(id="12345")
JOHN = Patient(id="67890")


def _machine() -> Confirmation:
    return Confirmation("room_label", within=30, rooms=ROOMS, scanner_location=EXAM3)


def test_confirm_none_associates_at_once_with_the_scanners_room() -> None:
    m = Confirmation("none", within=30, rooms=ROOMS, scanner_location=EXAM3)
    d = m.patient_scanned(JANE, "s1", now=0)
    assert (d.action, d.patient, d.location) == ("associate", JANE, EXAM3)


def test_room_label_within_time_associates_with_the_labelled_room() -> None:
    m = _machine()
    assert m.patient_scanned(JANE, "s1", now=0).action == "wait"
    d = m.room_scanned("EXAM4", now=29)
    # The room (not the bed) the label names, as configured.
    assert (d.action, d.patient, d.scan_id) == ("associate", JANE, "s1")
    assert d.location == Location(facility="Clinic", point_of_care="FM", room="exam4")
    assert m.pending is None


def test_a_second_patient_scan_replaces_the_waiting_one() -> None:
    m = _machine()
    m.patient_scanned(JANE, "s1", now=0)
    d = m.patient_scanned(JOHN, "s2", now=5)
    assert d.action == "wait" and "replaced" in d.note
    assert m.room_scanned("exam3", now=6).patient == JOHN


def test_a_late_room_label_associates_nobody() -> None:
    m = _machine()
    m.patient_scanned(JANE, "s1", now=0)
    d = m.room_scanned("exam3", now=30)
    assert d.action == "ignore" and "no patient scan waiting" in d.note


def test_an_unknown_room_keeps_the_patient_waiting() -> None:
    m = _machine()
    m.patient_scanned(JANE, "s1", now=0)
    d = m.room_scanned("exam9", now=1)
    assert d.action == "ignore" and "'exam9', not a configured room (exam3, exam4)" in d.note
    assert m.room_scanned("exam3", now=2).patient == JANE


def test_a_room_label_alone_does_nothing() -> None:
    assert _machine().room_scanned("exam3", now=0).action == "ignore"


# --- the source, on a real store --------------------------------------------------------


def _source(tmp_path: Path, **options: object) -> tuple[BarcodeSource, ContextStore]:
    store = ContextStore()
    opts = BarcodeOptions.model_validate(
        {"port": "/dev/null", "room": "exam3", "pattern": r"MRN(?P<id>\d+)", **options}
    )
    env = SourceEnvironment(name="exam3-scanner", state_dir=tmp_path, site_id="t", rooms=ROOMS)
    return BarcodeSource(opts, env, store), store


async def test_scan_associates_the_room_and_health_says_so_without_patient_data(
    tmp_path: Path,
) -> None:
    source, store = _source(tmp_path, assigning_authority="HOSP", expires_after=600)
    source.handle_scan("]C1MRN12345")
    assoc = store.current("exam3-cuff", EXAM3)
    assert assoc is not None
    assert assoc.patient == Patient(id="12345", assigning_authority="HOSP")
    assert assoc.source == "barcode" and assoc.scope is AssociationScope.ROOM
    assert assoc.expires is not None and (assoc.expires - assoc.since).total_seconds() == 600
    health = source.health()
    assert health.last_event_summary == "associated exam3"
    assert health.last_event is not None
    assert "12345" not in repr(health)


async def test_device_scope_associates_only_that_device(tmp_path: Path) -> None:
    source, store = _source(tmp_path, scope="device", device="exam3-cuff")
    source.handle_scan("MRN12345")
    assoc = store.current("exam3-cuff", EXAM3)
    assert assoc is not None and assoc.scope is AssociationScope.DEVICE
    assert store.current("exam3-oximeter", EXAM3) is None


async def test_rejected_scans_warn_without_the_scan_text(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source, store = _source(tmp_path)
    with caplog.at_level(logging.DEBUG):
        source.handle_scan("PATIENT DOE JANE 12345")
        source.handle_scan("MRN\x00\x13\ufffd45")
        source.handle_scan("ROOM:EXAM3")
    assert store.snapshot() == ()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [("rejected: no match" in r.getMessage()) for r in warnings] == [True, False, False]
    assert "unreadable" in warnings[1].getMessage()
    assert 'a room label, but this scanner has confirm = "none"' in warnings[2].getMessage()
    above_debug = " ".join(r.getMessage() for r in caplog.records if r.levelno > logging.DEBUG)
    assert "DOE" not in above_debug and "12345" not in above_debug
    assert str(source.health().last_event_summary).startswith("rejected: a room label")


async def test_room_label_confirmation_through_the_source(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source, store = _source(tmp_path, confirm="room_label", room=None, confirm_within=30)
    changes: list[ContextChange] = []
    store.listen(changes.append)
    source.handle_scan("MRN12345")
    assert store.snapshot() == ()
    assert str(source.health().last_event_summary).startswith("waiting for a room label")
    source.handle_scan("ROOM:EXAM3")
    assoc = store.current("exam3-cuff", EXAM3)
    assert assoc is not None and assoc.patient.id == "12345"
    assert [c.reason for c in changes] == ["associated"]
    assert source.health().last_event_summary == "associated exam3"
    assert source._timer is None  # the timeout was disarmed


async def test_a_waiting_patient_scan_is_dropped_when_time_runs_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source, store = _source(tmp_path, confirm="room_label", room=None, confirm_within=0.05)
    source.handle_scan("MRN12345")
    while source.health().last_event_summary != "dropped: no room label in time":
        await asyncio.sleep(0.01)
    assert "no room label within 0.05 s" in caplog.text
    source.handle_scan("ROOM:EXAM3")
    assert store.snapshot() == ()
    assert "no patient scan waiting" in str(source.health().last_event_summary)


def test_a_scanner_room_that_no_device_is_in_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ContextRejected, match=r"room 'exam9' is not a room any device .* exam3"):
        _source(tmp_path, room="exam9")
