"""Acknowledgements for inbound ADT/SIU (HL7 v2.5.1 ch. 2, "acknowledgment messages").

The ACK mirrors the message it answers: sending and receiving application/facility
swapped, MSH-9 ``ACK^<trigger>^ACK``, the same processing id and version, and the
sender's own delimiters (so fields copied back stay valid). MSA-2 is the received MSH-10.
Errors carry an ERR segment: ERR-2 location, ERR-3 the table 0357 code, ERR-4 ``E``,
ERR-8 the reason in words (v2.5 and later); older versions get ERR-1 instead.

Modes: with MSH-15 and MSH-16 both empty (original mode) the answer is AA/AE/AR. In
enhanced mode MSH-15 asks for an accept ACK (CA/CE/CR) and MSH-16 for an application ACK
(AA/AE/AR), each ``AL`` always, ``NE`` never, ``ER`` on error, ``SU`` on success.
vitalsd applies a message before it answers, so it sends one answer on the same
connection: the accept ACK when MSH-15 wants one, otherwise the application ACK when
MSH-16 wants one, otherwise nothing.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from datetime import datetime

from hl7.adt.er7 import Delimiters, Er7Message
from hl7.adt.errors import ERROR_TEXT, AdtMessageError

__all__ = ["AckHeader", "answer_code", "build_ack", "header_of"]

_COUNTER = itertools.count(1)
_RUN = os.getpid() % 1000


@dataclass(frozen=True, slots=True)
class AckHeader:
    """What an ACK copies from the message it answers (raw, still escaped)."""

    delimiters: Delimiters
    sending_application: str = ""
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    trigger: str = ""
    control_id: str = ""
    processing_id: str = ""
    version: str = ""
    accept_ack_type: str = ""  # MSH-15
    application_ack_type: str = ""  # MSH-16


def header_of(msg: Er7Message) -> AckHeader:
    msh = msg.segment("MSH")
    raw = msg.raw
    return AckHeader(
        delimiters=msg.delimiters,
        sending_application=raw(msh, 3),
        sending_facility=raw(msh, 4),
        receiving_application=raw(msh, 5),
        receiving_facility=raw(msh, 6),
        trigger=msg.get("MSH", 9, 2),
        control_id=msg.get("MSH", 10),
        processing_id=raw(msh, 11),
        version=raw(msh, 12),
        accept_ack_type=msg.get("MSH", 15).upper(),
        application_ack_type=msg.get("MSH", 16).upper(),
    )


def _wanted(condition: str, ok: bool) -> bool:
    return condition == "AL" or (condition == "ER" and not ok) or (condition == "SU" and ok)


def answer_code(header: AckHeader, outcome: str) -> str | None:
    """The MSA-1 to send for ``outcome`` (AA, AE or AR), or None when no ACK is wanted."""
    if not header.accept_ack_type and not header.application_ack_type:
        return outcome  # original mode
    ok = outcome == "AA"
    if _wanted(header.accept_ack_type, ok):
        return "C" + outcome[1]
    if _wanted(header.application_ack_type, ok):
        return outcome
    return None


def _version(text: str) -> tuple[int, ...]:
    parts: list[int] = []
    for piece in text.split(".")[:3]:
        if not piece.isdigit():
            break
        parts.append(int(piece))
    return tuple(parts)


def new_control_id(now: datetime) -> str:
    """MSH-10 of our ACK: unique per process run, at most 20 characters."""
    return f"VA{now:%y%m%d%H%M%S}{_RUN:03d}{next(_COUNTER) % 1000:03d}"


def build_ack(
    header: AckHeader, code: str, now: datetime, error: AdtMessageError | None = None
) -> bytes:
    """An ACK message (without MLLP framing) for ``header`` with MSA-1 ``code``."""
    d = header.delimiters
    f, c = d.field, d.component
    version = header.version.split(c)[0]
    vnum = _version(version)
    message_type = "ACK"
    if header.trigger:  # unknown when the message was unreadable
        message_type += f"{c}{header.trigger}" + (f"{c}ACK" if vnum >= (2, 3, 1) else "")
    msh = f.join(
        [
            "MSH",
            d.encoding_characters,
            header.receiving_application,
            header.receiving_facility,
            header.sending_application,
            header.sending_facility,
            now.strftime("%Y%m%d%H%M%S%z"),
            "",
            message_type,
            new_control_id(now),
            header.processing_id or "P",
            header.version or "2.5.1",
        ]
    )
    text = d.escape_text(str(error)[:200]) if error is not None else ""
    msa = f.join(["MSA", code, d.escape_text(header.control_id)] + ([text] if text else []))
    segments = [msh, msa]
    if error is not None:
        loc = error.location
        parts = [] if loc is None else [loc.segment, str(loc.sequence), str(loc.field or "")]
        where = c.join(parts).rstrip(c)
        name = ERROR_TEXT.get(error.code, "")
        coded = c.join([error.code, name, "HL70357"])
        if vnum and vnum < (2, 5):
            sub = d.subcomponent or c
            eld = c.join([*([*parts, "", "", ""][:3]), sub.join(coded.split(c))])
            segments.append(f.join(["ERR", eld]))
        else:
            segments.append(f.join(["ERR", "", where, coded, "E", "", "", "", text]))
    return ("\r".join(segments) + "\r").encode("utf-8")
