"""Plausibility limits: values outside them are sent flagged, never dropped or altered.

The default limits are wide physiological bounds for the adult and paediatric clinic
(a value outside is almost certainly a device or decoding fault, not a patient); sites
tighten or widen them in config. They are not alarm limits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from vitalsd.model import Metric


@dataclass(frozen=True, slots=True)
class Limits:
    low: Decimal
    high: Decimal

    def __contains__(self, value: object) -> bool:
        return isinstance(value, Decimal) and self.low <= value <= self.high


def _l(low: str, high: str) -> Limits:
    return Limits(Decimal(low), Decimal(high))


_TEMP = _l("25", "45")  # Cel: below is severe hypothermia, above is not survivable

# In the canonical unit of each metric (see codes.py).
DEFAULT_LIMITS: Mapping[Metric, Limits] = MappingProxyType(
    {
        Metric.BP_SYSTOLIC: _l("40", "300"),
        Metric.BP_DIASTOLIC: _l("15", "200"),
        Metric.BP_MEAN: _l("20", "250"),
        Metric.PULSE_RATE_NIBP: _l("20", "300"),
        Metric.PULSE_RATE_OXIMETER: _l("20", "300"),
        Metric.SPO2: _l("30", "100"),
        Metric.PERFUSION_INDEX: _l("0.02", "20"),  # Masimo's specified display range
        Metric.TEMP_BODY: _TEMP,
        Metric.TEMP_ORAL: _TEMP,
        Metric.TEMP_TYMPANIC: _TEMP,
        Metric.TEMP_EAR: _TEMP,
        Metric.TEMP_AXILLARY: _TEMP,
        Metric.TEMP_RECTAL: _TEMP,
        Metric.TEMP_TEMPORAL: _TEMP,
        Metric.BODY_WEIGHT: _l("0.3", "450"),
        Metric.BODY_HEIGHT: _l("20", "260"),
        Metric.BMI: _l("5", "150"),
        Metric.RESP_RATE: _l("1", "150"),
        Metric.GLUCOSE: _l("10", "1000"),
    }
)


def is_plausible(metric: Metric, value: Decimal, limits: Mapping[Metric, Limits]) -> bool:
    bounds = limits.get(metric)
    return bounds is None or value in bounds


# --- age bands -----------------------------------------------------------------------


class AgeBand(StrEnum):
    NEONATE = "neonate"  # first 28 days
    INFANT = "infant"  # to the first birthday
    CHILD = "child"  # 1 to 12 years
    ADOLESCENT = "adolescent"  # 12 to 18 years
    ADULT = "adult"


def _years(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def age_band(birth_date: date | None, at: datetime) -> AgeBand | None:
    """The patient's band on the day of the reading; None when the birth date is unknown
    (or lies after the reading, which is a data error, not a newborn)."""
    if birth_date is None:
        return None
    on = at.date()
    if on < birth_date:
        return None
    if (on - birth_date).days < 28:
        return AgeBand.NEONATE
    years = _years(birth_date, on)
    if years < 1:
        return AgeBand.INFANT
    if years < 12:
        return AgeBand.CHILD
    if years < 18:
        return AgeBand.ADOLESCENT
    return AgeBand.ADULT


# Normal (awake) ranges per band from the PALS reference ranges as tabulated in the web
# appendix (Box 1) of Fleming S. et al., "Normal ranges of heart rate and respiratory
# rate in children from birth to 18 years of age: a systematic review of observational
# studies", Lancet 2011;377:1011-8, doi:10.1016/S0140-6736(10)62226-X (PMC3789232).
# These are *normal* ranges, not plausibility limits: the limits below are derived from
# them by a fixed rule (half the lower bound, three times the upper bound, never wider
# than the all-ages limit), so a sick child's real tachycardia is never flagged while a
# neonatal pulse of 30 (a probe on the wrong finger, a decoding fault) is.
_NORMAL_RANGES: Mapping[AgeBand, Mapping[Metric, tuple[int, int]]] = {
    AgeBand.NEONATE: {Metric.PULSE_RATE_OXIMETER: (85, 205), Metric.RESP_RATE: (30, 60)},
    AgeBand.INFANT: {Metric.PULSE_RATE_OXIMETER: (100, 190), Metric.RESP_RATE: (30, 60)},
    AgeBand.CHILD: {Metric.PULSE_RATE_OXIMETER: (60, 140), Metric.RESP_RATE: (18, 40)},
    AgeBand.ADOLESCENT: {Metric.PULSE_RATE_OXIMETER: (60, 100), Metric.RESP_RATE: (12, 16)},
}


def _band_limits(
    normal: Mapping[Metric, tuple[int, int]], base: Mapping[Metric, Limits]
) -> Mapping[Metric, Limits]:
    ranges = dict(normal)
    # The cuff's pulse is the same heart as the oximeter's.
    ranges[Metric.PULSE_RATE_NIBP] = normal[Metric.PULSE_RATE_OXIMETER]
    limits = dict(base)
    for metric, (low, high) in ranges.items():
        widest = base.get(metric, DEFAULT_LIMITS[metric])
        limits[metric] = Limits(
            max(widest.low, Decimal(low) / 2), min(widest.high, Decimal(high) * 3)
        )
    return MappingProxyType(limits)


def limits_for(
    band: AgeBand | None, base: Mapping[Metric, Limits] = DEFAULT_LIMITS
) -> Mapping[Metric, Limits]:
    """The limits for a patient's age band; the all-ages ``base`` when unknown or adult."""
    normal = _NORMAL_RANGES.get(band) if band is not None else None
    return base if normal is None else _band_limits(normal, base)
