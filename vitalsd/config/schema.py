"""The configuration's shape: what may be written in vitalsd.toml, and what the daemon gets.

Two layers. ``SiteConfig``, ``DaemonConfig``, ``DeviceEntry`` and ``OutputEntry`` check
the file's own keys (``extra="forbid"`` turns every typo into a problem). The loader
then checks each entry's ``serial`` and ``options`` tables against the chosen plugin's
models and builds the resolved ``DeviceConfig`` / ``OutputConfig`` the daemon runs.
"""

from __future__ import annotations

import difflib
import re
import zoneinfo
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, field_validator
from pydantic_core import PydanticCustomError

from vitalsd.config.ble import BleConfig, BleSettings
from vitalsd.context.source import SourceOptions
from vitalsd.driver import DriverOptions
from vitalsd.links.base import SerialSettings
from vitalsd.model import Location
from vitalsd.output import OutputOptions

CUSTOM_ERROR = "vitalsd"
"""pydantic error type of our own validators: their message is shown as written."""

_SITE_ID = re.compile(r"[a-z0-9_-]{1,40}")
_NAME = re.compile(r"[A-Za-z0-9._-]{1,40}")
_URL_SCHEMES = ("socket", "rfc2217")
_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?")


def _fail(message: str) -> PydanticCustomError:
    return PydanticCustomError(CUSTOM_ERROR, message)


@cache
def _zone_names() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def check_timezone(name: str) -> str:
    """``name`` if it is an IANA zone this machine knows, else a pydantic error."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        close = difflib.get_close_matches(name, _zone_names(), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else " (e.g. 'America/Chicago', 'UTC')"
        raise _fail(f"unknown time zone '{name}'{hint}") from None
    return name


def check_port(port: str) -> str:
    """An absolute device path, or socket://host:port / rfc2217://host:port."""
    if not port.strip():
        raise _fail(
            "must not be empty: a device path (/dev/serial/by-id/...) or socket://host:port"
        )
    if "://" in port:
        url = urlsplit(port)
        if url.scheme not in _URL_SCHEMES:
            raise _fail(
                f"unknown scheme '{url.scheme}://' in '{port}'; "
                "use socket://host:port (raw TCP mode of the serial server) "
                "or rfc2217://host:port"
            )
        try:
            number = url.port
        except ValueError:
            raise _fail(f"'{port}' has a bad port number: use 1-65535") from None
        if not url.hostname or not number:
            raise _fail(f"'{port}' needs a host and a port: {url.scheme}://10.0.0.5:4001")
        return port
    if not port.startswith("/"):
        hint = f" (did you mean '/dev/{port}'?)" if not port.startswith(".") else ""
        raise _fail(
            f"'{port}' is not an absolute path{hint}; prefer the stable "
            "/dev/serial/by-id/... name of a USB adapter"
        )
    return port


def _check_name(value: str, what: str) -> str:
    if not _NAME.fullmatch(value):
        raise _fail(f"{what} '{value}' must be 1-40 letters, digits, '.', '_' or '-'")
    return value


class _Section(BaseModel):
    # coerce_numbers_to_str: `bed = 1` (or VITALSD_..._BED=1) means the string "1".
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class SiteConfig(_Section):
    """``[site]``: who and where this daemon is."""

    id: str = Field(description="short id, [a-z0-9_-], used in MQTT topics and logs")
    facility: str | None = Field(default=None, description="HL7 PV1-3.4 facility")
    point_of_care: str | None = Field(default=None, description="default unit of devices")
    timezone: str | None = Field(
        default=None, description="IANA zone for device clocks without one; default: system"
    )

    @field_validator("id")
    @classmethod
    def _site_id(cls, value: str) -> str:
        if not _SITE_ID.fullmatch(value):
            raise _fail(
                f"site id '{value}' must be 1-40 lowercase letters, digits, '_' or '-' "
                "(it is used in MQTT topics)"
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else check_timezone(value)


class DaemonConfig(_Section):
    """``[daemon]``: how the process itself behaves."""

    log_level: Literal["debug", "info", "warning", "error"] = "info"
    state_dir: Path = Field(default=Path("/var/lib/vitalsd"), description="outboxes, cursors")
    shutdown_timeout: float = Field(
        default=10.0, gt=0, description="seconds to hand queued items to outputs on SIGTERM"
    )
    max_clock_skew: float = Field(
        default=300.0, gt=0, description="device clock vs receive time before CLOCK_SKEW"
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        # "INFO" is fine; anything else is reported as written, not lower-cased.
        if isinstance(value, str) and value.lower() in ("debug", "info", "warning", "error"):
            return value.lower()
        return value

    @field_validator("state_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        # The service runs from /, so a relative path would land somewhere surprising.
        if not value.is_absolute():
            raise _fail(f"'{value}' must be an absolute path, e.g. /var/lib/vitalsd")
        return value


class HttpConfig(_Section):
    """``[http]``: the local status endpoint (/healthz, /status, /metrics, status page)."""

    enabled: bool = True
    # Loopback by default: the page shows device state, not for the clinic's guest Wi-Fi.
    bind: str = Field(default="127.0.0.1", description="address to listen on")
    port: int = Field(default=8765, ge=0, le=65535, description="TCP port; 0 = any free")
    refresh: float = Field(default=5.0, gt=0, description="status page refresh, seconds")


def parse_duration(value: Any) -> Any:
    """Seconds from ``"4h"``, ``"30m"``, ``"1h30m"``, ``"90s"`` or a plain number of seconds."""
    if isinstance(value, str):
        text = value.strip().lower().replace(" ", "")
        found = _DURATION.fullmatch(text)
        if not text or found is None or not any(found.groups()):
            raise _fail(f'\'{value}\' is not a duration: write e.g. "4h", "30m" or "90s"')
        h, m, sec = (float(g) if g else 0.0 for g in found.groups())
        return h * 3600 + m * 60 + sec
    return value


class ContextEntry(_Section):
    """``[context]``: how patient/room associations live and how readings are attributed."""

    timeout: float | None = Field(
        default=4 * 3600.0,
        gt=0,
        description="association lifetime unless a request says otherwise ('4h'); none: no end",
    )
    stale_records: Literal["unassociated", "hold"] = Field(
        default="unassociated",
        description="readings from before the association: send unassociated, or hold them",
    )
    allow_receive_time: bool = Field(
        default=False,
        description="attribute readings with an unset or skewed device clock by receive time",
    )
    api_token_file: Path | None = Field(
        default=None, description="file holding the bearer token of the local context API"
    )
    api_token: str | None = Field(
        default=None, description="the token itself; only via VITALSD_CONTEXT__API_TOKEN"
    )

    @field_validator("timeout", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in ("none", "never", "0"):
            return None
        return parse_duration(value)

    @field_validator("api_token_file")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_absolute():
            raise _fail(f"'{value}' must be an absolute path, e.g. /etc/vitalsd/context.token")
        return value


class _PluginEntry(_Section):
    """An ``[[outputs]]`` or ``[[context.sources]]`` block: both name a plugin by ``type``."""

    what: ClassVar[str]  # "output", "context source": for the name's error message

    type: str
    name: str | None = None
    enabled: bool = True
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        return None if value is None else _check_name(value, f"{cls.what} name")


class ContextSourceEntry(_PluginEntry):
    """One ``[[context.sources]]`` block; ``options`` are checked by the source's model."""

    what = "context source"


class DeviceEntry(_Section):
    """One ``[[devices]]`` block as written; ``serial``/``options`` are checked later."""

    id: str
    driver: str
    port: str | None = None  # serial drivers; BLE drivers take [devices.ble] instead
    room: str
    bed: str | None = None
    point_of_care: str | None = None
    enabled: bool = True
    timezone: str | None = None
    serial: dict[str, Any] = Field(default_factory=dict)
    ble: dict[str, Any] | None = None  # checked against BleSettings by the loader
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return _check_name(value, "device id")

    @field_validator("port")
    @classmethod
    def _port(cls, value: str | None) -> str | None:
        return None if value is None else check_port(value)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else check_timezone(value)


class OutputEntry(_PluginEntry):
    """One ``[[outputs]]`` block as written; ``options`` are checked by the output's model."""

    what = "output"


class DeviceConfig(BaseModel):
    """A device as the daemon runs it: plugin settings resolved, site defaults applied."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    driver: str
    port: str | None = None  # None for a BLE device
    room: str
    bed: str | None = None
    point_of_care: str | None = None  # the device's own, else the site's
    enabled: bool = True
    timezone: str | None = None  # the device's own only; the daemon falls back to site's
    serial: SerialSettings  # the driver's serial_defaults with the file's overrides
    options: SerializeAsAny[DriverOptions]  # an instance of the driver's options_model
    location: Location
    ble: BleSettings | None = None  # a BLE device: which one ([devices.ble])

    @property
    def where(self) -> str:
        """The port, or the BLE device as configured: for messages."""
        if self.ble is not None:
            return self.ble.target().describe()
        return self.port or "?"


class _PluginInstance(BaseModel):
    """An output or context source as the daemon runs it; ``options`` typed by each."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    name: str  # unique; defaults to the type
    enabled: bool = True


class OutputConfig(_PluginInstance):
    """An output instance as the daemon runs it."""

    options: SerializeAsAny[OutputOptions]  # an instance of the output's options_model


class ContextSourceConfig(_PluginInstance):
    """A context source instance as the daemon runs it."""

    options: SerializeAsAny[SourceOptions]  # an instance of the source's options_model


class ContextConfig(BaseModel):
    """``[context]`` resolved: the sources checked against their plugins' models."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout: float | None = 4 * 3600.0  # seconds
    stale_records: Literal["unassociated", "hold"] = "unassociated"
    allow_receive_time: bool = False
    api_token_file: Path | None = None
    api_token: str | None = Field(default=None, repr=False)
    sources: tuple[ContextSourceConfig, ...] = ()


class EnvOverride(BaseModel):
    """One setting that came from the environment rather than a file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    variable: str  # VITALSD_DEVICES__EXAM3_OXIMETER__SERIAL__BAUDRATE
    key: str  # devices[1].serial.baudrate


class VitalsdConfig(BaseModel):
    """The whole, validated configuration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    site: SiteConfig
    daemon: DaemonConfig = Field(default_factory=DaemonConfig)
    http: HttpConfig = Field(default_factory=HttpConfig)
    devices: tuple[DeviceConfig, ...] = ()
    outputs: tuple[OutputConfig, ...] = ()
    context: ContextConfig = Field(default_factory=ContextConfig)
    ble: BleConfig = Field(default_factory=BleConfig)
    sources: tuple[str, ...] = ()  # files read, main file first
    overrides: tuple[EnvOverride, ...] = ()  # keys set by VITALSD_* variables
