"""Attribution in normalization: the stale-record guard, clocks, holding, age bands."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from vitalsd.context.held import HeldReadings
from vitalsd.context.store import ContextStore
from vitalsd.model import (
    DeviceIdentity,
    DeviceKind,
    Flag,
    Location,
    Measurement,
    Metric,
    Observation,
    Patient,
    Unit,
)
from vitalsd.normalize import DeviceProfile, NormalizationPolicy, Normalizer
from vitalsd.normalize.attribution import (
    BEFORE_ASSOCIATION,
    CLOCK_UNSET,
    STORED_WITHOUT_TIME,
)
from vitalsd.normalize.plausibility import AgeBand, age_band

ROOM = Location("Clinic", "FM", "exam3", None)
CUFF = DeviceProfile("exam3-cuff", "test", DeviceKind.BLOOD_PRESSURE, ROOM, UTC)
OXIMETER = DeviceProfile("exam3-ox", "test", DeviceKind.PULSE_OXIMETER, ROOM, UTC)
ID = DeviceIdentity(make="Acme")
SINCE = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
NOW = SINCE + timedelta(minutes=10)
ALICE = Patient("MRN1", "HOSP", "Doe", "Alice", birth_date=date(1980, 1, 1))


def _setup(
    *, hold: HeldReadings | None = None, allow_receive_time: bool = False
) -> tuple[ContextStore, Normalizer]:
    store = ContextStore(clock=lambda: NOW)
    store.associate(ALICE, source="api", location=ROOM, since=SINCE)
    normalizer = Normalizer(
        NormalizationPolicy(hold_stale=hold is not None, allow_receive_time=allow_receive_time),
        context=store.current,
        hold=hold.hold if hold is not None else None,
    )
    return store, normalizer


def _sys(t: datetime | None, *, stored: bool = False, value: str = "120") -> Measurement:
    return Measurement(
        Metric.BP_SYSTOLIC,
        Decimal(value),
        Unit.MMHG,
        device_time=t.replace(tzinfo=None) if t else None,
        stored=stored,
    )


def _obs(n: Normalizer, m: Measurement, profile: DeviceProfile = CUFF) -> Observation:
    obs = n.normalize(profile, ID, m, NOW)
    assert obs is not None
    return obs


def test_a_reading_taken_after_the_association_goes_to_the_patient() -> None:
    _, n = _setup()
    obs = _obs(n, _sys(NOW - timedelta(seconds=30)))
    assert obs.context.patient == ALICE
    assert obs.context.association is not None and obs.context.association.source == "api"
    assert obs.context.unassociated_reason is None


def test_a_stored_record_from_before_the_association_goes_out_unassociated(
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, n = _setup()
    obs = _obs(n, _sys(SINCE - timedelta(hours=2), stored=True))
    assert obs.context.patient is None and obs.context.association is None
    assert obs.context.unassociated_reason == BEFORE_ASSOCIATION
    assert obs.context.location == ROOM
    assert Flag.STORED in obs.flags
    assert "exam3-cuff: stored bp_systolic sent unassociated" in caplog.text
    assert "MRN1" not in caplog.text and "Doe" not in caplog.text
    # A stored record from after the association began is this visit's.
    assert _obs(n, _sys(SINCE + timedelta(minutes=1), stored=True)).context.patient == ALICE


def test_a_live_reading_timed_before_the_association_is_not_attributed() -> None:
    _, n = _setup()
    obs = n.normalize(CUFF, ID, _sys(SINCE - timedelta(seconds=5)), SINCE + timedelta(seconds=30))
    # a sound clock, but the reading was taken before the association: not this patient's
    assert obs is not None and Flag.CLOCK_SKEW not in obs.flags
    assert obs.context.patient is None
    assert obs.context.unassociated_reason == BEFORE_ASSOCIATION


def test_a_stored_record_without_a_usable_time_is_never_attributed() -> None:
    _, n = _setup()
    assert _obs(n, _sys(None, stored=True)).context.unassociated_reason == STORED_WITHOUT_TIME
    unset = _obs(n, _sys(datetime(2000, 1, 1, tzinfo=UTC), stored=True))
    assert unset.context.patient is None and Flag.CLOCK_UNSET in unset.flags


def test_unset_clock_is_attributed_by_receive_time_only_where_allowed() -> None:
    _, strict = _setup()
    obs = _obs(strict, _sys(datetime(2000, 1, 1, tzinfo=UTC)))
    assert Flag.CLOCK_UNSET in obs.flags
    assert obs.context.patient is None and obs.context.unassociated_reason == CLOCK_UNSET
    _, lenient = _setup(allow_receive_time=True)
    assert _obs(lenient, _sys(datetime(2000, 1, 1, tzinfo=UTC))).context.patient == ALICE
    skewed = _obs(lenient, _sys(NOW + timedelta(hours=1)))
    assert Flag.CLOCK_SKEW in skewed.flags and skewed.context.patient == ALICE


def test_a_streaming_device_without_a_clock_is_current_by_nature() -> None:
    _, n = _setup()
    m = Measurement(Metric.SPO2, Decimal("97"), Unit.PERCENT)
    assert _obs(n, m, OXIMETER).context.patient == ALICE


def test_without_an_association_nothing_is_guessed() -> None:
    n = Normalizer(context=ContextStore().current)
    obs = _obs(n, _sys(NOW))
    assert obs.context.patient is None and obs.context.unassociated_reason is None


def test_hold_policy_keeps_stale_readings_durably_until_released(tmp_path: Path) -> None:
    held = HeldReadings(tmp_path)
    _, n = _setup(hold=held)
    stale = _sys(SINCE - timedelta(hours=1), stored=True, value="131")
    assert n.normalize(CUFF, ID, stale, NOW) is None
    assert n.held == 1
    # A current reading is not held.
    assert _obs(n, _sys(NOW)).context.patient == ALICE
    held.close()

    again = HeldReadings(tmp_path)  # a restart: still there
    (entry,) = again.entries()
    assert (entry.device_id, entry.metric, entry.reason) == (
        "exam3-cuff",
        "bp_systolic",
        BEFORE_ASSOCIATION,
    )
    (obs,) = again.peek()
    assert obs.value == Decimal("131") and obs.context.patient is None
    assert obs.context.unassociated_reason == BEFORE_ASSOCIATION
    assert obs.context.location == ROOM and obs.stored
    again.remove([obs.id])
    assert again.count() == 0
    again.close()


# --- age bands -----------------------------------------------------------------------


def test_age_band_at_reading_time() -> None:
    at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert age_band(None, at) is None
    assert age_band(date(2026, 2, 20), at) is AgeBand.NEONATE
    assert age_band(date(2025, 6, 1), at) is AgeBand.INFANT
    assert age_band(date(2020, 3, 2), at) is AgeBand.CHILD  # 5 the day after
    assert age_band(date(2014, 3, 1), at) is AgeBand.ADOLESCENT  # 12 today
    assert age_band(date(2008, 3, 1), at) is AgeBand.ADULT
    assert age_band(date(2027, 1, 1), at) is None  # born after the reading: bad data


@pytest.mark.parametrize(
    ("birth", "pulse", "implausible"),
    [
        (date(2026, 2, 25), "35", True),  # a neonate: below half the PALS low of 85
        (date(2026, 2, 25), "250", False),  # neonatal SVT is real
        (date(1980, 1, 1), "35", False),  # an athlete at rest
        (None, "35", False),  # unknown age: the all-ages limits
        (date(2015, 1, 1), "25", True),  # a child: below half of 60
    ],
)
def test_plausibility_by_age_band_flags_but_never_alters(
    birth: date | None, pulse: str, implausible: bool
) -> None:
    store = ContextStore(clock=lambda: NOW)
    store.associate(
        Patient("P", "HOSP", birth_date=birth), source="api", location=ROOM, since=SINCE
    )
    n = Normalizer(context=store.current)
    m = Measurement(Metric.PULSE_RATE_OXIMETER, Decimal(pulse), Unit.PER_MIN)
    obs = _obs(n, m, OXIMETER)
    assert (Flag.IMPLAUSIBLE in obs.flags) is implausible
    assert obs.value == Decimal(pulse)


def test_a_reading_that_cannot_be_held_is_sent_unassociated_not_lost(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    held = HeldReadings(tmp_path)
    _, n = _setup(hold=held)
    held.close()  # the database is gone (disk failure, say)
    obs = n.normalize(CUFF, ID, _sys(SINCE - timedelta(hours=1), stored=True), NOW)
    assert obs is not None and obs.context.patient is None
    assert obs.context.unassociated_reason == BEFORE_ASSOCIATION
    assert "reading not held" in caplog.text


def test_stored_record_dated_in_the_future_is_never_attributed() -> None:
    """A cuff whose clock runs ahead could date last week's record after the association."""
    from datetime import UTC, datetime, timedelta

    from vitalsd.model import Association, AssociationScope, Location, Patient
    from vitalsd.normalize.attribution import CLOCK_AHEAD, attribute

    now = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assoc = Association(
        patient=Patient("MRN1"),
        scope=AssociationScope.ROOM,
        location=Location(room="exam3"),
        device_id=None,
        source="api",
        since=now - timedelta(minutes=5),
    )
    result = attribute(
        assoc,
        Location(room="exam3"),
        device_time=now + timedelta(hours=2),
        received=now,
        flags=frozenset(),
        stored=True,
        hold_stale=False,
        allow_receive_time=False,
    )
    assert result.context.patient is None
    assert result.context.unassociated_reason == CLOCK_AHEAD
