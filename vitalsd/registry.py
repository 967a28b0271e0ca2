"""Plugin discovery through entry points (``vitalsd.drivers``, ``vitalsd.outputs``,
``vitalsd.context_sources``).

Built-in drivers and outputs come through exactly the same door as third-party ones.
A plugin that fails to import, is not the right kind of class, or was written for
another API version is logged and skipped: one broken package must not take the
daemon (and every other device in the room) down with it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Generic, TypeVar, cast

from vitalsd.context.source import CONTEXT_SOURCE_API_VERSION, ContextSource
from vitalsd.driver import DRIVER_API_VERSION, Driver
from vitalsd.output import OUTPUT_API_VERSION, Output

_LOGGER = logging.getLogger(__name__)

DRIVER_GROUP = "vitalsd.drivers"
OUTPUT_GROUP = "vitalsd.outputs"
CONTEXT_SOURCE_GROUP = "vitalsd.context_sources"

P = TypeVar("P", Driver, Output, ContextSource)


@dataclass(frozen=True, slots=True)
class BrokenPlugin:
    name: str
    target: str  # "module:attribute" from the entry point
    distribution: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class PluginSet(Generic[P]):
    plugins: dict[str, type[P]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # name → "dist version"
    broken: list[BrokenPlugin] = field(default_factory=list)


def _distribution(ep: EntryPoint) -> str | None:
    dist = getattr(ep, "dist", None)
    return f"{dist.name} {dist.version}" if dist is not None else None


def _skip(found: PluginSet[P], kind: str, ep: EntryPoint, reason: str) -> None:
    _LOGGER.error("%s plugin %r (%s) skipped: %s", kind, ep.name, ep.value, reason)
    found.broken.append(BrokenPlugin(ep.name, ep.value, _distribution(ep), reason))


def _load(
    found: PluginSet[P],
    group: str,
    eps: Iterable[EntryPoint] | None,
    base: type,
    api_version: int,
    kind: str,
) -> PluginSet[P]:
    listed = entry_points(group=group) if eps is None else eps
    for ep in sorted(listed, key=lambda e: e.name):
        if ep.name in found.plugins:
            _skip(found, kind, ep, f"name already taken by {found.sources[ep.name]}")
            continue
        try:
            obj = ep.load()
        except Exception as err:  # noqa: BLE001 - any import failure must be contained
            _skip(found, kind, ep, f"import failed: {type(err).__name__}: {err}")
            continue
        if not (isinstance(obj, type) and issubclass(obj, base)):
            _skip(found, kind, ep, f"{ep.value} is not a {base.__name__} subclass")
            continue
        declared = getattr(obj, "api_version", None)
        if declared != api_version:
            _skip(
                found,
                kind,
                ep,
                f"written for {kind} API {declared}, this vitalsd speaks {api_version}",
            )
            continue
        if getattr(obj, "name", None) != ep.name:
            _skip(
                found,
                kind,
                ep,
                f"class says its name is {getattr(obj, 'name', None)!r}, entry point {ep.name!r}",
            )
            continue
        found.plugins[ep.name] = cast("type[P]", obj)
        found.sources[ep.name] = _distribution(ep) or "unknown distribution"
    return found


def load_drivers(eps: Iterable[EntryPoint] | None = None) -> PluginSet[Driver]:
    """All installed drivers by name (``eps`` lets tests pass their own entry points)."""
    found: PluginSet[Driver] = PluginSet()
    return _load(found, DRIVER_GROUP, eps, Driver, DRIVER_API_VERSION, "driver")


def load_outputs(eps: Iterable[EntryPoint] | None = None) -> PluginSet[Output]:
    """All installed outputs by type name."""
    found: PluginSet[Output] = PluginSet()
    return _load(found, OUTPUT_GROUP, eps, Output, OUTPUT_API_VERSION, "output")


def load_context_sources(eps: Iterable[EntryPoint] | None = None) -> PluginSet[ContextSource]:
    """All installed context sources (barcode, HL7 ADT, ...) by type name."""
    found: PluginSet[ContextSource] = PluginSet()
    return _load(
        found,
        CONTEXT_SOURCE_GROUP,
        eps,
        ContextSource,
        CONTEXT_SOURCE_API_VERSION,
        "context source",
    )
