"""Placeholder: being written (issue 4)."""

from __future__ import annotations

from typing import ClassVar

from drivers.ble.base import BleDriver
from vitalsd.model import DeviceKind


class OmronBloodPressureDriver(BleDriver):
    name = "omron_bp"
    summary = "placeholder"
    kinds = frozenset({DeviceKind.MULTI_PARAMETER})
    characteristics: ClassVar[frozenset[int]] = frozenset()
