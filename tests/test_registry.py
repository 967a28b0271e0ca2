"""Plugins load through entry points; a broken one is skipped with a reason."""

from __future__ import annotations

from importlib.metadata import EntryPoint

from vitalsd.registry import DRIVER_GROUP, OUTPUT_GROUP, load_drivers, load_outputs


def ep(name: str, value: str, group: str = DRIVER_GROUP) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=group)


def test_installed_builtins_come_through_entry_points() -> None:
    drivers = load_drivers()
    outputs = load_outputs()
    assert "masimo_ascii1" in drivers.plugins
    assert {"jsonl", "console"} <= set(outputs.plugins)
    assert drivers.broken == [] and outputs.broken == []


def test_broken_plugins_are_skipped_and_the_rest_load() -> None:
    found = load_outputs(
        [
            ep("jsonl", "vitalsd.outputs.jsonl:JsonlOutput", OUTPUT_GROUP),
            ep("ghost", "no_such_module_xyz:Output", OUTPUT_GROUP),
            ep("notaclass", "vitalsd.model:new_observation_id", OUTPUT_GROUP),
            ep("misnamed", "vitalsd.outputs.console:ConsoleOutput", OUTPUT_GROUP),
            ep("jsonl", "vitalsd.outputs.console:ConsoleOutput", OUTPUT_GROUP),
        ]
    )
    assert list(found.plugins) == ["jsonl"]
    reasons = {b.name: b.reason for b in found.broken}
    assert "import failed: ModuleNotFoundError" in reasons["ghost"]
    assert "not a Output subclass" in reasons["notaclass"]
    assert "class says its name is 'console'" in reasons["misnamed"]
    assert "name already taken" in reasons["jsonl"]


def test_a_driver_for_another_api_version_is_refused(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "oldplugin.py").write_text(
        "from drivers.serial.masimo import MasimoAscii1Driver\n"
        "class Old(MasimoAscii1Driver):\n"
        "    name = 'old'\n"
        "    api_version = 0\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    found = load_drivers([ep("old", "oldplugin:Old")])
    assert found.plugins == {}
    assert "written for driver API 0" in found.broken[0].reason
