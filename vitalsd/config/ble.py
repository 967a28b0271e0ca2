"""Bluetooth LE settings: ``[devices.ble]`` (which device) and ``[ble]`` (which radio stack)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from vitalsd.links.gatt import BleTarget, normalize_uuid

_ADDRESS = re.compile(r"[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}")
_ADAPTER = re.compile(r"hci[0-9]{1,2}")


def _fail(message: str) -> PydanticCustomError:
    return PydanticCustomError("vitalsd", message)


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


def check_adapter(value: str) -> str:
    if not _ADAPTER.fullmatch(value):
        raise _fail(f"'{value}' is not an adapter name: write e.g. \"hci0\" (see `hciconfig`)")
    return value


class BleSettings(_Table):
    """``[devices.ble]``: the device, by address or by what it advertises."""

    address: str | None = Field(default=None, description="AA:BB:CC:DD:EE:FF")
    name: str | None = Field(default=None, description="advertised name pattern: 'A&D_UA-651*'")
    service: str | None = Field(default=None, description="advertised service: '1810'")
    adapter: str | None = Field(default=None, description="'hci0'; default: [ble] adapter")

    @field_validator("address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not _ADDRESS.fullmatch(value.strip()):
            raise _fail(
                f"'{value}' is not a Bluetooth address: write six hex pairs, "
                "AA:BB:CC:DD:EE:FF (vitalsd scan --ble lists them)"
            )
        return value.strip().replace("-", ":").upper()

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise _fail("must not be empty: the advertised name, '*' wildcards allowed")
        return value

    @field_validator("service")
    @classmethod
    def _service(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return normalize_uuid(value)
        except ValueError:
            raise _fail(
                f"'{value}' is not a Bluetooth service UUID: write the SIG short form "
                '("1810" blood pressure, "1809" thermometer, "181d" scale) or the full '
                "128-bit form"
            ) from None

    @field_validator("adapter")
    @classmethod
    def _adapter(cls, value: str | None) -> str | None:
        return None if value is None else check_adapter(value)

    @model_validator(mode="after")
    def _something_to_match(self) -> BleSettings:
        if self.address is None and self.name is None and self.service is None:
            raise _fail(
                'says nothing about which device: give address = "AA:BB:CC:DD:EE:FF", '
                'or name = "pattern*" and/or service = "1810"'
            )
        return self

    def target(self, default_adapter: str | None = None) -> BleTarget:
        return BleTarget(
            address=self.address,
            name=self.name,
            service=self.service,
            adapter=self.adapter or default_adapter,
        )


class BleConfig(_Table):
    """``[ble]``: the radio stack and the limits of each adapter."""

    backend: Literal["bleak", "bumble"] = Field(
        default="bleak",
        description="bleak: BlueZ over D-Bus (normal); bumble: an HCI dongle without BlueZ",
    )
    transport: str | None = Field(
        default=None,
        description="bumble only: HCI transport, e.g. 'usb:0' or 'serial:/dev/ttyACM0'",
    )
    adapter: str = Field(default="hci0", description="adapter of devices that name none")
    max_connections: int = Field(
        default=4, ge=1, le=16, description="concurrent connections per adapter"
    )

    @field_validator("adapter")
    @classmethod
    def _adapter(cls, value: str) -> str:
        return check_adapter(value)

    @model_validator(mode="after")
    def _transport_fits_backend(self) -> BleConfig:
        if self.backend == "bumble" and not self.transport:
            raise _fail(
                'backend = "bumble" needs transport = "usb:0" (the HCI dongle bumble drives; '
                "see bumble's transport names)"
            )
        if self.backend == "bleak" and self.transport:
            raise _fail(
                'transport is for backend = "bumble" only; with bleak (BlueZ) choose the '
                'adapter with adapter = "hci0"'
            )
        return self
