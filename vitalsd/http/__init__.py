"""The local status endpoint: /healthz, /status (JSON), /metrics and a page for clinic IT."""

from __future__ import annotations

from vitalsd.http.server import StatusServer
from vitalsd.http.snapshot import status_line, status_snapshot

__all__ = ["StatusServer", "status_line", "status_snapshot"]
