"""Passwords in database URLs and API keys never reach logs, run folders or error messages."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from helpers import cli, output_of

from mlconf.core import secrets
from mlconf.core.secrets import (
    MaskedStream,
    format_exception,
    mask_text,
    mask_url,
    passwords_in,
    secrets_in,
)

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


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "POST https://hooks.example.com/services/T000/B000/XXXXSECRET -> 500",
            "POST https://hooks.example.com/services/*** -> 500",
        ),
        ("https://discord.com/api/webhooks/123/tok-en", "https://discord.com/api/webhooks/***"),
        ("https://api.telegram.org/bot123:ABC-def/sendMessage", "https://api.telegram.org/***"),
        (
            "https://files.example.com/d/aB3dE5gH7jK9mN1pQ3sT5vX7/data.csv",
            "https://files.example.com/d/***",
        ),
        ("'https://h.example.com/a?token=t0k3n&x=1'", "'https://h.example.com/a?token=***&x=1'"),
        ("https://h.example.com/a?api_key=k3y", "https://h.example.com/a?api_key=***"),
        ("https://h.example.com/a#access_token=t0k", "https://h.example.com/a#access_token=***"),
        (
            "https://acct.blob.core.windows.net/c/f.csv?sv=2024&sig=AbC%2Fd&se=1",
            "https://acct.blob.core.windows.net/c/f.csv?sv=2024&sig=***&se=1",
        ),
        (
            "https://s3.amazonaws.com/b/k?X-Amz-Credential=AKIA1&X-Amz-Signature=ff00",
            "https://s3.amazonaws.com/b/k?X-Amz-Credential=***&X-Amz-Signature=***",
        ),
        (
            "postgresql://u:pw@h/db?sslpassword=zz&application_name=a",
            "postgresql://u:***@h/db?sslpassword=***&application_name=a",
        ),
        # a web URL whose // a file path collapsed
        (
            "file 'https:/hooks.example.com/services/T0/B0/X?token=t'",
            "file 'https:/hooks.example.com/services/***?token=***'",
        ),
        ("GET /predict?api_key=k3y", "GET /predict?api_key=***"),
        ("api_key: k3y\npassword: null", "api_key: ***\npassword: null"),
        ('{"token": "t0k", "n": 1}', '{"token": "***", "n": 1}'),
        ("- +notify.api_key=k3y", "- +notify.api_key=***"),
        ("Authorization: Bearer t0k3n", "Authorization: Bearer ***"),
        # a secret-named key with a nested block, a number or a boolean is a setting
        ("password_changed:\n  dtype: int", "password_changed:\n  dtype: int"),
        ("max_tokens: 512\nuse_token: true", "max_tokens: 512\nuse_token: true"),
    ],
)
def test_mask_text_hides_tokens_in_url_paths_queries_and_fields(text: str, shown: str) -> None:
    assert mask_text(text) == shown


@pytest.mark.parametrize(
    "text",
    [
        "http://127.0.0.1:8000/metrics and http://localhost:8000/predict?rows=5",
        "sqlite:///experiments/mlconf.db",
        "experiments/cars/runs/2026-11-26_10-06-08-5424e5/model",
        "https://hydra.cc/docs/1.2/advanced/override_grammar/basic",
        "the key 'price' has 5 missing values",
        "api_key_env: MLCONF_API_KEY\n- deploy.serve.api_key_env=MY_KEY",
    ],
)
def test_mask_text_leaves_ordinary_urls_and_text_alone(text: str) -> None:
    assert mask_text(text) == text


def test_url_secrets_are_hidden_outside_their_url_too() -> None:
    hook = "https://hooks.example.com/services/T000/B000/XXXXSECRET?token=t0k3n-value"
    assert passwords_in(hook) >= {"XXXXSECRET", "t0k3n-value"}
    said = "the receiver rejected XXXXSECRET (token t0k3n-value)"
    assert mask_text(said, [hook]) == "the receiver rejected *** (token ***)"


def test_secrets_in_a_config() -> None:
    config = {
        "data": {"url": "postgresql://u:pw@h/d", "path": "a.csv"},
        "notifiers": [{"name": "webhook", "url": "https://h/services/x"}],
        "headers": {"X-Api-Key": "k3y", "api_token": None},
    }
    assert secrets_in(config) == ["postgresql://u:pw@h/d", "https://h/services/x", "k3y"]


def test_tracebacks_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "_REMEMBERED", set())
    secrets.remember(["postgresql://u:pw-s3cret@h/d"])
    try:
        try:
            raise ConnectionError("password 'pw-s3cret' refused")
        except ConnectionError as exc:
            raise RuntimeError("at https://h.example.com/x?token=s3cret-tok") from exc
    except RuntimeError as exc:
        shown = format_exception(exc)
    assert "Traceback (most recent call last)" in shown and "ConnectionError" in shown
    assert SECRET not in shown and "token=***" in shown


def test_an_unexpected_error_prints_a_masked_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlconf.cli import main as cli_module

    def boom(_rest: list[str]) -> int:
        raise ValueError(f"cannot post to https://hooks.example.com/services/A/B/{SECRET}")

    monkeypatch.setattr(cli_module, "_plugins", boom)
    assert cli_module.main(["plugins"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "services/***" in err and SECRET not in err


def test_run_record_hides_config_secrets_anywhere(tmp_path: Path) -> None:
    from mlconf.store.runs import RunRecord

    url = f"postgresql://u:{SECRET}@h/d"
    record = RunRecord(run_dir=tmp_path, experiment="x", seed=0, secrets=[url, "k3y-value"])
    record.warnings.append("api key k3y-value expires soon")
    record.finish("crashed", f"OperationalError: password '{SECRET}' refused for {url}")
    saved = (tmp_path / "run.json").read_text()
    assert SECRET not in saved and "k3y-value" not in saved
    assert "secrets" not in saved
    assert "u:***@h/d" in saved


HOOK_SECRET, TOKEN_SECRET, KEY_SECRET = "XXXXHOOKSECRET", "t0kensecret", "apikeysecret"


def _leaks(folder: Path, *texts: str) -> list[str]:
    values = (SECRET, HOOK_SECRET, TOKEN_SECRET, KEY_SECRET)
    found = [
        f"{p}: {v}"
        for p in folder.rglob("*")
        if p.is_file()
        for v in values
        if v.encode() in p.read_bytes()
    ]
    return found + [f"output #{i}: {v}" for i, t in enumerate(texts) for v in values if v in t]


@pytest.mark.slow
@pytest.mark.parametrize("traceback", [False, True])
def test_failing_train_with_secrets_in_urls_leaks_nothing(tmp_path: Path, traceback: bool) -> None:
    """A run whose database, registry and web hook URLs carry credentials fails: nothing in
    the run folder (config copies, run.json, logs), stdout or stderr holds them, also when
    HYDRA_FULL_ERROR=1 shows the traceback. Without it the database source fails, with it the
    web URL (read as a CSV) does."""
    database = f"postgresql+psycopg2://user:{SECRET}@127.0.0.1:1/db?api_key={KEY_SECRET}"
    hook = f"https://hooks.example.com/services/T000/B000/{HOOK_SECRET}?token={TOKEN_SECRET}"
    # The URL that does not fail rides along in the source's options (copied to the configs).
    main = "data.sources.main"
    if traceback:
        source = [f"{main}.kind=csv", f"{main}.path='{hook}'", f"+{main}.options.dsn='{database}'"]
    else:
        source = [
            f"{main}.kind=sql",
            f"{main}.url='{database}'",
            f"+{main}.query=SELECT 1",
            f"+{main}.options.hook='{hook}'",
        ]
    proc = cli(
        [
            "train",
            "data=breast_cancer",
            f"{main}.dataset=null",
            *source,
            f"deploy.registry_url=postgresql://u:{SECRET}@127.0.0.1:1/x",
        ],
        cwd=tmp_path,
        env={"HYDRA_FULL_ERROR": "1"} if traceback else None,
    )
    out = output_of(proc)
    assert proc.returncode != 0
    assert ("Traceback" in out) == traceback
    shown = "hooks.example.com/services/***?token=***" if traceback else "user:***@127.0.0.1"
    assert shown in out, out  # the URL is still shown, masked
    runs = list((tmp_path / "experiments").rglob("run.json"))
    assert runs, out
    assert _leaks(tmp_path, proc.stdout, proc.stderr) == []
    config = (runs[0].parent / "config.yaml").read_text()
    assert config.count("***") >= 4 and "hooks.example.com/services/***" in config


def test_registry_connection_error_masks_the_password(tmp_path: Path) -> None:
    url = f"postgresql://u:{SECRET}@127.0.0.1:1/x"
    proc = cli(["models", "list", "--registry-url", url], cwd=tmp_path)
    out = output_of(proc)
    assert proc.returncode != 0
    assert "u:***@127.0.0.1:1/x" in out
    assert SECRET not in out
    assert "Traceback" not in out


def test_report_and_study_messages_use_the_shared_mask() -> None:
    from mlconf.ml.tuning.study import _safe_url
    from mlconf.report.format import redact

    assert SECRET not in redact(f"url: postgresql://u:{SECRET}@h/d")
    assert _safe_url(f"postgresql://u:{SECRET}@h/d") == "postgresql://u:***@h/d"
    assert _safe_url(None) == "memory"


def test_a_key_that_points_at_a_secret_is_not_one() -> None:
    conf = {"deploy": {"api_key_env": "MLCONF_API_KEY", "api_key": "s3cretkey"}}
    assert secrets_in(conf) == ["s3cretkey"]
