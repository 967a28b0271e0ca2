"""Every number in the code table pinned to shared/reference/hl7-pcd01.md §3.2.

The reference recomputed each context-free code from IEEE 11073-10101 term and partition
(sources: signove/antidote nomenclature.h, HL7 PHD FHIR IG, dk-core and MII value sets,
IHE PCD TF-2 examples); LOINC codes from the FHIR R4 vital-signs profiles and the value
sets cited there. This test writes the expected values out literally, independently of
vitalsd.normalize.codes, and recomputes partition × 65536 + term.
"""

from __future__ import annotations

import pytest

from vitalsd.model import DeviceKind, Metric, Unit
from vitalsd.normalize.codes import DEVICE_PROFILES, METRIC_CODES, context_free

# metric: (MDC refid, context-free code, term, LOINC, canonical UCUM, unit refid, unit code)
EXPECTED = {
    Metric.BP_SYSTOLIC: ("MDC_PRESS_BLD_NONINV_SYS", 150021, 18949, "8480-6", "mm[Hg]", "MDC_DIM_MMHG", 266016),
    Metric.BP_DIASTOLIC: ("MDC_PRESS_BLD_NONINV_DIA", 150022, 18950, "8462-4", "mm[Hg]", "MDC_DIM_MMHG", 266016),
    Metric.BP_MEAN: ("MDC_PRESS_BLD_NONINV_MEAN", 150023, 18951, "8478-0", "mm[Hg]", "MDC_DIM_MMHG", 266016),
    Metric.PULSE_RATE_NIBP: ("MDC_PULS_RATE_NON_INV", 149546, 18474, "8867-4", "/min", "MDC_DIM_BEAT_PER_MIN", 264864),
    Metric.PULSE_RATE_OXIMETER: ("MDC_PULS_OXIM_PULS_RATE", 149530, 18458, "8867-4", "/min", "MDC_DIM_BEAT_PER_MIN", 264864),
    Metric.SPO2: ("MDC_PULS_OXIM_SAT_O2", 150456, 19384, "59408-5", "%", "MDC_DIM_PERCENT", 262688),
    Metric.PERFUSION_INDEX: ("MDC_PULS_OXIM_PERF_REL", 150448, 19376, None, "%", "MDC_DIM_PERCENT", 262688),
    Metric.TEMP_BODY: ("MDC_TEMP_BODY", 150364, 19292, "8310-5", "Cel", "MDC_DIM_DEGC", 268192),
    Metric.TEMP_ORAL: ("MDC_TEMP_ORAL", 188424, 57352, "8331-1", "Cel", "MDC_DIM_DEGC", 268192),
    Metric.TEMP_TYMPANIC: ("MDC_TEMP_TYMP", 150392, 19320, "8333-7", "Cel", "MDC_DIM_DEGC", 268192),
    Metric.TEMP_EAR: ("MDC_TEMP_EAR", 188428, 57356, "76011-6", "Cel", "MDC_DIM_DEGC", 268192),
    Metric.TEMP_AXILLARY: ("MDC_TEMP_AXILLA", 188452, 57380, "8328-7", "Cel", "MDC_DIM_DEGC", 268192),
    Metric.TEMP_RECTAL: ("MDC_TEMP_RECT", 188420, 57348, "8332-9", "Cel", "MDC_DIM_DEGC", 268192),
    Metric.TEMP_TEMPORAL: ("MDC_TEMP_BODY", 150364, 19292, "75539-7", "Cel", "MDC_DIM_DEGC", 268192),
    Metric.BODY_WEIGHT: ("MDC_MASS_BODY_ACTUAL", 188736, 57664, "29463-7", "kg", "MDC_DIM_KILO_G", 263875),
    Metric.BODY_HEIGHT: ("MDC_LEN_BODY_ACTUAL", 188740, 57668, "8302-2", "cm", "MDC_DIM_CENTI_M", 263441),
    Metric.BMI: ("MDC_RATIO_MASS_BODY_LEN_SQ", 188752, 57680, "39156-5", "kg/m2", "MDC_DIM_KG_PER_M_SQ", 264096),
    Metric.RESP_RATE: ("MDC_RESP_RATE", 151562, 20490, "9279-1", "/min", "MDC_DIM_RESP_PER_MIN", 264928),
    Metric.GLUCOSE: ("MDC_CONC_GLU_CAPILLARY_WHOLEBLOOD", 160184, 29112, "41653-7", "mg/dL", "MDC_DIM_MILLI_G_PER_DL", 264274),
}  # fmt: skip


def test_every_metric_is_coded() -> None:
    assert set(METRIC_CODES) == set(Metric)
    assert set(EXPECTED) == set(Metric)


@pytest.mark.parametrize("metric", list(Metric))
def test_metric_code(metric: Metric) -> None:
    refid, code, term, loinc, ucum, unit_refid, unit_code = EXPECTED[metric]
    c = METRIC_CODES[metric]
    assert (c.refid, c.code, c.term, c.loinc) == (refid, code, term, loinc)
    assert context_free(2, term) == code  # SCADA partition
    assert (c.unit.unit, c.unit.refid, c.unit.code) == (Unit(ucum), unit_refid, unit_code)
    assert context_free(4, c.unit.term) == unit_code  # DIM partition


def test_other_units_from_the_table() -> None:
    # kPa, °F, lb and inch unit codes named in §3.2 beside the canonical ones
    from vitalsd.normalize import codes

    assert codes.KPA.code == 265987
    assert codes.FAHR.code == 266560
    assert codes.LB.code == 263904
    assert codes.INCH.code == 263520


@pytest.mark.parametrize(
    ("kind", "refid", "code"),
    [
        (DeviceKind.PULSE_OXIMETER, "MDC_DEV_SPEC_PROFILE_PULS_OXIM", 528388),
        (DeviceKind.BLOOD_PRESSURE, "MDC_DEV_SPEC_PROFILE_BP", 528391),
        (DeviceKind.THERMOMETER, "MDC_DEV_SPEC_PROFILE_TEMP", 528392),
        (DeviceKind.SCALE, "MDC_DEV_SPEC_PROFILE_SCALE", 528399),
        (DeviceKind.GLUCOSE_METER, "MDC_DEV_SPEC_PROFILE_GLUCOSE", 528401),
        (DeviceKind.MULTI_PARAMETER, "MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS", 69965),
    ],
)
def test_device_profile_codes(kind: DeviceKind, refid: str, code: int) -> None:
    p = DEVICE_PROFILES[kind]
    assert (p.refid, p.code) == (refid, code)
