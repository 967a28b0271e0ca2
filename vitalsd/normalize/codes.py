"""The one code table: metric → IEEE 11073 MDC code, LOINC code, canonical unit.

Numbers are from ``shared/reference/hl7-pcd01.md`` §3.2, where each context-free code was
recomputed as partition × 65536 + term. ``tests/test_codes.py`` recomputes them again and
pins every LOINC code, so a typo here fails the build rather than a chart.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from vitalsd.model import DeviceKind, Metric, Unit

PARTITION_OBJ = 1
PARTITION_SCADA = 2
PARTITION_DIM = 4
PARTITION_INFRA = 8


def context_free(partition: int, term: int) -> int:
    """The 32-bit code HL7 v2 carries for an MDC term in a partition."""
    return partition * 65536 + term


@dataclass(frozen=True, slots=True)
class MdcUnit:
    unit: Unit
    refid: str
    term: int  # in the DIM partition

    @property
    def code(self) -> int:
        return context_free(PARTITION_DIM, self.term)


@dataclass(frozen=True, slots=True)
class MetricCode:
    metric: Metric
    refid: str
    term: int  # in the SCADA partition
    loinc: str | None
    unit: MdcUnit  # canonical unit of the metric

    @property
    def code(self) -> int:
        return context_free(PARTITION_SCADA, self.term)


MMHG = MdcUnit(Unit.MMHG, "MDC_DIM_MMHG", 3872)
KPA = MdcUnit(Unit.KPA, "MDC_DIM_KILO_PASCAL", 3843)
BEAT_PER_MIN = MdcUnit(Unit.PER_MIN, "MDC_DIM_BEAT_PER_MIN", 2720)
RESP_PER_MIN = MdcUnit(Unit.PER_MIN, "MDC_DIM_RESP_PER_MIN", 2784)
PERCENT = MdcUnit(Unit.PERCENT, "MDC_DIM_PERCENT", 544)
DEGC = MdcUnit(Unit.CEL, "MDC_DIM_DEGC", 6048)
FAHR = MdcUnit(Unit.DEGF, "MDC_DIM_FAHR", 4416)
KILO_G = MdcUnit(Unit.KG, "MDC_DIM_KILO_G", 1731)
LB = MdcUnit(Unit.LB, "MDC_DIM_LB", 1760)
CENTI_M = MdcUnit(Unit.CM, "MDC_DIM_CENTI_M", 1297)
INCH = MdcUnit(Unit.INCH, "MDC_DIM_INCH", 1376)
KG_PER_M_SQ = MdcUnit(Unit.KG_PER_M2, "MDC_DIM_KG_PER_M_SQ", 1952)
MILLI_G_PER_DL = MdcUnit(Unit.MG_PER_DL, "MDC_DIM_MILLI_G_PER_DL", 2130)

_TABLE = (
    MetricCode(Metric.BP_SYSTOLIC, "MDC_PRESS_BLD_NONINV_SYS", 18949, "8480-6", MMHG),
    MetricCode(Metric.BP_DIASTOLIC, "MDC_PRESS_BLD_NONINV_DIA", 18950, "8462-4", MMHG),
    MetricCode(Metric.BP_MEAN, "MDC_PRESS_BLD_NONINV_MEAN", 18951, "8478-0", MMHG),
    MetricCode(Metric.PULSE_RATE_NIBP, "MDC_PULS_RATE_NON_INV", 18474, "8867-4", BEAT_PER_MIN),
    MetricCode(
        Metric.PULSE_RATE_OXIMETER, "MDC_PULS_OXIM_PULS_RATE", 18458, "8867-4", BEAT_PER_MIN
    ),
    MetricCode(Metric.SPO2, "MDC_PULS_OXIM_SAT_O2", 19384, "59408-5", PERCENT),
    # No LOINC code for perfusion index was verified (§3.2): agree one with the site.
    MetricCode(Metric.PERFUSION_INDEX, "MDC_PULS_OXIM_PERF_REL", 19376, None, PERCENT),
    MetricCode(Metric.TEMP_BODY, "MDC_TEMP_BODY", 19292, "8310-5", DEGC),
    MetricCode(Metric.TEMP_ORAL, "MDC_TEMP_ORAL", 57352, "8331-1", DEGC),
    MetricCode(Metric.TEMP_TYMPANIC, "MDC_TEMP_TYMP", 19320, "8333-7", DEGC),
    MetricCode(Metric.TEMP_EAR, "MDC_TEMP_EAR", 57356, "76011-6", DEGC),
    MetricCode(Metric.TEMP_AXILLARY, "MDC_TEMP_AXILLA", 57380, "8328-7", DEGC),
    MetricCode(Metric.TEMP_RECTAL, "MDC_TEMP_RECT", 57348, "8332-9", DEGC),
    # No MDC term for temporal artery exists in public sources: body temperature + LOINC.
    MetricCode(Metric.TEMP_TEMPORAL, "MDC_TEMP_BODY", 19292, "75539-7", DEGC),
    MetricCode(Metric.BODY_WEIGHT, "MDC_MASS_BODY_ACTUAL", 57664, "29463-7", KILO_G),
    MetricCode(Metric.BODY_HEIGHT, "MDC_LEN_BODY_ACTUAL", 57668, "8302-2", CENTI_M),
    MetricCode(Metric.BMI, "MDC_RATIO_MASS_BODY_LEN_SQ", 57680, "39156-5", KG_PER_M_SQ),
    MetricCode(Metric.RESP_RATE, "MDC_RESP_RATE", 20490, "9279-1", RESP_PER_MIN),
    MetricCode(
        Metric.GLUCOSE, "MDC_CONC_GLU_CAPILLARY_WHOLEBLOOD", 29112, "41653-7", MILLI_G_PER_DL
    ),
)

METRIC_CODES: MappingProxyType[Metric, MetricCode] = MappingProxyType({c.metric: c for c in _TABLE})


@dataclass(frozen=True, slots=True)
class DeviceProfileCode:
    kind: DeviceKind
    refid: str
    code: int


DEVICE_PROFILES: MappingProxyType[DeviceKind, DeviceProfileCode] = MappingProxyType(
    {
        DeviceKind.PULSE_OXIMETER: DeviceProfileCode(
            DeviceKind.PULSE_OXIMETER,
            "MDC_DEV_SPEC_PROFILE_PULS_OXIM",
            context_free(PARTITION_INFRA, 4100),
        ),
        DeviceKind.BLOOD_PRESSURE: DeviceProfileCode(
            DeviceKind.BLOOD_PRESSURE,
            "MDC_DEV_SPEC_PROFILE_BP",
            context_free(PARTITION_INFRA, 4103),
        ),
        DeviceKind.THERMOMETER: DeviceProfileCode(
            DeviceKind.THERMOMETER, "MDC_DEV_SPEC_PROFILE_TEMP", context_free(PARTITION_INFRA, 4104)
        ),
        DeviceKind.SCALE: DeviceProfileCode(
            DeviceKind.SCALE, "MDC_DEV_SPEC_PROFILE_SCALE", context_free(PARTITION_INFRA, 4111)
        ),
        DeviceKind.GLUCOSE_METER: DeviceProfileCode(
            DeviceKind.GLUCOSE_METER,
            "MDC_DEV_SPEC_PROFILE_GLUCOSE",
            context_free(PARTITION_INFRA, 4113),
        ),
        DeviceKind.MULTI_PARAMETER: DeviceProfileCode(
            DeviceKind.MULTI_PARAMETER, "MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS", 69965
        ),
    }
)


def code_for(metric: Metric) -> MetricCode:
    return METRIC_CODES[metric]
