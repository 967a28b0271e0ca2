"""A bounds-checked little-endian reader for GATT payloads, and the error it raises."""

from __future__ import annotations

from decimal import Decimal

from drivers.ble.ieee11073 import SpecialValue, decode_float, decode_sfloat
from vitalsd.errors import FramingError


class PayloadError(FramingError):
    """A characteristic value does not match its own flags or the specification."""


class PayloadReader:
    """Reads fields in order and says which field was missing when bytes run out."""

    def __init__(self, name: str, data: bytes) -> None:
        self.name = name
        self.data = bytes(data)
        self.pos = 0

    def _take(self, size: int, field: str) -> bytes:
        end = self.pos + size
        if end > len(self.data):
            raise PayloadError(
                f"{self.name}: {len(self.data)} bytes, too short for {field} "
                f"(needs {size} bytes at offset {self.pos})"
            )
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def raw(self, size: int, field: str) -> bytes:
        return self._take(size, field)

    def uint(self, size: int, field: str) -> int:
        return int.from_bytes(self._take(size, field), "little")

    def sint16(self, field: str) -> int:
        return int.from_bytes(self._take(2, field), "little", signed=True)

    def sfloat(self, field: str) -> Decimal | SpecialValue:
        return decode_sfloat(self.uint(2, field))

    def float32(self, field: str) -> Decimal | SpecialValue:
        return decode_float(self.uint(4, field))

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def finish(self) -> None:
        """Reject trailing bytes: they mean the flags do not describe this payload."""
        if self.pos != len(self.data):
            raise PayloadError(
                f"{self.name}: {len(self.data)} bytes, but its flags describe {self.pos}"
            )


def reject_reserved(name: str, flags: int, allowed: int, width: int = 8) -> None:
    """Raise when a flags field sets bits the specification reserves."""
    extra = flags & ~allowed & ((1 << width) - 1)
    if extra:
        bits = ", ".join(str(b) for b in range(width) if extra >> b & 1)
        raise PayloadError(
            f"{name}: reserved flag bit(s) {bits} set (flags 0x{flags:0{width // 4}x})"
        )
