"""Passwords in database URLs and API keys never reach logs, run folders or error messages."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from mlconf.secrets import MaskedStream, mask_text, mask_url, passwords_in
from tests.helpers import cli, output_of

SECRET = "s3cret"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://user:s3cret@host/db", "postgresql://user:***@host/db"),
        (
            "postgresql+psycopg://u:s3cret@127.0.0.1:5432/x",
            "postgresql+psycopg://u:***@127.0.0.1:5432/x",
        ),
        ("mysql://u:p%40s3cret@h/d", "mysql://u:***@h/d"),
        ("sqlite:///experiments/mlconf.db", "sqlite:///experiments/mlconf.db"),
        ("postgresql://user@host/db", "postgresql://user@host/db"),
    ],
)
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_mask_url_never_fails_and_keeps_none() -> None:
    assert mask_url(None) is None
    assert SECRET not in str(mask_url("not a url://x:s3cret@y"))


@pytest.mark.parametrize(
    "text",
    [
        "cannot connect to postgresql://user:s3cret@host/db: refused",
        "url: https://bot:s3cret@hooks.example.com/x and more",
        "two: a://u:s3cret@h and b://v:s3cret@k",
        "at sign in it: postgresql://user:s3@cret@host/db",
        "- data.sources.main.url=postgresql://user:s3cret@127.0.0.1:1/db",
    ],
)
def test_mask_text_hides_url_passwords(text: str) -> None:
    masked = mask_text(text)
    assert SECRET not in masked and "s3@cret" not in masked
    assert "***@" in masked


def test_mask_text_hides_given_secrets_anywhere() -> None:
    url = "postgresql://u:p%40ss-s3cret@h/db"
    assert passwords_in(url) == {"p%40ss-s3cret", "p@ss-s3cret"}
    # a driver may quote the decoded password outside any URL
    text = "password 'p@ss-s3cret' rejected; api key key-s3cret-123 refused"
    masked = mask_text(text, [url, "key-s3cret-123", None, ""])
    assert SECRET not in masked
    assert masked == "password '***' rejected; api key *** refused"


def test_masked_stream() -> None:
    out = io.StringIO()
    stream = MaskedStream(out)
    stream.write("Error executing job with overrides: ['x=postgresql://u:s3cret@h/d']\n")
    stream.flush()
    assert SECRET not in out.getvalue()
    assert "u:***@h/d" in out.getvalue()


def _leaks(folder: Path, *texts: str) -> list[str]:
    found = [str(p) for p in folder.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    return found + [f"output #{i}" for i, text in enumerate(texts) if SECRET in text]


@pytest.mark.slow
def test_train_with_passwords_in_urls_leaks_nothing(tmp_path: Path) -> None:
    """A run whose data source and registry URLs carry a password, failing to connect:
    nothing in the run folder, stdout or stderr holds the password."""
    proc = cli(
        [
            "train",
            "data=breast_cancer",
            "data.sources.main.kind=sql",
            "data.sources.main.dataset=null",
            f"data.sources.main.url=postgresql+psycopg2://user:{SECRET}@127.0.0.1:1/db",
            "+data.sources.main.query=SELECT 1",
            f"deploy.registry_url=postgresql://u:{SECRET}@127.0.0.1:1/x",
        ],
        cwd=tmp_path,
    )
    out = output_of(proc)
    assert proc.returncode != 0
    assert "Traceback" not in out
    assert "user:***@127.0.0.1" in out  # the URL is still shown, masked
    runs = list((tmp_path / "experiments").rglob("run.json"))
    assert runs, out
    assert _leaks(tmp_path, proc.stdout, proc.stderr) == []
    assert (runs[0].parent / "config.yaml").read_text().count("***") >= 2


def test_registry_connection_error_masks_the_password(tmp_path: Path) -> None:
    url = f"postgresql://u:{SECRET}@127.0.0.1:1/x"
    proc = cli(["models", "list", "--registry-url", url], cwd=tmp_path)
    out = output_of(proc)
    assert proc.returncode != 0
    assert "u:***@127.0.0.1:1/x" in out
    assert SECRET not in out
    assert "Traceback" not in out


def test_report_and_study_messages_use_the_shared_mask() -> None:
    from mlconf.report.content import redact
    from mlconf.tuning.study import _safe_url

    assert SECRET not in redact(f"url: postgresql://u:{SECRET}@h/d")
    assert _safe_url(f"postgresql://u:{SECRET}@h/d") == "postgresql://u:***@h/d"
    assert _safe_url(None) == "memory"
