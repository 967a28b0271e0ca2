"""`vitalsd decode --advertisement --uuid`: a captured Mi scale service-data payload."""

from __future__ import annotations

import json

import pytest

from vitalsd.cli.main import main

# Real-derived: xiaomi-ble test_Xiaomi_Scale1 (ble-health.md §3.4 #5).
MI_V1 = "229e43e507040b101301"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["decode", "--timezone", "UTC", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_advertisement_decodes_the_weight(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "--driver", "xiaomi_scale", "--advertisement", "--uuid", "181d", "--hex", MI_V1
    )
    assert code == 0
    doc = json.loads(out)
    [obs] = doc["observations"]
    assert (obs["metric"], obs["value"], obs["unit"]) == ("body_weight", 86.55, "kg")
    assert obs["device_time"] == "2021-04-11T16:19:01+00:00"


def test_unstable_payload_gives_an_event_not_a_number(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Lib: xiaomi-ble test_Xiaomi_Scale2_non_stabilized (§3.5 #6).
    code, out, _ = run(
        capsys,
        "--driver",
        "xiaomi_scale",
        "--advertisement",
        "--uuid",
        "0000181b-0000-1000-8000-00805f9b34fb",
        "--hex",
        "02 04 B2 07 01 01 12 10 1A 00 00 A8 52",
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["observations"] == []
    assert "not stabilized" in doc["events"][0]["message"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--driver", "xiaomi_scale", "--advertisement"), "needs --uuid"),
        (("--driver", "xiaomi_scale", "--uuid", "181d"), "--uuid goes with --advertisement"),
        (("--driver", "xiaomi_scale", "--advertisement", "--uuid", "zz"), "not a Bluetooth UUID"),
        (("--driver", "xiaomi_scale", "--advertisement", "--uuid", "fe95"), "no Mi scale decoder"),
        (("--driver", "ble_thermometer", "--advertisement", "--uuid", "181d"), "advertisements"),
        (("--driver", "xiaomi_scale"), "--advertisement --uuid 181d"),
        (
            ("--driver", "xiaomi_scale", "--advertisement", "--uuid", "181b"),
            "10 bytes, expected 13",
        ),
    ],
)
def test_clear_errors(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    code, _, err = run(capsys, *args, "--hex", MI_V1)
    assert code != 0 and message in err and "Traceback" not in err
