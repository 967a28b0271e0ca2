"""Where each key of a TOML document was written: ``("devices", 1, "port") -> 14``.

``tomllib`` returns plain values with no positions, and pydantic reports paths, never
lines; this scanner bridges the two so that every config problem can name its line.
It runs only on text ``tomllib`` has already accepted, so it can be lenient: it tracks
table headers (counting ``[[array]]`` entries), ``key =`` lines (dotted and quoted keys
included) and skips values that span lines (multi-line strings and arrays). Keys
inside inline tables are not indexed; lookups fall back to the enclosing key's line.
"""

from __future__ import annotations

from collections.abc import Iterator

Path = tuple[str | int, ...]
"""A location in a TOML document: table keys and 0-based array-of-tables indexes."""

_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def _parse_key(text: str, pos: int) -> tuple[list[str], int]:
    """Read a (possibly dotted, possibly quoted) key starting at ``pos``."""
    parts: list[str] = []
    n = len(text)
    while pos < n:
        while pos < n and text[pos] in " \t":
            pos += 1
        if pos >= n:
            break
        ch = text[pos]
        if ch in "\"'":
            end = pos + 1
            buf: list[str] = []
            while end < n and text[end] != ch:
                if ch == '"' and text[end] == "\\" and end + 1 < n:
                    # Escapes are rare in keys; keeping the escaped char is close enough.
                    buf.append(text[end + 1])
                    end += 2
                    continue
                buf.append(text[end])
                end += 1
            parts.append("".join(buf))
            pos = end + 1
        else:
            end = pos
            while end < n and text[end] in _BARE:
                end += 1
            if end == pos:
                break
            parts.append(text[pos:end])
            pos = end
        while pos < n and text[pos] in " \t":
            pos += 1
        if pos < n and text[pos] == ".":
            pos += 1
            continue
        break
    return parts, pos


class _ValueScanner:
    """Follows a value across lines until its strings and brackets are closed."""

    def __init__(self) -> None:
        self.depth = 0
        self.string: str | None = None  # the open delimiter: ", ', \"\"\" or '''

    @property
    def open(self) -> bool:
        return self.depth > 0 or self.string is not None

    def feed(self, text: str) -> None:
        i, n = 0, len(text)
        while i < n:
            if self.string is not None:
                delim = self.string
                if delim in ('"', '"""') and text[i] == "\\":
                    i += 2
                    continue
                if text.startswith(delim, i):
                    self.string = None
                    i += len(delim)
                    # A multi-line string may end with up to two extra quotes.
                    while len(delim) == 3 and i < n and text[i] == delim[0]:
                        i += 1
                    continue
                i += 1
                continue
            ch = text[i]
            if ch == "#":
                return
            if text.startswith('"""', i) or text.startswith("'''", i):
                self.string = text[i : i + 3]
                i += 3
            elif ch in "\"'":
                self.string = ch
                i += 1
            elif ch in "[{":
                self.depth += 1
                i += 1
            elif ch in "]}":
                self.depth -= 1
                i += 1
            else:
                i += 1
        # Single-line strings cannot continue on the next line.
        if self.string in ('"', "'"):
            self.string = None


class TomlIndex:
    """Line numbers of table headers and keys in one TOML text."""

    def __init__(self, text: str) -> None:
        self.lines: dict[Path, int] = {}
        self._arrays: dict[Path, int] = {}  # array-of-tables path -> current index
        self._scan(text)

    def line(self, path: Path) -> int | None:
        """The line of ``path``, or of its nearest indexed ancestor; None if none is."""
        for k in range(len(path), 0, -1):
            found = self.lines.get(path[:k])
            if found is not None:
                return found
        return None

    def under(self, prefix: Path) -> Iterator[tuple[Path, int]]:
        """Every indexed path below ``prefix``, relative to it, with its line."""
        size = len(prefix)
        for path, line in self.lines.items():
            if len(path) > size and path[:size] == prefix:
                yield path[size:], line

    def _resolve(self, parts: list[str], *, new_array: bool) -> Path:
        path: Path = ()
        for i, part in enumerate(parts):
            path = (*path, part)
            last = i == len(parts) - 1
            if last and new_array:
                index = self._arrays.get(path, -1) + 1
                self._arrays[path] = index
                path = (*path, index)
            elif path in self._arrays:
                path = (*path, self._arrays[path])
        return path

    def _record(self, path: Path, line: int) -> None:
        # The first mention wins: a header line is where a table begins.
        self.lines.setdefault(path, line)

    def _scan(self, text: str) -> None:
        table: Path = ()
        value = _ValueScanner()
        for lineno, raw in enumerate(text.splitlines(), start=1):
            if value.open:
                value.feed(raw)
                continue
            stripped = raw.lstrip()
            if not stripped or stripped.startswith("#"):
                continue
            if stripped.startswith("[["):
                parts, _ = _parse_key(stripped, 2)
                table = self._resolve(parts, new_array=True)
                self._record(table, lineno)
                continue
            if stripped.startswith("["):
                parts, _ = _parse_key(stripped, 1)
                table = self._resolve(parts, new_array=False)
                self._record(table, lineno)
                continue
            parts, pos = _parse_key(stripped, 0)
            if not parts or pos >= len(stripped) or stripped[pos] != "=":
                continue
            for k in range(1, len(parts) + 1):
                self._record((*table, *parts[:k]), lineno)
            value.feed(stripped[pos + 1 :])
