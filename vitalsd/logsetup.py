"""Logging to stderr, or under systemd straight into the journal with structured fields."""

from __future__ import annotations

import logging
import os
import sys

from vitalsd.journal import PRIORITY, JournalHandler, stderr_is_journal


class _PrefixFormatter(logging.Formatter):
    """``<N>`` priority prefixes, which journald reads from a plain stdout/stderr stream."""

    def format(self, record: logging.LogRecord) -> str:
        prio = PRIORITY.get(record.levelno, 6)
        return "\n".join(f"<{prio}>{line}" for line in super().format(record).splitlines())


def setup_logging(level: str = "info", *, quiet_libraries: bool = True) -> None:
    handler: logging.Handler
    if stderr_is_journal():
        handler = JournalHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
    elif os.environ.get("JOURNAL_STREAM"):  # journal-connected, but no native socket
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_PrefixFormatter("%(name)s: %(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", datefmt="%H:%M:%S")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    if quiet_libraries:
        for name in ("asyncio", "bleak"):
            logging.getLogger(name).setLevel(max(root.level, logging.WARNING))
