"""AsCategory and FrequencyEncoder: training categories, shares, unseen values."""

from __future__ import annotations

import numpy as np
import pandas as pd
from transformer_frames import mixed_frame

from mlconf.components.transformers.categories import AsCategory, FrequencyEncoder


def test_as_category_learns_sorted_text_categories_and_blanks_unseen() -> None:
    enc = AsCategory().set_output(transform="pandas").fit(mixed_frame()[["cat", "count"]])
    assert enc.categories_[0] == ["x", "y", "z"]
    assert enc.categories_[1] == [str(i) for i in range(8)]
    out = enc.transform(
        pd.DataFrame({"cat": pd.Series(["y", "new", None]), "count": [3.0, np.nan, 99.0]})
    )
    assert isinstance(out["cat"].dtype, pd.CategoricalDtype)
    assert list(out["cat"].cat.categories) == ["x", "y", "z"]
    assert out["cat"].tolist()[0] == "y"
    assert out["cat"].isna().tolist() == [False, True, True]
    # an int column that gained a NaN at serving (3 -> 3.0) still matches
    assert out["count"].tolist()[0] == "3"
    assert out["count"].isna().tolist() == [False, True, True]


def test_frequency_encoder_uses_training_shares() -> None:
    out = (
        FrequencyEncoder()
        .fit(mixed_frame()[["cat"]])
        .transform(pd.DataFrame({"cat": ["x", "z", None, "unseen"]}))
    )
    assert out["cat"].tolist() == [0.5, 0.125, 0.125, 0.0]
