"""The mqtt output takes a bus batch in one outbox transaction, and a retried batch whole."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from hl7.sample import sample_report
from vitalsd.outbox import OutboxFull
from vitalsd.output import OutputEnvironment
from vitalsd.outputs.mqtt import KIND_OBSERVATION, MqttOptions, MqttOutput

BP = sample_report("bp").observations  # systolic, diastolic, mean, pulse of one group


def make_output(tmp_path: Path, **opts: object) -> MqttOutput:
    # Nobody listens on port 1: every message stays in the outbox, where the test reads it.
    options = MqttOptions.model_validate(
        {"host": "127.0.0.1", "port": 1, "retry_initial": 0.5, "retry_max": 1, **opts}
    )
    return MqttOutput(options, OutputEnvironment("mqtt", tmp_path / "state", "site1"))


async def test_a_batch_is_one_transaction(tmp_path: Path) -> None:
    out = make_output(tmp_path)
    await out.start()
    try:
        assert out.outbox is not None
        readings = [dataclasses.replace(BP[0], id=f"r{i}") for i in range(20)]
        before = out.outbox.group_commits
        await out.handle_many(readings)
        after = out.outbox.group_commits
        assert (after[0] - before[0], after[1] - before[1]) == (1, 1)  # one commit, one write
        queued = out.outbox.pending("mqtt", limit=100)
        assert [m.control_id for m in queued] == [f"r{i}" for i in range(20)]  # in order
    finally:
        await out.close()


async def test_a_refused_batch_retried_keeps_the_fhir_bp_panel(tmp_path: Path) -> None:
    out = make_output(tmp_path, payload_format="fhir", outbox_max_messages=2)
    await out.start()
    try:
        assert out.outbox is not None
        systolic, diastolic = BP[0], BP[1]
        await out.handle_many([systolic])  # half a BP panel, waiting for its other half
        with pytest.raises(OutboxFull):
            await out.handle_many([diastolic])  # itself + the panel: 1 + 2 > 2, none taken
        out.outbox.drop(out.outbox.pending("mqtt")[0].id)  # an operator makes room
        await out.handle_many([diastolic])  # the bus retries the same batch
        queued = out.outbox.pending("mqtt")
        assert [m.kind for m in queued] == [KIND_OBSERVATION] * 2
        assert queued[0].control_id == diastolic.id
        assert queued[1].control_id not in (systolic.id, diastolic.id)  # the panel
    finally:
        await out.close()
