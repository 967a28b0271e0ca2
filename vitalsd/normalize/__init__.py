"""Normalization: the one place a ``Measurement`` becomes an ``Observation``.

Units become canonical UCUM, codes come from the one code table, implausible values
and suspect clocks are flagged (never dropped, never altered), naive device clocks get
the device's zone, and repeats of a reading already seen are filtered out. Nothing
downstream converts units or guesses codes again.

Here, too, a reading gets its context: the room, and the associated patient only when
the stale-record guard (``vitalsd.normalize.attribution``) lets it; the patient's age
band then picks the plausibility limits.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal

from vitalsd.errors import VitalsdError
from vitalsd.model import (
    Association,
    DeviceIdentity,
    DeviceKind,
    Flag,
    Location,
    Measurement,
    Metric,
    Observation,
    new_observation_id,
)
from vitalsd.normalize.attribution import attribute
from vitalsd.normalize.codes import code_for
from vitalsd.normalize.plausibility import (
    DEFAULT_LIMITS,
    Limits,
    age_band,
    is_plausible,
    limits_for,
)
from vitalsd.normalize.units import UnitMismatch, convert

__all__ = [
    "ContextLookup",
    "DeviceProfile",
    "HoldSink",
    "NormalizationError",
    "NormalizationPolicy",
    "Normalizer",
]

ContextLookup = Callable[[str, Location], Association | None]
"""The association in force for (device id, device location) now: ``ContextStore.current``."""
HoldSink = Callable[[Observation], None]
"""Takes a stale reading the site holds; must have stored it durably when it returns."""

_LOGGER = logging.getLogger(__name__)

_DEDUP_MEMORY = 512  # readings remembered per device; a BLE RACP dump is far smaller
_CLOCK_UNSET_BEFORE = datetime(2015, 1, 1, tzinfo=UTC)  # factory-reset clocks say 2000/1970


class NormalizationError(VitalsdError):
    """A driver produced something normalization cannot code (a driver bug)."""


@dataclass(frozen=True, slots=True)
class DeviceProfile:
    """What normalization needs to know about the device a measurement came from."""

    device_id: str
    driver: str
    kind: DeviceKind
    location: Location
    timezone: tzinfo  # for device clocks that send no zone


@dataclass(frozen=True, slots=True)
class NormalizationPolicy:
    limits: Mapping[Metric, Limits] = field(default_factory=lambda: DEFAULT_LIMITS)
    max_clock_skew: timedelta | None = timedelta(minutes=5)  # None: no skew check
    hold_stale: bool = False  # [context] stale_records = "hold"
    allow_receive_time: bool = False  # [context] allow_receive_time


class Normalizer:
    """Stateful only for de-duplication; otherwise a pure function of its inputs
    (and of the context store it looks associations up in)."""

    def __init__(
        self,
        policy: NormalizationPolicy | None = None,
        *,
        context: ContextLookup | None = None,
        hold: HoldSink | None = None,
    ) -> None:
        self.policy = policy or NormalizationPolicy()
        self._context = context
        self._hold = hold
        self.held = 0
        self._seen: dict[str, OrderedDict[tuple[object, ...], None]] = {}
        self.duplicates = 0

    def normalize(
        self,
        device: DeviceProfile,
        identity: DeviceIdentity,
        measurement: Measurement,
        received: datetime,
    ) -> Observation | None:
        """The observation for ``measurement``; None if it repeats one already seen, or
        if it was held (stale, and the site holds stale readings)."""
        if self._is_repeat(device.device_id, measurement):
            self.duplicates += 1
            _LOGGER.debug("%s: repeated %s dropped", device.device_id, measurement.metric)
            return None
        code = code_for(measurement.metric)
        try:
            value = convert(measurement.value, measurement.unit, code.unit.unit)
        except UnitMismatch as err:
            raise NormalizationError(
                f"{device.driver} sent {measurement.metric} in {measurement.unit.value}: {err}"
            ) from None
        flags = set(measurement.flags)
        if measurement.stored:
            flags.add(Flag.STORED)
        device_time = self._device_time(device, measurement, received, flags)
        association = self._context(device.device_id, device.location) if self._context else None
        decision = attribute(
            association,
            device.location,
            device_time=device_time,
            received=received,
            flags=flags,
            stored=measurement.stored,
            hold_stale=self.policy.hold_stale and self._hold is not None,
            allow_receive_time=self.policy.allow_receive_time,
        )
        context = decision.context
        if association is not None and context.patient is None:
            _LOGGER.info(
                "%s: %s%s %s: %s",
                device.device_id,
                "stored " if measurement.stored else "",
                measurement.metric,
                "held" if decision.hold else "sent unassociated",
                context.unassociated_reason,
            )
        patient = context.patient
        band = age_band(patient.birth_date, decision.time or received) if patient else None
        if not is_plausible(measurement.metric, value, limits_for(band, self.policy.limits)):
            flags.add(Flag.IMPLAUSIBLE)
            _LOGGER.warning(
                "%s: implausible %s value flagged (outside the %s limits)",
                device.device_id,
                measurement.metric,
                band or "all-ages",
            )
        converted = value != measurement.value or code.unit.unit != measurement.unit
        obs = Observation(
            id=new_observation_id(),
            device_id=device.device_id,
            driver=device.driver,
            device_kind=device.kind,
            metric=measurement.metric,
            mdc_code=code.code,
            mdc_refid=code.refid,
            loinc=code.loinc,
            value=value,
            unit=code.unit.unit,
            mdc_unit_code=code.unit.code,
            mdc_unit_refid=code.unit.refid,
            receive_time=received,
            device_time=device_time,
            identity=identity,
            context=context,
            flags=frozenset(flags),
            group=measurement.group,
            stored=measurement.stored,
            sequence=measurement.sequence,
            source_value=measurement.value if converted else None,
            source_unit=measurement.unit if converted else None,
        )
        if decision.hold:
            assert self._hold is not None
            try:
                self._hold(obs)
            except VitalsdError as err:
                # Not held is better than lost: it goes out unassociated, as without "hold".
                _LOGGER.error("%s: reading not held (%s); sent unassociated", device.device_id, err)
                return obs
            self.held += 1
            return None
        return obs

    def forget(self, device_id: str) -> None:
        """Drop de-duplication memory of a device (removed from config)."""
        self._seen.pop(device_id, None)

    def _is_repeat(self, device_id: str, m: Measurement) -> bool:
        # Without a device clock or a record number two equal values are two readings.
        if m.device_time is None and m.sequence is None:
            return False
        key = (m.metric, m.device_time, m.sequence, m.value)
        seen = self._seen.setdefault(device_id, OrderedDict())
        if key in seen:
            seen.move_to_end(key)
            return True
        seen[key] = None
        if len(seen) > _DEDUP_MEMORY:
            seen.popitem(last=False)
        return False

    def _device_time(
        self, device: DeviceProfile, m: Measurement, received: datetime, flags: set[Flag]
    ) -> datetime | None:
        if m.device_time is None:
            return None
        t = m.device_time
        if t.tzinfo is None:
            t = t.replace(tzinfo=device.timezone)
        if t < _CLOCK_UNSET_BEFORE:
            flags.add(Flag.CLOCK_UNSET)
        elif (
            not m.stored
            and self.policy.max_clock_skew is not None
            and abs(received - t) > self.policy.max_clock_skew
        ):
            # Stored records are old by nature; only live readings tell us about drift.
            flags.add(Flag.CLOCK_SKEW)
        return t


def round_trip_value(value: Decimal) -> str:
    """The value as text exactly as it will be charted (no exponent, no float noise)."""
    return format(value, "f")
