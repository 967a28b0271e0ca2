"""SIGHUP reload on the real daemon process: added devices start, removed stop, changed
restart, untouched ones keep their connection, a bad config is refused and the running
one kept, and every accepted reading reaches the output."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon_harness import daemon, read_jsonl, simulator, wait_for
from tests.notify_listener import NotifyListener
from vitalsd.config import VitalsdConfig
from vitalsd.reload import plan_reload


def config_text(tmp: Path, out: Path, devices: list[tuple[str, Path, str]]) -> str:
    parts = [
        '[site]\nid = "test-site"\ntimezone = "UTC"\n',
        f'[daemon]\nstate_dir = "{tmp / "state"}"\n',
        "[http]\nenabled = false\n",
    ]
    for device_id, link, room in devices:
        parts.append(
            f'[[devices]]\nid = "{device_id}"\ndriver = "masimo_ascii1"\nport = "{link}"\n'
            f'room = "{room}"\n'
        )
    parts.append(f'[[outputs]]\ntype = "jsonl"\n[outputs.options]\npath = "{out}"\n')
    return "\n".join(parts)


def obs(out: Path, device_id: str) -> list[dict]:  # type: ignore[type-arg]
    return [
        d for d in read_jsonl(out) if d["type"] == "observation" and d["device_id"] == device_id
    ]


def states(out: Path, device_id: str) -> list[str]:
    return [
        d["state"] for d in read_jsonl(out) if d["type"] == "status" and d["device_id"] == device_id
    ]


@pytest.fixture
def listener(monkeypatch: pytest.MonkeyPatch) -> Iterator[NotifyListener]:
    lst = NotifyListener()
    monkeypatch.setenv("NOTIFY_SOCKET", lst.path)
    yield lst
    lst.close()


def test_sighup_applies_good_configs_and_refuses_bad_ones(
    tmp_path: Path, listener: NotifyListener
) -> None:
    out = tmp_path / "out.jsonl"
    cfg = tmp_path / "vitalsd.toml"
    a, b = tmp_path / "a.tty", tmp_path / "b.tty"
    sims = [simulator("masimo", "--pty", "--link", str(link), "--rate", "20") for link in (a, b)]
    d = None

    def reload(text: str) -> str:
        cfg.write_text(text)
        assert d is not None
        d.signal(signal.SIGHUP)
        listener.wait_for("RELOADING=1")
        return listener.wait_for("READY=1")

    try:
        for s in sims:
            s.ready()
        cfg.write_text(config_text(tmp_path, out, [("ox-a", a, "exam1")]))
        d = daemon("run", "-c", str(cfg))
        listener.wait_for("READY=1")
        wait_for(lambda: len(obs(out, "ox-a")) >= 5, "readings from ox-a", proc=d)

        # 1. add ox-b; ox-a keeps its connection (no stop, no reconnect).
        reload(config_text(tmp_path, out, [("ox-a", a, "exam1"), ("ox-b", b, "exam2")]))
        wait_for(lambda: len(obs(out, "ox-b")) >= 5, "readings from the added ox-b", proc=d)
        assert "stopped" not in states(out, "ox-a")

        # 2. a broken config is refused; both devices keep reading.
        reload(config_text(tmp_path, out, [("ox-a", a, "exam1")]) + "\n[[devices]]\nid = 3\n")
        n_a, n_b = len(obs(out, "ox-a")), len(obs(out, "ox-b"))
        wait_for(
            lambda: len(obs(out, "ox-a")) > n_a + 5 and len(obs(out, "ox-b")) > n_b + 5,
            "both devices still reading after the refused reload",
            proc=d,
        )
        assert "stopped" not in states(out, "ox-a") + states(out, "ox-b")

        # 3. remove ox-b, move ox-a to another room: ox-b stops, ox-a restarts.
        reload(config_text(tmp_path, out, [("ox-a", a, "exam9")]))
        assert states(out, "ox-b")[-1] == "stopped"
        wait_for(
            lambda: any(o["location"]["room"] == "exam9" for o in obs(out, "ox-a")),
            "ox-a readings with its new room",
            proc=d,
        )
        assert states(out, "ox-a").count("stopped") == 1
        d.signal(signal.SIGTERM)
        assert d.wait() == 0
        err = d.stderr()
    finally:
        if d:
            d.stop()
        for s in sims:
            s.stop()
    assert "reloaded: added ox-b" in err
    assert re.search(
        r"reload: .*vitalsd\.toml:\d+ devices\[2\]\.driver: missing required key", err
    ), err
    assert "reload refused" in err
    assert "reloaded: removed ox-b; restarted ox-a" in err
    # Nothing lost: every reading the daemon accepted is in the output.
    m = re.search(r"vitalsd stopped: (\d+) observations accepted, all handed to outputs", err)
    assert m, err
    written = [d for d in read_jsonl(out) if d["type"] == "observation"]
    assert len(written) == int(m.group(1))


def test_plan_names_what_changed(tmp_path: Path) -> None:
    from vitalsd.config import load_config
    from vitalsd.registry import load_drivers, load_outputs

    drivers, outputs = load_drivers().plugins, load_outputs().plugins

    def load(devices: list[tuple[str, Path, str]], out: str = "o.jsonl") -> VitalsdConfig:
        path = tmp_path / "v.toml"
        path.write_text(config_text(tmp_path, tmp_path / out, devices))
        return load_config(path, drivers=drivers, outputs=outputs, environ={})

    x, y, z = (tmp_path / n for n in ("x", "y", "z"))
    old = load([("a", x, "r1"), ("b", y, "r1"), ("c", z, "r1")])
    plan = plan_reload(old, load([("a", x, "r1"), ("b", y, "r2"), ("d", z, "r1")]))
    assert (plan.added, plan.removed, plan.changed) == (("d",), ("c",), ("b",))
    assert plan.needs_restart == ()
    assert plan.describe() == "added d; removed c; restarted b"
    # Outputs keep their queues across a reload: changing them needs a restart.
    moved = plan_reload(old, load([("a", x, "r1"), ("b", y, "r1"), ("c", z, "r1")], "p.jsonl"))
    assert moved.needs_restart == ("outputs",)
    assert moved.describe() == "no device changes"
