"""Inputs near the float limit (+-1.7e308, which /predict accepts for a column without a
`max`) make drift statistics overflow; every JSON a monitor run writes or sends must still
be strict JSON, and a webhook that refuses an alert is reported where the user looks."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from monitor_world import train_champion, world

from mlconf.cli.main import main as cli
from mlconf.core.strict_json import dumps, finite
from mlconf.monitoring.command import run_monitor


def strict(text: str) -> Any:
    """json.loads that refuses NaN / Infinity, as JavaScript's JSON.parse does."""

    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


class StrictReceiver:
    """A webhook receiver thread: 400 for a body that is not strict JSON (or always, with
    `refuse`), else 200; it keeps what it accepted."""

    def __init__(self, refuse: bool = False) -> None:
        self.bodies: list[Any] = []
        self.calls = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver.calls += 1
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    body = strict(raw.decode())
                    status = 400 if refuse else 200
                except ValueError:
                    status = 400
                if status == 200:
                    receiver.bodies.append(body)
                self.send_response(status)
                self.end_headers()
                if status == 400:
                    self.wfile.write(b'{"error": "invalid JSON body"}')

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers() -> Iterator[tuple[StrictReceiver, StrictReceiver]]:
    good, refusing = StrictReceiver(), StrictReceiver(refuse=True)
    yield good, refusing
    good.close()
    refusing.close()


def test_dumps_turns_non_finite_numbers_into_null_with_reasons() -> None:
    document = {
        "a": math.inf,
        "b": [1.5, np.float32("nan"), np.array([1.0, -np.inf])],
        "c": {"d": np.int64(3), 2: (np.float64("-inf"),)},
        "path": Path("x"),
    }
    text = dumps(document, reasons_key="non_finite")
    found = strict(text)
    assert found["a"] is None and found["b"] == [1.5, None, [1.0, None]]
    assert found["c"] == {"d": 3, "2": [None]} and found["path"] == "x"
    assert [n["path"] for n in found["non_finite"]] == ["a", "b[1]", "b[2][1]", "c.2[0]"]
    assert found["non_finite"][0]["value"] == "inf"
    assert finite({"x": [1.0, 2]}) == ({"x": [1.0, 2]}, [])


@pytest.mark.slow
def test_overflowing_inputs_give_strict_json_everywhere_and_a_refused_alert_is_reported(
    tmp_path: Path,
    receivers: tuple[StrictReceiver, StrictReceiver],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    good, refusing = receivers
    registry, _ = train_champion(tmp_path)
    frame = world(200, changed=False, seed=3).drop(columns=["y"])
    frame.loc[:99, "x1"] = [1.7e308, -1.7e308] * 50
    current = tmp_path / "current.csv"
    frame.to_csv(current, index=False)
    alerts_file = tmp_path / "alerts.jsonl"
    notifiers = [
        {"name": "file", "path": str(alerts_file)},
        {"name": "webhook", "url": good.url, "retries": 0},
        {"name": "webhook", "url": refusing.url, "retries": 2, "backoff": 0.01},
    ]
    conf = tmp_path / "conf" / "monitoring" / "default.yaml"
    conf.parent.mkdir(parents=True)
    conf.write_text(
        yaml.safe_dump({"rules": [{"when": "drift", "then": ["notify"]}], "notifiers": notifiers})
    )
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    code = cli(
        [
            "monitor",
            "model=world@production",
            f"registry_url={registry.url}",
            f"current={current}",
            f"out={out}",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 1
    summary = strict((out / "monitoring.json").read_text())
    assert summary["non_finite"], "the overflow should be listed with its reason"
    assert all("not a JSON number" in n["reason"] for n in summary["non_finite"])
    line = strict(alerts_file.read_text().splitlines()[0])
    assert line["rule"] == "drift"
    assert len(good.bodies) == 1 and good.bodies[0]["rule"] == "drift"
    assert refusing.calls == 1  # a 4xx is not retried
    (failure,) = summary["delivery_failures"]
    assert failure["action"] == "notify webhook" and "HTTP 400" in failure["error"]
    assert "invalid JSON body" in failure["error"]
    assert "not delivered" in printed and "HTTP 400" in " ".join(printed.split())
    html = (out / "monitoring_report.html").read_text()
    assert 'id="delivery-failures"' in html and "invalid JSON body" in html
    assert "webhook failed" in html  # the decisions section names it too
    again = run_monitor(
        "world@production", registry_url=registry.url, current=current, out_dir=tmp_path / "b"
    )
    strict(json.dumps(again.summary, allow_nan=False))
