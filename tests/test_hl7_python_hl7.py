"""Every message shape vitalsd emits parses with python-hl7 to the values we meant.

python-hl7 (PyPI ``hl7`` 0.4.5) is an independent ER7 parser, but it imports as ``hl7``
like our package. ``.ci/setup`` installs it into ``.cache/python-hl7`` and it runs here in
a ``python -S`` subprocess (no site-packages, so our editable install is not on the path)
with only that directory added. The subprocess turns each message into nested lists
(segment → field → repetition → component → subcomponent, unescaped by python-hl7); the
test compares them with what the encoder was given: the tree split out of our own bytes
with the test's own unescape, and — for the values that matter — the observations and
settings themselves.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hl7.sample import KINDS, sample_message, sample_report
from tests.test_hl7_profile import SHAPES

PYTHON_HL7 = Path(__file__).resolve().parent.parent / ".cache" / "python-hl7"

_PARSER = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import hl7

def tree(node, message):
    if isinstance(node, str):
        return node if message is None else message.unescape(node)  # parse() leaves escape sequences in place
    return [tree(child, message) for child in node]

out = []
for text in json.load(sys.stdin):
    message = hl7.parse(text)
    if hl7.__file__ is None or not hl7.__file__.startswith(sys.argv[1]):
        sys.exit("imported the wrong hl7: " + str(hl7.__file__))
    segments = []
    for segment in message:
        # MSH-1 and MSH-2 are the delimiters themselves: taken as they stand.
        keep = 3 if str(segment[0]) == "MSH" else 1
        fields = [tree(f, message) if n >= keep else tree(f, None) for n, f in enumerate(segment)]
        segments.append(fields)
    out.append({"segments": segments})
json.dump(out, sys.stdout)
"""


def python_hl7(messages: list[str]) -> list[dict[str, Any]]:
    if not (PYTHON_HL7 / "hl7" / "__init__.py").exists():
        pytest.fail(
            f"python-hl7 is not installed in {PYTHON_HL7}; run .ci/setup (or "
            f".venv/bin/pip install --target {PYTHON_HL7} hl7==0.4.5)",
            pytrace=False,
        )
    done = subprocess.run(
        [sys.executable, "-S", "-c", _PARSER, str(PYTHON_HL7)],
        input=json.dumps(messages),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"python-hl7 could not parse: {done.stderr}"
    return json.loads(done.stdout)  # type: ignore[no-any-return]


_ESCAPES = {"F": "|", "S": "^", "T": "&", "R": "~", "E": "\\"}


def unescape(text: str) -> str:
    """HL7 v2 ch. 2 escape sequences, as the encoder's escaping is meant to be read back."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and text[i + 2 : i + 3] == "\\" and text[i + 1] in _ESCAPES:
            out.append(_ESCAPES[text[i + 1]])
            i += 3
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def depth4(node: Any) -> list[list[list[str]]]:
    """python-hl7 nests only as deep as a field needs; pad every field to rep/comp/sub."""

    def wrap(x: Any, levels: int) -> Any:
        if levels == 0:
            return x if isinstance(x, str) else "".join(x)
        if isinstance(x, str):
            x = [x]
        return [wrap(child, levels - 1) for child in x]

    return wrap(node, 3)  # type: ignore[no-any-return]


def ours(message: str) -> list[list[list[list[list[str]]]]]:
    """Our bytes split by the delimiters declared in MSH-1/2, each leaf unescaped."""
    segments = []
    for line in message.split("\r"):
        fields = line.split("|")
        if fields[0] == "MSH":
            # MSH-1 and MSH-2 are the delimiters themselves, not data to split.
            head = [[[[fields[0]]]], [[["|"]]], [[[fields[1]]]]]
            rest = fields[2:]
        else:
            head, rest = [[[[fields[0]]]]], fields[1:]
        tail = [
            [[[unescape(s) for s in c.split("&")] for c in r.split("^")] for r in f.split("~")]
            for f in rest
        ]
        segments.append(head + tail)
    return segments


def theirs(parsed: dict[str, Any]) -> list[list[list[list[list[str]]]]]:
    return [[depth4(f) for f in seg] for seg in parsed["segments"]]


MESSAGES: dict[str, Callable[[], str]] = {
    **{f"sample-{k}": functools.partial(sample_message, k) for k in KINDS},
    **{
        f"sample-{k}-unassociated": functools.partial(sample_message, k, associated=False)
        for k in KINDS
    },
    **{f"shape-{name}": build for name, build in SHAPES.items()},
}


def test_every_shape_parses_to_the_same_tree() -> None:
    names = sorted(MESSAGES)
    texts = [MESSAGES[n]() for n in names]
    for name, text, parsed in zip(names, texts, python_hl7(texts), strict=True):
        mine, other = ours(text), theirs(parsed)
        assert len(mine) == len(other), f"{name}: segment count"
        for a, b in zip(mine, other, strict=True):
            # MSH-2 holds the encoding characters: python-hl7 keeps it whole, as do we.
            assert a == b, f"{name}: {a[0][0][0][0]} differs:\n ours   {a}\n theirs {b}"


def test_readings_and_ids_read_back_as_given() -> None:
    kinds = sorted(KINDS)
    reports = [sample_report(k) for k in kinds]
    parsed = python_hl7([sample_message(k) for k in kinds])
    for kind, report, doc in zip(kinds, reports, parsed, strict=True):
        segs = theirs(doc)
        msh = next(s for s in segs if s[0][0][0][0] == "MSH")
        assert msh[10][0][0][0] == report.control_id, kind
        values = [s[5][0][0][0] for s in segs if s[0][0][0][0] == "OBX" and s[2][0][0][0] == "NM"]
        sent = [str(o.value) for o in report.observations]
        assert all(v in values for v in sent), f"{kind}: {sent} not all in {values}"


def test_escaped_text_reads_back_unescaped() -> None:
    segs = theirs(python_hl7([SHAPES["escaped-text"]()])[0])
    by_name = {s[0][0][0][0]: s for s in segs}
    assert by_name["MSH"][4][0][0][0] == "A&B^East"  # MSH-4 one component, as configured
    assert by_name["PID"][5][0][0][0] == "Doe|Roe"
    assert by_name["PID"][3][0][0][0] == "M^1"
    assert by_name["PID"][3][0][3][0] == "H&H"
    assert by_name["PV1"][3][0][1][0] == "R~1"  # PV1-3.2 room
    assert by_name["PV1"][3][0][3][0] == "A&B"  # PV1-3.4 facility


def test_birth_date_sex_and_flags_read_back_as_given() -> None:
    report = sample_report("bp")
    patient = report.observations[0].context.patient
    assert patient is not None and patient.birth_date is not None and patient.sex is not None
    segs = theirs(python_hl7([sample_message("bp")])[0])
    pid = next(s for s in segs if s[0][0][0][0] == "PID")
    assert pid[7][0][0][0] == f"{patient.birth_date:%Y%m%d}"  # PID-7 DT
    assert pid[8][0][0][0] == patient.sex.value  # PID-8, Table 0001
    flagged = theirs(python_hl7([SHAPES["flags-and-notes"]()])[0])
    obx = [s for s in flagged if s[0][0][0][0] == "OBX" and s[2][0][0][0] == "NM"]
    # IMPLAUSIBLE and ALARM_HIGH: OBX-8 repeats, H then QUES; the value is the one read
    assert [r[0][0] for r in obx[0][8]] == ["H", "QUES"]
    assert obx[0][5][0][0][0] == str(report.observations[0].value)
