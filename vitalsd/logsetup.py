"""Logging to stderr; under systemd, with journald priority prefixes instead of times."""

from __future__ import annotations

import logging
import os
import sys

_PRIORITY = {  # syslog priorities journald reads from a "<N>" line prefix
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}


class _JournalFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        prio = _PRIORITY.get(record.levelno, 6)
        return "\n".join(f"<{prio}>{line}" for line in super().format(record).splitlines())


def setup_logging(level: str = "info", *, quiet_libraries: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if os.environ.get("JOURNAL_STREAM"):
        handler.setFormatter(_JournalFormatter("%(name)s: %(message)s"))
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", datefmt="%H:%M:%S")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    if quiet_libraries:
        for name in ("asyncio", "bleak"):
            logging.getLogger(name).setLevel(max(root.level, logging.WARNING))
