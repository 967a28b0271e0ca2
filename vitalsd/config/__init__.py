"""Configuration: vitalsd.toml, conf.d drop-ins and ``VITALSD_*`` environment overrides."""

from __future__ import annotations

from vitalsd.config.documents import DROPIN_DIR
from vitalsd.config.loader import describe_sources, load_config
from vitalsd.config.schema import (
    ContextConfig,
    ContextSourceConfig,
    DaemonConfig,
    DeviceConfig,
    EnvOverride,
    HttpConfig,
    OutputConfig,
    SiteConfig,
    VitalsdConfig,
    parse_duration,
)

__all__ = [
    "DROPIN_DIR",
    "ContextConfig",
    "ContextSourceConfig",
    "DaemonConfig",
    "DeviceConfig",
    "EnvOverride",
    "HttpConfig",
    "OutputConfig",
    "SiteConfig",
    "VitalsdConfig",
    "describe_sources",
    "load_config",
    "parse_duration",
]
