"""``jsonl``: one JSON document per line, to a file or stdout.

The simplest durable record of what the daemon saw, and the one clinic IT can ``tail``.
A failed write (full disk, removed mount) is undone to the last whole line and retried
by the bus, so the file never holds a torn line and nothing accepted is skipped.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import IO, ClassVar

from pydantic import Field

from vitalsd.errors import OutputUnavailable
from vitalsd.jsondoc import dumps, item_doc
from vitalsd.model import BusItem, DeviceNotice, DeviceStatus
from vitalsd.output import Output, OutputEnvironment, OutputOptions

_LOGGER = logging.getLogger(__name__)


def _open_append(path: Path) -> IO[bytes]:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Unbuffered: a failed write must not leave bytes in a buffer to fail again later.
    return path.open("ab", buffering=0)


class JsonlOptions(OutputOptions):
    path: str = Field(default="-", description='file to append to; "-" for standard output')
    fsync: bool = Field(
        default=False, description="fsync after every line (slower, survives power loss)"
    )
    include_status: bool = Field(default=True, description="also write device status changes")
    include_events: bool = Field(default=True, description="also write device events")


class JsonlOutput(Output):
    name: ClassVar[str] = "jsonl"
    summary: ClassVar[str] = "JSON lines to a file or standard output"
    options_model: ClassVar[type[OutputOptions]] = JsonlOptions

    def __init__(self, options: OutputOptions, env: OutputEnvironment) -> None:
        super().__init__(options, env)
        assert isinstance(options, JsonlOptions)
        self._opts = options
        self._file: IO[bytes] | None = None

    @property
    def _where(self) -> str:
        return "standard output" if self._opts.path == "-" else self._opts.path

    async def start(self) -> None:
        if self._opts.path == "-":
            self._file = sys.stdout.buffer
            return
        path = Path(self._opts.path)
        try:
            self._file = await asyncio.to_thread(_open_append, path)
        except OSError as err:
            raise OutputUnavailable(f"cannot open {path}: {err.strerror or err}") from err

    async def handle(self, item: BusItem) -> None:
        if isinstance(item, DeviceStatus) and not self._opts.include_status:
            return
        if isinstance(item, DeviceNotice) and not self._opts.include_events:
            return
        if self._file is None:
            await self.start()
        f = self._file
        assert f is not None
        line = (dumps(item_doc(item)) + "\n").encode("utf-8")
        start = f.tell() if f.seekable() else None
        try:
            view = memoryview(line)
            while view:
                written = f.write(view)
                view = view[written or 0 :]
            f.flush()
            if self._opts.fsync:
                await asyncio.to_thread(os.fsync, f.fileno())
        except OSError as err:
            self._undo_partial(f, start)
            raise OutputUnavailable(f"cannot write {self._where}: {err.strerror or err}") from err

    def _undo_partial(self, f: IO[bytes], start: int | None) -> None:
        # A torn line would make the whole file unparseable for line-based readers.
        if start is None:
            return
        try:
            f.truncate(start)
            f.seek(start)
        except OSError:
            _LOGGER.warning("could not trim a partial line in %s", self._where)

    async def close(self) -> None:
        f, self._file = self._file, None
        if f is None or f is sys.stdout.buffer:
            if f is not None:
                f.flush()
            return
        try:
            f.flush()
            os.fsync(f.fileno())
        except OSError as err:
            _LOGGER.error("flushing %s failed: %s", self._where, err)
        finally:
            f.close()
