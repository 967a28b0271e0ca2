"""Observations of one device report → one IHE PCD-01 ORU^R01 message (HL7 v2.6, ER7).

Layout (shared/reference/hl7-pcd01.md §1.2, §2.3)::

    MSH  PID  PV1  OBR
    OBX 0.0.0.1  time-sync row (how vitalsd's clock is kept)
    OBX 1.0.0.0  the device (MDS): device profile code, OBX-18 equipment id
    OBX 1.0.0.1  the device clock (MDC_ATTR_TIME_ABS), when the device has one
    OBX 1.0.0.n  one row per metric, [NTE] when a flag or a conversion needs words

Built from string templates, not hl7apy's object tree, which costs ~25 ms a message
(§5.3); hl7apy validates the output in the tests. Nothing here logs message content.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from hl7 import segments
from hl7.encode_error import Hl7EncodeError
from hl7.equipment import equipment_id
from hl7.escape import escape_text
from hl7.settings import Hl7Settings
from hl7.timestamps import format_dtm, format_wall_clock
from hl7.vocabulary import (
    ABNORMAL_FLAGS,
    CALCULATED_METRICS,
    FLAG_NOTES,
    METHODS,
    NIBP_METRICS,
    REPORT_ORDER,
    SERVICE_ID,
)
from vitalsd.model import Flag, Observation
from vitalsd.normalize.codes import DEVICE_PROFILES

__all__ = ["Hl7EncodeError", "encode_oru", "observed_at"]

_CONTROL_ID_LENGTH = 20  # MSA-2 echoes MSH-10 and is 20 long (§1.3, §4.4)
_FILLER_ID_LENGTH = 16  # EI-1 in the Gazelle profile (§1.5, §4.8)
_SAFE_ID = re.compile(r"[A-Za-z0-9._\-]+")  # ASCII, no delimiters, nothing to escape
_CLOCK_DOUBTS = frozenset({Flag.CLOCK_UNSET, Flag.CLOCK_SKEW})
_METRIC_ORDER = {metric: n for n, metric in enumerate(REPORT_ORDER)}


def _check_id(name: str, value: str, limit: int) -> None:
    if not value or len(value) > limit or not _SAFE_ID.fullmatch(value):
        raise Hl7EncodeError(
            f"{name} {value!r} must be 1-{limit} characters of A-Z a-z 0-9 . _ -; "
            "receivers truncate longer ids and two messages could then collide"
        )


def observed_at(obs: Observation) -> datetime:
    """The time reported for a reading (OBX-14).

    The device's own stamp, zone applied by normalization; for a live reading whose
    device clock is unset or off, the time vitalsd received it instead (PCD asks the
    reporter to correct device times, §1.8). Stored records keep their device time: the
    moment they were read out says nothing about when they were taken.
    """
    if obs.device_time is None:
        return obs.receive_time
    if not obs.stored and obs.flags & _CLOCK_DOUBTS:
        return obs.receive_time
    return obs.device_time


def _value(obs: Observation) -> str:
    if not obs.value.is_finite():
        raise Hl7EncodeError(f"{obs.metric.value} value {obs.value} is not a number")
    return format(obs.value, "f")  # device precision kept; never an exponent (§4.8)


def _notes(obs: Observation, time_substituted: bool) -> str:
    notes = [text for flag, text in FLAG_NOTES.items() if flag in obs.flags]
    if time_substituted:
        notes.append("the time is when vitalsd received the reading")
    if obs.source_value is not None and obs.source_unit is not None:
        notes.append(
            f"the device reported {format(obs.source_value, 'f')} {obs.source_unit.value}; "
            f"converted to {obs.unit.value} by vitalsd"
        )
    return escape_text("; ".join(notes))


def _method(obs: Observation, settings: Hl7Settings) -> str:
    if obs.metric in CALCULATED_METRICS:
        return METHODS["ACALC"]
    if obs.metric in NIBP_METRICS and settings.nibp_method:
        return METHODS[settings.nibp_method]
    return ""  # AMEAS is the default when OBX-17 is empty (§1.6)


def _ordered(observations: Sequence[Observation]) -> list[Observation]:
    """Reading by reading in time order; within a reading, ``REPORT_ORDER``."""
    group_time: dict[str, datetime] = {}
    for obs in observations:
        if obs.group is not None:
            t = observed_at(obs)
            group_time[obs.group] = min(t, group_time.get(obs.group, t))
    return sorted(
        observations,
        key=lambda o: (
            group_time[o.group] if o.group is not None else observed_at(o),
            o.group or "",
            _METRIC_ORDER[o.metric],
            observed_at(o),
        ),
    )


def _check_report(observations: Sequence[Observation]) -> Observation:
    if not observations:
        raise Hl7EncodeError("an ORU needs at least one observation")
    first = observations[0]
    for obs in observations[1:]:
        if obs.device_id != first.device_id:
            raise Hl7EncodeError(
                f"one report holds one device: {first.device_id!r} and {obs.device_id!r}"
            )
        if obs.context != first.context:
            raise Hl7EncodeError(
                f"readings of {first.device_id!r} carry different patient or location "
                "context; they belong in separate reports"
            )
    return first


def encode_oru(
    observations: Sequence[Observation],
    *,
    settings: Hl7Settings,
    control_id: str,
    filler_id: str,
    now: datetime,
) -> str:
    """The ER7 text of one ORU^R01 for one device report; segments joined by ``\\r``.

    ``control_id`` (MSH-10, ≤ 20) and ``filler_id`` (OBR-3, ≤ 16) are chosen and kept by
    the caller so a resend is byte-identical. ``now`` (aware) is MSH-7 only, never an
    observation time. No MLLP framing; encode the text as UTF-8 to send it.
    """
    first = _check_report(observations)
    _check_id("control_id", control_id, _CONTROL_ID_LENGTH)
    _check_id("filler_id", filler_id, _FILLER_ID_LENGTH)
    utc = settings.times_in_utc
    pre = segments.prelude(settings)
    ordered = _ordered(observations)
    times = [observed_at(o) for o in ordered]
    context = first.context

    out = [
        f"{pre.msh_head}{format_dtm(now, utc=utc)}||ORU^R01^ORU_R01|{control_id}{pre.msh_tail}",
        segments.patient_segments(context, settings, pre.namespace),
        f"OBR|1|{filler_id}{pre.ei_tail}|{filler_id}{pre.ei_tail}|{SERVICE_ID}"
        f"|||{format_dtm(min(times), utc=utc)}",
        pre.time_sync_row,
    ]
    profile = DEVICE_PROFILES[first.device_kind]
    equipment = equipment_id(first.identity, first.device_id, pre.namespace)
    out.append(segments.device_row(2, profile.code, profile.refid, equipment))

    set_id, metric_no = 3, 1
    # The device clock row: the newest live reading's stamp beside the time vitalsd got it.
    clocked = [o for o in ordered if o.device_time is not None and not o.stored]
    if clocked:
        latest = max(clocked, key=lambda o: o.receive_time)
        assert latest.device_time is not None
        out.append(
            segments.time_abs_row(
                set_id,
                "1.0.0.1",
                format_wall_clock(latest.device_time),
                format_dtm(latest.receive_time, utc=utc),
            )
        )
        set_id, metric_no = 4, 2

    for obs, when in zip(ordered, times, strict=True):
        flags = ""
        if obs.flags:
            flags = "~".join(dict.fromkeys(c for f, c in ABNORMAL_FLAGS.items() if f in obs.flags))
        out.append(
            segments.metric_row(
                set_id,
                f"1.0.0.{metric_no}",
                obs,
                settings,
                value=_value(obs),
                flags=flags,
                time=format_dtm(when, utc=utc),
                method=_method(obs, settings),
            )
        )
        substituted = when is not obs.device_time and obs.device_time is not None
        if obs.flags or obs.source_value is not None or substituted:
            text = _notes(obs, substituted)
            if text:
                out.append(segments.note(1, text))
        set_id += 1
        metric_no += 1
    return "\r".join(out)
