"""Running a simulator in the test's own event loop, on a pty or a TCP port."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from simulators.serial_port import Port, StreamPlan, stream


@contextlib.asynccontextmanager
async def serving(
    port: Port, next_frame: Callable[[], bytes | None], plan: StreamPlan
) -> AsyncIterator[str]:
    """Open ``port``, stream the device's frames, and yield what a daemon would open."""
    info = await port.open()
    task = asyncio.create_task(stream(port, next_frame, plan), name="test simulator stream")
    try:
        yield info.get("pty") or f"socket://{info['tcp']}"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await port.close()
