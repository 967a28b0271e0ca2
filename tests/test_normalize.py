"""Normalization: codes, canonical units, flags instead of silent changes, de-duplication."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from vitalsd.model import (
    DeviceIdentity,
    DeviceKind,
    Flag,
    Location,
    Measurement,
    Metric,
    Unit,
)
from vitalsd.normalize import DeviceProfile, NormalizationError, Normalizer

CHICAGO = ZoneInfo("America/Chicago")
PROFILE = DeviceProfile(
    device_id="exam3-thermometer",
    driver="test",
    kind=DeviceKind.THERMOMETER,
    location=Location(facility="Riverside", point_of_care="FM", room="exam3"),
    timezone=CHICAGO,
)
IDENTITY = DeviceIdentity(make="Acme", serial="42")
NOW = datetime(2026, 11, 27, 15, 0, 0, tzinfo=UTC)


def test_fahrenheit_reading_becomes_coded_celsius_with_the_original_kept() -> None:
    m = Measurement(
        Metric.TEMP_ORAL, Decimal("98.6"), Unit.DEGF, device_time=datetime(2026, 11, 27, 9, 0)
    )
    obs = Normalizer().normalize(PROFILE, IDENTITY, m, NOW)
    assert obs is not None
    assert (obs.value, obs.unit) == (Decimal("37.00"), Unit.CEL)
    assert (obs.mdc_code, obs.mdc_refid, obs.loinc) == (188424, "MDC_TEMP_ORAL", "8331-1")
    assert (obs.mdc_unit_code, obs.mdc_unit_refid) == (268192, "MDC_DIM_DEGC")
    assert (obs.source_value, obs.source_unit) == (Decimal("98.6"), Unit.DEGF)
    # 09:00 in Chicago in November (CST, UTC-6) is 15:00 UTC: no skew
    assert obs.device_time == datetime(2026, 11, 27, 9, 0, tzinfo=CHICAGO)
    assert obs.flags == frozenset()
    assert obs.context.location.room == "exam3"
    assert obs.identity == IDENTITY


def test_unconverted_reading_has_no_source_fields() -> None:
    m = Measurement(Metric.TEMP_BODY, Decimal("36.6"), Unit.CEL)
    obs = Normalizer().normalize(PROFILE, IDENTITY, m, NOW)
    assert obs is not None
    assert obs.value == Decimal("36.6")
    assert obs.source_value is None and obs.source_unit is None
    assert obs.device_time is None
    assert obs.time == NOW


@pytest.mark.parametrize("value", ["24.9", "45.1", "0", "99.9"])
def test_implausible_is_flagged_never_changed_or_dropped(value: str) -> None:
    m = Measurement(Metric.TEMP_BODY, Decimal(value), Unit.CEL)
    obs = Normalizer().normalize(PROFILE, IDENTITY, m, NOW)
    assert obs is not None
    assert obs.value == Decimal(value)
    assert Flag.IMPLAUSIBLE in obs.flags


def test_plausible_edges_are_not_flagged() -> None:
    for value in ("25", "45"):
        m = Measurement(Metric.TEMP_BODY, Decimal(value), Unit.CEL)
        obs = Normalizer().normalize(PROFILE, IDENTITY, m, NOW)
        assert obs is not None
        assert Flag.IMPLAUSIBLE not in obs.flags


def test_repeated_reading_is_dropped_once_seen() -> None:
    n = Normalizer()
    t = datetime(2026, 11, 27, 9, 0)
    m = Measurement(Metric.TEMP_BODY, Decimal("36.6"), Unit.CEL, device_time=t)
    assert n.normalize(PROFILE, IDENTITY, m, NOW) is not None
    assert n.normalize(PROFILE, IDENTITY, m, NOW) is None
    assert n.duplicates == 1
    # same value a second later is a new reading
    later = Measurement(
        Metric.TEMP_BODY, Decimal("36.6"), Unit.CEL, device_time=t + timedelta(seconds=1)
    )
    assert n.normalize(PROFILE, IDENTITY, later, NOW) is not None


def test_readings_without_device_clock_are_never_deduplicated() -> None:
    n = Normalizer()
    m = Measurement(Metric.TEMP_BODY, Decimal("36.6"), Unit.CEL)
    assert n.normalize(PROFILE, IDENTITY, m, NOW) is not None
    assert n.normalize(PROFILE, IDENTITY, m, NOW) is not None


def test_clock_flags() -> None:
    n = Normalizer()
    unset = Measurement(
        Metric.TEMP_BODY, Decimal("36.6"), Unit.CEL, device_time=datetime(2000, 1, 1)
    )
    skewed = Measurement(
        Metric.TEMP_BODY, Decimal("36.7"), Unit.CEL, device_time=datetime(2026, 11, 27, 10, 0)
    )
    stored = Measurement(
        Metric.TEMP_BODY,
        Decimal("36.8"),
        Unit.CEL,
        device_time=datetime(2026, 11, 20, 10, 0),
        stored=True,
    )
    o1, o2, o3 = (n.normalize(PROFILE, IDENTITY, m, NOW) for m in (unset, skewed, stored))
    assert o1 is not None and Flag.CLOCK_UNSET in o1.flags
    assert o2 is not None and Flag.CLOCK_SKEW in o2.flags
    assert o3 is not None and o3.flags == frozenset({Flag.STORED}) and o3.stored


def test_driver_unit_bug_is_reported_not_charted() -> None:
    m = Measurement(Metric.TEMP_BODY, Decimal("70"), Unit.KG)
    with pytest.raises(NormalizationError, match="temp_body in kg"):
        Normalizer().normalize(PROFILE, IDENTITY, m, NOW)
