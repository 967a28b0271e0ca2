"""The configuration as read: files merged, each value's origin (file:line or env) kept.

Drop-ins (``conf.d/*.toml`` beside the main file, in name order) concatenate their
``[[devices]]``/``[[outputs]]`` blocks; ``[site]``/``[daemon]`` merge key by key, and a
key set in two files is a problem naming both places. Nothing here checks types: that
is the loader's job, which uses the origins kept here to say where a value came from.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vitalsd.config.problems import Loc, Origin, show, suggest
from vitalsd.config.schema import EnvOverride
from vitalsd.config.toml_index import TomlIndex
from vitalsd.errors import ConfigProblem

DROPIN_DIR = "conf.d"
TABLES = ("site", "daemon", "http", "context", "ble")
ARRAYS = ("devices", "outputs")
NESTED_ARRAYS = {"context": "sources"}  # [[context.sources]] concatenate like [[devices]]
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


@dataclass(slots=True)
class Entry:
    """One ``[[devices]]``/``[[outputs]]`` block with the origin of each of its keys."""

    section: str
    number: int  # 1-based position of the block within its file
    values: dict[str, Any]
    origins: dict[Loc, Origin]  # () is the [[header]]

    def key(self, loc: Loc = ()) -> str:
        return f"{self.section}[{self.number}]" + "".join(f".{p}" for p in loc)

    def origin(self, loc: Loc) -> Origin:
        for k in range(len(loc), -1, -1):
            found = self.origins.get(loc[:k])
            if found is not None:
                return found
        return self.origins[()]


def _nested_sections() -> list[str]:
    return [f"{table}.{array}" for table, array in NESTED_ARRAYS.items()]


@dataclass(slots=True)
class Merged:
    """Everything read so far: merged tables, entries, origins and the problems found."""

    main: str
    sources: list[str] = field(default_factory=list)
    tables: dict[str, Any] = field(default_factory=dict)
    origins: dict[Loc, Origin] = field(default_factory=dict)
    entries: dict[str, list[Entry]] = field(
        default_factory=lambda: {a: [] for a in (*ARRAYS, *_nested_sections())}
    )
    overrides: list[EnvOverride] = field(default_factory=list)
    problems: list[ConfigProblem] = field(default_factory=list)

    def origin(self, loc: Loc) -> Origin:
        for k in range(len(loc), 0, -1):
            found = self.origins.get(loc[:k])
            if found is not None:
                return found
        return Origin(self.main, None)

    def add(self, origin: Origin, key: str, message: str) -> None:
        self.problems.append(ConfigProblem(origin.source, origin.line, key, message))


def _read(path: Path, merged: Merged) -> tuple[dict[str, Any], TomlIndex] | None:
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        reason = err.strerror or type(err).__name__
        merged.add(Origin(source, None), "", f"cannot read {path}: {reason}")
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        merged.add(Origin(source, line), "", f"not UTF-8 text (byte 0x{raw[err.start]:02x})")
        return None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        msg = str(err)
        found = _TOML_POSITION.search(msg)
        if found is None:
            merged.add(Origin(source, None), "", f"TOML syntax error: {msg}")
        else:
            text_only = msg[: found.start()]
            merged.add(
                Origin(source, int(found.group(1))),
                "",
                f"TOML syntax error at column {found.group(2)}: {text_only}",
            )
        return None
    return doc, TomlIndex(text)


def _merge_table(
    dst: dict[str, Any],
    src: Mapping[str, Any],
    loc: Loc,
    source: str,
    index: TomlIndex,
    merged: Merged,
) -> None:
    for key, value in src.items():
        here = (*loc, key)
        if key not in dst:
            dst[key] = value
            continue
        if isinstance(dst[key], dict) and isinstance(value, dict):
            _merge_table(dst[key], value, here, source, index, merged)
            continue
        first = merged.origin(here)
        merged.add(
            Origin(source, index.line(here)),
            ".".join(str(p) for p in here),
            f"already set at {first.where()}; a key may be set in one file only",
        )


def add_file(path: Path, merged: Merged) -> bool:
    """Merge one file in; False if it could not be read or parsed at all."""
    source = str(path)
    merged.sources.append(source)
    loaded = _read(path, merged)
    if loaded is None:
        return False
    doc, index = loaded
    for name, value in doc.items():
        here = Origin(source, index.line((name,)))
        nested = NESTED_ARRAYS.get(name)
        if nested is not None and isinstance(value, dict) and nested in value:
            value = dict(value)
            _add_entries(
                f"{name}.{nested}", (name, nested), value.pop(nested), source, index, merged
            )
        if name in TABLES:
            if not isinstance(value, dict):
                merged.add(here, name, f"must be a table: [{name}] (got {show(value)})")
                continue
            _merge_table(merged.tables.setdefault(name, {}), value, (name,), source, index, merged)
            merged.origins.setdefault((name,), here)
            for rel, line in index.under((name,)):
                merged.origins.setdefault((name, *rel), Origin(source, line))
        elif name in ARRAYS:
            _add_entries(name, (name,), value, source, index, merged)
        else:
            what = "table" if isinstance(value, dict | list) else "key"
            hint = suggest(name, (*TABLES, *ARRAYS))
            merged.add(here, name, f"unknown {what}{hint}")
    return True


def _add_entries(
    section: str, loc: Loc, value: Any, source: str, index: TomlIndex, merged: Merged
) -> None:
    """``[[section]]`` blocks of one file, appended to those of files read before."""
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        merged.add(
            Origin(source, index.line(loc)),
            section,
            f"must be an array of tables: write [[{section}]], not [{section}]",
        )
        return
    for i, table in enumerate(value):
        origins: dict[Loc, Origin] = {
            rel: Origin(source, line) for rel, line in index.under((*loc, i))
        }
        origins[()] = Origin(source, index.line((*loc, i)))
        merged.entries[section].append(Entry(section, i + 1, dict(table), origins))


def dropins(path: Path, merged: Merged) -> list[Path]:
    folder = path.parent / DROPIN_DIR
    if not folder.is_dir():
        return []
    try:
        names = sorted(p.name for p in folder.iterdir())
    except OSError as err:
        merged.add(Origin(str(folder), None), "", f"cannot read {folder}: {err.strerror}")
        return []
    # Dotfiles are editor backups and half-written provisioning files.
    return [folder / n for n in names if n.endswith(".toml") and not n.startswith(".")]
