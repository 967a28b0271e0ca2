"""The HL7-side words: LOINC display names, OBX-17 methods, time-sync codes, OBX-8 flags.

Codes themselves (MDC, LOINC, units) come from ``vitalsd.normalize.codes``; this table only
adds what the ORU needs beside them. Source: shared/reference/hl7-pcd01.md §1.6, §1.8,
§2.3 and §3.2. The display names are those of §2.3 where a message there shows them, and
the LOINC long common names otherwise; receivers map on the code, never on the text.
"""

from __future__ import annotations

from types import MappingProxyType

from vitalsd.model import Flag, Metric

__all__ = [
    "ABNORMAL_FLAGS",
    "CALCULATED_METRICS",
    "FLAG_NOTES",
    "LOINC_DISPLAY",
    "MDC_ATTR_TIME_ABS",
    "MDC_TIME_SYNC_PROTOCOL",
    "METHODS",
    "NIBP_METRICS",
    "REPORT_ORDER",
    "SERVICE_ID",
    "TIME_SYNC_PROTOCOLS",
]

LOINC_DISPLAY: MappingProxyType[str, str] = MappingProxyType(
    {
        "8480-6": "Systolic blood pressure",  # §2.3 (a)
        "8462-4": "Diastolic blood pressure",  # §2.3 (a)
        "8478-0": "Mean blood pressure",  # §2.3 (a)
        "8867-4": "Heart rate",  # §2.3 (a), (b)
        "59408-5": "Oxygen saturation in Arterial blood by Pulse oximetry",  # §2.3 (b)
        "8310-5": "Body temperature",
        "8331-1": "Oral temperature",  # §2.3 (c)
        "8333-7": "Tympanic membrane temperature",
        "76011-6": "Ear temperature",
        "8328-7": "Axillary temperature",
        "8332-9": "Rectal temperature",
        "75539-7": "Body temperature - Temporal artery",
        "29463-7": "Body weight",  # §2.3 (d)
        "8302-2": "Body height",  # §2.3 (d)
        "39156-5": "Body mass index (BMI) [Ratio]",  # §2.3 (d)
        "9279-1": "Respiratory rate",
        "41653-7": "Glucose [Mass/volume] in Capillary blood by Glucometer",
    }
)

# The order of metric rows within one reading: the order of §2.3 (vital signs as a
# clinician reads them), not the code table's.
REPORT_ORDER: tuple[Metric, ...] = (
    Metric.BP_SYSTOLIC,
    Metric.BP_DIASTOLIC,
    Metric.BP_MEAN,
    Metric.PULSE_RATE_NIBP,
    Metric.SPO2,
    Metric.PULSE_RATE_OXIMETER,
    Metric.PERFUSION_INDEX,
    Metric.RESP_RATE,
    Metric.TEMP_BODY,
    Metric.TEMP_ORAL,
    Metric.TEMP_TYMPANIC,
    Metric.TEMP_EAR,
    Metric.TEMP_AXILLARY,
    Metric.TEMP_RECTAL,
    Metric.TEMP_TEMPORAL,
    Metric.BODY_WEIGHT,
    Metric.BODY_HEIGHT,
    Metric.BMI,
    Metric.GLUCOSE,
)

# OBX-17 (§1.6): AMEAS is the default and is therefore left out; the cuff's method is a
# site setting (Hl7Settings.nibp_method), BMI is computed, not measured (§2.3 (d)).
METHODS: MappingProxyType[str, str] = MappingProxyType(
    {
        "AMEAS": "AMEAS^auto-measurement^MDC",
        "MMEAS": "MMEAS^manual-measurement^MDC",
        "ACALC": "ACALC^auto-calculation^MDC",
    }
)
NIBP_METRICS = frozenset(
    {Metric.BP_SYSTOLIC, Metric.BP_DIASTOLIC, Metric.BP_MEAN, Metric.PULSE_RATE_NIBP}
)
CALCULATED_METRICS = frozenset({Metric.BMI})

# §1.8 / §3.2: the time-sync row; its value names how vitalsd's clock is synchronised.
MDC_TIME_SYNC_PROTOCOL = "68220^MDC_TIME_SYNC_PROTOCOL^MDC"
MDC_ATTR_TIME_ABS = "67975^MDC_ATTR_TIME_ABS^MDC"
TIME_SYNC_PROTOCOLS: MappingProxyType[str, str] = MappingProxyType(
    {
        "NONE": "532224^MDC_TIME_SYNC_NONE^MDC",
        "NTPV3": "532225^MDC_TIME_SYNC_NTPV3^MDC",
        "NTPV4": "532226^MDC_TIME_SYNC_NTPV4^MDC",
        "SNTPV4": "532227^MDC_TIME_SYNC_SNTPV4^MDC",
        "SNTPV4330": "532228^MDC_TIME_SYNC_SNTPV4330^MDC",
        "BTV1": "532229^MDC_TIME_SYNC_BTV1^MDC",
    }
)

# OBR-4 (§1.5, TF-2 §E.1.2 and every §2.3 message)
SERVICE_ID = "182777000^monitoring of patient^SCT"

# OBX-8 (§1.6; IHE PCD TF-2 Rev 8 §B.8, OBX-8 tables B.8.5-5 and B.8.5-6): what a reviewer
# must see before charting. H/L are HL7 Table 0078; "A" there is for non-numeric results
# only, so a numeric value vitalsd or the device doubts is QUES (11073 MeasurementStatus
# "questionable", which the TF pairs with OBX-11 R): sent as it was read, never altered.
# The order of this mapping is the order of the repetitions.
ABNORMAL_FLAGS: MappingProxyType[Flag, str] = MappingProxyType(
    {
        Flag.ALARM_HIGH: "H",
        Flag.ALARM_LOW: "L",
        Flag.IMPLAUSIBLE: "QUES",
        Flag.MEASUREMENT_ERROR: "QUES",
        Flag.ARTIFACT: "QUES",
    }
)

# NTE under the OBX: every flag in words, so the nurse who validates sees why.
FLAG_NOTES: MappingProxyType[Flag, str] = MappingProxyType(
    {
        Flag.ALARM_HIGH: "device alarm: above the high limit",
        Flag.ALARM_LOW: "device alarm: below the low limit",
        Flag.IMPLAUSIBLE: "outside the plausibility limits configured for this site",
        Flag.MEASUREMENT_ERROR: "the device reported a measurement error",
        Flag.ARTIFACT: "the device reported artifact",
        Flag.MOTION: "the device reported motion",
        Flag.INTERFERENCE: "the device reported interference",
        Flag.LOW_PERFUSION: "the device reported low perfusion",
        Flag.LOW_SIGNAL_QUALITY: "the device reported low signal quality",
        Flag.LOW_BATTERY: "the device reported a low battery",
        Flag.CLOCK_UNSET: "the device clock was not set",
        Flag.CLOCK_SKEW: "the device clock differed from vitalsd's clock",
        Flag.STORED: "recorded earlier and read from the device memory",
    }
)
