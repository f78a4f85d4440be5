"""Plan: the threads a family's fits may use in an auto search."""

from __future__ import annotations

import sklearn.ensemble  # noqa: F401 - loads scikit-learn's OpenMP runtime
from threadpoolctl import threadpool_info

from mlconf.ml.tuning.families import Plan
from mlconf.ml.tuning.space import parse_space


def _openmp_threads() -> set[int]:
    return {int(lib["num_threads"]) for lib in threadpool_info() if lib["user_api"] == "openmp"}


def _plan(model_threads: int | None) -> Plan:
    space = parse_space({"model": {"type": "categorical", "choices": ["xgboost", "hist_gb"]}})
    return Plan(
        space=space,
        base={"xgboost": {}, "hist_gb": {}},
        auto=True,
        threaded=frozenset({"xgboost"}),
        model_threads=model_threads,
    )


def test_a_family_without_n_jobs_fits_within_the_models_threads() -> None:
    before = _openmp_threads()
    with _plan(1).thread_limit("hist_gb"):
        assert _openmp_threads() == {1}
    assert _openmp_threads() == before


def test_families_with_n_jobs_and_unset_threads_are_left_alone() -> None:
    before = _openmp_threads()
    with _plan(1).thread_limit("xgboost"):
        assert _openmp_threads() == before
    with _plan(None).thread_limit("hist_gb"):
        assert _openmp_threads() == before
