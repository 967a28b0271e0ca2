"""Configuration: loading, file:line:key problems, drop-ins, env overrides, examples."""

from __future__ import annotations

import errno
import os
import shutil
import textwrap
from importlib.metadata import entry_points
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import Field

from vitalsd.config import VitalsdConfig, describe_sources, load_config
from vitalsd.config.env import env_name, parse_value
from vitalsd.config.toml_index import TomlIndex
from vitalsd.driver import Decoder, Driver, DriverOptions
from vitalsd.errors import ConfigError
from vitalsd.links.base import SerialSettings
from vitalsd.model import BusItem, DeviceKind, Location, Transport
from vitalsd.output import Output, OutputOptions

EXAMPLES = Path(__file__).resolve().parent.parent / "config"


class FakeOptions(DriverOptions):
    mode: int = Field(default=1, ge=1, le=3)


class FakeDriver(Driver):
    name: ClassVar[str] = "fake_ox"
    summary: ClassVar[str] = "test driver"
    kinds: ClassVar[frozenset[DeviceKind]] = frozenset({DeviceKind.PULSE_OXIMETER})
    transports: ClassVar[frozenset[Transport]] = frozenset({Transport.SERIAL})
    options_model: ClassVar[type[DriverOptions]] = FakeOptions
    serial_defaults: ClassVar[SerialSettings] = SerialSettings(baudrate=19200, parity="E")

    @classmethod
    def new_decoder(cls, options: DriverOptions | None = None) -> Decoder:
        raise NotImplementedError


class FileOptions(OutputOptions):
    path: str


class FakeOutput(Output):
    name: ClassVar[str] = "file"
    summary: ClassVar[str] = "test output"
    options_model: ClassVar[type[OutputOptions]] = FileOptions

    async def handle(self, item: BusItem) -> None:
        raise NotImplementedError


DRIVERS: dict[str, type[Driver]] = {"fake_ox": FakeDriver}
OUTPUTS: dict[str, type[Output]] = {"file": FakeOutput}

GOOD = """\
[site]
id = "riverside"
facility = "Riverside Family Medicine"
point_of_care = "FM"
timezone = "America/Chicago"

[daemon]
log_level = "debug"
state_dir = "/var/lib/vitalsd"

[[devices]]
id = "exam3-oximeter"
driver = "fake_ox"
port = "/dev/serial/by-id/usb-FTDI-if00-port0"
room = "exam3"
bed = "1"
[devices.serial]
parity = "N"
[devices.options]
mode = 2

[[devices]]
id = "exam4-oximeter"
driver = "fake_ox"
port = "socket://10.0.0.5:4001"
room = "exam4"
point_of_care = "PEDS"
enabled = false
timezone = "UTC"

[[outputs]]
type = "file"
[outputs.options]
path = "/tmp/x.jsonl"
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(path: Path, environ: dict[str, str] | None = None) -> VitalsdConfig:
    return load_config(path, environ=environ or {}, drivers=DRIVERS, outputs=OUTPUTS)


def problems(path: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(path, environ)
    return [str(p) for p in caught.value.problems]


def minimal(device: str = "", extra: str = "") -> str:
    return f'[site]\nid = "s"\n{extra}\n[[devices]]\n{device}'


DEVICE = 'id = "d1"\ndriver = "fake_ox"\nport = "/dev/ttyUSB0"\nroom = "r1"\n'


# --- a good config --------------------------------------------------------------------


def test_good_config_resolves_plugins_defaults_and_location(tmp_path: Path) -> None:
    cfg = load(write(tmp_path / "vitalsd.toml", GOOD))
    assert cfg.site.id == "riverside"
    assert cfg.daemon.log_level == "debug"
    assert cfg.daemon.state_dir == Path("/var/lib/vitalsd")
    assert cfg.daemon.shutdown_timeout == 10.0
    first, second = cfg.devices
    # Driver default 19200/E, file overrides only parity.
    assert first.serial == SerialSettings(baudrate=19200, parity="N")
    assert isinstance(first.options, FakeOptions)
    assert first.options.mode == 2
    assert first.options.silence_timeout == 30.0
    assert first.location == Location("Riverside Family Medicine", "FM", "exam3", "1")
    assert first.point_of_care == "FM"
    assert first.timezone is None
    assert second.enabled is False
    assert second.location == Location("Riverside Family Medicine", "PEDS", "exam4", None)
    assert second.timezone == "UTC"
    assert second.serial == FakeDriver.serial_defaults
    (out,) = cfg.outputs
    assert out.name == "file"
    assert isinstance(out.options, FileOptions)
    assert out.options.path == "/tmp/x.jsonl"
    assert cfg.sources == (str(tmp_path / "vitalsd.toml"),)
    assert cfg.overrides == ()


def test_empty_device_list_is_valid(tmp_path: Path) -> None:
    cfg = load(write(tmp_path / "v.toml", '[site]\nid = "s"\n'))
    assert cfg.devices == ()
    assert cfg.outputs == ()
    assert cfg.site.timezone is None


def test_numbers_in_text_fields_are_taken_as_text(tmp_path: Path) -> None:
    cfg = load(write(tmp_path / "v.toml", minimal(DEVICE + "bed = 2\n")))
    assert cfg.devices[0].bed == "2"


# --- problems: file:line key: message ---------------------------------------------------


def test_key_in_the_wrong_table_suggests_where_it_belongs(tmp_path: Path) -> None:
    path = write(tmp_path / "vitalsd.toml", minimal(DEVICE + "baudrate = 9600\nmod = 2\n"))
    assert problems(path) == [
        f"{path}:9 devices[1].baudrate: unknown key (did you mean 'serial.baudrate'?)",
        f"{path}:10 devices[1].mod: unknown key (did you mean 'options.mode'?)",
    ]


def test_typo_in_a_key_suggests_the_close_one(tmp_path: Path) -> None:
    path = write(tmp_path / "v.toml", minimal(DEVICE + "[devices.serial]\nbaudrat = 9600\n"))
    assert problems(path) == [
        f"{path}:10 devices[1].serial.baudrat: unknown key (did you mean 'baudrate'?)"
    ]


def test_unknown_driver_lists_installed_and_the_likely_one(tmp_path: Path) -> None:
    path = write(tmp_path / "v.toml", minimal(DEVICE.replace("fake_ox", "fake_o")))
    assert problems(path) == [
        f"{path}:6 devices[1].driver: unknown driver 'fake_o'; installed: fake_ox "
        "(did you mean 'fake_ox'?)"
    ]


def test_duplicate_device_id_names_the_first(tmp_path: Path) -> None:
    path = write(tmp_path / "v.toml", minimal(DEVICE + "\n[[devices]]\n" + DEVICE))
    assert problems(path) == [
        f"{path}:11 devices[2].id: duplicate device id 'd1' (first at line 5)"
    ]


def test_pydantic_messages_show_the_value_written(tmp_path: Path) -> None:
    text = minimal(DEVICE + "[devices.serial]\nbaudrate = 96000\n[devices.options]\nmode = 7\n")
    path = write(tmp_path / "v.toml", text)
    assert problems(path) == [
        f"{path}:10 devices[1].serial.baudrate: Input should be 300, 600, 1200, 2400, 4800, "
        "9600, 14400, 19200, 38400, 57600, 115200 or 230400 (got 96000)",
        f"{path}:12 devices[1].options.mode: Input should be less than or equal to 3 (got 7)",
    ]


def test_missing_required_keys_point_at_the_table_header(tmp_path: Path) -> None:
    path = write(tmp_path / "v.toml", '[site]\nfacility = "x"\n\n[[devices]]\nid = "d"\n')
    assert problems(path) == [
        f"{path}:1 site.id: missing required key",
        f"{path}:4 devices[1].driver: missing required key",
        f"{path}:4 devices[1].port: missing required key",
        f"{path}:4 devices[1].room: missing required key",
    ]


def test_missing_site_table(tmp_path: Path) -> None:
    path = write(tmp_path / "v.toml", '[daemon]\nlog_level = "info"\n')
    assert problems(path) == [f"{path} site: missing required table [site] (with id)"]


def test_toml_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path / "v.toml", '[site]\nid = "s"\nroom exam3\n')
    (message,) = problems(path)
    assert message.startswith(f"{path}:3: TOML syntax error at column 6: ")
    assert "(at line" not in message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "etc" / "vitalsd.toml"
    assert problems(path) == [f"{path}: cannot read {path}: No such file or directory"]


def test_a_directory_instead_of_a_file(tmp_path: Path) -> None:
    path = tmp_path / "vitalsd.toml"
    path.mkdir()
    assert problems(path) == [f"{path}: cannot read {path}: Is a directory"]


def test_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "v.toml", '[site]\nid = "s"\n')
    path.chmod(0)
    if os.geteuid() == 0:  # root reads any file: stand in for the kernel's refusal
        real = Path.read_bytes

        def refuse(self: Path) -> bytes:
            if self == path:
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
            return real(self)

        monkeypatch.setattr(Path, "read_bytes", refuse)
    assert problems(path) == [f"{path}: cannot read {path}: Permission denied"]


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "v.toml"
    path.write_bytes(b'[site]\nid = "caf\xe9"\n')
    assert problems(path) == [f"{path}:2: not UTF-8 text (byte 0xe9)"]


def test_values_checked_beyond_types(tmp_path: Path) -> None:
    text = """\
    [site]
    id = "River Side"
    timezone = "America/Chicgo"

    [daemon]
    state_dir = "state"
    log_level = "LOUD"

    [[devices]]
    id = "exam 3"
    driver = "fake_ox"
    port = "tcp://10.0.0.5:4001"
    room = "r"

    [[devices]]
    id = "d2"
    driver = "fake_ox"
    port = "socket://10.0.0.5"
    room = "r"
    timezone = "Mars/Olympus"

    [[devices]]
    id = "d3"
    driver = "fake_ox"
    port = "ttyUSB0"
    room = "r"

    [[devices]]
    id = "d4"
    driver = "fake_ox"
    port = "rfc2217://nport:99999"
    room = "r"
    """
    path = write(tmp_path / "v.toml", text)
    assert problems(path) == [
        f"{path}:2 site.id: site id 'River Side' must be 1-40 lowercase letters, digits, "
        "'_' or '-' (it is used in MQTT topics)",
        f"{path}:3 site.timezone: unknown time zone 'America/Chicgo' "
        "(did you mean 'America/Chicago'?)",
        f"{path}:6 daemon.state_dir: 'state' must be an absolute path, e.g. /var/lib/vitalsd",
        f"{path}:7 daemon.log_level: Input should be 'debug', 'info', 'warning' or 'error' "
        '(got "LOUD")',
        f"{path}:10 devices[1].id: device id 'exam 3' must be 1-40 letters, digits, "
        "'.', '_' or '-'",
        f"{path}:12 devices[1].port: unknown scheme 'tcp://' in 'tcp://10.0.0.5:4001'; use "
        "socket://host:port (raw TCP mode of the serial server) or rfc2217://host:port",
        f"{path}:18 devices[2].port: 'socket://10.0.0.5' needs a host and a port: "
        "socket://10.0.0.5:4001",
        f"{path}:20 devices[2].timezone: unknown time zone 'Mars/Olympus' "
        "(e.g. 'America/Chicago', 'UTC')",
        f"{path}:25 devices[3].port: 'ttyUSB0' is not an absolute path (did you mean "
        "'/dev/ttyUSB0'?); prefer the stable /dev/serial/by-id/... name of a USB adapter",
        f"{path}:31 devices[4].port: 'rfc2217://nport:99999' has a bad port number: use 1-65535",
    ]


def test_all_problems_are_reported_at_once_in_file_order(tmp_path: Path) -> None:
    text = """\
    [site]
    id = "s"
    colour = "blue"

    [[devices]]
    id = "d1"
    driver = "nope"
    port = "/dev/ttyUSB0"
    room = "r"

    [[devices]]
    id = "d1"
    driver = "fake_ox"
    port = ""
    room = "r"
    [devices.options]
    silence_timeout = -1

    [[outputs]]
    type = "file"

    [[outputs]]
    type = "file"
    [outputs.options]
    path = "/x"
    pth = "/y"

    [[outputs]]
    type = "kafka"

    [mqtt]
    host = "broker"
    """
    path = write(tmp_path / "v.toml", text)
    found = problems(path)
    assert found == [
        f"{path}:3 site.colour: unknown key",
        f"{path}:7 devices[1].driver: unknown driver 'nope'; installed: fake_ox",
        f"{path}:12 devices[2].id: duplicate device id 'd1' (first at line 6)",
        f"{path}:14 devices[2].port: must not be empty: a device path "
        "(/dev/serial/by-id/...) or socket://host:port",
        f"{path}:17 devices[2].options.silence_timeout: Input should be greater than 0 (got -1)",
        f"{path}:19 outputs[1].options.path: missing required key",
        f"{path}:22 outputs[2]: duplicate output name 'file' (first at line 19); "
        'set name = "..." on each',
        f"{path}:26 outputs[2].options.pth: unknown key (did you mean 'path'?)",
        f"{path}:29 outputs[3].type: unknown output type 'kafka'; installed: file",
        f"{path}:31 mqtt: unknown table",
    ]


def test_top_level_shapes(tmp_path: Path) -> None:
    path = write(tmp_path / "v.toml", '[site]\nid = "s"\n[device]\nid = "x"\n[outputs]\nx = 1\n')
    assert problems(path) == [
        f"{path}:3 device: unknown table (did you mean 'devices'?)",
        f"{path}:5 outputs: must be an array of tables: write [[outputs]], not [outputs]",
    ]


def test_named_outputs_of_one_type_are_fine(tmp_path: Path) -> None:
    text = '[site]\nid = "s"\n'
    for name in ("a", "b"):
        text += f'[[outputs]]\ntype = "file"\nname = "{name}"\n[outputs.options]\npath = "/x"\n'
    cfg = load(write(tmp_path / "v.toml", text))
    assert [o.name for o in cfg.outputs] == ["a", "b"]


# --- drop-ins -------------------------------------------------------------------------


def test_dropins_are_merged_in_name_order(tmp_path: Path) -> None:
    main = write(tmp_path / "vitalsd.toml", GOOD)
    write(tmp_path / "conf.d" / "20-exam6.toml", minimal(DEVICE.replace("d1", "exam6")))
    write(
        tmp_path / "conf.d" / "10-exam5.toml",
        "[daemon]\nshutdown_timeout = 3.0\n[[devices]]\n" + DEVICE.replace("d1", "exam5"),
    )
    write(tmp_path / "conf.d" / "notes.txt", "ignored")
    write(tmp_path / "conf.d" / ".30-draft.toml", "not = toml = at all")
    # 20-exam6 also sets site.id: a scalar in two files is a problem, not a silent win.
    assert problems(main) == [
        f"{tmp_path}/conf.d/20-exam6.toml:2 site.id: already set at {main}:2; "
        "a key may be set in one file only"
    ]
    write(tmp_path / "conf.d" / "20-exam6.toml", "[[devices]]\n" + DEVICE.replace("d1", "exam6"))
    cfg = load(main)
    assert [d.id for d in cfg.devices] == [
        "exam3-oximeter",
        "exam4-oximeter",
        "exam5",
        "exam6",
    ]
    assert cfg.daemon.shutdown_timeout == 3.0
    assert cfg.daemon.log_level == "debug"
    assert cfg.sources == (
        str(main),
        f"{tmp_path}/conf.d/10-exam5.toml",
        f"{tmp_path}/conf.d/20-exam6.toml",
    )


def test_dropin_problems_name_their_file_and_block(tmp_path: Path) -> None:
    main = write(tmp_path / "vitalsd.toml", minimal(DEVICE))
    dropin = write(
        tmp_path / "conf.d" / "exam4.toml",
        "# exam 4\n[[devices]]\n" + DEVICE.replace("/dev/ttyUSB0", "/dev/ttyUSB1") + "\n"
        "[[devices]]\n" + DEVICE.replace("d1", "d2").replace("r1", "") + "rooom = 1\n",
    )
    assert problems(main) == [
        f"{dropin}:3 devices[1].id: duplicate device id 'd1' (first at {main}:5)",
        f"{dropin}:13 devices[2].rooom: unknown key (did you mean 'room'?)",
    ]


def test_syntax_error_in_a_dropin_is_reported_alone(tmp_path: Path) -> None:
    main = write(tmp_path / "vitalsd.toml", minimal(DEVICE))
    bad = write(tmp_path / "conf.d" / "a.toml", "[[devices]\n")
    (message,) = problems(main)
    assert message.startswith(f"{bad}:1: TOML syntax error at column")


# --- environment overrides ---------------------------------------------------------------


def test_env_overrides_tables_devices_and_outputs(tmp_path: Path) -> None:
    path = write(tmp_path / "vitalsd.toml", GOOD)
    environ = {
        "VITALSD_SITE__FACILITY": '"Riverside Clinic"',
        "VITALSD_DAEMON__LOG_LEVEL": "warning",
        "VITALSD_DAEMON__SHUTDOWN_TIMEOUT": "2.5",
        "VITALSD_DEVICES__EXAM3_OXIMETER__SERIAL__BAUDRATE": "9600",
        "VITALSD_DEVICES__EXAM3_OXIMETER__OPTIONS__MODE": "3",
        "VITALSD_DEVICES__EXAM4_OXIMETER__ENABLED": "true",
        "VITALSD_DEVICES__EXAM4_OXIMETER__PORT": "/dev/ttyS0",
        "VITALSD_OUTPUTS__FILE__OPTIONS__PATH": "/srv/obs.jsonl",
        "VITALSD_LOG_FORMAT": "json",  # no "__": not an override, left alone
        "PATH": "/usr/bin",
    }
    cfg = load(path, environ)
    assert cfg.site.facility == "Riverside Clinic"
    assert cfg.daemon.log_level == "warning"
    assert cfg.daemon.shutdown_timeout == 2.5
    exam3, exam4 = cfg.devices
    assert exam3.serial.baudrate == 9600
    assert exam3.serial.parity == "N"
    assert isinstance(exam3.options, FakeOptions)
    assert exam3.options.mode == 3
    assert exam3.location.facility == "Riverside Clinic"
    assert exam4.enabled is True
    assert exam4.port == "/dev/ttyS0"
    assert isinstance(cfg.outputs[0].options, FileOptions)
    assert cfg.outputs[0].options.path == "/srv/obs.jsonl"
    assert describe_sources(cfg) == [
        f"file {path}",
        "env VITALSD_DAEMON__LOG_LEVEL -> daemon.log_level",
        "env VITALSD_DAEMON__SHUTDOWN_TIMEOUT -> daemon.shutdown_timeout",
        "env VITALSD_DEVICES__EXAM3_OXIMETER__OPTIONS__MODE -> devices[1].options.mode",
        "env VITALSD_DEVICES__EXAM3_OXIMETER__SERIAL__BAUDRATE -> devices[1].serial.baudrate",
        "env VITALSD_DEVICES__EXAM4_OXIMETER__ENABLED -> devices[2].enabled",
        "env VITALSD_DEVICES__EXAM4_OXIMETER__PORT -> devices[2].port",
        "env VITALSD_OUTPUTS__FILE__OPTIONS__PATH -> outputs[1].options.path",
        "env VITALSD_SITE__FACILITY -> site.facility",
    ]


def test_env_can_supply_a_missing_required_key(tmp_path: Path) -> None:
    path = write(tmp_path / "v.toml", minimal('id = "d1"\ndriver = "fake_ox"\nroom = "r"\n'))
    cfg = load(path, {"VITALSD_DEVICES__D1__PORT": "socket://nport:4001"})
    assert cfg.devices[0].port == "socket://nport:4001"


def test_env_problems_name_the_variable(tmp_path: Path) -> None:
    path = write(tmp_path / "vitalsd.toml", GOOD)
    environ = {
        "VITALSD_DEVICES__EXAM9__PORT": "/dev/ttyUSB9",
        "VITALSD_DEVICES__EXAM3_OXIMETER__BAUDRATE": "9600",
        "VITALSD_DEVICES__EXAM3_OXIMETER__SERIAL__BAUDRATE": "96000",
        "VITALSD_DEVICES__EXAM3_OXIMETER__SERIAL": "9600",
        "VITALSD_OUTPUTS__LOG__OPTIONS__PATH": "/x",
        "VITALSD_SITE__TIMEZONE": "Chicago",
        "VITALSD_SITE__ZONE": "UTC",
        "VITALSD_MQTT__HOST": "broker",
        "VITALSD_DEVICES__X": "1",
        "VITALSD_SITE____ID": "x",
    }
    assert problems(path, environ) == [
        "env VITALSD_DEVICES__EXAM3_OXIMETER__BAUDRATE devices[1].baudrate: unknown key "
        "(did you mean 'serial.baudrate'?)",
        "env VITALSD_DEVICES__EXAM3_OXIMETER__SERIAL devices[1].serial: 'serial' is a table; "
        "set one of its keys: ...__SERIAL__<KEY>",
        "env VITALSD_DEVICES__EXAM3_OXIMETER__SERIAL__BAUDRATE devices[1].serial.baudrate: "
        "Input should be 300, 600, 1200, 2400, 4800, 9600, 14400, 19200, 38400, 57600, "
        "115200 or 230400 (got 96000)",
        "env VITALSD_DEVICES__EXAM9__PORT devices: no device with id 'EXAM9' (spelled "
        "upper-case, '-' and '.' as '_'); configured: exam3-oximeter, exam4-oximeter",
        "env VITALSD_DEVICES__X: expected VITALSD_DEVICES__<ID>__<KEY>",
        "env VITALSD_MQTT__HOST: unknown table 'MQTT' (known: SITE, DAEMON, HTTP, CONTEXT, BLE, DEVICES, OUTPUTS)",
        "env VITALSD_OUTPUTS__LOG__OPTIONS__PATH outputs: no output named 'LOG' (spelled "
        "upper-case, '-' and '.' as '_'); configured: file",
        "env VITALSD_SITE__TIMEZONE site.timezone: unknown time zone 'Chicago' "
        "(did you mean 'America/Chicago'?)",
        "env VITALSD_SITE__ZONE site.zone: unknown key (did you mean 'timezone'?)",
        "env VITALSD_SITE____ID: empty name part (a stray or doubled '__'?)",
    ]


def test_env_value_parsing() -> None:
    assert parse_value("9600") == 9600
    assert parse_value("true") is True
    assert parse_value("1.5") == 1.5
    assert parse_value('"0042"') == "0042"
    assert parse_value("/dev/ttyUSB0") == "/dev/ttyUSB0"
    assert parse_value("socket://10.0.0.5:4001") == "socket://10.0.0.5:4001"
    assert parse_value("{a = 1}") == "{a = 1}"
    assert parse_value("") == ""
    assert env_name("exam3-cuff.v2") == "EXAM3_CUFF_V2"


# --- the position index -----------------------------------------------------------------


def test_toml_index_follows_headers_keys_and_multiline_values() -> None:
    text = textwrap.dedent(
        '''\
        top = 1
        [site]
        "quoted key" = """
        [not.a.header]
        x = 1
        """
        a.b = [
          1, # [[devices]]
          2,
        ]
        [[devices]]
        id = 'x' # comment
        [devices.serial]
        baudrate = 9600
        [[devices.sensors]]
        kind = "a"
        [[devices]]
        inline = { x = 1, y = 2 }
        [[devices.sensors]]
        kind = "b"
        [[devices.sensors]]
        kind = "c"
        '''
    )
    index = TomlIndex(text)
    assert index.line(("top",)) == 1
    assert index.line(("site",)) == 2
    assert index.line(("site", "quoted key")) == 3
    assert index.line(("not",)) is None
    assert index.line(("site", "a")) == 7
    assert index.line(("site", "a", "b")) == 7
    assert index.line(("devices", 0)) == 11
    assert index.line(("devices", 0, "id")) == 12
    assert index.line(("devices", 0, "serial", "baudrate")) == 14
    assert index.line(("devices", 0, "sensors", 0, "kind")) == 16
    assert index.line(("devices", 1)) == 17
    assert index.line(("devices", 1, "inline", "y")) == 18  # falls back to the key's line
    assert index.line(("devices", 1, "sensors", 0, "kind")) == 20
    assert index.line(("devices", 1, "sensors", 1, "kind")) == 22
    assert index.line(("devices", 2)) is None


# --- the shipped examples ----------------------------------------------------------------


def _load_group(group: str) -> dict[str, type]:
    # Every built-in plugin must import: a missing one is a failure, never a skip.
    return {ep.name: ep.load() for ep in entry_points(group=group)}


def _installed() -> tuple[dict[str, type[Driver]], dict[str, type[Output]]]:
    return _load_group("vitalsd.drivers"), _load_group("vitalsd.outputs")


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.toml")))
def test_examples_load_with_the_installed_plugins(name: str) -> None:
    drivers, outputs = _installed()
    cfg = load_config(EXAMPLES / name, environ={}, drivers=drivers, outputs=outputs)
    assert cfg.devices
    assert cfg.outputs


def test_dropin_example_loads_beside_the_starter(tmp_path: Path) -> None:
    drivers, outputs = _installed()
    shutil.copy(EXAMPLES / "vitalsd.toml", tmp_path / "vitalsd.toml")
    (tmp_path / "conf.d").mkdir()
    shutil.copy(EXAMPLES / "conf.d-example" / "exam4.toml", tmp_path / "conf.d" / "exam4.toml")
    cfg = load_config(tmp_path / "vitalsd.toml", environ={}, drivers=drivers, outputs=outputs)
    assert [d.id for d in cfg.devices] == ["exam3-oximeter", "exam4-oximeter"]
    assert cfg.devices[1].location == Location("Riverside Family Medicine", "FM", "exam4", None)


@pytest.mark.parametrize(
    "name", sorted(p.name for p in (EXAMPLES / "conf.d-example").glob("*.toml"))
)
def test_every_dropin_example_loads_beside_the_starter(tmp_path: Path, name: str) -> None:
    drivers, outputs = _installed()
    shutil.copy(EXAMPLES / "vitalsd.toml", tmp_path / "vitalsd.toml")
    (tmp_path / "conf.d").mkdir()
    shutil.copy(EXAMPLES / "conf.d-example" / name, tmp_path / "conf.d" / name)
    cfg = load_config(tmp_path / "vitalsd.toml", environ={}, drivers=drivers, outputs=outputs)
    assert len(cfg.devices) >= 2
