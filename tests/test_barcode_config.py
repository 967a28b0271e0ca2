"""The barcode source as a site configures it: the shipped example, and typos."""

from __future__ import annotations

from pathlib import Path

import pytest

from vitalsd.config import VitalsdConfig, load_config
from vitalsd.context.barcode import BarcodeOptions, BarcodeSource
from vitalsd.context.source import SourceEnvironment
from vitalsd.context.store import ContextStore
from vitalsd.errors import ConfigError, ContextRejected
from vitalsd.registry import load_drivers, load_outputs

EXAMPLE = Path(__file__).parent.parent / "config" / "barcode-scanner.toml"


def _load(path: Path) -> VitalsdConfig:
    return load_config(
        path, environ={}, drivers=load_drivers().plugins, outputs=load_outputs().plugins
    )


def _build(cfg: VitalsdConfig, tmp_path: Path) -> BarcodeSource:
    sc = cfg.context.sources[0]
    rooms = tuple(d.location for d in cfg.devices)
    env = SourceEnvironment(name=sc.name, state_dir=tmp_path, site_id=cfg.site.id, rooms=rooms)
    return BarcodeSource(sc.options, env, ContextStore())


def test_the_example_builds_a_scanner_for_its_room(tmp_path: Path) -> None:
    source = _build(_load(EXAMPLE), tmp_path)
    assert isinstance(source.opts, BarcodeOptions)
    assert source.opts.confirm == "room_label" and source.opts.hid is not None
    assert source.location is not None and source.location.room == "exam3"
    assert source.location.facility == "Main Street Clinic"


@pytest.mark.parametrize(
    ("before", "after", "message"),
    [
        (
            'confirm = "room_label"',
            'confirm = "room"',
            "context.sources[1].options.confirm: Input should be 'none' or 'room_label'",
        ),
        (
            "pattern = 'MRN(?P<id>\\d+)'",
            "pattern = 'MRN(?P<mrn>\\d+)'",
            "context.sources[1].options.pattern: Value error, unknown group name(s) mrn",
        ),
        ("confirm_within = 60", "confirm_witin = 60", "context.sources[1].options.confirm_witin"),
    ],
)
def test_a_typo_names_the_file_line_and_key(
    tmp_path: Path, before: str, after: str, message: str
) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert before in text
    path = tmp_path / "vitalsd.toml"
    path.write_text(text.replace(before, after), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        _load(path)
    assert f"{path}:" in str(info.value) and message in str(info.value)


def test_a_scanner_in_a_room_without_devices_is_refused_by_name(tmp_path: Path) -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace('room = "exam3"   ', 'room = "exam9"   ')
    path = tmp_path / "vitalsd.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ContextRejected, match=r"room 'exam9' is not a room any device .*exam3"):
        _build(_load(path), tmp_path)
