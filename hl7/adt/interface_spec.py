# ruff: noqa: E501 - Markdown table rows in the prose cannot be wrapped
"""The "ADT/SIU in" subsection (of §8, association modes) of docs/interface-spec.md (rendered by ``hl7.spec``).

Option names, defaults and descriptions come from ``AdtOptions`` itself, and the trigger
table from the triggers vitalsd acts on, so the document cannot drift from the code.
"""

from __future__ import annotations

from hl7.adt.options import AdtOptions
from hl7.adt.triggers import ADT_TRIGGERS, SIU_TRIGGERS

__all__ = ["adt_section"]

_PROSE = """\
### ADT/SIU in — patient association from the EHR

A site can point the EHR's ADT feed (and a clinic's scheduling SIU feed) at vitalsd
(context source `hl7_adt`). vitalsd then associates the patient the EHR places in a room
with every device configured in that room, and the readings it sends carry that patient
in PID (and PV1-19) instead of the unassociated placeholder. This is the location-centric
mode of §4 made patient-centric by the EHR itself.

#### Transport

- MLLP release 1 listener on `bind`:`port`. There is no default address: the engine is
  remote, and listening on every interface (`0.0.0.0`) must be a deliberate choice.
  Optional TLS (`tls_cert`/`tls_key`); with `tls_client_ca` only engines presenting a
  certificate signed by that CA may connect (mutual TLS).
- One answer per message, on the same connection, after the message has been applied.
  Stray CR/LF or other bytes between frames are skipped; a frame cut off by a dropped
  connection is discarded unanswered (resend it). At most `max_connections` connections
  at once; more are closed at once and logged.
- Delimiters are read from MSH-1/MSH-2 and the ACK uses the sender's own. Text is UTF-8,
  or ISO 8859-1 when MSH-18 names 8859 (or the bytes are not UTF-8); HL7 escapes
  (`\\F\\ \\S\\ \\T\\ \\R\\ \\E\\ \\Xhh\\`) are resolved.

#### Which messages concern vitalsd

A message concerns this gateway when its location names a room where devices are
configured, or when it names a patient associated here now. The location is PV1-3
(PL: `<point of care>^<room>^<bed>^<facility>`; for SIU, AIL-3 first, then PV1-3),
matched against the configured device locations by the rule the readings use: the room
must be equal; facility (PL-4, its namespace id) and point of care are compared only
when both sides have one; a PV1-3 with a bed covers only devices configured with that
bed, one without a bed covers the whole room. The ORU's own PV1-3 is built from the same
configured values, so a site writes its facility, point of care and rooms as the EHR
codes them.

**Everything else is acknowledged `AA` and ignored** (logged at DEBUG). An interface
engine usually sends the whole facility's ADT to every subscriber, and most of it is for
rooms without vitalsd: answering `AE` would fill the engine's error queue with messages
that are not errors, and `AR` would make it resend them forever. `AE` is kept for
messages that do concern us but cannot be applied.

#### What each trigger does

| Message | vitalsd does |
|---|---|
| ADT^A01 admit, A04 register, A13 cancel discharge | associate the PID patient with the PV1-3 room (a room association: every device there); an association of the same patient elsewhere ends ("transferred") |
| ADT^A02 transfer, A12 cancel transfer | the patient now belongs to PV1-3 (for A12 that is the location returned to; PV1-6 is not needed); if PV1-3 is not a room served here, the patient's associations end |
| ADT^A03 discharge | the patient's associations end ("discharged") |
| ADT^A11 cancel admit/visit | the patient's associations end ("cancelled") |
| ADT^A08 update | new demographics for the patient's current associations (their start is kept) |
| ADT^A40 merge | associations of the MRG-1 patient continue under the PID patient |
| SIU^S12 new, S13 rescheduled, S14 modified appointment | associate when the location (AIL-3, else PV1-3) is a room served here **and** the appointment starts now: at most `siu_window_before` ahead or `siu_window_after` past when the message arrives (start from AIL-6, AIS-4, TQ1-7, then SCH-11.4); a filler status SCH-25 `Cancelled`, `Deleted` or `Noshow` ends it instead |
| SIU^S15 cancelled, S17 deleted appointment | the patient's associations end ("cancelled") |
| any other ADT or SIU trigger | `AA`, nothing changes |

The SIU window is deliberate: vitalsd keeps no schedule, so an appointment booked days
ahead is acknowledged and forgotten, and only an appointment message sent when the
patient is about to be (or is) in the room places them there — schedulers send an S14
at check-in, or the booking itself for walk-ins. Sites whose scheduler sends nothing at
check-in should use ADT A04 (registration) instead.

The patient is PID-3 (the repetition whose assigning authority, CX-4, is
`identifier_authority`; without that option the first one) with its assigning authority,
PID-5 family and given name, PID-7 birth date, PID-8 administrative sex (HL7 table
0001), and PV1-19 visit number (else PID-18). An association lasts until discharge,
cancel, transfer out, a new association of the same room, or `timeout` (by default the
`[context]` timeout), whichever is first: a missed A03 must not keep a room forever.
Readings taken before the association began are never attributed to the patient.

#### Acknowledgements

| Condition | MSA-1 | ERR-3 (HL7 table 0357) |
|---|---|---|
| applied; or not for the rooms served here; or a resend | `AA` | — |
| for a room or patient here, but not applicable: PID missing (`100`), PID-3 empty (`101`), no PID-3 from `identifier_authority` (`204`), PID-7 not a date (`102`), PID-8 not in table 0001 (`103`), SIU without a start time (`101`) | `AE` | the code, ERR-2 the field |
| not a message this receiver takes: MSH-9 not ADT or SIU (`200`), no trigger (`201`), MSH-11 not `processing_id` (`202`), MSH-12 not 2.x (`203`), MSH-4 not in `allowed_facilities` (`207`), MSH-10 empty (`101`), no readable MSH (`100`, `102`) | `AR` | the code |

- The ACK's MSH swaps the sender and receiver (MSH-3/4 are the received MSH-5/6 and vice
  versa), MSH-9 is `ACK^<trigger>^ACK`, MSH-10 vitalsd's own id (at most 20 characters),
  MSH-11 and MSH-12 are as received. MSA-2 is the received MSH-10; on an error MSA-3 and
  ERR-8 say what is wrong in words, ERR-2 where, ERR-4 is `E` (v2.5 and later; earlier
  versions get ERR-1). Error texts never contain patient data.
- Original mode (MSH-15 and MSH-16 empty): `AA`/`AE`/`AR`. Enhanced mode: when MSH-15
  asks for an accept ACK (`AL`; `ER` on errors; `SU` on success) the answer is
  `CA`/`CE`/`CR` with the same meaning; otherwise, when MSH-16 asks for an application
  ACK, `AA`/`AE`/`AR`; otherwise (`NE` for both) nothing is sent.
- Resends: vitalsd remembers the last 2000 messages by MSH-3, MSH-4 and MSH-10. A message
  with a remembered control id and identical bytes (a resend after a lost ACK) gets the same answer
  again and is not applied twice; the same MSH-10 with other content is applied as new
  (and logged). The memory does not survive a restart; applying an ADT twice gives the
  same associations.
- Logs: each applied message at INFO (trigger, room, MSH-10 — never names or ids),
  ignored ones at DEBUG, errors at WARNING; `/status` shows the last event and error.

#### Options (`[[context.sources]]` with `type = "hl7_adt"`)
"""


def _default(name: str) -> str:
    field = AdtOptions.model_fields[name]
    if field.is_required():
        return "**required**"
    value = field.default
    if value is None or value == ():
        return "—"
    return f"`{value!r}`"


def adt_section() -> str:
    rows = [
        f"| `{name}` | {_default(name)} | {field.description or ''} |"
        for name, field in AdtOptions.model_fields.items()
    ]
    triggers = ", ".join(sorted(ADT_TRIGGERS)) + "; SIU " + ", ".join(sorted(SIU_TRIGGERS))
    example = (
        '```toml\n[[context.sources]]\ntype = "hl7_adt"\n[context.sources.options]\n'
        'bind = "10.20.0.5"\nport = 2575\nallowed_facilities = ["HOSP"]\n'
        'identifier_authority = "HOSP"\n```\n'
    )
    return (
        _PROSE
        + "\n| option | default | meaning |\n|---|---|---|\n"
        + "\n".join(rows)
        + '\n\nDurations are seconds or `"30m"`, `"4h"`, `"1h30m"`. Triggers acted on: ADT '
        + triggers
        + ".\n\n"
        + example
    )
