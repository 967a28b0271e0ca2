"""The clinic-IT status page rendered by a real headless Chromium (Debian's `chromium`)."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.status_harness import get, running_daemon

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.fail(
            "chromium not found: install the Debian package 'chromium' (apt-get install chromium)"
        )
    with tempfile.TemporaryDirectory(prefix="vsd-chrome-") as profile:
        return subprocess.run(
            [exe, *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def test_status_page_shows_device_rows(tmp_path: Path) -> None:
    with running_daemon(tmp_path) as r:
        page = r.base + "/"
        code, headers, body = get(page)
        assert code == 200 and headers["Content-Type"].startswith("text/html")
        assert re.search(rb'<meta http-equiv="refresh" content="\d+">', body)  # refreshes itself

        dom = chromium("--dump-dom", page)
        assert dom.returncode == 0, dom.stderr[-2000:]
        html = dom.stdout
        row = re.search(
            r'<tr class="device" data-device="exam1-ox" data-state="online">(.*?)</tr>', html, re.S
        )
        assert row, html[:3000]
        assert "masimo_ascii1" in row.group(1) or "Masimo" in row.group(1)
        assert re.search(r'<tr class="output" data-output="jsonl" data-state="ok">', html)
        assert "1/1 devices online" in html

        shot = tmp_path / "status.png"
        res = chromium(f"--screenshot={shot}", "--window-size=1024,600", page)
        assert res.returncode == 0, res.stderr[-2000:]
        data = shot.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert int.from_bytes(data[16:20], "big") == 1024  # IHDR width
        assert len(data) > 5000  # rendered content, not a blank canvas

        r.proc.signal(signal.SIGTERM)
        assert r.proc.wait() == 0
