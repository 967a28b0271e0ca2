"""Context in the MQTT payload: location always, association source/since, the reason a
reading went out unassociated; patient ids only with include_patient, names never."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from vitalsd.context.store import ContextStore
from vitalsd.model import (
    DeviceIdentity,
    DeviceKind,
    Location,
    Measurement,
    Metric,
    Patient,
    Unit,
)
from vitalsd.mqtt.payload import PAYLOAD_ADAPTER, encode, observation_payload
from vitalsd.normalize import DeviceProfile, Normalizer

ROOM = Location("Clinic", "FM", "exam3", "1")
CUFF = DeviceProfile("exam3-cuff", "test", DeviceKind.BLOOD_PRESSURE, ROOM, UTC)
SINCE = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
NOW = SINCE + timedelta(minutes=1)


def _normalizer() -> Normalizer:
    store = ContextStore(clock=lambda: NOW)
    store.associate(
        Patient("MRN1", "HOSP", "Doe", "Alice", "V1"), source="barcode", location=ROOM, since=SINCE
    )
    return Normalizer(context=store.current)


def test_attributed_reading_carries_association_and_optionally_ids() -> None:
    m = Measurement(
        Metric.BP_SYSTOLIC, Decimal("120"), Unit.MMHG, device_time=NOW.replace(tzinfo=None)
    )
    obs = _normalizer().normalize(CUFF, DeviceIdentity(), m, NOW)
    assert obs is not None
    without = observation_payload(obs, "s", include_patient=False)
    assert without.context.associated and without.context.patient is None
    assert without.context.association is not None
    assert (without.context.association.source, without.context.association.since) == (
        "barcode",
        SINCE,
    )
    assert without.context.location.bed == "1"
    with_ids = observation_payload(obs, "s", include_patient=True)
    assert with_ids.context.patient is not None and with_ids.context.patient.id == "MRN1"
    raw = encode(with_ids)
    assert b"Doe" not in raw and b"Alice" not in raw
    PAYLOAD_ADAPTER.validate_json(raw)


def test_stale_reading_says_why_it_has_no_patient() -> None:
    m = Measurement(
        Metric.BP_SYSTOLIC,
        Decimal("120"),
        Unit.MMHG,
        device_time=(SINCE - timedelta(hours=1)).replace(tzinfo=None),
        stored=True,
    )
    obs = _normalizer().normalize(CUFF, DeviceIdentity(), m, NOW)
    assert obs is not None
    doc = observation_payload(obs, "s", include_patient=True)
    assert not doc.context.associated and doc.context.patient is None
    assert doc.context.association is None
    assert doc.context.unassociated_reason == "reading taken before the association began"
