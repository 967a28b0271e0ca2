"""The status endpoint over real HTTP on TCP: /healthz, /status, /metrics, errors, and
`vitalsd status` reading it."""

from __future__ import annotations

import signal
import socket
import subprocess
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.daemon_harness import BIN, daemon
from tests.notify_listener import NotifyListener
from tests.status_harness import free_port, get, running_daemon


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            found.setdefault(s.name, []).append((s.labels, s.value))
    return found


def test_status_metrics_and_health(tmp_path: Path) -> None:
    with running_daemon(tmp_path) as r:
        assert get(r.base + "/healthz")[:1] == (200,)

        code, headers, _ = get(r.base + "/status")
        assert code == 200 and headers["Content-Type"] == "application/json"
        doc = r.status()
        assert doc["site"] == "test-site"
        (dev,) = doc["devices"]
        assert dev["id"] == "exam1-ox" and dev["driver"] == "masimo_ascii1"
        assert dev["state"] == "online" and dev["accepted"] > 0 and dev["last_error"] is None
        (out,) = doc["outputs"]
        assert out["name"] == "jsonl" and not out["failing"]
        assert doc["summary"].startswith("1/1 devices online, outbox ")

        code, headers, body = get(r.base + "/metrics")
        assert code == 200 and headers["Content-Type"].startswith("text/plain; version=")
        m = samples(body.decode())
        readings = {s[0]["metric"]: s[1] for s in m["vitalsd_readings_total"]}
        assert readings["spo2"] > 0 and readings["pulse_rate_oximeter"] > 0
        assert all(s[0]["device"] == "exam1-ox" for s in m["vitalsd_readings_total"])
        assert m["vitalsd_device_up"] == [({"device": "exam1-ox", "driver": "masimo_ascii1"}, 1.0)]
        assert m["vitalsd_device_reconnects_total"] == [({"device": "exam1-ox"}, 0.0)]
        assert m["vitalsd_device_decode_errors_total"][0][0] == {"device": "exam1-ox"}
        assert m["vitalsd_output_queue_depth"][0][0] == {"output": "jsonl"}
        assert m["vitalsd_output_delivered_total"][0][1] > 0
        (info,) = m["vitalsd_build_info"]
        assert info[1] == 1.0 and info[0]["version"]
        assert "process_resident_memory_bytes" in m

        # `vitalsd status` prints the same, from the same endpoint.
        cli = subprocess.run(
            [str(BIN / "vitalsd"), "status", "-c", str(r.config)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert cli.returncode == 0, cli.stderr
        assert "1/1 devices online" in cli.stdout
        assert any(
            line.split()[:2] == ["exam1-ox", "online"] for line in cli.stdout.splitlines()
        ), cli.stdout

        r.proc.signal(signal.SIGTERM)
        assert r.proc.wait() == 0


def test_http_errors_are_answers_not_crashes(tmp_path: Path) -> None:
    with running_daemon(tmp_path) as r:
        assert get(r.base + "/nope")[0] == 404
        assert get(r.base + "/status", method="POST")[0] == 405
        code, _, body = get(r.base + "/status", method="HEAD")
        assert code == 200 and body == b""
        port = int(r.base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"garbage\r\n\r\n")
            assert s.recv(100).startswith(b"HTTP/1.1 400 ")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\n")  # then hang up mid-request
        assert get(r.base + "/healthz")[0] == 200  # still serving
        r.proc.signal(signal.SIGTERM)
        assert r.proc.wait() == 0


def test_status_command_without_a_daemon_says_so() -> None:
    port = free_port()
    cli = subprocess.run(
        [str(BIN / "vitalsd"), "status", "--url", f"http://127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 1
    assert cli.stderr.startswith(f"vitalsd: cannot reach vitalsd at http://127.0.0.1:{port}/status")
    assert "Traceback" not in cli.stderr


def test_port_in_use_is_reported_and_readings_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listener = NotifyListener()
    monkeypatch.setenv("NOTIFY_SOCKET", listener.path)
    try:
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            cfg = tmp_path / "vitalsd.toml"
            cfg.write_text(
                f'[site]\nid = "t"\n[daemon]\nstate_dir = "{tmp_path}"\n[http]\nport = {port}\n'
            )
            d = daemon("run", "-c", str(cfg))
            listener.wait_for("READY=1")
            d.signal(signal.SIGTERM)
            assert d.wait() == 0
            err = d.stderr()
            d.stop()
    finally:
        listener.close()
    assert f"status endpoint cannot listen on 127.0.0.1:{port}" in err
    assert "running without it" in err
    assert "Traceback" not in err


def test_bad_http_config_names_file_and_line(tmp_path: Path) -> None:
    cfg = tmp_path / "vitalsd.toml"
    cfg.write_text('[site]\nid = "t"\n[http]\nport = 70000\nbnid = "0.0.0.0"\n')
    r = subprocess.run(
        [str(BIN / "vitalsd"), "check", "-c", str(cfg)], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 2
    assert f"{cfg}:4 http.port: Input should be less than or equal to 65535" in r.stderr
    assert f"{cfg}:5 http.bnid: unknown key (did you mean 'bind'?)" in r.stderr
