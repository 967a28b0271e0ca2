"""Held readings as outbox rows: every field comes back exactly, and a bad row is kept."""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from hl7.held import HeldDecodeError, decode_observation, encode_observation
from hl7.options import Hl7Options
from hl7.output import Hl7Output
from hl7.sample import KINDS, sample_report
from vitalsd.model import (
    Association,
    AssociationScope,
    Flag,
    Location,
    Patient,
    Sex,
    Unit,
)
from vitalsd.outbox import Outbox
from vitalsd.output import OutputEnvironment


@pytest.mark.parametrize("kind", KINDS)
def test_every_sample_reading_comes_back_exactly(kind: str) -> None:
    for obs in sample_report(kind).observations:
        assert decode_observation(encode_observation(obs)) == obs


def test_every_field_comes_back_exactly() -> None:
    obs = sample_report("temp").observations[0]
    patient = Patient("M1", "HOSP", "Doe", "Ann", "V9", date(1988, 2, 29), Sex.UNKNOWN)
    since = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    association = Association(
        patient, AssociationScope.DEVICE, Location(room="R1", bed="B"), "exam03-temp",
        "barcode", since, since + timedelta(hours=4), "scan-1",
    )  # fmt: skip
    full = dataclasses.replace(
        obs,
        value=Decimal("98.60"),
        unit=Unit.DEGF,
        context=dataclasses.replace(obs.context, patient=patient, association=association),
        flags=frozenset({Flag.IMPLAUSIBLE, Flag.STORED, Flag.CLOCK_SKEW}),
        stored=True,
        sequence=7,
        source_value=Decimal("37.00"),
        source_unit=Unit.CEL,
    )
    back = decode_observation(encode_observation(full))
    assert back == full
    assert str(back.value) == "98.60"  # the digits the device sent, trailing zero kept


@pytest.mark.parametrize("data", [b"", b"[]", b'{"v": 99}', b'{"v": 1, "id": "x"}'])
def test_unreadable_rows_are_a_clear_error(data: bytes) -> None:
    with pytest.raises(HeldDecodeError):
        decode_observation(data)


async def test_an_unreadable_held_row_is_left_in_place_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    box = await Outbox.aopen(tmp_path / "state")
    good = sample_report("spo2").observations[0]
    await box.acommit("ehr", [], hold=[b"damaged", encode_observation(good)])
    await box.aclose()
    out = Hl7Output(
        Hl7Options(host="127.0.0.1", port=1, oximeter_summary_interval=3600),
        OutputEnvironment("ehr", tmp_path / "state", "site"),
    )
    with caplog.at_level(logging.ERROR):
        await out.start()
    try:
        assert "left in place" in caplog.text
        assert [o.id for o in out.batcher.held()] == [good.id]  # the readable one is back
    finally:
        await out.close()
    box = Outbox.open(tmp_path / "state")
    assert [p for _, p in box.held("ehr")] == [b"damaged"]  # kept for an operator
    assert len(box.pending("ehr")) == 1  # the good one went out as its summary on close
    box.close()
