"""The ``vitalsd`` subcommands (argument parsing lives in ``main.py``)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from vitalsd.app import Daemon, ShutdownReport
from vitalsd.config import VitalsdConfig, describe_sources, load_config
from vitalsd.driver import Driver
from vitalsd.logsetup import setup_logging
from vitalsd.output import Output
from vitalsd.registry import PluginSet, load_drivers, load_outputs

_LOGGER = logging.getLogger(__name__)


def _out(text: str = "") -> None:
    print(text)  # noqa: T201 - this is the command's output


def load(path: str) -> tuple[VitalsdConfig, PluginSet[Driver], PluginSet[Output]]:
    drivers, outputs = load_drivers(), load_outputs()
    cfg = load_config(Path(path), drivers=drivers.plugins, outputs=outputs.plugins)
    return cfg, drivers, outputs


async def run_daemon(
    daemon: Daemon, reload: Callable[[], VitalsdConfig] | None = None
) -> ShutdownReport:
    """Run until SIGTERM or SIGINT (Ctrl-C), then shut down cleanly; SIGHUP reloads.

    Under systemd this also notifies READY/WATCHDOG/STATUS; see ``vitalsd.service``.
    """
    from vitalsd.service import serve

    return await serve(daemon, load=reload)


def cmd_run(args: argparse.Namespace) -> int:
    setup_logging(args.log_level or "info")
    cfg, drivers, outputs = load(args.config)
    setup_logging(args.log_level or cfg.daemon.log_level)
    daemon = Daemon(cfg, drivers=drivers.plugins, outputs=outputs.plugins)
    path = Path(args.config)
    report = asyncio.run(
        run_daemon(
            daemon,
            lambda: load_config(path, drivers=drivers.plugins, outputs=outputs.plugins),
        )
    )
    return 1 if report.undelivered else 0


def cmd_check(args: argparse.Namespace) -> int:
    setup_logging("warning")
    cfg, _drivers, _outputs = load(args.config)
    _out(f"{args.config}: OK")
    for line in describe_sources(cfg):
        _out(f"  {line}")
    devices = [d for d in cfg.devices if d.enabled]
    _out(f"site {cfg.site.id}: {len(devices)} device(s), {len(cfg.outputs)} output(s)")
    warnings = 0
    for d in cfg.devices:
        state = "" if d.enabled else "  (disabled)"
        _out(f"  device {d.id}: {d.driver} on {d.where}{state}")
        if d.enabled and d.port and "://" not in d.port and not Path(d.port).exists():
            warnings += 1
            _out(f"    warning: {d.port} does not exist now (unplugged? the daemon will retry)")
    for o in cfg.outputs:
        _out(f"  output {o.name}: {o.type}{'' if o.enabled else '  (disabled)'}")
    for c in cfg.context.sources:
        _out(f"  context source {c.name}: {c.type}{'' if c.enabled else '  (disabled)'}")
    token_file = cfg.context.api_token_file
    if token_file is not None and not cfg.context.api_token and not token_file.exists():
        warnings += 1
        _out(f"  warning: [context] api_token_file {token_file} does not exist: API closed")
    if not devices:
        warnings += 1
        _out("  warning: no enabled devices: the daemon would have nothing to read")
    if not any(o.enabled for o in cfg.outputs):
        warnings += 1
        _out("  warning: no enabled outputs: readings would go nowhere")
    return 0


def _print_broken(plugins: PluginSet[Driver] | PluginSet[Output]) -> None:
    for b in plugins.broken:
        _out(f"  BROKEN {b.name} ({b.distribution or b.target}): {b.reason}")


def cmd_drivers(args: argparse.Namespace) -> int:
    setup_logging("critical")  # broken plugins are listed below, not logged
    drivers = load_drivers()
    if not drivers.plugins and not drivers.broken:
        _out("no drivers installed")
        return 1
    width = max((len(n) for n in drivers.plugins), default=10)
    for name, cls in sorted(drivers.plugins.items()):
        kinds = ",".join(sorted(k.value for k in cls.kinds))
        transports = ",".join(sorted(t.value for t in cls.transports))
        _out(f"{name:<{width}}  {kinds:<16} {transports:<7} {cls.summary}")
    _print_broken(drivers)
    return 1 if drivers.broken else 0


def cmd_outputs(args: argparse.Namespace) -> int:
    setup_logging("critical")
    outputs = load_outputs()
    width = max((len(n) for n in outputs.plugins), default=10)
    for name, cls in sorted(outputs.plugins.items()):
        _out(f"{name:<{width}}  {cls.summary}")
    _print_broken(outputs)
    return 1 if outputs.broken else 0


def cmd_decode(args: argparse.Namespace) -> int:
    from vitalsd.cli.decode import decode_capture

    setup_logging("warning")
    return decode_capture(args, sys.stdout)


def cmd_demo(args: argparse.Namespace) -> int:
    from vitalsd.demo.runner import run_demo

    setup_logging(args.log_level)
    return run_demo(workdir=args.workdir, duration=args.duration, mqtt=args.mqtt)
