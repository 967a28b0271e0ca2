"""Logging straight into journald's native socket, with structured fields.

Under systemd, each record becomes one journal entry carrying PRIORITY and, where the log
call passed them in ``extra``, ``VITALSD_DEVICE``, ``VITALSD_DRIVER`` and
``VITALSD_OUTPUT`` — so clinic IT can run ``journalctl -u vitalsd VITALSD_DEVICE=exam3-cuff``.
Protocol: systemd's "Native Journal Protocol" (one datagram per entry; ``KEY=value`` lines,
or ``KEY``, a 64-bit little-endian length and the raw value when it holds a newline).
"""

from __future__ import annotations

import logging
import os
import socket
import struct
import sys
from pathlib import Path

JOURNAL_SOCKET = "/run/systemd/journal/socket"

PRIORITY = {  # syslog priorities
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}

# LogRecord attribute (set with ``extra=``) → journal field
FIELDS = {"device_id": "VITALSD_DEVICE", "driver": "VITALSD_DRIVER", "output": "VITALSD_OUTPUT"}


def _field(name: str, value: str) -> bytes:
    data = value.encode("utf-8", errors="replace")
    if b"\n" in data:
        return name.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"
    return name.encode() + b"=" + data + b"\n"


def entry(record: logging.LogRecord, message: str, identifier: str = "vitalsd") -> bytes:
    """One journal entry for ``record`` (``message`` already formatted)."""
    parts = [
        _field("MESSAGE", message),
        _field("PRIORITY", str(PRIORITY.get(record.levelno, 6))),
        _field("SYSLOG_IDENTIFIER", identifier),
        _field("VITALSD_LOGGER", record.name),
        _field("CODE_FILE", record.pathname),
        _field("CODE_LINE", str(record.lineno)),
        _field("CODE_FUNC", record.funcName or ""),
    ]
    for attr, name in FIELDS.items():
        value = getattr(record, attr, None)
        if value is not None:
            parts.append(_field(name, str(value)))
    return b"".join(parts)


class JournalHandler(logging.Handler):
    """Sends records to journald; falls back to stderr if the socket goes away."""

    def __init__(self, path: str = JOURNAL_SOCKET) -> None:
        super().__init__()
        self.path = path
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._fallback = logging.StreamHandler(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._sock.sendto(entry(record, self.format(record)), self.path)
        except OSError:
            # The journal restarting must not lose the line: print it instead.
            self._fallback.emit(record)

    def close(self) -> None:
        self._sock.close()
        super().close()


def stderr_is_journal() -> bool:
    """True when systemd connected our stderr to the journal (its documented check)."""
    stream = os.environ.get("JOURNAL_STREAM", "")
    if not stream or not Path(JOURNAL_SOCKET).exists():
        return False
    try:
        dev, ino = (int(x) for x in stream.split(":"))
        st = os.fstat(sys.stderr.fileno())
    except (ValueError, OSError):
        return False
    return (st.st_dev, st.st_ino) == (dev, ino)
