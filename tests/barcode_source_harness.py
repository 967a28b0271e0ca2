"""A BarcodeSource running as a task into a real ContextStore, whose changes a test reads."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

from vitalsd.context.barcode import BarcodeOptions, BarcodeSource
from vitalsd.context.source import SourceEnvironment
from vitalsd.context.store import ContextChange, ContextStore
from vitalsd.model import Location


@contextlib.asynccontextmanager
async def barcode_source(
    options: Mapping[str, object], tmp_path: Path, *, name: str, room: Location
) -> AsyncIterator[tuple[BarcodeSource, asyncio.Queue[ContextChange]]]:
    """The source ``name`` with ``options`` (as the config's table), for the one ``room``;
    cancelled on the way out, when it must have stopped listening."""
    store = ContextStore()
    changes: asyncio.Queue[ContextChange] = asyncio.Queue()
    store.listen(changes.put_nowait)
    env = SourceEnvironment(name=name, state_dir=tmp_path, site_id="t", rooms=(room,))
    source = BarcodeSource(BarcodeOptions.model_validate(options), env, store)
    task = asyncio.create_task(source.run(), name=f"test barcode source {name}")
    try:
        yield source, changes
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert source.health().listening is False
