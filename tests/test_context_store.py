"""Context store lifetimes: timeout, replace, clear, discharge, transfer, restart."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from vitalsd.context.lifetime import FILE_NAME, ContextLifetime
from vitalsd.context.store import ContextChange, ContextStore
from vitalsd.model import Location, Patient, Sex

EXAM3 = Location("Clinic", "FM", "exam3", None)
EXAM3_CUFF = Location("Clinic", "FM", "exam3", None)
EXAM4 = Location("Clinic", "FM", "exam4", None)
ALICE = Patient(
    "MRN1",
    "HOSP",
    "Doe",
    "Alice",
    "V1",
    birth_date=date(1980, 2, 3),
    sex=Sex.FEMALE,
)
BOB = Patient("MRN2", "HOSP", "Roe", "Bob")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_timeout_ends_an_association() -> None:
    clock = Clock()
    store = ContextStore(clock=clock, default_timeout=timedelta(hours=4))
    changes: list[ContextChange] = []
    store.listen(changes.append)
    a = store.associate(ALICE, source="api", location=EXAM3)
    assert a.expires == clock.now + timedelta(hours=4)
    clock.now += timedelta(hours=3, minutes=59)
    assert store.current("exam3-cuff", EXAM3_CUFF) == a
    clock.now += timedelta(minutes=1)
    assert store.current("exam3-cuff", EXAM3_CUFF) is None
    assert [c.reason for c in changes] == ["associated", "expired"]


def test_per_request_expiry_wins_over_the_default() -> None:
    clock = Clock()
    store = ContextStore(clock=clock, default_timeout=timedelta(hours=4))
    a = store.associate(ALICE, source="api", location=EXAM3, expires_after=timedelta(minutes=20))
    assert a.expires == clock.now + timedelta(minutes=20)


def test_new_association_replaces_and_device_wins_over_room() -> None:
    store = ContextStore()
    changes: list[ContextChange] = []
    store.listen(changes.append)
    first = store.associate(ALICE, source="api", location=EXAM3)
    second = store.associate(BOB, source="barcode", location=EXAM3)
    assert [c.reason for c in changes] == ["associated", "replaced", "associated"]
    assert changes[1].before == first
    assert store.current("exam3-cuff", EXAM3_CUFF) == second
    dev = store.associate(ALICE, source="api", device_id="exam3-cuff", device_location=EXAM3)
    assert store.current("exam3-cuff", EXAM3_CUFF) == dev
    assert store.current("exam3-ox", EXAM3_CUFF) == second


def test_clear_discharge_and_transfer() -> None:
    store = ContextStore()
    store.associate(ALICE, source="api", location=EXAM3)
    store.associate(BOB, source="api", location=EXAM4)
    assert len(store.clear(location=EXAM4)) == 1
    assert store.current("exam4-cuff", EXAM4) is None
    # An A02 moves Alice: exam3 is free, exam4 is hers.
    moved = store.move_patient(ALICE, EXAM4, source="hl7_adt")
    assert store.current("exam3-cuff", EXAM3_CUFF) is None
    assert store.current("exam4-cuff", EXAM4) == moved
    # Discharge (A03) ends every association of the patient.
    ended = store.end_patient(Patient("MRN1", "HOSP"), reason="discharged")
    assert ended == (moved,)
    assert store.snapshot() == ()


def test_associations_survive_a_restart_and_expired_ones_do_not(tmp_path: Path) -> None:
    clock = Clock()
    store = ContextStore(clock=clock, default_timeout=timedelta(hours=4))
    life = ContextLifetime(store, tmp_path)
    kept = store.associate(ALICE, source="barcode", location=EXAM3, reference="scan-1")
    store.associate(BOB, source="api", location=EXAM4, expires_after=timedelta(minutes=5))
    saved = json.loads((tmp_path / FILE_NAME).read_text())
    assert len(saved["associations"]) == 2
    assert (tmp_path / FILE_NAME).stat().st_mode & 0o077 == 0  # patient data: owner only

    clock.now += timedelta(minutes=10)  # the daemon was down for 10 minutes
    again = ContextStore(clock=clock)
    assert ContextLifetime(again, tmp_path).load() == 1
    assert again.snapshot() == (kept,)
    assert json.loads((tmp_path / FILE_NAME).read_text())["associations"][0]["patient"] == {
        "id": "MRN1",
        "assigning_authority": "HOSP",
        "family_name": "Doe",
        "given_name": "Alice",
        "birth_date": "1980-02-03",
        "sex": "F",
        "visit_number": "V1",
    }
    del life


def test_a_damaged_file_starts_empty_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / FILE_NAME).write_text("{not json")
    assert ContextLifetime(ContextStore(), tmp_path).load() == 0
    assert "damaged" in caplog.text


async def test_expiry_task_ends_associations_without_a_reading(tmp_path: Path) -> None:
    store = ContextStore()
    life = ContextLifetime(store, tmp_path)
    ended = asyncio.Event()
    store.listen(lambda c: ended.set() if c.reason == "expired" else None)
    life.start()
    try:
        store.associate(ALICE, source="api", location=EXAM3, expires_after=timedelta(seconds=0.2))
        async with asyncio.timeout(10):
            await ended.wait()
        assert json.loads((tmp_path / FILE_NAME).read_text())["associations"] == []
    finally:
        await life.close()


def test_logs_carry_no_patient_data_above_debug(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = ContextStore()
    ContextLifetime(store, tmp_path)
    with caplog.at_level(logging.DEBUG):
        store.associate(ALICE, source="barcode", location=EXAM3)
        store.clear(location=EXAM3)
    above_debug = [r.getMessage() for r in caplog.records if r.levelno > logging.DEBUG]
    assert "exam3: patient associated by barcode" in above_debug
    assert "exam3: association ended (cleared)" in above_debug
    for text in above_debug:
        for secret in ("MRN1", "Doe", "Alice", "1980"):
            assert secret not in text
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert any("MRN1" in m for m in debug)
