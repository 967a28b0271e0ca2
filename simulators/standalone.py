"""Simulators with an entry of their own: a ``vitalsd-sim`` subcommand that also runs as
``python -m simulators.NAME`` (as tests start them), with one parser and one rule of exit
codes for both: 2 for bad arguments, 1 when the network fails them, else the run's own."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StandaloneCommand:
    name: str  # the vitalsd-sim subcommand
    prog: str  # the name when run as a module
    help: str
    description: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    check: Callable[[argparse.Namespace], object]  # raises ValueError for bad arguments
    run: Callable[[argparse.Namespace], Coroutine[Any, Any, int]]
    network_failure: Callable[[argparse.Namespace, OSError], str]  # what to say then

    def register(self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        parser = subparsers.add_parser(self.name, help=self.help)
        self.add_arguments(parser)
        parser.set_defaults(func=self.main_args)

    def main(self, argv: Sequence[str] | None = None) -> int:
        parser = argparse.ArgumentParser(prog=self.prog, description=self.description)
        self.add_arguments(parser)
        return self.main_args(parser.parse_args(argv))

    def main_args(self, args: argparse.Namespace) -> int:
        try:
            self.check(args)
        except ValueError as err:
            return self._fail(str(err), 2)
        try:
            return asyncio.run(self.run(args))
        except OSError as err:  # ssl.SSLError is one too
            return self._fail(self.network_failure(args, err), 1)

    def _fail(self, message: str, code: int) -> int:
        print(f"vitalsd-sim {self.name}: {message}", file=sys.stderr)  # noqa: T201
        return code
