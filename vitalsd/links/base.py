"""What a driver sees of its transport: a byte stream it can read and write."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SerialSettings(BaseModel):
    """Line settings of a serial port. Drivers give defaults; config may override them.

    Ignored by raw-TCP serial servers (``socket://``), where the server's own web UI
    sets them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    baudrate: Literal[
        300, 600, 1200, 2400, 4800, 9600, 14400, 19200, 38400, 57600, 115200, 230400
    ] = 9600
    bytesize: Literal[7, 8] = 8
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    xonxoff: bool = False
    rtscts: bool = False
    open_timeout: float = Field(default=10.0, gt=0, description="seconds to open a port")


class ByteLink(ABC):
    """An open byte stream to one device. Reads return as soon as any bytes arrive."""

    @property
    @abstractmethod
    def description(self) -> str:
        """Where this link goes, for logs ("/dev/ttyUSB0", "socket://10.0.0.5:4001")."""

    @abstractmethod
    async def read(self) -> bytes:
        """Wait for and return the next bytes (never empty).

        Raises ``DeviceUnavailable`` when the port goes away or the peer closes.
        """

    @abstractmethod
    async def write(self, data: bytes) -> None:
        """Send bytes to the device."""

    @abstractmethod
    async def close(self) -> None:
        """Release the port; safe to call twice."""
