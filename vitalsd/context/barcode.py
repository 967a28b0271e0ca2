"""Placeholder: being written (issue 8)."""

from __future__ import annotations

from vitalsd.context.source import ContextSource


class BarcodeSource(ContextSource):
    name = "barcode"
    summary = "placeholder"

    async def run(self) -> None:
        raise NotImplementedError
