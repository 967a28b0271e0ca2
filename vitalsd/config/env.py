"""Environment overrides: ``VITALSD_<TABLE>__<KEY>`` and per-device/per-output forms.

``VITALSD_SITE__FACILITY``, ``VITALSD_DAEMON__LOG_LEVEL``,
``VITALSD_DEVICES__<ID>__PORT``, ``VITALSD_DEVICES__<ID>__SERIAL__BAUDRATE``,
``VITALSD_OUTPUTS__<NAME>__OPTIONS__PATH``. ``<ID>``/``<NAME>`` is the device id or
output name upper-cased with '-' and '.' as '_'. Only variables with a ``__`` after the
prefix are overrides, so plain ``VITALSD_SOMETHING`` variables stay free for other uses.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vitalsd.config.problems import Loc, Origin
from vitalsd.config.schema import EnvOverride
from vitalsd.errors import ConfigProblem

if TYPE_CHECKING:
    from vitalsd.config.documents import Entry, Merged

ENV_PREFIX = "VITALSD_"
SECTIONS = ("site", "daemon", "http", "context", "ble")
ARRAYS = ("devices", "outputs")


@dataclass(frozen=True, slots=True)
class EnvSetting:
    """One override: where it goes and the value it carries."""

    variable: str
    section: str  # "site", "daemon", "devices" or "outputs"
    selector: str | None  # the env form of a device id / output name, for arrays
    path: tuple[str, ...]  # keys below the section (or the entry), lower-cased
    value: object

    @property
    def source(self) -> str:
        return f"env {self.variable}"


def env_name(ident: str) -> str:
    """How a device id or output name is spelled inside a variable name."""
    return ident.upper().replace("-", "_").replace(".", "_")


def parse_value(text: str) -> object:
    """A TOML scalar (9600, true, 1.5, "quoted", [1, 2]) when it parses, else the text."""
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    # An inline table would replace a whole table; treat such text as a plain string.
    return text if isinstance(value, dict) else value


def env_settings(environ: Mapping[str, str]) -> tuple[list[EnvSetting], list[ConfigProblem]]:
    """The overrides in ``environ``, in name order, and problems with their names."""
    settings: list[EnvSetting] = []
    problems: list[ConfigProblem] = []
    for variable in sorted(environ):
        if not variable.startswith(ENV_PREFIX) or "__" not in variable[len(ENV_PREFIX) :]:
            continue
        parts = variable[len(ENV_PREFIX) :].split("__")
        source = f"env {variable}"
        section = parts[0].lower()
        if any(not p for p in parts):
            problems.append(
                ConfigProblem(source, None, "", "empty name part (a stray or doubled '__'?)")
            )
            continue
        value = parse_value(environ[variable])
        if section in SECTIONS:
            settings.append(
                EnvSetting(variable, section, None, tuple(p.lower() for p in parts[1:]), value)
            )
        elif section in ARRAYS:
            if len(parts) < 3:
                what = "DEVICES__<ID>__<KEY>" if section == "devices" else "OUTPUTS__<NAME>__<KEY>"
                problems.append(ConfigProblem(source, None, "", f"expected {ENV_PREFIX}{what}"))
                continue
            settings.append(
                EnvSetting(variable, section, parts[1], tuple(p.lower() for p in parts[2:]), value)
            )
        else:
            known = ", ".join(p.upper() for p in (*SECTIONS, *ARRAYS))
            problems.append(
                ConfigProblem(source, None, "", f"unknown table '{parts[0]}' (known: {known})")
            )
    return settings, problems


def _set_path(target: dict[str, Any], path: tuple[str, ...], value: object) -> str | None:
    """Put ``value`` at ``path``; an error message if a non-table is in the way."""
    for i, part in enumerate(path[:-1]):
        inner = target.setdefault(part, {})
        if not isinstance(inner, dict):
            return f"'{'.'.join(path[: i + 1])}' is not a table here"
        target = inner
    if isinstance(target.get(path[-1]), dict):
        return f"'{'.'.join(path)}' is a table; set one of its keys: ...__{path[-1].upper()}__<KEY>"
    target[path[-1]] = value
    return None


def entry_name(entry: Entry) -> str | None:
    """The id of a device, or the name (default: the type) of an output, as written."""
    name = entry.values.get("id" if entry.section == "devices" else "name")
    if name is None and entry.section != "devices":
        name = entry.values.get("type")
    return name if isinstance(name, str) else None


def apply_env(setting: EnvSetting, merged: Merged) -> None:
    """Apply one override, recording the variable as the origin of the key it set."""
    here = Origin(setting.source, None)
    if setting.selector is None:
        loc: Loc = (setting.section, *setting.path)
        key = ".".join(str(p) for p in loc)
        error = _set_path(
            merged.tables.setdefault(setting.section, {}), setting.path, setting.value
        )
        if error:
            merged.add(here, key, error)
            return
        merged.origins[loc] = here
        merged.overrides.append(EnvOverride(variable=setting.variable, key=key))
        return
    entries = merged.entries[setting.section]
    matches = [e for e in entries if env_name(entry_name(e) or "") == setting.selector]
    if len(matches) != 1:
        what = "device with id" if setting.section == "devices" else "output named"
        names = sorted({n for n in map(entry_name, entries) if n})
        if matches:
            message = f"'{setting.selector}' matches more than one {setting.section[:-1]}"
        else:
            message = (
                f"no {what} '{setting.selector}' (spelled upper-case, '-' and '.' as '_'); "
                f"configured: {', '.join(names) or 'none'}"
            )
        merged.add(here, setting.section, message)
        return
    entry = matches[0]
    error = _set_path(entry.values, setting.path, setting.value)
    if error:
        merged.add(here, entry.key(setting.path), error)
        return
    entry.origins[setting.path] = here
    merged.overrides.append(EnvOverride(variable=setting.variable, key=entry.key(setting.path)))
