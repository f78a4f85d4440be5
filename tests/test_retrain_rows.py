"""The rows a retrain works on: how many are held out, and how reference and feedback mix."""

from __future__ import annotations

import pandas as pd
import pytest

from mlconf.core.errors import MlconfError
from mlconf.monitoring.retrain_rows import holdout_size, mix


def test_the_holdout_is_a_share_or_a_count_never_every_row() -> None:
    assert holdout_size(100, {"holdout": 0.3, "min_holdout": 20}) == 30
    assert holdout_size(50, {"holdout": 0.3, "min_holdout": 20}) == 20  # at least min_holdout
    assert holdout_size(100, {"holdout": 40, "min_holdout": 20}) == 40  # 1 or more: a count
    assert holdout_size(10, {"holdout": 0.3, "min_holdout": 20}) == 9  # one row left to train
    assert holdout_size(1, {"holdout": 0.3, "min_holdout": 20}) == 0


def test_mix_samples_the_reference_down_to_the_feedback_share() -> None:
    reference = pd.DataFrame({"x": range(100), "y": [0, 1] * 50})
    feedback = pd.DataFrame({"x": range(20), "y": [1] * 20, "__prediction_id": range(20)})
    combined, counts = mix(reference, feedback, 0.5, seed=0)
    assert counts == {"reference_rows": 20, "feedback_rows": 20}
    assert list(combined.columns) == ["x", "y"] and len(combined) == 40
    everything, counts = mix(reference, feedback, None, seed=0)
    assert counts == {"reference_rows": 100, "feedback_rows": 20} and len(everything) == 120
    with pytest.raises(MlconfError, match="feedback_share must be between 0 and 1"):
        mix(reference, feedback, 1.5, seed=0)


def test_feedback_rows_of_a_predefined_split_are_training_rows() -> None:
    from helpers import compose_train

    from mlconf.monitoring.retrain_rows import aligned
    from mlconf.runner import typed

    conf = typed(compose_train(["split=predefined"]))
    reference = pd.DataFrame(
        {"x": [1.0, 2.0], "y": [0, 1], conf.split.part_column: ["train", "test"]}
    )
    feedback = pd.DataFrame({"x": [3.0], "y": [1], "__prediction_id": ["p1"]})
    rows = aligned(feedback, reference, conf)
    assert rows[conf.split.part_column].tolist() == ["train"]
    plain = aligned(
        feedback, reference.drop(columns=[conf.split.part_column]), typed(compose_train([]))
    )
    assert "part" not in plain.columns
