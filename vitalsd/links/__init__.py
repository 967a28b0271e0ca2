"""Byte links between the daemon and devices."""

from vitalsd.links.base import ByteLink, SerialSettings

__all__ = ["ByteLink", "SerialSettings"]
