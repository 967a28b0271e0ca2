"""Structured journal entries over a real AF_UNIX datagram socket, as journald reads them."""

from __future__ import annotations

import logging
import socket
import struct
from pathlib import Path

from vitalsd.journal import JournalHandler


def parse(datagram: bytes) -> dict[str, str]:
    """Decode systemd's native journal protocol (both the text and the binary form)."""
    fields: dict[str, str] = {}
    pos = 0
    while pos < len(datagram):
        nl = datagram.index(b"\n", pos)
        line = datagram[pos:nl]
        if b"=" in line:
            key, _, value = line.partition(b"=")
            fields[key.decode()] = value.decode()
            pos = nl + 1
        else:
            (size,) = struct.unpack("<Q", datagram[nl + 1 : nl + 9])
            fields[line.decode()] = datagram[nl + 9 : nl + 9 + size].decode()
            pos = nl + 9 + size + 1
    return fields


def test_entries_carry_priority_and_device_fields(tmp_path: Path) -> None:
    path = str(tmp_path / "journal.sock")
    journal = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    journal.bind(path)
    handler = JournalHandler(path)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log = logging.getLogger("vitalsd.test.journal")
    log.addHandler(handler)
    try:
        adapter = logging.LoggerAdapter(
            log, {"device_id": "exam3-cuff", "driver": "suntech_advantage"}
        )
        adapter.warning("%s: offline: %s", "exam3-cuff", "port gone")
        log.error("two\nlines", extra={"output": "ehr"})
        first = parse(journal.recv(65536))
        second = parse(journal.recv(65536))
    finally:
        log.removeHandler(handler)
        handler.close()
        journal.close()
    assert first["MESSAGE"] == "exam3-cuff: offline: port gone"
    assert first["PRIORITY"] == "4"
    assert first["SYSLOG_IDENTIFIER"] == "vitalsd"
    assert first["VITALSD_DEVICE"] == "exam3-cuff"
    assert first["VITALSD_DRIVER"] == "suntech_advantage"
    assert second["MESSAGE"] == "two\nlines"  # binary field form
    assert second["PRIORITY"] == "3"
    assert second["VITALSD_OUTPUT"] == "ehr"


def test_a_vanished_journal_falls_back_to_stderr(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    handler = JournalHandler(str(tmp_path / "absent.sock"))
    handler.setFormatter(logging.Formatter("%(message)s"))
    record = logging.LogRecord("vitalsd", logging.ERROR, __file__, 1, "kept", None, None)
    handler.emit(record)
    handler.close()
    assert "kept" in capsys.readouterr().err
