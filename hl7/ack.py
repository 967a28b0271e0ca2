"""Reading HL7 v2 acknowledgements (MSA-1/MSA-2, ERR) and what the sender does about them.

Written for what receivers really send: delimiters taken from MSH-1/MSH-2, segments
ended by CR (LF and CRLF tolerated), MSH-7 with or without a zone (python-hl7 and
Medplum omit it), and no reliance on anything but MSA and ERR. The policy is
reference/hl7-pcd01.md §4.3.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

ACK_CODES = frozenset({"AA", "AE", "AR", "CA", "CE", "CR"})
# ERR-3 codes (HL7 table 0357) that say the message type/event/version/processing id is
# unsupported: retrying the same bytes can never succeed.
UNSUPPORTED_CODES = frozenset({"200", "201", "202", "203"})


class AckError(ValueError):
    """The bytes are not an acknowledgement we can read (treated like no answer)."""


@dataclass(frozen=True, slots=True)
class AckErr:
    """One ERR segment: the HL7 error code (ERR-3.1), severity (ERR-4) and text."""

    code: str
    severity: str
    text: str


@dataclass(frozen=True, slots=True)
class Ack:
    code: str  # MSA-1
    control_id: str  # MSA-2: the MSH-10 it acknowledges
    text: str  # MSA-3 (not used by PCD, but some receivers put the reason there)
    errors: tuple[AckErr, ...] = ()

    def describe(self) -> str:
        """One line for logs and the outbox: code and error texts, never message content."""
        parts = [self.code]
        for err in self.errors:
            parts.append(f"ERR {err.code or '?'}/{err.severity or '?'} {err.text}".rstrip())
        if self.text:
            parts.append(self.text)
        return "; ".join(parts)


class Outcome(StrEnum):
    DELIVERED = "delivered"  # AA / CA
    CONTENT_ERROR = "content_error"  # AE / CE: dead letter, no loop
    REJECTED = "rejected"  # AR / CR: retry with backoff, up to a cap
    UNSUPPORTED = "unsupported"  # AR / CR with ERR 200-203: dead letter at once


def parse_ack(data: bytes) -> Ack:
    """Parse an ACK message (without MLLP framing)."""
    text = data.decode("utf-8", errors="replace")
    segments = [s for s in re.split(r"\r\n|\r|\n", text) if s.strip()]
    if not segments or not segments[0].startswith("MSH") or len(segments[0]) < 8:
        raise AckError("response does not start with an MSH segment")
    field_sep = segments[0][3]
    component_sep = segments[0][4]
    msa: list[str] | None = None
    errors: list[AckErr] = []
    for segment in segments[1:]:
        fields = segment.split(field_sep)
        if fields[0] == "MSA" and msa is None:
            msa = fields
        elif fields[0] == "ERR":
            code = _field(fields, 3).split(component_sep)
            errors.append(
                AckErr(
                    code=code[0],
                    severity=_field(fields, 4).split(component_sep)[0],
                    # ERR-8 user message, else ERR-3.2 the code's text, else ERR-7 diagnostics
                    text=_unescape(
                        _field(fields, 8) or (code[1] if len(code) > 1 else "") or _field(fields, 7)
                    ),
                )
            )
    if msa is None:
        raise AckError("response has no MSA segment")
    ack_code = _field(msa, 1).strip().upper()
    if ack_code not in ACK_CODES:
        raise AckError(f"MSA-1 {ack_code[:10]!r} is not an acknowledgement code")
    return Ack(
        code=ack_code,
        control_id=_field(msa, 2).split(component_sep)[0].strip(),
        text=_unescape(_field(msa, 3)),
        errors=tuple(errors),
    )


def _field(fields: list[str], n: int) -> str:
    return fields[n] if len(fields) > n else ""


_ESCAPES = {"F": "|", "S": "^", "T": "&", "R": "~", "E": "\\"}


def _unescape(text: str) -> str:
    # Standard delimiters only; enough for human-readable error text.
    return re.sub(r"\\([FSTRE])\\", lambda m: _ESCAPES[m.group(1)], text)


def classify(ack: Ack) -> Outcome:
    """What the sender does with this acknowledgement (reference/hl7-pcd01.md §4.3)."""
    if ack.code in ("AA", "CA"):
        return Outcome.DELIVERED
    if ack.code in ("AE", "CE"):
        return Outcome.CONTENT_ERROR
    if any(err.code in UNSUPPORTED_CODES for err in ack.errors):
        return Outcome.UNSUPPORTED
    return Outcome.REJECTED
