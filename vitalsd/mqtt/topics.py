"""The topic layout: ``<base>/<site>/<room>/<device-id>/{observation,status,event}``.

One function per topic so that the output, ``vitalsd tail`` and tests agree on every
level; MQTT wildcards and separators in a site-given name are replaced, never passed on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NO_ROOM = "_"  # a device whose config names no room
_UNSAFE = re.compile(r"[/+#\x00\n\r]")


def segment(name: str | None) -> str:
    """One topic level from a site-given name: no ``/``, ``+``, ``#`` and never empty."""
    if not name:
        return NO_ROOM
    return _UNSAFE.sub("_", name)


@dataclass(frozen=True, slots=True)
class Topics:
    base: str
    site: str

    @property
    def site_prefix(self) -> str:
        return f"{self.base}/{segment(self.site)}"

    def device(self, room: str | None, device_id: str) -> str:
        return f"{self.site_prefix}/{segment(room)}/{segment(device_id)}"

    def observation(self, room: str | None, device_id: str) -> str:
        return f"{self.device(room, device_id)}/observation"

    def status(self, room: str | None, device_id: str) -> str:
        return f"{self.device(room, device_id)}/status"

    def event(self, room: str | None, device_id: str) -> str:
        return f"{self.device(room, device_id)}/event"

    def gateway(self, room: str | None) -> str:
        """Retained gateway state, per room on an exam-room PC, per site on a floor gateway."""
        if room:
            return f"{self.site_prefix}/{segment(room)}/gateway"
        return f"{self.site_prefix}/gateway"

    def observations_filter(self, room: str | None = None) -> str:
        """A subscription for every observation of the site, or of one room."""
        return f"{self.site_prefix}/{segment(room) if room else '+'}/+/observation"
