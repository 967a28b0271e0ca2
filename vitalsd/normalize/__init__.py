"""Normalization: the one place a ``Measurement`` becomes an ``Observation``.

Units become canonical UCUM, codes come from the one code table, implausible values
and suspect clocks are flagged (never dropped, never altered), naive device clocks get
the device's zone, and repeats of a reading already seen are filtered out. Nothing
downstream converts units or guesses codes again.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal

from vitalsd.errors import VitalsdError
from vitalsd.model import (
    Context,
    DeviceIdentity,
    DeviceKind,
    Flag,
    Location,
    Measurement,
    Metric,
    Observation,
    new_observation_id,
)
from vitalsd.normalize.codes import code_for
from vitalsd.normalize.plausibility import DEFAULT_LIMITS, Limits, is_plausible
from vitalsd.normalize.units import UnitMismatch, convert

__all__ = ["DeviceProfile", "NormalizationError", "NormalizationPolicy", "Normalizer"]

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


class Normalizer:
    """Stateful only for de-duplication; otherwise a pure function of its inputs."""

    def __init__(self, policy: NormalizationPolicy | None = None) -> None:
        self.policy = policy or NormalizationPolicy()
        self._seen: dict[str, OrderedDict[tuple[object, ...], None]] = {}
        self.duplicates = 0

    def normalize(
        self,
        device: DeviceProfile,
        identity: DeviceIdentity,
        measurement: Measurement,
        received: datetime,
    ) -> Observation | None:
        """The observation for ``measurement``, or None if it repeats one already seen."""
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
        if not is_plausible(measurement.metric, value, self.policy.limits):
            flags.add(Flag.IMPLAUSIBLE)
            _LOGGER.warning(
                "%s: implausible %s value flagged (outside configured limits)",
                device.device_id,
                measurement.metric,
            )
        device_time = self._device_time(device, measurement, received, flags)
        converted = value != measurement.value or code.unit.unit != measurement.unit
        return Observation(
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
            context=Context(location=device.location),
            flags=frozenset(flags),
            group=measurement.group,
            stored=measurement.stored,
            sequence=measurement.sequence,
            source_value=measurement.value if converted else None,
            source_unit=measurement.unit if converted else None,
        )

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
