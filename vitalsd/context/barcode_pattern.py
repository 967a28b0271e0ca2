"""What a scanned label says: a site's regular expression turns scan text into a Patient.

Wristbands and visit labels differ by site and EHR, so the layout is configuration: one
regular expression with named groups, matched against the whole scan (never a
substring, so "MRN123" does not match inside a longer, different label). Examples:

- ``MRN12345``: ``MRN(?P<id>\\d+)``
- ``^MRN^12345^DOE^JANE^19800101^F``:
  ``\\^MRN\\^(?P<id>[^^]+)\\^(?P<family_name>[^^]*)\\^(?P<given_name>[^^]*)\\^``
  ``(?P<birth_date>\\d{8})\\^(?P<sex>[MFOUAN])``
- a plain visit (encounter) number ``V00123456``: ``V(?P<visit_number>\\d{8})`` — with no
  ``id`` group the visit number is the patient id; the interface engine resolves it.

Scanners in "AIM identifier" mode put ``]`` + symbology + modifier (``]C1``: Code 128)
before the data; it is stripped first when the site asks for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from vitalsd.errors import ContextRejected
from vitalsd.model import Patient, Sex

PATIENT_GROUPS = (
    "id",
    "assigning_authority",
    "family_name",
    "given_name",
    "visit_number",
    "birth_date",
    "sex",
)
ROOM_GROUPS = ("room",)
_AIM_PREFIX = re.compile(r"\][A-Za-z][0-9A-Za-z]")
_SEX_WORDS = {"FEMALE": Sex.FEMALE, "MALE": Sex.MALE, "OTHER": Sex.OTHER, "UNKNOWN": Sex.UNKNOWN}


class ScanRejected(ContextRejected):
    """A scan that cannot be used. The message is safe to log: it never quotes the scan."""


def compile_pattern(
    text: str, allowed: tuple[str, ...], required: tuple[str, ...]
) -> re.Pattern[str]:
    """Compile a configured pattern; ``ValueError`` with a message a site can act on."""
    try:
        pattern = re.compile(text)
    except re.error as err:
        raise ValueError(f"not a valid regular expression: {err}") from None
    unknown = sorted(set(pattern.groupindex) - set(allowed))
    if unknown:
        raise ValueError(
            f"unknown group name(s) {', '.join(unknown)} (allowed: {', '.join(allowed)})"
        )
    if not set(required) & set(pattern.groupindex):
        names = " or ".join(f"(?P<{name}>...)" for name in required)
        raise ValueError(f"needs a named group {names}")
    return pattern


def check_date_format(text: str) -> str:
    """A strftime format must at least round-trip a date, or every scan would fail."""
    sample = date(1980, 1, 31)
    try:
        parsed = parse_date(sample.strftime(text), text)
    except ValueError:
        parsed = None
    if parsed != sample:
        raise ValueError(f"{text!r} is not a date format like %Y%m%d")
    return text


def parse_date(text: str, fmt: str) -> date:
    return datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a birth date has no zone


def strip_aim_prefix(text: str) -> str:
    return text[3:] if _AIM_PREFIX.match(text) else text


@dataclass(frozen=True, slots=True)
class PatientPattern:
    """Turns a wristband or visit-label scan into a ``Patient`` (or rejects it)."""

    pattern: re.Pattern[str]
    birth_date_format: str = "%Y%m%d"
    assigning_authority: str | None = None  # when the label does not carry one

    @classmethod
    def from_text(
        cls, text: str, birth_date_format: str = "%Y%m%d", assigning_authority: str | None = None
    ) -> PatientPattern:
        return cls(
            compile_pattern(text, PATIENT_GROUPS, ("id", "visit_number")),
            check_date_format(birth_date_format),
            assigning_authority,
        )

    def matches(self, scan: str) -> bool:
        return self.pattern.fullmatch(scan) is not None

    def parse(self, scan: str) -> Patient:
        match = self.pattern.fullmatch(scan)
        if match is None:
            raise ScanRejected("no match")
        groups = {k: v.strip() for k, v in match.groupdict().items() if v and v.strip()}
        patient_id = groups.get("id") or groups.get("visit_number")
        if not patient_id:
            raise ScanRejected("no patient id in the scan")
        birth_date = None
        if "birth_date" in groups:
            try:
                birth_date = parse_date(groups["birth_date"], self.birth_date_format)
            except ValueError:
                raise ScanRejected(
                    f"birth date does not fit the format {self.birth_date_format}"
                ) from None
        sex = None
        if "sex" in groups:
            sex = _sex(groups["sex"])
        return Patient(
            id=patient_id,
            assigning_authority=groups.get("assigning_authority") or self.assigning_authority,
            family_name=groups.get("family_name"),
            given_name=groups.get("given_name"),
            visit_number=groups.get("visit_number"),
            birth_date=birth_date,
            sex=sex,
        )


def _sex(text: str) -> Sex:
    upper = text.upper()
    if upper in _SEX_WORDS:
        return _SEX_WORDS[upper]
    try:
        return Sex(upper)
    except ValueError:
        raise ScanRejected("sex is not one of F, M, O, U, A, N") from None


@dataclass(frozen=True, slots=True)
class RoomPattern:
    """Reads the room a room label names (``ROOM:EXAM3`` → ``EXAM3``)."""

    pattern: re.Pattern[str]

    @classmethod
    def from_text(cls, text: str) -> RoomPattern:
        return cls(compile_pattern(text, ROOM_GROUPS, ("room",)))

    def room(self, scan: str) -> str | None:
        match = self.pattern.fullmatch(scan)
        if match is None:
            return None
        return (match.group("room") or "").strip() or None
