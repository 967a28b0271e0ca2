"""The ``hl7_file`` output: one ``.hl7`` file per ORU^R01 in a folder an engine polls.

Each file is written atomically: a hidden temporary file in the same folder, fsync, rename,
then fsync of the folder — a poller never sees half a message, and a file that exists
survives power loss. Names are the MSH-10, so they sort in sending order and a resend
after a crash overwrites its own file rather than adding a duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path
from typing import ClassVar

from hl7.batching import ReportBatcher
from hl7.options import Hl7FileOptions
from hl7.reporting import Encoded, ReportingOutput
from vitalsd.errors import OutputUnavailable
from vitalsd.output import OutputEnvironment, OutputOptions

_LOGGER = logging.getLogger(__name__)


def write_atomically(directory: Path, name: str, data: bytes) -> Path:
    final = directory / name
    temp = directory / f".{name}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    os.close(fd)
    os.replace(temp, final)
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself must be durable too
    finally:
        os.close(dir_fd)
    return final


class Hl7FileOutput(ReportingOutput):
    name: ClassVar[str] = "hl7_file"
    summary: ClassVar[str] = "HL7 v2 ORU^R01 files (one per message) in a folder an engine polls"
    options_model: ClassVar[type[OutputOptions]] = Hl7FileOptions

    def __init__(self, options: OutputOptions, env: OutputEnvironment) -> None:
        assert isinstance(options, Hl7FileOptions)
        super().__init__(
            options,
            env,
            settings=options.message.to_settings(),
            batcher=ReportBatcher(
                summary_interval=options.oximeter_summary_interval,
                group_window=options.group_window,
            ),
            id_prefix=options.control_id_prefix,
        )
        self._opts = options

    async def start(self) -> None:
        try:
            await asyncio.to_thread(self._opts.directory.mkdir, parents=True, exist_ok=True)
        except OSError as err:
            raise OutputUnavailable(
                f"cannot create {self._opts.directory}: {err.strerror or err}"
            ) from err
        # The outbox file only keeps the persistent id counter for this output.
        self.attach_outbox(await self.open_state())
        self.start_timer()

    async def store(self, messages: list[Encoded]) -> None:
        for m in messages:
            try:
                await asyncio.to_thread(
                    write_atomically,
                    self._opts.directory,
                    f"{m.control_id}{self._opts.suffix}",
                    m.payload,
                )
            except OSError as err:
                raise OutputUnavailable(
                    f"cannot write to {self._opts.directory}: {err.strerror or err}"
                ) from err

    async def close(self) -> None:
        await self.close_reports()
        if self.outbox is not None:
            await self.outbox.aclose()
            self.outbox = None
