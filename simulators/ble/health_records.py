"""Measurement records as a health device sends them, encoded from the GATT layouts.

Sources (ble-health.md §2): 2.1 Blood Pressure Measurement 0x2A35 (flags: bit 0 kPa, 1
time stamp, 2 pulse rate, 3 user id, 4 status); 2.2 Temperature Measurement 0x2A1C
(flags: bit 0 °F, 1 time stamp, 2 type; FLOAT value); 2.3 Weight Measurement 0x2A9D
(uint16 in 0.005 kg / 0.01 lb; flags bit 1 time stamp, 2 user, 3 BMI+height); 2.3 Body
Composition 0x2A9C, whole or split in two packets; 2.4 PLX Spot-check 0x2A5E and
Continuous 0x2A5F; 2.5 Glucose Measurement 0x2A18 (sequence number, base time, SFLOAT
kg/L or mol/L, type low nibble / location high nibble); 2.6 RACP responses ``06 00 <op>
<code>`` and ``05 00 <uint16>``. The real A&D record of §3.1 #6 comes out byte for byte
from ``blood_pressure(125, 80, 102, ...)``, §3.5 #2 from ``body_composition("30.0",
time=..., user=1, impedance_ohm="460.0", ...)``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from simulators.ble.sig_fields import Number, Special, date_time, float32, sfloat


def blood_pressure(
    systolic: Number,
    diastolic: Number,
    mean: Number,
    *,
    time: datetime | None = None,
    pulse: Number | None = None,
    user: int | None = None,
    status: int | None = None,
    kpa: bool = False,
) -> bytes:
    """0x2A35 (and 0x2A36, with the unused fields as NaN)."""
    flags = (
        (0x01 if kpa else 0)
        | (0x02 if time is not None else 0)
        | (0x04 if pulse is not None else 0)
        | (0x08 if user is not None else 0)
        | (0x10 if status is not None else 0)
    )
    out = bytes((flags,)) + sfloat(systolic) + sfloat(diastolic) + sfloat(mean)
    if time is not None:
        out += date_time(time)
    if pulse is not None:
        out += sfloat(pulse)
    if user is not None:
        out += bytes((user,))
    if status is not None:
        out += status.to_bytes(2, "little")
    return out


def temperature(
    value: Number,
    *,
    time: datetime | None = None,
    site: int | None = None,
    fahrenheit: bool = False,
) -> bytes:
    """0x2A1C / 0x2A1E; ``site`` is the Temperature Type code (2 body, 6 mouth, 9 tympanum)."""
    flags = (
        (0x01 if fahrenheit else 0)
        | (0x02 if time is not None else 0)
        | (0x04 if site is not None else 0)
    )
    out = bytes((flags,)) + float32(value)
    if time is not None:
        out += date_time(time)
    if site is not None:
        out += bytes((site,))
    return out


def weight(
    kilograms: Decimal | str | None,
    *,
    time: datetime | None = None,
    user: int | None = None,
) -> bytes:
    """0x2A9D in SI units; None sends 0xFFFF, "measurement unsuccessful"."""
    flags = (0x02 if time is not None else 0) | (0x04 if user is not None else 0)
    if kilograms is None:
        raw = 0xFFFF
    else:
        steps = Decimal(kilograms) / Decimal("0.005")
        if steps != steps.to_integral_value():
            raise ValueError(f"{kilograms} kg is not a multiple of 0.005 kg")
        raw = int(steps)
    out = bytes((flags,)) + raw.to_bytes(2, "little")
    if time is not None:
        out += date_time(time)
    if user is not None:
        out += bytes((user,))
    return out


def plx_spot_check(
    spo2: Number,
    pulse: Number,
    *,
    time: datetime | None = None,
    measurement_status: int | None = None,
    clock_not_set: bool = False,
) -> bytes:
    """0x2A5E: flags bit 0 time stamp, 1 measurement status, 4 device clock not set."""
    flags = (
        (0x01 if time is not None else 0)
        | (0x02 if measurement_status is not None else 0)
        | (0x10 if clock_not_set else 0)
    )
    out = bytes((flags,)) + sfloat(spo2) + sfloat(pulse)
    if time is not None:
        out += date_time(time)
    if measurement_status is not None:
        out += measurement_status.to_bytes(2, "little")
    return out


def plx_continuous(spo2: Number, pulse: Number) -> bytes:
    """0x2A5F with the normal SpO2PR pair only (flags 0)."""
    return b"\x00" + sfloat(spo2) + sfloat(pulse)


def glucose(
    sequence: int,
    base_time: datetime | None,
    mg_per_dl: Number,
    *,
    sample_type: int = 1,
    location: int = 1,
    status: int | None = None,
) -> bytes:
    """0x2A18 in kg/L (flags bit 1, units bit 2 clear): mg/dL × 10⁻⁵ kg/L (§2.5)."""
    flags = 0x02 | (0x08 if status is not None else 0)
    value = mg_per_dl if isinstance(mg_per_dl, Special) else Decimal(mg_per_dl).scaleb(-5)
    out = bytes((flags,)) + sequence.to_bytes(2, "little") + date_time(base_time)
    out += sfloat(value) + bytes((sample_type & 0x0F | (location & 0x0F) << 4,))
    if status is not None:
        out += status.to_bytes(2, "little")
    return out


def racp_response(request_op: int, code: int) -> bytes:
    """RACP response code indication: ``06 00 <request op> <code>`` (§2.6)."""
    return bytes((0x06, 0x00, request_op, code))


def racp_count(count: int) -> bytes:
    """RACP number of stored records: ``05 00 <uint16>`` (§2.6)."""
    return bytes((0x05, 0x00)) + count.to_bytes(2, "little")


# Body Composition Measurement 0x2A9C (§2.3): flags uint16; optional fields in flag-bit
# order after Flags and Body Fat %: bit 1 time stamp (7), bit 2 user (1), bits 3-11 uint16
# each (basal kJ, muscle %, muscle / fat-free / soft lean / water mass, impedance 0.1 Ω,
# weight 0.005 kg, height 0.001 m); bit 12 the record is split over two indications.
BC_SPLIT = 0x1000
_BC_SIZES = {0x0002: 7, 0x0004: 1, **{1 << bit: 2 for bit in range(3, 12)}}


def body_composition(
    fat_percent: Decimal | str,
    *,
    time: datetime | None = None,
    user: int | None = None,
    impedance_ohm: Decimal | str | None = None,
    kilograms: Decimal | str | None = None,
    metres: Decimal | str | None = None,
) -> bytes:
    """0x2A9C in SI units, whole (one packet); ``split_body_composition`` cuts it in two."""
    fields: dict[int, bytes] = {}
    if time is not None:
        fields[0x0002] = date_time(time)
    if user is not None:
        fields[0x0004] = bytes((user,))
    for bit, value, step in (
        (0x0200, impedance_ohm, "0.1"),
        (0x0400, kilograms, "0.005"),
        (0x0800, metres, "0.001"),
    ):
        if value is not None:
            fields[bit] = int(Decimal(value) / Decimal(step)).to_bytes(2, "little")
    fat = int(Decimal(fat_percent) * 10).to_bytes(2, "little")
    return _bc_packet(0, fat, fields)


def _bc_packet(extra_flags: int, fat: bytes, fields: dict[int, bytes]) -> bytes:
    flags = extra_flags
    body = b""
    for bit in sorted(fields):
        flags |= bit
        body += fields[bit]
    return flags.to_bytes(2, "little") + fat + body


def split_body_composition(data: bytes) -> list[bytes]:
    """A whole 0x2A9C record as two packets, as a scale on a 23-byte ATT MTU sends it:
    each with its own flags (bit 12 set) and the mandatory Body Fat %, the optional
    fields shared out in order (time stamp and user id with the first)."""
    flags = int.from_bytes(data[:2], "little")
    fat, offset = data[2:4], 4
    fields: dict[int, bytes] = {}
    for bit in sorted(_BC_SIZES):
        if flags & bit:
            fields[bit] = data[offset : offset + _BC_SIZES[bit]]
            offset += _BC_SIZES[bit]
    order = sorted(fields)
    half = (len(order) + 1) // 2
    imperial = flags & 0x0001
    return [
        _bc_packet(imperial | BC_SPLIT, fat, {b: fields[b] for b in order[:half]}),
        _bc_packet(imperial | BC_SPLIT, fat, {b: fields[b] for b in order[half:]}),
    ]
