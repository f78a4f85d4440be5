"""The registered drift tests against scipy on small arrays, and their properties."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial.distance import jensenshannon

from mlconf.components.drift import chi2, histograms, jensen_shannon, ks, psi, wasserstein
from mlconf.config.monitoring import MonitoringConfig
from mlconf.core.component_registry import REGISTRY
from mlconf.core.errors import MlconfError
from mlconf.ml.reference import (
    ProfileSettings,
    build_reference,
    categorical_profile,
    load_reference,
    numeric_profile,
)
from mlconf.monitoring.drift import adjust, feature_drift
from mlconf.monitoring.settings import load_settings


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def profile(values: np.ndarray, **kw: int) -> dict:
    return numeric_profile(values, 0, ProfileSettings(**kw))


def test_every_test_is_a_registered_drift_component() -> None:
    assert set(REGISTRY.names("drift")) >= {"psi", "ks", "chi2", "jensen_shannon", "wasserstein"}


def test_ks_matches_scipy_on_the_raw_values(rng: np.random.Generator) -> None:
    ref, cur = rng.normal(size=300), rng.normal(0.3, 1.2, size=200)
    got = ks(profile(ref), cur)
    want = stats.ks_2samp(ref, cur, method="asymp")
    assert got["statistic"] == pytest.approx(want.statistic, abs=1e-12)
    assert got["p_value"] == pytest.approx(want.pvalue, rel=1e-9)


def test_ks_with_ties_matches_scipy(rng: np.random.Generator) -> None:
    ref, cur = rng.integers(0, 5, 400).astype(float), rng.integers(1, 6, 150).astype(float)
    assert ks(profile(ref), cur)["statistic"] == pytest.approx(
        stats.ks_2samp(ref, cur).statistic, abs=1e-12
    )


def test_wasserstein_matches_scipy(rng: np.random.Generator) -> None:
    ref, cur = rng.exponential(size=250), rng.normal(1, 2, size=333)
    got = wasserstein(profile(ref), cur)
    want = stats.wasserstein_distance(ref, cur)
    assert got["raw"] == pytest.approx(want, rel=1e-9)
    assert got["statistic"] == pytest.approx(want / ref.std(), rel=1e-9)


def test_summarised_reference_stays_close_to_scipy(rng: np.random.Generator) -> None:
    """With more rows than stored quantiles, KS and Wasserstein are off by little."""
    ref, cur = rng.normal(size=20_000), rng.normal(0.1, 1, size=5_000)
    prof = profile(ref, quantiles=1000)
    assert len(prof["quantiles"]) == 1000
    assert ks(prof, cur)["statistic"] == pytest.approx(stats.ks_2samp(ref, cur).statistic, abs=2e-3)
    assert wasserstein(prof, cur)["raw"] == pytest.approx(
        stats.wasserstein_distance(ref, cur), abs=5e-3
    )


def test_chi2_and_jensen_shannon_match_scipy_on_categories() -> None:
    ref = pd.Series(["a"] * 50 + ["b"] * 30 + ["c"] * 20)
    cur = np.array(["a"] * 20 + ["b"] * 40 + ["c"] * 40, dtype=object)
    prof = categorical_profile(ref, ProfileSettings())
    got = chi2(prof, cur)
    r, c = histograms(prof, cur)
    assert r.tolist()[:3] == [50, 30, 20] and c.tolist()[:3] == [20, 40, 40]
    want = stats.chi2_contingency([[50, 30, 20], [20, 40, 40]], correction=False)
    assert got["statistic"] == pytest.approx(want.statistic)
    assert got["p_value"] == pytest.approx(want.pvalue)
    # a current sample ten times the reference: the test tends to goodness of fit
    big = np.array(["a"] * 500 + ["b"] * 300 + ["c"] * 200, dtype=object)
    assert chi2(prof, big)["p_value"] == pytest.approx(1.0)
    js = jensen_shannon(prof, cur)["statistic"]
    assert js == pytest.approx(jensenshannon([0.5, 0.3, 0.2], [0.2, 0.4, 0.4], base=2))


def test_psi_by_hand_and_new_categories_stay_finite() -> None:
    ref = pd.Series(["a"] * 60 + ["b"] * 40)
    prof = categorical_profile(ref, ProfileSettings())
    cur = np.array(["a"] * 30 + ["b"] * 70, dtype=object)
    want = (0.3 - 0.6) * np.log(0.3 / 0.6) + (0.7 - 0.4) * np.log(0.7 / 0.4)
    assert psi(prof, cur)["statistic"] == pytest.approx(want, rel=1e-3)
    only_new = np.array(["zz"] * 50, dtype=object)
    for test in (psi, chi2, jensen_shannon):
        result = test(prof, only_new)
        assert np.isfinite(result["statistic"]) and result["statistic"] > 0.5


def test_numeric_histogram_uses_reference_quantile_bins(rng: np.random.Generator) -> None:
    ref = rng.normal(size=1000)
    prof = profile(ref)
    assert len(prof["edges"]) == 9 and sum(prof["counts"]) == 1000
    assert max(prof["counts"]) - min(prof["counts"]) <= 2
    _, cur = histograms(prof, ref)
    assert cur.tolist() == prof["counts"]


def test_benjamini_hochberg_and_bonferroni_match_scipy(rng: np.random.Generator) -> None:
    p = rng.uniform(size=20) ** 3
    assert adjust(p.tolist(), "bh") == pytest.approx(stats.false_discovery_control(p).tolist())
    assert adjust(p.tolist(), "bonferroni") == pytest.approx(np.minimum(p * 20, 1).tolist())


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=20, max_size=300),
    st.integers(min_value=2, max_value=20),
)
def test_identical_distributions_do_not_drift(values: list[float], bins: int) -> None:
    data = np.asarray(values)
    prof = numeric_profile(data, 0, ProfileSettings(bins=bins))
    assert psi(prof, data)["statistic"] == pytest.approx(0.0, abs=1e-12)
    assert ks(prof, data)["statistic"] == pytest.approx(0.0, abs=1e-12)
    assert wasserstein(prof, data)["raw"] == pytest.approx(0.0, abs=1e-9)
    frame = pd.DataFrame({"x": data, "c": np.where(data > np.median(data), "hi", "lo")})
    reference = build_reference(frame, ["x", "c"], task="regression")
    summary, alerts = feature_drift(reference, frame, MonitoringConfig())
    assert alerts == [] and summary["drifted"] == []


def test_reference_of_another_version_is_refused(tmp_path: Path) -> None:
    import json

    path = tmp_path / "reference.json"
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    path.write_text(
        json.dumps(build_reference(frame, ["x"], task="regression", model_sha256="a" * 64))
    )
    assert load_reference(path, "a" * 64)["columns"]["x"]["count"] == 3
    with pytest.raises(MlconfError, match="another model version"):
        load_reference(path, "b" * 64)


def test_settings_name_unknown_tests_and_corrections_clearly() -> None:
    with pytest.raises(MlconfError, match=r"unknown drift test 'kss'.*Did you mean 'ks'"):
        load_settings(["drift.numeric=[psi,kss]"])
    with pytest.raises(MlconfError, match="unknown correction"):
        load_settings(["drift.correction=holm"])
    with pytest.raises(MlconfError, match="unknown monitoring setting"):
        load_settings(["drfit.numeric=[psi]"])
    assert load_settings(["drift.columns={x: [ks]}"]).drift.columns == {"x": ["ks"]}


def test_per_column_tests_and_user_registered_test() -> None:
    from mlconf.core.component_registry import register

    @register("drift", "mean_gap_test", applies_to=("numeric",))
    def mean_gap(reference: dict, current: np.ndarray) -> dict:
        """Gap between means in reference standard deviations."""
        return {
            "statistic": abs(float(np.mean(current)) - reference["mean"]) / reference["std"],
            "p_value": None,
        }

    frame = pd.DataFrame({"x": np.arange(100.0), "y": np.arange(100.0)})
    reference = build_reference(frame, ["x", "y"], task="regression")
    config = load_settings(
        [
            "drift.columns={x: [mean_gap_test]}",
            "drift.thresholds.mean_gap_test={warn: 0.5, alert: 1}",
        ]
    )
    shifted = frame.assign(x=frame.x + 60, y=frame.y)
    summary, _alerts = feature_drift(reference, shifted, config)
    rows = {r["feature"]: r for r in summary["features"]}
    assert list(rows["x"]["tests"]) == ["mean_gap_test"] and rows["x"]["level"] == "alert"
    assert list(rows["y"]["tests"]) == ["psi", "ks", "wasserstein"] and rows["y"]["level"] == "ok"


def test_shipped_monitoring_yaml_matches_the_defaults(tmp_path: Path) -> None:
    """conf/monitoring/default.yaml documents the defaults; a project copy of it is read."""
    import shutil

    from mlconf.core.paths import conf_dir

    shipped = conf_dir() / "monitoring" / "default.yaml"
    assert load_settings(project=tmp_path) == MonitoringConfig()
    (tmp_path / "conf" / "monitoring").mkdir(parents=True)
    shutil.copyfile(shipped, tmp_path / "conf" / "monitoring" / "default.yaml")
    assert load_settings(project=tmp_path) == MonitoringConfig()
    (tmp_path / "conf" / "monitoring" / "default.yaml").write_text(
        "drift:\n  correction: bonferroni\n"
    )
    assert load_settings(project=tmp_path).drift.correction == "bonferroni"
    assert load_settings(["drift.correction=none"], project=tmp_path).drift.correction == "none"


@pytest.mark.parametrize(("n_ref", "n_cur"), [(50, 40), (400, 120), (700, 5000), (1000, 999)])
def test_wasserstein_matches_scipy_for_every_size_ratio(n_ref: int, n_cur: int) -> None:
    rng = np.random.default_rng(n_ref + n_cur)
    ref, cur = rng.gamma(2, size=n_ref), rng.normal(1, 3, size=n_cur)
    got = wasserstein(profile(ref), cur)["raw"]
    assert got == pytest.approx(stats.wasserstein_distance(ref, cur), rel=1e-9)


def test_large_samples_use_the_kolmogorov_limit(rng: np.random.Generator) -> None:
    ref, cur = rng.normal(size=60_000), rng.normal(0.01, 1, size=60_000)
    got = ks(profile(ref, quantiles=100_000), cur)  # every value kept: the same statistic
    want = stats.ks_2samp(ref, cur, method="asymp")
    assert got["statistic"] == pytest.approx(want.statistic, abs=1e-12)
    assert got["p_value"] == pytest.approx(want.pvalue, rel=1e-2)


def test_categorical_counts_from_a_categorical_and_from_a_list() -> None:
    prof = categorical_profile(pd.Series(["a", "b", "b", None]), ProfileSettings())
    for current in (["b", "b", "z", None, "a"], pd.Categorical(["b", "b", "z", "a"])):
        _, cur = histograms(prof, current)
        assert cur.tolist() == [2.0, 1.0, 1.0]  # b, a, other
