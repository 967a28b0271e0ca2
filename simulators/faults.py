"""Fault injection: what cables, resets and electrical noise do to a byte stream.

Protocol-neutral: it works on whole frames of bytes, so every simulator shares it. Each
injected fault is returned as a ``Fault`` so tests can tell exactly what was done.
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass

_MAX_JUNK = 24


@dataclass(frozen=True, slots=True)
class FaultSettings:
    """Probabilities per frame, each from 0 to 1."""

    garbage: float = 0.0  # random junk bytes inserted somewhere in (or before) the frame
    cut: float = 0.0  # frame cut short, the rest never sent (device reset mid-frame)
    bit_errors: float = 0.0  # one bit of one byte flipped (line noise)

    def __post_init__(self) -> None:
        for name in ("garbage", "cut", "bit_errors"):
            p = getattr(self, name)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"--{name.replace('_', '-')} {p}: expected 0 to 1")


@dataclass(frozen=True, slots=True)
class Fault:
    """One injected fault. ``offset`` is into the frame as it was at that step."""

    kind: str  # "cut", "bit", "garbage"
    offset: int
    detail: bytes = b""  # garbage: the junk; bit: the byte before and after
    bit: int | None = None

    def __str__(self) -> str:
        extra = f" bit {self.bit}" if self.bit is not None else ""
        return f"{self.kind} at {self.offset}{extra}"


class FaultInjector:
    """Applies ``FaultSettings`` to frames, in the order cut → bit error → garbage."""

    def __init__(self, settings: FaultSettings, seed: int | None = None) -> None:
        self.settings = settings
        self._rng = random.Random(seed)
        self.counts: dict[str, int] = {"cut": 0, "bit": 0, "garbage": 0}

    def apply(self, frame: bytes) -> tuple[bytes, tuple[Fault, ...]]:
        s, rng = self.settings, self._rng
        out = frame
        faults: list[Fault] = []
        if s.cut and len(out) > 2 and rng.random() < s.cut:
            # Keep at least one byte and lose at least the line end: a reset mid-frame.
            at = rng.randrange(1, len(out) - 1)
            out = out[:at]
            faults.append(Fault("cut", at))
        if s.bit_errors and out and rng.random() < s.bit_errors:
            at = rng.randrange(len(out))
            bit = rng.randrange(8)
            flipped = out[at] ^ (1 << bit)
            faults.append(Fault("bit", at, bytes([out[at], flipped]), bit))
            out = out[:at] + bytes([flipped]) + out[at + 1 :]
        if s.garbage and rng.random() < s.garbage:
            junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, _MAX_JUNK)))
            at = rng.randrange(len(out) + 1)
            out = out[:at] + junk + out[at:]
            faults.append(Fault("garbage", at, junk))
        for fault in faults:
            self.counts[fault.kind] += 1
        return out, tuple(faults)


def _probability(text: str) -> float:
    try:
        p = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= p <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a probability from 0 to 1")
    return p


def add_fault_arguments(parser: argparse.ArgumentParser) -> None:
    """The byte-level fault options every simulator shares."""
    group = parser.add_argument_group("byte faults (probability per line, 0 to 1)")
    group.add_argument(
        "--garbage", type=_probability, default=0.0, metavar="P", help="insert random junk bytes"
    )
    group.add_argument(
        "--cut", type=_probability, default=0.0, metavar="P", help="cut a line short (a reset)"
    )
    group.add_argument(
        "--bit-errors", type=_probability, default=0.0, metavar="P", help="flip one random bit"
    )


def faults_from_args(args: argparse.Namespace) -> FaultSettings:
    return FaultSettings(garbage=args.garbage, cut=args.cut, bit_errors=args.bit_errors)
