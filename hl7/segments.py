"""ER7 segment templates of the PCD-01 ORU^R01 (shared/reference/hl7-pcd01.md §1.3-§1.8).

Each function returns one segment as text, already escaped, without the trailing CR.
Field positions are spelled out in the templates' comments because an off-by-one pipe
is the classic HL7 bug; tests/test_hl7_encoder.py pins every template against §2.3.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from hl7.encode_error import Hl7EncodeError
from hl7.escape import escape
from hl7.settings import Hl7Settings
from hl7.vocabulary import (
    LOINC_DISPLAY,
    MDC_ATTR_TIME_ABS,
    MDC_TIME_SYNC_PROTOCOL,
    TIME_SYNC_PROTOCOLS,
)
from vitalsd.model import Context, Location, Observation, Patient

__all__ = [
    "Prelude",
    "device_row",
    "metric_row",
    "note",
    "patient_segments",
    "pid",
    "prelude",
    "pv1",
    "time_abs_row",
]

# MSH-21 (§1.3): receivers identify the profile by the OID in EI-3.
PROFILE_ID = "IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO"
_PL_LENGTH = 20  # PV1-3 components (§1.4, §4.8)


def escape_hd(value: str) -> str:
    """An HD written ``namespace^universal id^type``: each component escaped on its own."""
    return "^".join(escape(part) for part in value.split("^"))


@dataclass(frozen=True, slots=True)
class Prelude:
    """The parts of a message that depend only on the settings, built once per settings."""

    msh_head: str  # "MSH|^~\&|MSH-3|MSH-4|MSH-5|MSH-6|"
    msh_tail: str  # "|MSH-11|...|MSH-21"
    ei_tail: str  # "^namespace^universal id^type" shared by OBR-2/3 (EI-2..4 = MSH-3)
    namespace: str  # MSH-3.1, escaped
    time_sync_row: str  # the whole OBX 1 (OBX-4 0.0.0.1)


@lru_cache(maxsize=64)
def prelude(settings: Hl7Settings) -> Prelude:
    app = escape_hd(settings.sending_application)
    msh_head = (
        f"MSH|^~\\&|{app}|{escape(settings.sending_facility)}|"
        f"{escape_hd(settings.receiving_application)}|{escape(settings.receiving_facility)}|"
    )
    # MSH-8 empty, MSH-9, [MSH-10 goes between head and tail], MSH-11..21
    msh_tail = (
        f"|{settings.processing_id}|2.6|||{settings.accept_ack_type}|"
        f"{settings.application_ack_type}||{settings.character_set}|"
        f"{settings.principal_language}||{PROFILE_ID}"
    )
    sync = TIME_SYNC_PROTOCOLS[settings.time_sync_protocol]
    return Prelude(
        msh_head=msh_head,
        msh_tail=msh_tail,
        ei_tail="^" + app,
        namespace=app.split("^", 1)[0],
        # OBX-2 CWE, OBX-3, OBX-4 0.0.0.1, OBX-5, OBX-6..10 empty, OBX-11 R (§2.3)
        time_sync_row=f"OBX|1|CWE|{MDC_TIME_SYNC_PROTOCOL}|0.0.0.1|{sync}||||||R",
    )


def _authority(patient: Patient, settings: Hl7Settings) -> str:
    authority = escape(patient.assigning_authority or settings.patient_id_authority)
    if not authority:
        # CX-4 is required by the PCD-01 profile: an MRN means nothing without it.
        raise Hl7EncodeError(
            "the patient id has no assigning authority; set patient_id_authority in the "
            "hl7 output options"
        )
    return authority


def pid(patient: Patient | None, settings: Hl7Settings, namespace: str) -> str:
    """PID for a known patient (PID-3 + PID-5, two-factor) or the unassociated placeholder."""
    if patient is None:
        # §1.4 and §2.3 (e): placeholder id (site agreement), unknown name, PID-31 = Y
        placeholder = escape(settings.placeholder_patient_id)
        return f"PID|||{placeholder}^^^{namespace}^U||^^^^^^U" + "|" * 26 + "Y"
    pid3 = f"{escape(patient.id)}^^^{_authority(patient, settings)}^MR"
    if patient.family_name or patient.given_name:
        pid5 = f"{escape(patient.family_name or '')}^{escape(patient.given_name or '')}^^^^^L"
    else:
        pid5 = "^^^^^^U"  # §1.4: name type U with empty components when no name is known
    # PID-6 empty, PID-7 birth date (DT, day precision), PID-8 sex (Table 0001), when known
    dob = f"{patient.birth_date:%Y%m%d}" if patient.birth_date is not None else ""
    sex = patient.sex.value if patient.sex is not None else ""
    return f"PID|||{pid3}||{pid5}||{dob}|{sex}".rstrip("|")


def pv1(location: Location, patient: Patient | None, settings: Hl7Settings) -> str:
    """PV1-2 patient class and PV1-3 ``point of care^room^bed^facility`` (§1.4)."""
    parts = [
        escape(p or "")
        for p in (location.point_of_care, location.room, location.bed, location.facility)
    ]
    for part in parts:
        if len(part) > _PL_LENGTH:
            raise Hl7EncodeError(
                f"location component {part!r} is longer than {_PL_LENGTH} characters "
                "(escaped); receivers truncate it and rooms could collide"
            )
    segment = f"PV1||{settings.patient_class}|{'^'.join(parts).rstrip('^')}"
    if patient is not None and patient.visit_number:
        # PV1-19 visit number; the profile requires CX-4 and CX-5 (VN: Table 0203)
        authority = _authority(patient, settings)
        segment += "|" * 16 + f"{escape(patient.visit_number)}^^^{authority}^VN"
    return segment


def device_row(set_id: int, mds_code: int, mds_refid: str, equipment: str) -> str:
    # OBX-2 empty, OBX-4 1.0.0.0, OBX-5..10 empty, OBX-11 X, OBX-12..17 empty, OBX-18 (§1.8)
    return f"OBX|{set_id}||{mds_code}^{mds_refid}^MDC|1.0.0.0|||||||X|||||||{equipment}"


def time_abs_row(set_id: int, sub_id: str, device_clock: str, vitalsd_time: str) -> str:
    # OBX-5 the device clock as it read (no zone), OBX-14 vitalsd's time then (§1.8)
    return f"OBX|{set_id}|DTM|{MDC_ATTR_TIME_ABS}|{sub_id}|{device_clock}||||||R|||{vitalsd_time}"


def metric_row(
    set_id: int,
    sub_id: str,
    obs: Observation,
    settings: Hl7Settings,
    *,
    value: str,
    flags: str,
    time: str,
    method: str,
) -> str:
    """One metric: MDC code (+ LOINC), value, MDC unit (+ UCUM), flags, R, time, method."""
    code, unit = _coding(
        obs.mdc_code,
        obs.mdc_refid,
        obs.loinc,
        obs.mdc_unit_code,
        obs.mdc_unit_refid,
        obs.unit.value,
        settings.loinc_alternates,
        settings.ucum_first,
    )
    # OBX-7 empty, OBX-8 flags, OBX-9/10 empty, OBX-11 R, OBX-12/13 empty, OBX-14 time
    row = f"OBX|{set_id}|NM|{code}|{sub_id}|{value}|{unit}||{flags}|||R|||{time}"
    return f"{row}|||{method}" if method else row  # OBX-15/16 empty, OBX-17


@lru_cache(maxsize=256)
def _coding(
    mdc_code: int,
    mdc_refid: str,
    loinc: str | None,
    unit_code: int,
    unit_refid: str,
    ucum: str,
    loinc_alternates: bool,
    ucum_first: bool,
) -> tuple[str, str]:
    """OBX-3 and OBX-6 of a metric row (a handful of distinct values: cached)."""
    code = f"{mdc_code}^{mdc_refid}^MDC"
    mdc_unit = f"{unit_code}^{unit_refid}^MDC"
    ucum = escape(ucum)
    ucum_unit = f"{ucum}^{ucum}^UCUM"
    if loinc_alternates:
        if loinc:
            code += f"^{loinc}^{escape(LOINC_DISPLAY.get(loinc, ''))}^LN"
        unit = f"{ucum_unit}^{mdc_unit}" if ucum_first else f"{mdc_unit}^{ucum_unit}"
    else:
        unit = ucum_unit if ucum_first else mdc_unit
    return code, unit


@lru_cache(maxsize=256)
def patient_segments(context: Context, settings: Hl7Settings, namespace: str) -> str:
    """PID and PV1 of a context (rooms and patients repeat: cached)."""
    return (
        pid(context.patient, settings, namespace)
        + "\r"
        + pv1(context.location, context.patient, settings)
    )


def note(set_id: int, text: str) -> str:
    """NTE under an OBX (NTE-3 is FT: escaped by the caller with ``escape_text``)."""
    return f"NTE|{set_id}||{text}"
