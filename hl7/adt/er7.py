"""Reading an inbound HL7 v2 message (ER7, "pipe and hat") with the sender's own delimiters.

The field separator is MSH-1 and the encoding characters MSH-2 (component, repetition,
escape, subcomponent, and from v2.7 truncation), so a sender using other characters than
``|^~\\&`` is read correctly. Segments end with CR; LF and CRLF are tolerated because
engines and test tools send them. Values are kept escaped until a leaf (component or
subcomponent) is read, then unescaped, so an escaped ``\\S\\`` never splits a component.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hl7.adt.errors import DATA_TYPE_ERROR, SEGMENT_SEQUENCE_ERROR, ErrorLocation, MessageRejected

__all__ = ["Delimiters", "Er7Message", "Segment", "parse_er7"]

_SEGMENT_BREAK = re.compile(r"\r\n|\r|\n")
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}")


@dataclass(frozen=True, slots=True)
class Delimiters:
    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"

    @property
    def encoding_characters(self) -> str:
        """MSH-2 as this receiver writes it back (in its ACK)."""
        return self.component + self.repetition + self.escape + self.subcomponent

    def unescape(self, value: str) -> str:
        """Resolve the escapes of HL7 v2 ch. 2: \\F\\ \\S\\ \\T\\ \\R\\ \\E\\ \\.br\\ \\Xhh\\."""
        esc = self.escape
        if not esc or esc not in value:
            return value
        table = {
            "F": self.field,
            "S": self.component,
            "T": self.subcomponent,
            "R": self.repetition,
            "E": esc,
            ".br": "\n",
        }

        def one(match: re.Match[str]) -> str:
            body = match.group(1)
            if body in table:
                return table[body]
            if body.startswith("X") and len(body) > 1:
                try:
                    return bytes.fromhex(body[1:]).decode("utf-8")
                except ValueError:
                    return match.group(0)
            return match.group(0)  # \H\, \N\, \Cxxyy\ ...: shown as received, never guessed

        return re.sub(
            re.escape(esc) + r"([^" + re.escape(esc) + r"]*)" + re.escape(esc), one, value
        )

    def escape_text(self, value: str) -> str:
        """``value`` safe inside a component written with these delimiters (controls blanked)."""
        out: list[str] = []
        names = {
            **({self.escape: "E"} if self.escape else {}),
            self.field: "F",
            self.component: "S",
            self.subcomponent: "T",
            self.repetition: "R",
        }
        for ch in value:
            if ch in names and not self.escape:
                out.append(" ")  # a sender without an escape character: nothing to write
            elif ch in names:
                out.append(f"{self.escape}{names[ch]}{self.escape}")
            elif ord(ch) < 0x20 or ord(ch) == 0x7F:
                out.append(" ")
            else:
                out.append(ch)
        return "".join(out)


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment; ``fields[n]`` is field n as received (still escaped).

    For MSH, ``fields[1]`` is the field separator and ``fields[2]`` the encoding
    characters, so MSH-n is ``fields[n]`` like every other segment.
    """

    name: str
    fields: tuple[str, ...]
    sequence: int  # 1 for the first segment of this name, 2 for the second ...


@dataclass(frozen=True, slots=True)
class Er7Message:
    segments: tuple[Segment, ...]
    delimiters: Delimiters

    def segment(self, name: str) -> Segment | None:
        return next((s for s in self.segments if s.name == name), None)

    def all(self, name: str) -> tuple[Segment, ...]:
        return tuple(s for s in self.segments if s.name == name)

    def raw(self, segment: Segment | None, field: int) -> str:
        """Field ``field`` of ``segment`` exactly as received ("" when absent)."""
        if segment is None or field >= len(segment.fields):
            return ""
        return segment.fields[field]

    def repetitions(self, segment: Segment | None, field: int) -> list[str]:
        """The repetitions of a field, still escaped; MSH-1/MSH-2 never repeat."""
        value = self.raw(segment, field)
        if segment is not None and segment.name == "MSH" and field <= 2:
            return [value]
        return value.split(self.delimiters.repetition) if value else []

    def components(self, value: str) -> list[str]:
        """A (raw) field value split into components, still escaped."""
        return value.split(self.delimiters.component)

    def leaf(self, value: str, component: int = 1, subcomponent: int = 1) -> str:
        """One component (1-based) and subcomponent of ``value``, unescaped and trimmed."""
        comps = self.components(value)
        if component > len(comps):
            return ""
        subs = comps[component - 1].split(self.delimiters.subcomponent)
        if subcomponent > len(subs):
            return ""
        text = self.delimiters.unescape(subs[subcomponent - 1]).strip()
        return "" if text == '""' else text  # "" is HL7's explicit null

    def get(self, name: str, field: int, component: int = 1, subcomponent: int = 1) -> str:
        """First repetition of ``name``-``field``, one leaf, unescaped ("" when absent)."""
        reps = self.repetitions(self.segment(name), field)
        return self.leaf(reps[0], component, subcomponent) if reps else ""


def parse_er7(text: str) -> Er7Message:
    """Split ``text`` into segments with the delimiters its MSH declares.

    Raises ``MessageRejected`` (AR) when there is no usable MSH: without it nothing in the
    message can be trusted.
    """
    lines = [line for line in _SEGMENT_BREAK.split(text) if line.strip()]
    if not lines or not lines[0].startswith("MSH"):
        raise MessageRejected(
            "the message does not start with an MSH segment",
            code=SEGMENT_SEQUENCE_ERROR,
            location=ErrorLocation("MSH"),
        )
    msh = lines[0]
    if len(msh) < 8:
        raise MessageRejected(
            "MSH is too short to hold MSH-1 and MSH-2",
            code=DATA_TYPE_ERROR,
            location=ErrorLocation("MSH", 1, 2),
        )
    sep = msh[3]
    encoding = msh[4:].split(sep, 1)[0]
    if (
        sep.isalnum()
        or sep.isspace()
        or len(encoding) < 2
        or len(set(sep + encoding)) != len(sep + encoding)
    ):
        raise MessageRejected(
            f"MSH-1/MSH-2 {msh[3:9]!r} are not usable delimiters",
            code=DATA_TYPE_ERROR,
            location=ErrorLocation("MSH", 1, 2),
        )
    delims = Delimiters(
        field=sep,
        component=encoding[0],
        repetition=encoding[1],
        escape=encoding[2] if len(encoding) > 2 else "",
        subcomponent=encoding[3] if len(encoding) > 3 else "",
    )
    counts: dict[str, int] = {}
    segments: list[Segment] = []
    for line in lines:
        name = line[:3]
        if not _SEGMENT_ID.fullmatch(name) or (len(line) > 3 and line[3] != sep):
            raise MessageRejected(
                f"segment {len(segments) + 1} does not start with a segment id",
                code=SEGMENT_SEQUENCE_ERROR,
            )
        counts[name] = counts.get(name, 0) + 1
        if name == "MSH" and counts[name] == 1:
            fields = ("MSH", sep, *line[4:].split(sep))
        else:
            fields = tuple(line.split(sep))
        segments.append(Segment(name, fields, counts[name]))
    return Er7Message(tuple(segments), delims)
