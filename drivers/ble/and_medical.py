"""Placeholder: being written (issue 4)."""

from __future__ import annotations

from typing import ClassVar

from drivers.ble.base import BleDriver
from vitalsd.model import DeviceKind


class AndUa651Driver(BleDriver):
    name = "and_ua651ble"
    summary = "placeholder"
    kinds = frozenset({DeviceKind.MULTI_PARAMETER})
    characteristics: ClassVar[frozenset[int]] = frozenset()


class AndUc352Driver(BleDriver):
    name = "and_uc352ble"
    summary = "placeholder"
    kinds = frozenset({DeviceKind.MULTI_PARAMETER})
    characteristics: ClassVar[frozenset[int]] = frozenset()
