"""Problems in words: origins of values, and pydantic errors made readable.

pydantic says ``Input should be 300, 600, ...``; a person editing a file also needs the
value they wrote and, for a typo, the key they probably meant.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from vitalsd.config.schema import CUSTOM_ERROR

M = TypeVar("M", bound=BaseModel)
Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Origin:
    source: str
    line: int | None

    def where(self, relative_to: str | None = None) -> str:
        if self.line is None:
            return self.source
        return f"line {self.line}" if self.source == relative_to else f"{self.source}:{self.line}"


def show(value: object) -> str:
    text = json.dumps(value) if isinstance(value, str | bool) or value is None else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def suggest(word: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def unknown_key(name: str, here: Iterable[str], elsewhere: Mapping[str, Iterable[str]]) -> str:
    """'unknown key' with the likeliest intended key, also from sibling tables."""
    for prefix, names in elsewhere.items():
        if name in names:
            return f"unknown key (did you mean '{prefix}.{name}'?)"
    hint = suggest(name, here)
    if not hint:
        qualified = {f"{p}.{n}": n for p, names in elsewhere.items() for n in names}
        close = difflib.get_close_matches(name, list(qualified.values()), n=1, cutoff=0.6)
        if close:
            hint = next(f" (did you mean '{q}'?)" for q, n in qualified.items() if n == close[0])
    return "unknown key" + hint


def message(err: Mapping[str, Any]) -> str:
    kind = err["type"]
    if kind == "missing":
        return "missing required key"
    if kind == CUSTOM_ERROR:
        return str(err["msg"])
    if kind in ("dict_type", "model_type"):
        return f"must be a table (got {show(err['input'])})"
    return f"{err['msg']} (got {show(err['input'])})"


Report = Callable[[Loc, str], None]


def validate(
    model: type[M],
    data: Mapping[str, Any],
    report: Report,
    prefix: Loc = (),
    elsewhere: Mapping[str, Iterable[str]] | None = None,
) -> M | None:
    """``model`` from ``data``, or None after passing each error to ``report(loc, text)``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc: Loc = (*prefix, *err["loc"])
            if err["type"] == "extra_forbidden":
                text = unknown_key(str(err["loc"][-1]), model.model_fields, elsewhere or {})
            else:
                text = message(err)
            report(loc, text)
        return None
