"""The [context] section and [[context.sources]] entries: values, errors with file:line,
drop-ins, the environment token, source plugins run and restarted like devices."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import ClassVar

import pytest

from vitalsd.config import load_config
from vitalsd.config.schema import ContextSourceConfig
from vitalsd.context.service import ContextService, SourceRunner, load_token
from vitalsd.context.source import ContextSource, SourceOptions
from vitalsd.errors import ConfigError, ContextSourceError
from vitalsd.model import Location, Patient
from vitalsd.registry import load_drivers, load_outputs

BASE = """\
[site]
id = "s"

[[devices]]
id = "exam3-ox"
driver = "masimo_ascii1"
port = "/dev/ttyUSB0"
room = "exam3"
"""


class ScannerOptions(SourceOptions):
    port: str
    prefix: str = ""


class FakeScanner(ContextSource):
    """A source that associates one patient and then fails, to be restarted."""

    name: ClassVar[str] = "scanner"
    summary: ClassVar[str] = "test"
    options_model: ClassVar[type[SourceOptions]] = ScannerOptions
    runs = 0

    async def run(self) -> None:
        type(self).runs += 1
        self.store.associate(
            Patient(f"P{type(self).runs}"), source=self.env.name, location=self.env.rooms[0]
        )
        raise ContextSourceError("scanner unplugged")


PLUGINS: dict[str, type[ContextSource]] = {"scanner": FakeScanner}


def load(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> object:
    path = tmp_path / "vitalsd.toml"
    path.write_text(BASE + text)
    return load_config(
        path,
        environ=environ or {},
        drivers=load_drivers().plugins,
        outputs=load_outputs().plugins,
        context_sources=PLUGINS,
    )


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    return [str(p).replace(str(tmp_path) + "/", "") for p in info.value.problems]


def test_defaults_without_a_context_section(tmp_path: Path) -> None:
    cfg = load(tmp_path, "")
    ctx = cfg.context  # type: ignore[attr-defined]
    assert ctx.timeout == 4 * 3600 and ctx.stale_records == "unassociated"
    assert not ctx.allow_receive_time and ctx.sources == ()


def test_context_values_and_sources(tmp_path: Path) -> None:
    cfg = load(
        tmp_path,
        '[context]\ntimeout = "1h30m"\nstale_records = "hold"\nallow_receive_time = true\n'
        '[[context.sources]]\ntype = "scanner"\n[context.sources.options]\nport = "/dev/hidraw0"\n'
        '[[context.sources]]\ntype = "scanner"\nname = "desk"\noptions = { port = "x" }\n',
        {"VITALSD_CONTEXT__API_TOKEN": "t0ken"},
    )
    ctx = cfg.context  # type: ignore[attr-defined]
    assert ctx.timeout == 5400 and ctx.stale_records == "hold" and ctx.allow_receive_time
    assert ctx.api_token == "t0ken" and "t0ken" not in repr(ctx)
    assert [(s.name, s.options.port) for s in ctx.sources] == [
        ("scanner", "/dev/hidraw0"),
        ("desk", "x"),
    ]


def test_errors_name_file_line_and_key(tmp_path: Path) -> None:
    assert problems(
        tmp_path,
        '[context]\ntimeout = "4 hours"\nstale_records = "keep"\ntimeotu = 3\n'
        '[[context.sources]]\ntype = "scaner"\n'
        '[[context.sources]]\ntype = "scanner"\n[context.sources.options]\nprot = "x"\n',
    ) == [
        "vitalsd.toml:10 context.timeout: '4 hours' is not a duration: "
        'write e.g. "4h", "30m" or "90s"',
        "vitalsd.toml:11 context.stale_records: Input should be 'unassociated' or 'hold' "
        '(got "keep")',
        "vitalsd.toml:12 context.timeotu: unknown key (did you mean 'timeout'?)",
        "vitalsd.toml:14 context.sources[1].type: unknown context source type 'scaner'; "
        "installed: scanner (did you mean 'scanner'?)",
        "vitalsd.toml:17 context.sources[2].options.port: missing required key",
        "vitalsd.toml:18 context.sources[2].options.prot: unknown key (did you mean 'port'?)",
    ]


def test_drop_in_sources_add_to_the_main_files(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "scan.toml").write_text(
        '[[context.sources]]\ntype = "scanner"\nname = "b"\noptions.port = "y"\n'
    )
    cfg = load(tmp_path, '[[context.sources]]\ntype = "scanner"\noptions.port = "x"\n')
    assert [s.name for s in cfg.context.sources] == ["scanner", "b"]  # type: ignore[attr-defined]
    (tmp_path / "conf.d" / "dup.toml").write_text(
        '[[context.sources]]\ntype = "scanner"\noptions.port = "z"\n'
    )
    (message,) = problems(tmp_path, '[[context.sources]]\ntype = "scanner"\noptions.port = "x"\n')
    assert message.startswith("conf.d/dup.toml:1 context.sources[1]: duplicate context source")


def test_token_file_permissions_are_checked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    token = tmp_path / "token"
    token.write_text("abc\n")
    token.chmod(0o644)
    cfg = load(tmp_path, f'[context]\napi_token_file = "{token}"\n')
    check = load_token(cfg.context)  # type: ignore[attr-defined]
    assert check.accepts("abc") and not check.accepts("abd") and not check.accepts(None)
    assert "readable by group or others" in caplog.text
    (message,) = problems(tmp_path, '[context]\napi_token_file = "token"\n')
    assert "must be an absolute path" in message


async def test_a_failing_source_is_restarted_with_backoff(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = load(tmp_path, '[[context.sources]]\ntype = "scanner"\noptions.port = "x"\n')
    service = ContextService(
        cfg.context,  # type: ignore[attr-defined]
        state_dir=tmp_path / "state",
        site_id="s",
        rooms=(Location(None, None, "exam3", None),),
        plugins=PLUGINS,
    )
    FakeScanner.runs = 0
    caplog.set_level(logging.INFO)
    service.start()
    try:
        async with asyncio.timeout(20):
            while FakeScanner.runs < 2:
                await asyncio.sleep(0.05)
        (runner,) = service.runners
        assert isinstance(runner, SourceRunner) and runner.restarts >= 1
        health = runner.health_doc()
        assert health["name"] == "scanner" and health["last_error"] == "scanner unplugged"
        (assoc,) = service.store.snapshot()
        assert assoc.source == "scanner"
    finally:
        await service.close()
    assert "context source scanner: scanner unplugged (restarting in" in caplog.text
    assert isinstance(cfg.context.sources[0], ContextSourceConfig)  # type: ignore[attr-defined]
