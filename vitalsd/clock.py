"""Time zones for device clocks that send local time without a zone."""

from __future__ import annotations

import logging
import os
from datetime import UTC, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_LOGGER = logging.getLogger(__name__)


def system_zone() -> tzinfo:
    """The machine's zone as a full rule set (DST-aware), not today's fixed offset."""
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            _LOGGER.warning("TZ=%s is not a known zone; using the system zone", name)
    localtime = Path("/etc/localtime")
    try:
        target = localtime.resolve(strict=True)
        parts = target.parts
        if "zoneinfo" in parts:
            return ZoneInfo("/".join(parts[parts.index("zoneinfo") + 1 :]))
        with localtime.open("rb") as f:
            return ZoneInfo.from_file(f, key="localtime")
    except (OSError, ZoneInfoNotFoundError, ValueError):
        _LOGGER.warning("no system time zone found; device clocks are taken as UTC")
        return UTC


def zone(name: str | None) -> tzinfo:
    """The named IANA zone, or the system zone when no name is configured."""
    return ZoneInfo(name) if name else system_zone()
