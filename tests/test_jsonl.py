"""The jsonl output: whole lines, and a full disk is an error the bus retries, not a loss."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from vitalsd.errors import OutputUnavailable
from vitalsd.model import DeviceIdentity, DeviceKind, Location, Measurement, Metric, Unit
from vitalsd.normalize import DeviceProfile, Normalizer
from vitalsd.output import OutputEnvironment
from vitalsd.outputs.jsonl import JsonlOptions, JsonlOutput

ENV = OutputEnvironment(name="log", state_dir=Path("/nonexistent"), site_id="test")


def observation(value: str = "98"):  # type: ignore[no-untyped-def]
    profile = DeviceProfile(
        "exam1-ox", "masimo_ascii1", DeviceKind.PULSE_OXIMETER, Location(room="exam1"), UTC
    )
    m = Measurement(Metric.SPO2, Decimal(value), Unit.PERCENT)
    return Normalizer().normalize(profile, DeviceIdentity(make="Masimo"), m, datetime.now(UTC))


async def test_writes_one_document_per_line(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "obs.jsonl"
    out = JsonlOutput(JsonlOptions(path=str(path)), ENV)
    await out.start()
    await out.handle(observation("98"))
    await out.handle(observation("97"))
    await out.close()
    docs = [json.loads(line) for line in path.read_text().splitlines()]
    assert [d["value"] for d in docs] == [98, 97]
    assert docs[0]["code"] == {
        "mdc": 150456,
        "mdc_refid": "MDC_PULS_OXIM_SAT_O2",
        "loinc": "59408-5",
    }
    assert docs[0]["unit"] == "%" and docs[0]["location"] == {"room": "exam1"}
    assert docs[0]["identity"] == {"make": "Masimo"}


async def test_full_disk_is_unavailable_with_a_clear_message() -> None:
    # /dev/full answers every write with ENOSPC, exactly like a full file system.
    out = JsonlOutput(JsonlOptions(path="/dev/full"), ENV)
    await out.start()
    with pytest.raises(OutputUnavailable, match="cannot write /dev/full: No space left on device"):
        await out.handle(observation())
    await out.close()


async def test_unwritable_location_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    out = JsonlOutput(JsonlOptions(path=str(blocker / "obs.jsonl")), ENV)
    with pytest.raises(OutputUnavailable, match="cannot open"):
        await out.start()
