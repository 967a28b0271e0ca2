"""Run one blocking call (a pyserial open, write or close) off the event loop.

Each call gets its own named daemon thread instead of a slot in the loop's shared
executor: a USB-serial driver that hangs in ``open()`` forever would otherwise pin an
executor worker on every reconnect attempt until the whole daemon's ``to_thread`` pool
is starved. A named thread also shows up by port in a thread dump.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

_LOGGER = logging.getLogger(__name__)

T = TypeVar("T")


class _Call(Generic[T]):
    """One blocking call and the hand-over of its outcome to the loop."""

    def __init__(
        self,
        fn: Callable[[], T],
        loop: asyncio.AbstractEventLoop,
        future: asyncio.Future[T],
        on_abandon: Callable[[T], object] | None,
        name: str,
    ) -> None:
        self._fn = fn
        self._loop = loop
        self._future = future
        self._on_abandon = on_abandon
        self._name = name
        self._lock = threading.Lock()
        self._abandoned = False

    def abandon(self) -> None:
        """The awaiting side gave up (timeout or cancel); the thread cleans up alone."""
        with self._lock:
            self._abandoned = True

    def run(self) -> None:
        try:
            result = self._fn()
        except BaseException as err:  # noqa: BLE001 - handed over and re-raised by the awaiter
            with self._lock:
                if self._abandoned:
                    _LOGGER.debug("%s: abandoned call failed late: %s", self._name, err)
                    return
                self._deliver_threadsafe(functools.partial(self._set_exception, err))
            return
        with self._lock:
            delivered = not self._abandoned and self._deliver_threadsafe(
                lambda: self._set_result(result)
            )
        if not delivered:
            self._cleanup(result)

    def _deliver_threadsafe(self, deliver: Callable[[], None]) -> bool:
        try:
            self._loop.call_soon_threadsafe(deliver)
        except RuntimeError:  # the loop closed while we were blocked; nobody is waiting
            _LOGGER.debug("%s: event loop closed before the call returned", self._name)
            return False
        return True

    def _set_result(self, result: T) -> None:
        if self._future.done():  # cancelled between the thread's check and this callback
            self.discard(result)
        else:
            self._future.set_result(result)

    def _set_exception(self, err: BaseException) -> None:
        if not self._future.done():
            self._future.set_exception(err)

    def discard(self, result: T) -> None:
        """Hand a result nobody will use to ``on_abandon``, in a thread of its own."""
        if self._on_abandon is None:
            return
        threading.Thread(
            target=self._cleanup, args=(result,), name=f"{self._name} (cleanup)", daemon=True
        ).start()

    def _cleanup(self, result: T) -> None:
        if self._on_abandon is None:
            return
        try:
            self._on_abandon(result)
        except Exception as err:  # noqa: BLE001 - best effort: the caller has already moved on
            _LOGGER.debug("%s: cleanup after abandoned call failed: %s", self._name, err)


async def run_blocking(
    name: str,
    fn: Callable[[], T],
    *,
    timeout: float | None = None,
    on_abandon: Callable[[T], object] | None = None,
) -> T:
    """Run ``fn`` in a thread called ``name`` and return its result.

    Raises ``TimeoutError`` after ``timeout`` seconds. A call that is timed out or
    cancelled keeps running (a thread cannot be killed); if it later succeeds,
    ``on_abandon(result)`` runs in that thread, e.g. to close a port nobody will use.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    call = _Call(fn, loop, future, on_abandon, name)
    thread = threading.Thread(target=call.run, name=name, daemon=True)
    thread.start()
    try:
        async with asyncio.timeout(timeout):
            result = await future
    except BaseException:
        if not future.done() or future.cancelled():
            call.abandon()
            raise
        if future.exception() is None:  # cancelled just after the call succeeded
            call.discard(future.result())
            raise
        await _reap(thread)  # the call itself failed; its thread is finishing
        raise
    await _reap(thread)
    return result


async def _reap(thread: threading.Thread) -> None:
    """Wait out the last instructions of a thread that has already handed over its
    outcome, so no thread of ours outlives the call that started it."""
    while thread.is_alive():  # noqa: ASYNC110 - a finishing thread has no event to await
        await asyncio.sleep(0.001)
