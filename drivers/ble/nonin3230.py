"""Placeholder: being written (issue 4)."""

from __future__ import annotations

from typing import ClassVar

from drivers.ble.base import BleDriver
from vitalsd.model import DeviceKind


class Nonin3230Driver(BleDriver):
    name = "nonin_3230"
    summary = "placeholder"
    kinds = frozenset({DeviceKind.MULTI_PARAMETER})
    characteristics: ClassVar[frozenset[int]] = frozenset()
