"""PII detection (mlconf.ml.privacy), the PiiGuard pipeline step and the privacy stage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from helpers import FAST, NO_EXTRAS, csv_data, run_train

import mlconf
from mlconf.core.errors import MlconfError
from mlconf.ml.privacy import PiiGuard, hash_values, luhn_valid, mask, protect, scan_column
from mlconf.ml.privacy.detect import name_hint

SALT = "MLCONF_PII_SALT"


def kinds(values: list[Any], column: str = "value") -> dict[str, float]:
    return {k: share for k, (share, _) in scan_column(column, pd.Series(values)).items()}


# --- detectors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("4111111111111111", True),  # Visa test number
        ("5500005555555559", True),  # Mastercard test number
        ("378282246310005", True),  # Amex, 15 digits
        ("4012888888881881", True),
        ("4111111111111112", False),
        ("1234567812345678", False),
        ("0000000000000000", True),  # passes Luhn; shape alone is not enough to be sure
    ],
)
def test_luhn(number: str, valid: bool) -> None:
    assert luhn_valid(pd.Series([number])).tolist() == [valid]


def test_luhn_is_vectorised_over_mixed_lengths() -> None:
    numbers = pd.Series(["378282246310005", "4111111111111111", "4111111111111112", "79927398713"])
    assert luhn_valid(numbers).tolist() == [True, True, False, True]


def test_card_numbers_need_the_shape_and_the_checksum() -> None:
    assert kinds(["4111 1111 1111 1111", "5500-0055-5555-5559"]) == {"card": 1.0}
    assert "card" not in kinds(["4111 1111 1111 1112", "1234567812345678"])
    assert "card" not in kinds(["order 4111111111111111 shipped"])  # a whole value only


def test_email() -> None:
    assert kinds(["ana@example.com", "Bo.Li+x@mail.example.co.uk", "no"])["email"] == 2 / 3
    assert "email" not in kinds(["@handle", "a@b", "user at example.com"])


def test_phone_needs_separators_or_plus() -> None:
    found = kinds(["+44 20 7946 0958", "(555) 123-4567", "555.123.4567", "+4915112345678"])
    assert found == {"phone": 1.0}
    assert "phone" not in kinds(["5551234567", "12", "2024-01-05"])  # plain digits, dates


def test_national_ids_us_ssn_and_uk_nino() -> None:
    assert kinds(["123-45-6789", "078-05-1120"]) == {"national_id": 1.0}
    assert kinds(["AB 12 34 56 C", "JG103759A"]) == {"national_id": 1.0}
    assert "national_id" not in kinds(["000-12-3456", "666-12-3456", "123-00-4567"])
    assert "national_id" not in kinds(["GB123456A", "QQ123456C", "AB123456E"])  # prefix, suffix


def test_ip_addresses() -> None:
    assert kinds(["192.168.0.1", "10.0.0.255", "2001:db8::1", "fe80::1%eth0"]) == {"ip": 1.0}
    assert "ip" not in kinds(["256.1.1.1", "1.2.3", "12:30:45"])


def test_names_need_a_name_like_column_and_capitalised_words() -> None:
    values = ["Ana García", "John O'Neil", "Li Wei", "Zoë Smith-Jones"]
    assert kinds(values, column="customer_name") == {"name": 1.0}
    assert kinds(values, column="FirstName") == {"name": 1.0}
    assert "name" not in kinds(values, column="city")
    assert "name" not in kinds(["chevrolet chevelle malibu"], column="Name")
    assert name_hint("surname") == name_hint("Last Name") == name_hint("firstName") == "part"
    assert name_hint("name") == name_hint("customer_name") == name_hint("Full Name") == "full"
    for other in ("username_count2", "city_name", "ville name", "product", "filename"):
        assert name_hint(other) is None
    # a whole name has two words at least: single place names in a "name" column are not
    assert kinds(["Zürich", "Köln", "Tokyo"], column="name") == {}
    assert kinds(["Zürich", "Köln", "Tokyo"], column="first_name") == {"name": 1.0}


def test_missing_and_empty_values_are_ignored() -> None:
    assert kinds([None, np.nan, "", "   "]) == {}
    assert kinds([None, "ana@example.com"]) == {"email": 1.0}


def test_masking_hides_almost_everything() -> None:
    assert mask("john.doe@example.com", "email") == "j***@e***.com"
    assert mask("4111 1111 1111 1111", "card") == "****1111"
    assert mask("192.168.0.1", "ip") == "192.***"
    assert mask("Ana García", "name") == "A*** G***"
    assert mask("123-45-6789", "national_id") == "***89"


# --- hashing and the pipeline step ----------------------------------------------------------


def test_hashing_is_salted_stable_idempotent_and_keeps_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    series = pd.Series(["a@x.com", None, "a@x.com", "b@x.com"])
    once = hash_values(series, b"salt")
    assert once[0] == once[2] != once[3] and pd.isna(once[1])
    assert once[0].startswith("pii:") and len(once[0]) == 4 + 16
    assert hash_values(once, b"salt").equals(once)  # already hashed: unchanged
    assert hash_values(series, b"other")[0] != once[0]


def test_guard_drops_and_hashes_and_never_stores_the_salt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import skops.io as sio

    monkeypatch.setenv(SALT, "secret-salt-value")
    frame = pd.DataFrame(
        {"email": ["a@x.com", "b@y.org"], "phone": ["+1 555 0100", "x"], "v": [1, 2]}
    )
    guard = PiiGuard(drop_columns=["phone"], hash_columns=["email"]).fit(frame)
    out = guard.transform(frame)
    assert list(out.columns) == ["email", "v"]
    assert out["email"].str.startswith("pii:").all()
    assert list(guard.get_feature_names_out()) == ["email", "v"]
    data = sio.dumps(guard)
    assert b"secret-salt-value" not in data
    loaded = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
    assert loaded.transform(frame).equals(out)
    monkeypatch.delenv(SALT)
    with pytest.raises(MlconfError, match=f"{SALT}.*not set"):
        loaded.transform(frame)
    # already protected data (the training frame) needs no salt
    assert loaded.transform(out).equals(out)


def test_protect_leaves_frames_without_those_columns_alone() -> None:
    frame = pd.DataFrame({"v": [1, 2]})
    assert protect(frame, ["phone"], ["email"], SALT) is frame


# --- the stage ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pii_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rng = np.random.default_rng(0)
    n = 240
    x = rng.normal(size=n)
    first = rng.choice(["ana", "bo", "li", "omar", "zoë"], size=n)
    frame = pd.DataFrame(
        {
            "x": x,
            "email": [f"{f}.{i % 40}@example.com" for i, f in enumerate(first)],
            "phone": [f"+1 555-{100 + i % 900:03d}-{1000 + i:04d}" for i in range(n)],
            "y": np.where(x + rng.normal(scale=0.5, size=n) > 0, "yes", "no"),
        }
    )
    frame.loc[5, "y"] = None  # quarantined by validate, before privacy runs
    path = tmp_path_factory.mktemp("pii") / "people.csv"
    frame.to_csv(path, index=False)
    return path


def overrides(path: Path, *extra: str) -> list[str]:
    return [
        *csv_data(path, name="people"),
        "problem.target=y",
        "problem.task=classification",
        "problem.positive_class=yes",
        "problem.primary_metric=roc_auc",
        "data.id_columns=[]",
        *FAST,
        *extra,
    ]


def only_privacy(path: Path, *extra: str) -> list[str]:
    return overrides(path, "stages=[load,validate,privacy]", *extra)


def test_policy_fail_names_column_kind_share_and_key(pii_csv: Path, tmp_path: Path) -> None:
    with pytest.raises(MlconfError) as caught:
        run_train(only_privacy(pii_csv), tmp_path / "run")
    text = str(caught.value)
    assert "column 'email' looks like email (100% of sampled values" in text
    assert "column 'phone' looks like phone" in text
    assert "privacy.policy.email" in text and "privacy.columns.email=hash" in text
    assert "@example.com" not in text  # examples are masked
    record = json.loads((tmp_path / "run" / "data" / "privacy.json").read_text())
    assert {f["column"]: f["action"] for f in record["findings"]} == {
        "email": "fail",
        "phone": "fail",
    }


def test_hash_without_the_salt_variable_says_which_to_set(
    pii_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SALT, raising=False)
    with pytest.raises(MlconfError, match=f"export {SALT}="):
        run_train(
            only_privacy(pii_csv, "privacy.policy.email=hash", "privacy.policy.phone=drop"),
            tmp_path / "run",
        )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["+privacy.columns.y=hash"], "the target 'y' cannot be hashed"),
        (["+privacy.columns.emial=drop"], "Did you mean 'email'"),
        (["privacy.policy.email=hashh"], "unknown policy 'hashh'"),
        (["+privacy.policy.passport=drop"], "unknown kind of PII 'passport'"),
    ],
)
def test_bad_privacy_config(pii_csv: Path, tmp_path: Path, extra: list[str], message: str) -> None:
    with pytest.raises(MlconfError, match=message):
        run_train(only_privacy(pii_csv, *extra), tmp_path / "run")


def test_findings_in_the_target_are_kept_with_a_warning(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": range(20), "owner": ["a@x.com", "b@x.com"] * 10})
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    result = run_train(
        [
            *csv_data(path),
            "problem.target=owner",
            "problem.task=classification",
            "problem.positive_class=null",
            "problem.primary_metric=accuracy",
            "data.id_columns=[]",
            "stages=[load,validate,privacy]",
        ],
        tmp_path / "run",
    )
    record = json.loads((result.run_dir / "data" / "privacy.json").read_text())
    assert record["findings"][0]["action"] == "kept (target)"
    assert any("never dropped or hashed" in w for w in result.record.warnings)


@pytest.mark.slow
def test_hashed_emails_train_and_the_saved_model_predicts_on_raw_emails(
    pii_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SALT, "a-long-random-secret")
    result = run_train(
        # profile.json is read, not its plots (test_privacy_outputs.py searches every output)
        overrides(pii_csv, "privacy.policy.phone=drop", "+privacy.columns.email=hash", *NO_EXTRAS),
        tmp_path / "run",
    )
    run_dir = result.run_dir
    record = json.loads((run_dir / "data" / "privacy.json").read_text("utf-8"))
    assert record["actions"] == {"drop": ["phone"], "hash": ["email"]}
    assert record["salt_env"] == SALT
    profile = (run_dir / "data" / "profile.json").read_text("utf-8")
    assert "@example.com" not in profile and "pii:" in profile  # explore saw hashed values
    quarantine = pd.read_csv(run_dir / "data" / "quarantine.csv")
    assert len(quarantine) == 1 and quarantine["email"].str.startswith("pii:").all()
    assert "phone" not in quarantine.columns
    assert "a-long-random-secret" not in (run_dir / "model" / "pipeline.skops").read_bytes().decode(
        "latin-1"
    )
    model = mlconf.load_model(run_dir / "model")
    assert model.input_columns == ["x", "email"]
    raw = pd.read_csv(pii_csv)
    assert type(model.pipeline[0]).__name__ == "PiiGuard"
    predictions = model.predict(raw)
    assert set(predictions) <= {"yes", "no"} and len(predictions) == len(raw)
    assert (predictions[raw["y"].notna()] == raw["y"].dropna()).mean() > 0.7
    # serving sees raw emails: the pipeline hashes them exactly as training did
    seen = model.pipeline[0].transform(raw[model.input_columns])
    assert seen["email"].str.startswith("pii:").all()
    monkeypatch.delenv(SALT)
    with pytest.raises(MlconfError, match=SALT):
        model.predict(raw)
