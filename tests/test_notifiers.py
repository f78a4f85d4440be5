"""Notifiers: log, file (JSON lines) and webhook against a local HTTP receiver thread."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from mlconf.core.component_registry import get
from mlconf.core.errors import MlconfError
from mlconf.monitoring.notify import send

PAYLOAD = {"rule": "drift", "model": "world@production", "alerts": [{"message": "x1 drifted"}]}


class Receiver:
    """An http.server in a thread that records POSTed JSON; the first `fail` calls get 503."""

    def __init__(self, fail: int = 0) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.calls = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver.calls += 1
                length = int(self.headers["Content-Length"])
                body = json.loads(self.rfile.read(length))
                status = 503 if receiver.calls <= fail else 200
                if status == 200:
                    receiver.bodies.append(body)
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver(fail=1)
    yield found
    found.close()


def test_webhook_posts_json_and_retries_a_5xx(receiver: Receiver) -> None:
    done = get("notifier", "webhook").factory(PAYLOAD, url=receiver.url, retries=2, backoff=0.01)
    assert done.endswith("200") and receiver.calls == 2 and receiver.bodies == [PAYLOAD]


def test_webhook_gives_up_with_a_clear_error() -> None:
    dead = Receiver(fail=99)
    try:
        with pytest.raises(MlconfError, match="failed after 2 attempt"):
            get("notifier", "webhook").factory(PAYLOAD, url=dead.url, retries=1, backoff=0.01)
    finally:
        dead.close()
    with pytest.raises(MlconfError, match="not an http"):
        get("notifier", "webhook").factory(PAYLOAD, url="ftp://x")


def test_send_runs_every_notifier_and_records_failures(
    tmp_path: Path, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "alerts" / "a.jsonl"
    notifiers = [
        {"name": "log"},
        {"name": "file", "path": str(path)},
        {"name": "webhook", "url": receiver.url, "backoff": 0.01},
        {"name": "webhook", "url": "http://127.0.0.1:9/x", "retries": 0, "timeout": 1},
        {"name": "file", "pth": "typo"},
    ]
    with caplog.at_level(logging.WARNING, logger="mlconf.monitoring"):
        results = send(PAYLOAD, notifiers)
        send({**PAYLOAD, "rule": "second"}, notifiers, only=["file"])
    assert [r["ok"] for r in results] == [True, True, True, False, False]
    assert "has no parameter 'pth'" in results[4]["error"]
    assert "monitoring.notifiers" in results[3]["error"]
    assert "drift: x1 drifted" in caplog.text
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["rule"] for line in lines] == ["drift", "second"]
    assert receiver.bodies == [PAYLOAD]
