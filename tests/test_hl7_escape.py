"""HL7 escaping: every escape of shared/reference/hl7-pcd01.md §4.5, and the round trip."""

from __future__ import annotations

import random

import pytest

from hl7.escape import escape, escape_text, unescape


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("|", "\\F\\"),
        ("^", "\\S\\"),
        ("&", "\\T\\"),
        ("~", "\\R\\"),
        ("\\", "\\E\\"),
        ("A&D UA-651", "A\\T\\D UA-651"),  # §4.5: the realistic case, a device model name
        ("plain text 123", "plain text 123"),
        ("Müller Straße", "Müller Straße"),  # non-ASCII goes out as UTF-8, not \X..\ (§4.5)
    ],
)
def test_each_escape(raw: str, escaped: str) -> None:
    assert escape(raw) == escaped


def test_the_escape_character_is_escaped_once() -> None:
    # Text that already looks like an escape sequence must survive as text.
    assert escape("\\F\\") == "\\E\\F\\E\\"
    assert unescape(escape("\\F\\")) == "\\F\\"


@pytest.mark.parametrize("control", ["\r", "\n", "\r\n", "\x00", "\x1b", "\x0b", "\x1c", "\x7f"])
def test_segment_terminators_and_controls_never_reach_the_wire(control: str) -> None:
    out = escape(f"a{control}b")
    assert out == "a" + " " * len(control) + "b"
    assert not any(ord(c) < 0x20 or ord(c) == 0x7F for c in out)


def test_text_fields_keep_line_breaks_as_br() -> None:
    assert (
        escape_text("line 1\r\nline 2\rline 3\nend") == "line 1\\.br\\line 2\\.br\\line 3\\.br\\end"
    )
    assert escape_text("tab\there") == "tab here"
    assert unescape("line 1\\.br\\line 2") == "line 1\nline 2"


def test_unknown_sequences_are_left_alone() -> None:
    assert unescape("\\H\\bold\\N\\ \\X0D\\") == "\\H\\bold\\N\\ \\X0D\\"


def _split(segment: str) -> list[list[list[list[str]]]]:
    """The ER7 parsing rules: fields on |, repetitions on ~, components on ^, subs on &."""
    return [
        [[comp.split("&") for comp in rep.split("^")] for rep in field.split("~")]
        for field in segment.split("|")
    ]


def test_round_trip_through_the_er7_parsing_rules() -> None:
    rng = random.Random(5)  # fixed seed: the same cases on every run
    alphabet = "ab|^~\\&\r\n\t é€"
    for _ in range(2000):
        raw = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        segment = f"NTE|1||{escape_text(raw)}|{escape(raw)}"
        fields = _split(segment)
        assert len(fields) == 5  # no delimiter leaked: still exactly the fields we wrote
        text, st = fields[3], fields[4]
        assert len(text) == len(st) == 1 and len(text[0]) == len(st[0]) == 1
        assert len(text[0][0]) == len(st[0][0]) == 1
        # TX keeps line breaks (as \n), ST blanks every control character
        assert unescape(text[0][0][0]) == raw.replace("\r\n", "\n").replace("\r", "\n").replace(
            "\t", " "
        )
        assert unescape(st[0][0][0]) == "".join(" " if c in "\r\n\t" else c for c in raw)
