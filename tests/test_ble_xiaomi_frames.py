"""Xiaomi Mi Scale service data: golden vectors, negative vectors, debouncing.

Vectors: shared/reference/ble-health.md §3.4 #5, #7, #8 (Mi Scale v1) and §3.5 #5-#7
(Mi Body Composition Scale 2), from github:Bluetooth-Devices/xiaomi-ble
tests/test_parser.py (test_Xiaomi_Scale1, test_Xiaomi_Scale2, ..._non_stabilized,
..._reset).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from drivers.ble.payload import PayloadError
from drivers.ble.xiaomi import XiaomiScaleDriver
from drivers.ble.xiaomi_frames import (
    MI_SCALE_V1,
    MI_SCALE_V2,
    WeighingDebouncer,
    decode_service_data,
    parse_service_data,
)
from simulators.ble import xiaomi_scale as sim
from vitalsd.model import DeviceEvent, Measurement, Metric, Unit


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def test_v1_stabilized_weight() -> None:
    # Real-derived: xiaomi-ble test_Xiaomi_Scale1, §3.4 #5.
    [m] = decode_service_data(MI_SCALE_V1, h("22 9E 43 E5 07 04 0B 10 13 01"))
    assert isinstance(m, Measurement)
    assert (m.metric, m.value, m.unit) == (Metric.BODY_WEIGHT, Decimal("86.55"), Unit.KG)
    assert m.device_time == datetime(2021, 4, 11, 16, 19, 1)
    assert not m.stored


@pytest.mark.parametrize(
    ("hex_", "raw", "stabilized", "removed"),
    [
        ("82 14 00 E5 07 04 0B 10 17 08", 20, False, True),  # §3.4 #7: 0.1 kg, not stabilized
        ("80 00 00 E5 07 04 0B 10 13 01", 0, False, True),  # §3.4 #8: 0 kg, removed
    ],
)
def test_v1_unstable_or_removed_is_no_number(
    hex_: str, raw: int, stabilized: bool, removed: bool
) -> None:
    weighing = parse_service_data(MI_SCALE_V1, h(hex_))
    assert (weighing.raw, weighing.stabilized, weighing.removed) == (raw, stabilized, removed)
    [event] = decode_service_data(MI_SCALE_V1, h(hex_))
    assert isinstance(event, DeviceEvent)
    assert not any(ch.isdigit() for ch in event.message)


def test_v2_stabilized_weight_with_impedance() -> None:
    # Lib: xiaomi-ble test_Xiaomi_Scale2, §3.5 #5 (the scale clock was never set: 1970).
    data = h("02 26 B2 07 05 04 0F 02 01 AC 01 86 42")
    weighing = parse_service_data(MI_SCALE_V2, data)
    assert weighing.impedance_ohm == 428
    [m] = decode_service_data(MI_SCALE_V2, data)
    assert isinstance(m, Measurement)
    assert (m.value, m.unit) == (Decimal("85.15"), Unit.KG)
    assert m.device_time == datetime(1970, 5, 4, 15, 2, 1)


@pytest.mark.parametrize(
    ("hex_", "why"),
    [
        ("02 04 B2 07 01 01 12 10 1A 00 00 A8 52", "not stabilized"),  # §3.5 #6: 105.8 kg
        ("02 82 B2 07 05 04 0F 02 01 00 00 00 00", "removed"),  # §3.5 #7
    ],
)
def test_v2_unstable_or_removed_is_no_number(hex_: str, why: str) -> None:
    [event] = decode_service_data(MI_SCALE_V2, h(hex_))
    assert isinstance(event, DeviceEvent) and why in event.message
    assert parse_service_data(MI_SCALE_V2, h(hex_)).weight[0] in (Decimal("105.8"), 0)


@pytest.mark.parametrize(
    ("control", "raw", "value", "unit"),
    [
        (0x21, 17310, Decimal("173.10"), Unit.LB),  # bit 0: lb×100
        (0x30, 17310, Decimal("86.55"), Unit.KG),  # bit 4: jin×100; 1 jin = 0.5 kg exactly
    ],
)
def test_v1_units(control: int, raw: int, value: Decimal, unit: Unit) -> None:
    # Derived from §3.4 #5 with the unit bits of xiaomi-ble _parse_scale_v1.
    data = bytes([control]) + raw.to_bytes(2, "little") + h("E5 07 04 0B 10 13 01")
    [m] = decode_service_data(MI_SCALE_V1, data)
    assert isinstance(m, Measurement)
    assert (m.value, m.unit) == (value, unit)


@pytest.mark.parametrize(
    ("uuid", "hex_", "reason"),
    [
        (MI_SCALE_V1, "22 9E 43 E5 07 04 0B 10 13", "9 bytes, expected 10"),
        (MI_SCALE_V2, "22 9E 43 E5 07 04 0B 10 13 01", "10 bytes, expected 13"),
        (MI_SCALE_V1, "22 9E 43 E5 07 0D 0B 10 13 01", "month 13"),
        ("0000fe95-0000-1000-8000-00805f9b34fb", "22 9E 43", "no Mi scale decoder"),
    ],
)
def test_negative_vectors(uuid: str, hex_: str, reason: str) -> None:
    with pytest.raises(PayloadError, match=reason):
        decode_service_data(uuid, h(hex_))


def test_cli_hook_takes_short_uuids() -> None:
    [m] = XiaomiScaleDriver.decode_advertisement("181d", h("22 9E 43 E5 07 04 0B 10 13 01"))
    assert isinstance(m, Measurement) and m.value == Decimal("86.55")


def test_simulator_encodes_the_published_vectors() -> None:
    # The simulator is written from the layout; pin it to the same public vectors.
    when = datetime(2021, 4, 11, 16, 19, 1)
    v1 = sim.v1_payload(86.55, when, stabilized=True)
    assert v1[1:] == h("22 9E 43 E5 07 04 0B 10 13 01")[1:]
    assert v1[0] & 0xB1 == 0x20  # stabilized, kg (bit 1 of the capture is undocumented)
    v2 = sim.v2_payload(
        85.15,
        datetime(1970, 5, 4, 15, 2, 1),
        stabilized=True,
        impedance=428,
    )
    assert v2 == h("02 22 B2 07 05 04 0F 02 01 AC 01 86 42")  # capture: 02 26 (bit 2 unknown)


def test_debouncer_reports_each_weighing_once() -> None:
    when = datetime(2024, 3, 15, 8, 30)
    payloads = sim.weighing_payloads("v1", sim.Weighing(72.4, when)) * 3
    later = sim.Weighing(72.45, datetime(2024, 3, 15, 8, 35))
    payloads += sim.weighing_payloads("v1", later)
    debouncer = WeighingDebouncer()
    accepted = [
        w.weight for p in payloads if debouncer.accept(w := parse_service_data(MI_SCALE_V1, p))
    ]
    assert accepted == [(Decimal("72.400"), Unit.KG), (Decimal("72.450"), Unit.KG)]
