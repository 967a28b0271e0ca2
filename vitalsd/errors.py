"""The exception tree: one root, one family per layer.

Every error a user can cause (a config typo, an unplugged device, a NACK) is a
``VitalsdError`` with a message that says what happened and where; anything else
reaching the top is a bug and is reported as one.
"""

from __future__ import annotations

from dataclasses import dataclass


class VitalsdError(Exception):
    """Root of every error vitalsd raises on purpose."""


# --- configuration -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong with a configuration: where it is and what is wrong."""

    source: str  # file name, or "env VITALSD_..." for an environment override
    line: int | None
    key: str  # dotted path as the user wrote it: "devices[2].port"
    message: str

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where} {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ConfigError(VitalsdError):
    """The configuration cannot be used; carries every problem found, not just the first."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# --- plugins -------------------------------------------------------------------------


class PluginError(VitalsdError):
    """A driver or output plugin is unknown, broken, or does not fit the API."""


# --- devices: links and drivers ------------------------------------------------------


class DeviceError(VitalsdError):
    """Something between the daemon and a device went wrong."""


class LinkError(DeviceError):
    """The byte link (serial port, TCP serial server, BLE connection) failed."""


class DeviceUnavailable(LinkError):
    """The device or its port is not there (unplugged, refused, closed by the peer)."""


class DeviceTimeout(DeviceError, TimeoutError):
    """The device did not answer or went silent for longer than allowed."""


class FramingError(DeviceError):
    """Bytes arrived that do not form a valid frame (bad checksum, bad layout)."""


class DeviceRejected(DeviceError):
    """The device answered a command with an error code."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class DeviceDisconnected(LinkError):
    """The device ended the connection (for BLE cuffs the normal end of a session)."""


class BleGattError(LinkError):
    """A GATT operation failed with an ATT or profile error code."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class BlePairingError(LinkError):
    """Pairing or bonding with a BLE device failed (wrong mode, bond held elsewhere)."""


# --- context (who and where) ---------------------------------------------------------


class ContextError(VitalsdError):
    """A patient/room association request cannot be applied."""


class ContextRejected(ContextError):
    """An association request is malformed or names an unknown room or device."""


class ContextSourceError(ContextError):
    """A context source (scanner, ADT listener) failed; it is restarted with backoff."""


# --- outputs -------------------------------------------------------------------------


class OutputError(VitalsdError):
    """An output could not take or deliver an item."""


class OutputUnavailable(OutputError):
    """Temporarily unable to deliver (disk full, peer down); the item is kept and retried."""


class OutputRejected(OutputError):
    """This item can never be delivered by this output; retrying would not help."""
