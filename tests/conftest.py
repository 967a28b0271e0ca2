"""Suite-wide guards: no task left running after a test, no malformed log call."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.ble.fixtures import (  # noqa: F401 - shared BLE fixtures
    ble_central,
    ble_radio,
    bleak_central,
)


@pytest.fixture(autouse=True)
async def _no_lingering_tasks() -> AsyncIterator[None]:
    before = asyncio.all_tasks()
    yield
    await asyncio.sleep(0)
    leftover = [
        t for t in asyncio.all_tasks() - before if t is not asyncio.current_task() and not t.done()
    ]
    for t in leftover:
        t.cancel()
    assert not leftover, f"tasks left running: {[t.get_name() for t in leftover]}"


class _FailOnBadFormatting(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            record.getMessage()
        except Exception as err:
            pytest.fail(f"bad log call {record.msg!r} % {record.args!r}: {err}")


@pytest.fixture(autouse=True)
def _check_log_formatting() -> Iterator[None]:
    handler = _FailOnBadFormatting(level=logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield
    root.removeHandler(handler)
    root.setLevel(old_level)
