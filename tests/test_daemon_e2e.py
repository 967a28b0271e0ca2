"""The daemon end to end, as a site runs it: real processes, real ptys, real TCP.

`vitalsd-sim masimo` speaks the Rad-8 "ASCII 1" line format (written from the protocol
reference, not from the driver); `vitalsd run` reads it through the production serial
link, driver, normalization, bus and jsonl output.
"""

from __future__ import annotations

import signal
from datetime import datetime, timedelta
from pathlib import Path

from tests.daemon_harness import daemon, read_jsonl, simulator, wait_for, write_config, yank


def observations(path: Path, metric: str = "spo2") -> list[dict]:  # type: ignore[type-arg]
    return [d for d in read_jsonl(path) if d["type"] == "observation" and d["metric"] == metric]


def statuses(path: Path, device_id: str) -> list[str]:
    return [
        d["state"]
        for d in read_jsonl(path)
        if d["type"] == "status" and d["device_id"] == device_id
    ]


def test_reads_the_simulator_over_a_pty(tmp_path: Path) -> None:
    link = tmp_path / "ox.tty"
    sim = simulator("masimo", "--pty", "--link", str(link), "--rate", "20", "--seed", "7")
    out = tmp_path / "out.jsonl"
    d = None
    try:
        sim.ready()
        d = daemon("run", "-c", str(write_config(tmp_path, [("exam1-ox", str(link))], jsonl=out)))
        wait_for(lambda: len(observations(out)) >= 10, "10 SpO2 readings", proc=d)
        obs = observations(out)
        assert all(o["device_id"] == "exam1-ox" and o["unit"] == "%" for o in obs)
        assert all(50 <= o["value"] <= 100 for o in obs)
        assert obs[0]["code"]["mdc"] == 150456
        assert obs[0]["location"] == {
            "facility": "Test Clinic",
            "point_of_care": "FM",
            "room": "exam1",
        }
        assert observations(out, "pulse_rate_oximeter")
        d.signal(signal.SIGTERM)
        assert d.wait() == 0
        assert statuses(out, "exam1-ox")[-1] == "stopped"
    finally:
        if d:
            d.stop()
        sim.stop()


def test_reads_a_network_serial_server_over_socket_url(tmp_path: Path) -> None:
    sim = simulator("masimo", "--tcp", "0", "--rate", "20", "--seed", "8")
    out = tmp_path / "out.jsonl"
    d = None
    try:
        port = sim.ready()["tcp"].rsplit(":", 1)[1]
        cfg = write_config(tmp_path, [("exam2-ox", f"socket://127.0.0.1:{port}")], jsonl=out)
        d = daemon("run", "-c", str(cfg))
        wait_for(lambda: len(observations(out)) >= 10, "10 SpO2 readings over TCP", proc=d)
        d.signal(signal.SIGTERM)
        assert d.wait() == 0
    finally:
        if d:
            d.stop()
        sim.stop()


def test_recovers_when_the_simulator_is_killed_and_restarted(tmp_path: Path) -> None:
    link = tmp_path / "ox.tty"
    out = tmp_path / "out.jsonl"
    args = ("masimo", "--pty", "--link", str(link), "--rate", "20")
    sim = simulator(*args)
    d = None
    try:
        sim.ready()
        d = daemon("run", "-c", str(write_config(tmp_path, [("exam1-ox", str(link))], jsonl=out)))
        wait_for(lambda: len(observations(out)) >= 5, "first readings", proc=d)
        yank(sim, link)  # like pulling the USB-serial adapter: its link goes too
        wait_for(lambda: "offline" in statuses(out, "exam1-ox"), "device marked offline", proc=d)
        before = len(observations(out))
        sim = simulator(*args)
        sim.ready()
        wait_for(lambda: len(observations(out)) >= before + 5, "readings after replug", proc=d)
        states = statuses(out, "exam1-ox")
        assert states.index("offline") < len(states) - 1 - states[::-1].index("online")
        d.signal(signal.SIGTERM)
        assert d.wait() == 0
    finally:
        if d:
            d.stop()
        sim.stop()


def test_sigterm_during_a_stream_loses_no_accepted_observation(tmp_path: Path) -> None:
    link = tmp_path / "ox.tty"
    out = tmp_path / "out.jsonl"
    # Fast stream; every line has the next device-clock second, so a gap would show.
    sim = simulator("masimo", "--pty", "--link", str(link), "--rate", "200", "--seed", "9")
    d = None
    try:
        sim.ready()
        d = daemon("run", "-c", str(write_config(tmp_path, [("exam1-ox", str(link))], jsonl=out)))
        wait_for(lambda: len(observations(out)) >= 300, "a running stream", proc=d)
        d.signal(signal.SIGTERM)  # mid-stream
        assert d.wait() == 0
        log = d.stderr()
        final = [line for line in log.splitlines() if "vitalsd stopped:" in line]
        assert final, log
        assert "all handed to outputs" in final[-1]
        accepted = int(final[-1].split("vitalsd stopped:")[1].split()[0])
        written = [d for d in read_jsonl(out) if d["type"] == "observation"]
        assert len(written) == accepted
        times = [datetime.fromisoformat(o["device_time"]) for o in observations(out)]
        assert times == [times[0] + timedelta(seconds=i) for i in range(len(times))]
    finally:
        if d:
            d.stop()
        sim.stop()


def test_config_with_a_typo_names_file_line_and_key(tmp_path: Path) -> None:
    cfg = tmp_path / "vitalsd.toml"
    cfg.write_text(
        '[site]\nid = "s"\n\n[[devices]]\nid = "exam1-ox"\ndriver = "masimo_ascii1"\n'
        'port = "/dev/ttyUSB0"\nroom = "exam1"\nbaudrat = 9600\n',
        encoding="utf-8",
    )
    for command in ("check", "run"):
        p = daemon(command, "-c", str(cfg))
        try:
            assert p.wait() == 2
            err = p.stderr()
            assert f"{cfg}:9 devices[1].baudrat:" in err, err
            assert "Traceback" not in err
        finally:
            p.stop()
