"""ORU^R01 build throughput: vitalsd's template encoder beside hl7apy, in the same run.

Each message is the §2.3 (a) blood-pressure report of shared/reference/hl7-pcd01.md
(7 OBX: time sync, device, device clock, systolic/diastolic/mean/pulse) or the oximeter
report (5 OBX). hl7apy builds the same message through its object API, field by field,
and serialises it with ``to_er7()``; the check at the start proves both produce the same
text. Figures only; the issue's goal is >= 20,000 messages/s on one core.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

from hl7.encoder import encode_oru
from hl7.sample import SAMPLE_SETTINGS, sample_report

warnings.simplefilter("ignore")  # hl7apy warns about the profile's table values

REPORTS = [sample_report("bp"), sample_report("spo2")]


def encode_ours(n: int) -> str:
    r = REPORTS[n % 2]
    return encode_oru(
        r.observations,
        settings=SAMPLE_SETTINGS,
        control_id=f"VSD{n:017d}",
        filler_id=f"V{n:015d}",
        now=r.now,
    )


def encode_hl7apy(n: int) -> str:
    from hl7apy.core import Message

    er7 = encode_ours(n)  # the field values to set; its cost is subtracted below
    lines = [line.split("|") for line in er7.split("\r")]
    msg = Message("ORU_R01", version="2.6")
    for i, value in enumerate(lines[0][2:], start=3):
        if value:
            setattr(msg.msh, f"msh_{i}", value)
    result = msg.add_group("ORU_R01_PATIENT_RESULT")
    patient = result.add_group("ORU_R01_PATIENT")
    order = result.add_group("ORU_R01_ORDER_OBSERVATION")
    for fields in lines[1:]:
        name = fields[0]
        if name == "PID":
            seg = patient.add_segment("PID")
        elif name == "PV1":
            seg = patient.add_group("ORU_R01_VISIT").add_segment("PV1")
        elif name == "OBR":
            seg = order.add_segment("OBR")
        else:
            seg = order.add_group("ORU_R01_OBSERVATION").add_segment(name)
        for i, value in enumerate(fields[1:], start=1):
            if value:
                setattr(seg, f"{name.lower()}_{i}", value)
    return str(msg.to_er7())


def rate(fn: Callable[[int], str], seconds: float) -> tuple[float, int]:
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(50):
            fn(count)
            count += 1
    return count / elapsed, count


def main() -> None:
    same = encode_hl7apy(0) == encode_ours(0)
    print(f"hl7apy builds the identical text: {same}")
    ours, n_ours = rate(encode_ours, 3.0)
    theirs, n_theirs = rate(encode_hl7apy, 3.0)
    # hl7apy's figure includes one template build per message (to get the values);
    # take that time back out so the comparison is build against build.
    theirs = 1 / (1 / theirs - 1 / ours)
    for label, figure, n in (
        ("vitalsd template encoder", ours, n_ours),
        ("hl7apy object API", theirs, n_theirs),
    ):
        print(f"{label:26s}{figure:10,.0f} messages/s  ({1e6 / figure:9.1f} µs each, n={n})")
    print(f"ratio: {ours / theirs:,.0f}x  (goal: >= 20,000 messages/s on one core)")


if __name__ == "__main__":
    main()
