"""Placeholder: being written (issue 8)."""

from __future__ import annotations

from vitalsd.context.source import ContextSource


class AdtSource(ContextSource):
    name = "hl7_adt"
    summary = "placeholder"

    async def run(self) -> None:
        raise NotImplementedError
