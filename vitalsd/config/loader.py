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

from vitalsd.config.documents import Entry, Merged, add_file, dropins
from vitalsd.config.env import apply_env, entry_name, env_settings
from vitalsd.config.problems import Loc, Origin, Report, suggest, validate
from vitalsd.config.schema import (
    DaemonConfig,
    DeviceConfig,
    DeviceEntry,
    HttpConfig,
    OutputConfig,
    OutputEntry,
    SiteConfig,
    VitalsdConfig,
)
from vitalsd.driver import Driver
from vitalsd.errors import ConfigError, ConfigProblem
from vitalsd.links.base import SerialSettings
from vitalsd.model import Location
from vitalsd.output import Output

_LOGGER = logging.getLogger(__name__)


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

    name = entry.values.get("driver")
    driver = drivers.get(name) if isinstance(name, str) else None
    if isinstance(name, str) and driver is None:
        report(("driver",), _installed("driver", name, drivers))
    option_names = list(driver.options_model.model_fields) if driver else []
    elsewhere = {"serial": list(SerialSettings.model_fields), "options": option_names}
    base = validate(DeviceEntry, entry.values, report, elsewhere=elsewhere)
    serial_in = entry.values.get("serial", {})
    serial = None
    if isinstance(serial_in, dict):
        defaults = driver.serial_defaults if driver else SerialSettings()
        serial = validate(
            SerialSettings, {**defaults.model_dump(), **serial_in}, report, ("serial",)
        )
    options_in = entry.values.get("options", {})
    options = None
    if driver is not None and isinstance(options_in, dict):
        options = validate(driver.options_model, options_in, report, ("options",))
    if base is None or serial is None or options is None or site is None:
        return None
    point_of_care = base.point_of_care or site.point_of_care
    return DeviceConfig(
        **base.model_dump(exclude={"serial", "options", "point_of_care"}),
        point_of_care=point_of_care,
        serial=serial,
        options=options,
        location=Location(site.facility, point_of_care, base.room, base.bed),
    )


def _output(
    entry: Entry, outputs: Mapping[str, type[Output]], merged: Merged
) -> OutputConfig | None:
    def report(loc: Loc, message: str) -> None:
        merged.add(entry.origin(loc), entry.key(loc), message)

    kind = entry.values.get("type")
    plugin = outputs.get(kind) if isinstance(kind, str) else None
    if isinstance(kind, str) and plugin is None:
        report(("type",), _installed("output type", kind, outputs))
    base = validate(OutputEntry, entry.values, report)
    options_in = entry.values.get("options", {})
    options = None
    if plugin is not None and isinstance(options_in, dict):
        options = validate(plugin.options_model, options_in, report, ("options",))
    if base is None or options is None:
        return None
    return OutputConfig(
        type=base.type, name=base.name or base.type, enabled=base.enabled, options=options
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
) -> VitalsdConfig:
    """Load, merge, override and validate; raise ``ConfigError`` with every problem."""
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
    devices = [_device(e, site, drivers, merged) for e in merged.entries["devices"]]
    outs = [_output(e, outputs, merged) for e in merged.entries["outputs"]]
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
    config = VitalsdConfig(
        site=site,
        daemon=daemon,
        http=http,
        devices=tuple(d for d in devices if d is not None),
        outputs=tuple(o for o in outs if o is not None),
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
