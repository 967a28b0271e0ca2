"""What a site chooses about the ORU^R01 messages vitalsd sends (the PCD-01 dialect).

Defaults follow shared/reference/hl7-pcd01.md §0 and §1.9: the TF text's ``AL|NE``
acknowledgement types, MDC codes first with LOINC/UCUM alternates, ``UNICODE UTF-8``.
Every value is checked here, once, so the encoder's hot path never re-validates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hl7.encode_error import Hl7EncodeError
from hl7.escape import escape
from hl7.vocabulary import TIME_SYNC_PROTOCOLS

__all__ = ["Hl7Settings"]

_ACK_TYPES = frozenset({"AL", "NE", "ER", "SU"})  # HL7 Table 0155
_PROCESSING_IDS = frozenset({"P", "D", "T"})  # HL7 Table 0103
_PATIENT_CLASSES = frozenset({"E", "I", "O", "P", "R", "B", "U"})  # HL7 Table 0004
# HL7 Table 0211, the values an MLLP v1 link can carry (no UTF-16/32: §4.1)
_CHARSETS = frozenset({"ASCII", "8859/1", "8859/15", "UNICODE UTF-8"})
_IS_LENGTH = 20  # HD.1 / IS components: receivers truncate at 20 (§4.8)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _check_hd(name: str, value: str, *, required: bool) -> None:
    """An HD written as ``namespace[^universal id^type]``; components must fit."""
    if not value:
        if required:
            raise Hl7EncodeError(f"{name} must not be empty")
        return
    if _CONTROL.search(value):
        raise Hl7EncodeError(f"{name} contains control characters")
    parts = value.split("^")
    if len(parts) > 3:
        raise Hl7EncodeError(f"{name} has more than 3 components (namespace^id^type): {value!r}")
    if len(escape(parts[0])) > _IS_LENGTH:
        raise Hl7EncodeError(
            f"{name} namespace {parts[0]!r} is longer than {_IS_LENGTH} characters; "
            "receivers truncate it"
        )
    if required and not parts[0]:
        raise Hl7EncodeError(f"{name} needs a namespace id (first component)")


@dataclass(frozen=True, slots=True)
class Hl7Settings:
    """The per-destination choices of an ORU^R01 message (MSH and association details)."""

    sending_application: str = "VITALSD"  # MSH-3, HD "namespace[^universal id^type]"
    sending_facility: str = ""  # MSH-4, one name; delimiters in it are escaped
    receiving_application: str = ""  # MSH-5, HD like MSH-3
    receiving_facility: str = ""  # MSH-6, one name; delimiters in it are escaped
    processing_id: str = "P"  # MSH-11: P production, D debug, T training
    accept_ack_type: str = "AL"  # MSH-15; TF text AL, Gazelle/Continua NE (§1.9)
    application_ack_type: str = "NE"  # MSH-16; TF text NE, Gazelle/Continua AL (§1.9)
    character_set: str = "UNICODE UTF-8"  # MSH-18 (HL7 Table 0211)
    principal_language: str = "en^English^ISO639"  # MSH-19 (CWE, written as is)
    loinc_alternates: bool = True  # LOINC as OBX-3 alternate, UCUM as OBX-6 alternate
    ucum_first: bool = False  # OBX-6 as UCUM only (for EHRs that know no MDC units)
    unassociated_patient_id: str = ""  # PID-3.1 placeholder; "" = "UNASSOCIATED"
    patient_id_authority: str = ""  # PID-3.4 when the patient's id names no authority
    patient_class: str = "O"  # PV1-2 (Table 0004): clinic visits are outpatients
    time_sync_protocol: str = "NTPV4"  # how vitalsd's own clock is kept (MDC_TIME_SYNC_*)
    times_in_utc: bool = True  # every DTM as +0000; False keeps each time's own offset
    nibp_method: str = "MMEAS"  # OBX-17 for cuff readings: an assistant starts the cuff

    def __post_init__(self) -> None:
        _check_hd("sending_application", self.sending_application, required=True)
        _check_hd("receiving_application", self.receiving_application, required=False)
        for name in (
            "sending_facility",
            "receiving_facility",
            "unassociated_patient_id",
            "patient_id_authority",
        ):
            value: str = getattr(self, name)
            if _CONTROL.search(value):
                raise Hl7EncodeError(f"{name} contains control characters")
            if len(escape(value)) > _IS_LENGTH:  # escapes count: \T\ is three more
                raise Hl7EncodeError(
                    f"{name} {value!r} is longer than {_IS_LENGTH} characters once escaped; "
                    "receivers truncate it"
                )
        _check_choice("processing_id", self.processing_id, _PROCESSING_IDS)
        _check_choice("accept_ack_type", self.accept_ack_type, _ACK_TYPES)
        _check_choice("application_ack_type", self.application_ack_type, _ACK_TYPES)
        _check_choice("character_set", self.character_set, _CHARSETS)
        _check_choice("patient_class", self.patient_class, _PATIENT_CLASSES)
        _check_choice("time_sync_protocol", self.time_sync_protocol, frozenset(TIME_SYNC_PROTOCOLS))
        _check_choice("nibp_method", self.nibp_method, frozenset({"", "AMEAS", "MMEAS"}))
        if _CONTROL.search(self.principal_language):
            raise Hl7EncodeError("principal_language contains control characters")

    @property
    def placeholder_patient_id(self) -> str:
        return self.unassociated_patient_id or "UNASSOCIATED"


def _check_choice(name: str, value: str, allowed: frozenset[str]) -> None:
    if value not in allowed:
        raise Hl7EncodeError(f"{name} {value!r} is not one of {', '.join(sorted(allowed))}")
