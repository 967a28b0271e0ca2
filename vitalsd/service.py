"""What runs beside the daemon when it is a service: systemd notify and watchdog, the
status endpoint, and SIGTERM/SIGINT/SIGHUP handling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable

from vitalsd.app import Daemon, ShutdownReport
from vitalsd.config import VitalsdConfig
from vitalsd.errors import VitalsdError
from vitalsd.http import StatusServer, status_line
from vitalsd.metrics import metrics_registry
from vitalsd.reload import Reloader
from vitalsd.sdnotify import Notifier, keep_alive, watchdog_period

_LOGGER = logging.getLogger(__name__)


async def serve(
    daemon: Daemon,
    *,
    load: Callable[[], VitalsdConfig] | None = None,
    stop: asyncio.Event | None = None,
    notifier: Notifier | None = None,
) -> ShutdownReport:
    """Run ``daemon`` as a service until SIGTERM/SIGINT (or ``stop``); SIGHUP reloads."""
    stop = stop or asyncio.Event()
    notifier = notifier or Notifier.from_environ()
    loop = asyncio.get_running_loop()
    server = None
    if daemon.config.http.enabled:
        server = StatusServer(daemon, daemon.config.http, metrics_registry(daemon))
        try:
            await server.start()  # before READY, so the page is there once systemd says so
        except VitalsdError as err:
            # Readings matter more than the status page: say so loudly and run without it.
            _LOGGER.error("%s; running without it", err)
            server = None
    reloader = Reloader(daemon, load, notifier) if load is not None else None

    def on_stop() -> None:
        notifier.send("STOPPING=1", "STATUS=stopping: handing queued readings to outputs")
        stop.set()

    signals = [signal.SIGTERM, signal.SIGINT]
    for sig in signals:
        loop.add_signal_handler(sig, on_stop)
    if reloader is not None:
        loop.add_signal_handler(signal.SIGHUP, reloader.request)
        signals.append(signal.SIGHUP)
    run = asyncio.create_task(daemon.run(stop), name="vitalsd.daemon")
    helpers: list[asyncio.Task[None]] = []
    try:
        started = asyncio.create_task(daemon.started.wait(), name="vitalsd.wait-started")
        await asyncio.wait([run, started], return_when=asyncio.FIRST_COMPLETED)
        started.cancel()
        if daemon.started.is_set():
            # Devices need not be connected: a cuff left unplugged must not fail the unit.
            notifier.send("READY=1", f"STATUS={status_line(daemon)}")
            period = watchdog_period()
            if period is not None and notifier.enabled:
                helpers.append(
                    asyncio.create_task(
                        keep_alive(notifier, period, lambda: status_line(daemon)),
                        name="vitalsd.watchdog",
                    )
                )
        return await run
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        if not stop.is_set():
            notifier.send("STOPPING=1")
        for task in helpers:
            task.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        if reloader is not None:
            await reloader.close()
        if server is not None:
            await server.close()
        if not run.done():
            run.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await run
        notifier.close()
