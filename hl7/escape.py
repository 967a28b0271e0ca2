"""HL7 v2 escaping for the standard delimiters ``|^~\\&`` (shared/reference/hl7-pcd01.md §4.5).

One ``str.translate`` pass does it all, so the escape character is never escaped twice.
Segment terminators and other control characters never reach the wire: in ST/CWE text
they become a space, in TX/FT text a line break becomes ``\\.br\\``. Non-ASCII text is
left as is and goes out as UTF-8 (MSH-18 ``UNICODE UTF-8``), never as ``\\X..\\``.
"""

from __future__ import annotations

import re

__all__ = ["escape", "escape_text", "unescape"]

_DELIMITERS = {
    ord("\\"): "\\E\\",
    ord("|"): "\\F\\",
    ord("^"): "\\S\\",
    ord("&"): "\\T\\",
    ord("~"): "\\R\\",
}
_CONTROLS = {c: " " for c in (*range(0x20), 0x7F)}
_ST_TABLE = str.maketrans({**_CONTROLS, **_DELIMITERS})
_TEXT_TABLE = str.maketrans({**_CONTROLS, **_DELIMITERS, ord("\n"): "\\.br\\"})
_NEWLINES = re.compile(r"\r\n?")

_UNESCAPES = {"E": "\\", "F": "|", "S": "^", "T": "&", "R": "~", ".br": "\n"}
_SEQUENCE = re.compile(r"\\([^\\]*)\\")


def escape(value: str) -> str:
    """``value`` safe inside an ST/IS/CWE component: delimiters escaped, controls blanked."""
    return value.translate(_ST_TABLE)


def escape_text(value: str) -> str:
    """``value`` for a TX/FT field (NTE-3): line breaks as ``\\.br\\``, other controls blanked."""
    return _NEWLINES.sub("\n", value).translate(_TEXT_TABLE)


def unescape(value: str) -> str:
    """The inverse of ``escape_text`` (and of ``escape`` for text without controls).

    Unknown sequences (``\\H\\``, ``\\Xhh\\`` ...) are kept verbatim: vitalsd never emits
    them, and a reader that guessed would do more harm than one that shows them.
    """
    return _SEQUENCE.sub(lambda m: _UNESCAPES.get(m.group(1), m.group(0)), value)
