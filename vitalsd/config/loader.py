"""Reading vitalsd.toml (+ conf.d/*.toml + VITALSD_* variables) into a ``VitalsdConfig``.

Every problem is collected, never just the first: an installer fixing a config should
see all of it in one ``vitalsd check``. Each problem names the file, the line and the
key as the user wrote it (``devices[2].serial.baudrate``, where 2 is the position of
the ``[[devices]]`` block within that file), or the environment variable it came from.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from vitalsd.config.ble import BleConfig, BleSettings
from vitalsd.config.documents import Entry, Merged, add_file, dropins
from vitalsd.config.env import apply_env, entry_name, env_settings
from vitalsd.config.problems import Loc, Origin, Report, suggest, validate
from vitalsd.config.schema import (
    ContextConfig,
    ContextEntry,
    ContextSourceConfig,
    ContextSourceEntry,
    DaemonConfig,
    DeviceConfig,
    DeviceEntry,
    HttpConfig,
    OutputConfig,
    OutputEntry,
    SiteConfig,
    VitalsdConfig,
)
from vitalsd.context.source import ContextSource
from vitalsd.driver import Driver
from vitalsd.errors import ConfigError, ConfigProblem
from vitalsd.links.base import SerialSettings
from vitalsd.model import Location, Transport
from vitalsd.output import Output

_LOGGER = logging.getLogger(__name__)

PluginT = TypeVar("PluginT")
OptionsT = TypeVar("OptionsT", bound=BaseModel)
InstanceT = TypeVar("InstanceT", OutputConfig, ContextSourceConfig)


# --- validation ----------------------------------------------------------------------


def _installed(kind: str, name: str, plugins: Mapping[str, object]) -> str:
    listed = ", ".join(sorted(plugins)) or "none"
    return f"unknown {kind} '{name}'; installed: {listed}{suggest(name, plugins)}"


def _check_unique(entries: list[Entry], what: str, names: list[str | None], merged: Merged) -> None:
    seen: dict[str, Entry] = {}
    attr = "id" if entries and entries[0].section == "devices" else "name"
    for entry, name in zip(entries, names, strict=True):
        if name is None:
            continue
        if name in seen:
            first = seen[name].origin((attr,))
            here = entry.origin((attr,))
            message = f"duplicate {what} '{name}' (first at {first.where(here.source)})"
            if attr in entry.values:
                merged.add(here, entry.key((attr,)), message)
            else:  # an output named after its type: say how to tell two apart
                merged.add(here, entry.key(), f'{message}; set name = "..." on each')
        else:
            seen[name] = entry


def _device(
    entry: Entry, site: SiteConfig | None, drivers: Mapping[str, type[Driver]], merged: Merged
) -> DeviceConfig | None:
    def report(loc: Loc, message: str) -> None:
        merged.add(entry.origin(loc), entry.key(loc), message)

    driver = _chosen(entry, "driver", drivers, "driver", report)
    option_names = list(driver.options_model.model_fields) if driver else []
    elsewhere = {
        "serial": list(SerialSettings.model_fields),
        "options": option_names,
        "ble": list(BleSettings.model_fields),
    }
    pending: list[tuple[Loc, str]] = []
    base = validate(
        DeviceEntry, entry.values, lambda loc, m: pending.append((loc, m)), elsewhere=elsewhere
    )
    ble_ok, ble = _device_transport(entry, driver, lambda loc, m: pending.append((loc, m)))
    # In field order, as pydantic lists them: "port" (checked here) before "room".
    fields = list(DeviceEntry.model_fields)
    for loc, message in sorted(
        pending, key=lambda p: fields.index(str(p[0][0])) if p[0] and p[0][0] in fields else 99
    ):
        report(loc, message)
    serial_in = entry.values.get("serial", {})
    serial = None
    if isinstance(serial_in, dict):
        defaults = driver.serial_defaults if driver else SerialSettings()
        serial = validate(
            SerialSettings, {**defaults.model_dump(), **serial_in}, report, ("serial",)
        )
    options = _plugin_options(entry, driver.options_model if driver else None, report)
    if base is None or serial is None or options is None or site is None or not ble_ok:
        return None
    point_of_care = base.point_of_care or site.point_of_care
    return DeviceConfig(
        **base.model_dump(exclude={"serial", "options", "point_of_care", "ble"}),
        point_of_care=point_of_care,
        serial=serial,
        options=options,
        location=Location(site.facility, point_of_care, base.room, base.bed),
        ble=ble,
    )


def _device_transport(
    entry: Entry, driver: type[Driver] | None, report: Report
) -> tuple[bool, BleSettings | None]:
    """``port`` for a serial driver, ``[devices.ble]`` for a BLE driver: (usable, ble)."""
    port = entry.values.get("port")
    ble_in = entry.values.get("ble")
    ble = None
    ok = True
    if ble_in is not None:
        if isinstance(ble_in, dict):
            ble = validate(BleSettings, ble_in, report, ("ble",))
            ok = ble is not None
        else:
            report(("ble",), 'must be a table: [devices.ble] with address = "AA:BB:..."')
            ok = False
    serial_ok = driver is None or Transport.SERIAL in driver.transports
    ble_ok = driver is None or Transport.BLE in driver.transports
    name = driver.name if driver is not None else "?"
    if port is None and ble_in is None:
        if not serial_ok:
            report(
                ("ble",),
                f"driver '{name}' is a Bluetooth LE driver: add [devices.ble] with "
                'address = "AA:BB:CC:DD:EE:FF", or name = "pattern*" and/or service = "1810"',
            )
        else:
            report(("port",), "missing required key")
        return False, None
    if port is not None and ble_in is not None:
        report(("ble",), "give either port (serial) or [devices.ble] (Bluetooth LE), not both")
        return False, None
    if port is not None and not serial_ok:
        report(
            ("port",),
            f"driver '{name}' talks Bluetooth LE, not serial: remove port and add "
            '[devices.ble] with address = "AA:BB:CC:DD:EE:FF" (or name/service)',
        )
        return False, None
    if ble_in is not None and not ble_ok:
        report(("ble",), f"driver '{name}' is a serial driver: remove [devices.ble], set port")
        return False, None
    return ok, ble


def _chosen(
    entry: Entry, key: str, plugins: Mapping[str, PluginT], kind: str, report: Report
) -> PluginT | None:
    """The plugin named by ``entry[key]``; an unknown name is reported, a missing one not
    (the entry's own model reports that as a missing field)."""
    name = entry.values.get(key)
    plugin = plugins.get(name) if isinstance(name, str) else None
    if isinstance(name, str) and plugin is None:
        report((key,), _installed(kind, name, plugins))
    return plugin


def _plugin_options(entry: Entry, model: type[OptionsT] | None, report: Report) -> OptionsT | None:
    """``options`` checked against the plugin's ``model``; None without one or on errors."""
    options_in = entry.values.get("options", {})
    if model is None or not isinstance(options_in, dict):
        return None
    return validate(model, options_in, report, ("options",))


def _plugin_instance(
    entry: Entry,
    plugins: Mapping[str, type[Output] | type[ContextSource]],
    merged: Merged,
    kind: str,
    models: tuple[type[OutputEntry | ContextSourceEntry], type[InstanceT]],
) -> InstanceT | None:
    """An ``[[outputs]]`` or ``[[context.sources]]`` entry: the same shape, told apart by
    ``kind`` in messages and by the entry/instance ``models``."""

    def report(loc: Loc, message: str) -> None:
        merged.add(entry.origin(loc), entry.key(loc), message)

    entry_model, instance_model = models
    plugin = _chosen(entry, "type", plugins, kind, report)
    base = validate(entry_model, entry.values, report)
    options = _plugin_options(entry, plugin.options_model if plugin else None, report)
    if base is None or options is None:
        return None
    # model_validate, not the constructor: mypy cannot type one call for both models;
    # pydantic takes the options instance as it is, exactly as the constructor would.
    return instance_model.model_validate(
        {
            "type": base.type,
            "name": base.name or base.type,
            "enabled": base.enabled,
            "options": options,
        }
    )


def _rank(merged: Merged) -> Callable[[ConfigProblem], tuple[int, int, str]]:
    order = {s: i for i, s in enumerate(merged.sources)}

    def key(p: ConfigProblem) -> tuple[int, int, str]:
        rank = order.get(p.source, len(order))
        # Files in read order, by line; then environment problems by variable name.
        return (rank, p.line or 0, p.source if rank == len(order) else "")

    return key


def load_config(
    path: Path,
    *,
    environ: Mapping[str, str] | None = None,
    drivers: Mapping[str, type[Driver]],
    outputs: Mapping[str, type[Output]],
    context_sources: Mapping[str, type[ContextSource]] | None = None,
) -> VitalsdConfig:
    """Load, merge, override and validate; raise ``ConfigError`` with every problem.

    ``context_sources`` defaults to the installed ones (entry points).
    """
    if context_sources is None:
        from vitalsd.registry import load_context_sources  # the registry imports config users

        context_sources = load_context_sources().plugins
    merged = Merged(main=str(path))
    main_ok = add_file(path, merged)
    if not main_ok and merged.problems[-1].line is None:
        raise ConfigError(merged.problems)  # no main file at all: nothing else to say
    readable = [add_file(dropin, merged) for dropin in dropins(path, merged)]
    if not (main_ok and all(readable)):
        # Checking the rest would only add noise ("missing [site]") caused by the file
        # that did not parse; its syntax error is the thing to fix first.
        raise ConfigError(merged.problems)
    settings, env_problems = env_settings(os.environ if environ is None else environ)
    merged.problems.extend(env_problems)
    for setting in settings:
        apply_env(setting, merged)

    def table_report(loc: Loc) -> Report:
        def report(rel: Loc, message: str) -> None:
            full = (*loc, *rel)
            merged.add(merged.origin(full), ".".join(str(p) for p in full), message)

        return report

    site = None
    if "site" in merged.tables:
        site = validate(SiteConfig, merged.tables["site"], table_report(("site",)))
    else:
        merged.add(Origin(merged.main, None), "site", "missing required table [site] (with id)")
    daemon = validate(DaemonConfig, merged.tables.get("daemon", {}), table_report(("daemon",)))
    http = validate(HttpConfig, merged.tables.get("http", {}), table_report(("http",)))
    context = validate(ContextEntry, merged.tables.get("context", {}), table_report(("context",)))
    ble = validate(BleConfig, merged.tables.get("ble", {}), table_report(("ble",)))
    ctx_entries = merged.entries["context.sources"]
    ctx_sources = [
        _plugin_instance(
            e,
            context_sources,
            merged,
            "context source type",
            (ContextSourceEntry, ContextSourceConfig),
        )
        for e in ctx_entries
    ]
    _check_unique(ctx_entries, "context source name", [entry_name(e) for e in ctx_entries], merged)
    devices = [_device(e, site, drivers, merged) for e in merged.entries["devices"]]
    outs = [
        _plugin_instance(e, outputs, merged, "output type", (OutputEntry, OutputConfig))
        for e in merged.entries["outputs"]
    ]
    ids = [
        v if isinstance(v := e.values.get("id"), str) else None for e in merged.entries["devices"]
    ]
    _check_unique(merged.entries["devices"], "device id", ids, merged)
    names = [entry_name(e) for e in merged.entries["outputs"]]
    _check_unique(merged.entries["outputs"], "output name", names, merged)
    if merged.problems:
        raise ConfigError(sorted(merged.problems, key=_rank(merged)))
    assert site is not None
    assert daemon is not None
    assert http is not None
    assert context is not None
    assert ble is not None
    config = VitalsdConfig(
        site=site,
        daemon=daemon,
        http=http,
        devices=tuple(d for d in devices if d is not None),
        outputs=tuple(o for o in outs if o is not None),
        context=ContextConfig(
            **context.model_dump(),
            sources=tuple(s for s in ctx_sources if s is not None),
        ),
        ble=ble,
        sources=tuple(merged.sources),
        overrides=tuple(merged.overrides),
    )
    _LOGGER.debug("config loaded from %s", ", ".join(config.sources))
    return config


def describe_sources(config: VitalsdConfig) -> list[str]:
    """Lines for ``vitalsd check``: the files read, then each key set by the environment."""
    lines = [f"file {s}" for s in config.sources]
    lines += [f"env {o.variable} -> {o.key}" for o in config.overrides]
    return lines
