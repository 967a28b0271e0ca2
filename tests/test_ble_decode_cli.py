"""`vitalsd decode --characteristic`: a captured BLE notification, as clinic IT sees it."""

from __future__ import annotations

import json

import pytest

from vitalsd.cli.main import main

# Real: A&D UA-651BLE indication (HEADS-project/ThingML-BLE AND_Medical_UA651BLE.md)
A_AND_D = "16 7D 00 50 00 66 00 E1 07 01 10 0C 27 36 40 00 00 00"
# Real: Beurer BM85 (derdilla/blood-pressure-monitor-fl ble_measurement_data_test.dart)
BEURER = "56 6A 00 47 00 00 00 EA 07 08 0B 12 1F 00 00 3F 00 00 00"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["decode", "--timezone", "UTC", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_characteristic_decodes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "--driver", "ble_blood_pressure", "--characteristic", "2a35", "--hex", A_AND_D
    )
    assert code == 0
    obs = json.loads(out)["observations"]
    assert [(o["metric"], o["value"]) for o in obs] == [
        ("bp_systolic", 125),
        ("bp_diastolic", 80),
        ("bp_mean", 102),
        ("pulse_rate_nibp", 64),
    ]
    assert len({o["group"] for o in obs}) == 1


def test_strict_rejects_tolerant_accepts(capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--driver", "ble_blood_pressure", "--characteristic", "0x2A35", "--hex", BEURER)
    code, _, err = run(capsys, *args)
    assert code != 0 and "reserved flag bit(s) 6" in err and "Traceback" not in err
    code, out, _ = run(capsys, *args, "--tolerant")
    assert code == 0
    assert [o["value"] for o in json.loads(out)["observations"]] == [106, 71, 63]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--driver", "masimo_ascii1", "--characteristic", "2a35"), "does not decode BLE"),
        (
            ("--driver", "ble_thermometer", "--characteristic", "2a35"),
            "no decoder for characteristic",
        ),
        (("--driver", "ble_thermometer", "--characteristic", "zz"), "16-bit UUID"),
        (
            (
                "--driver",
                "ble_thermometer",
            ),
            "not a byte stream",
        ),
    ],
)
def test_clear_errors(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    code, _, err = run(capsys, *args, "--hex", "00 7D 00 50 00 66 00")
    assert code != 0 and message in err and "Traceback" not in err
