"""Why an inbound ADT/SIU message was not applied, in HL7 terms (ACK code, table 0357 code).

``MessageRejected`` answers AR (enhanced mode CR): the header says this message is not for
this receiver at all (type, processing id, version, sending facility, unreadable MSH);
resending it unchanged cannot help. ``MessageNotApplied`` answers AE (CE): a valid message
that names one of our rooms or patients but cannot be applied (no PID-3, an unknown sex
code, a bad date).
"""

from __future__ import annotations

from dataclasses import dataclass

from vitalsd.errors import ContextRejected


@dataclass(frozen=True, slots=True)
class ErrorLocation:
    """ERR-2: where in the message the problem is (segment, its sequence, field)."""

    segment: str
    sequence: int = 1
    field: int | None = None


class AdtMessageError(ContextRejected):
    """An inbound message cannot be applied; ``code`` is from HL7 table 0357."""

    ack_code = "AE"

    def __init__(self, message: str, *, code: str, location: ErrorLocation | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.location = location


class MessageRejected(AdtMessageError):
    """AR: not a message this receiver takes (header-level problem)."""

    ack_code = "AR"


class MessageNotApplied(AdtMessageError):
    """AE: a message for one of our rooms or patients that cannot be applied."""

    ack_code = "AE"


# HL7 table 0357 (message error condition codes), the ones this receiver uses.
SEGMENT_SEQUENCE_ERROR = "100"
REQUIRED_FIELD_MISSING = "101"
DATA_TYPE_ERROR = "102"
TABLE_VALUE_NOT_FOUND = "103"
UNSUPPORTED_MESSAGE_TYPE = "200"
UNSUPPORTED_EVENT_CODE = "201"
UNSUPPORTED_PROCESSING_ID = "202"
UNSUPPORTED_VERSION_ID = "203"
UNKNOWN_KEY_IDENTIFIER = "204"
APPLICATION_INTERNAL_ERROR = "207"

ERROR_TEXT = {
    SEGMENT_SEQUENCE_ERROR: "Segment sequence error",
    REQUIRED_FIELD_MISSING: "Required field missing",
    DATA_TYPE_ERROR: "Data type error",
    TABLE_VALUE_NOT_FOUND: "Table value not found",
    UNSUPPORTED_MESSAGE_TYPE: "Unsupported message type",
    UNSUPPORTED_EVENT_CODE: "Unsupported event code",
    UNSUPPORTED_PROCESSING_ID: "Unsupported processing id",
    UNSUPPORTED_VERSION_ID: "Unsupported version id",
    UNKNOWN_KEY_IDENTIFIER: "Unknown key identifier",
    APPLICATION_INTERNAL_ERROR: "Application internal error",
}
