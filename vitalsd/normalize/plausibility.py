"""Plausibility limits: values outside them are sent flagged, never dropped or altered.

The default limits are wide physiological bounds for the adult and paediatric clinic
(a value outside is almost certainly a device or decoding fault, not a patient); sites
tighten or widen them in config. They are not alarm limits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
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
