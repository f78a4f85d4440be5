"""OutlierClipper and outlier_mask: training fences, clipping and flags."""

from __future__ import annotations

import pytest
from transformer_frames import mixed_frame

from mlconf.components.transformers.outliers import OutlierClipper, outlier_mask
from mlconf.core.errors import MlconfError


def test_outlier_clipper_clips_to_training_fences() -> None:
    frame = mixed_frame()
    enc = OutlierClipper().fit(frame)
    out = enc.transform(frame)
    assert enc.columns_ == ["num", "count"]
    assert out.loc[90, "num"] == pytest.approx(enc.upper_[0])
    assert enc.upper_[0] < 100
    assert out["num"].isna().tolist()[2]
    assert out["cat"].equals(frame["cat"])
    assert list(out.index) == list(frame.index)


def test_outlier_clipper_flags() -> None:
    frame = mixed_frame()
    enc = OutlierClipper(action="flag", columns=["num"]).fit(frame)
    out = enc.transform(frame)
    assert list(out.columns) == [*frame.columns, "num_outlier"]
    assert list(enc.get_feature_names_out()) == list(out.columns)
    assert out["num_outlier"].tolist() == [0, 0, 0, 0, 1, 0, 0, 0]
    assert out["num"].equals(frame["num"])


def test_outlier_mask_for_quarantine() -> None:
    frame = mixed_frame()
    mask = outlier_mask(frame, method="zscore", threshold=2.0)
    assert list(mask.columns) == ["num", "count"]
    assert mask.index.equals(frame.index)
    assert mask.any(axis=1).tolist() == [False, False, False, False, True, False, False, False]


def test_outlier_columns_must_exist() -> None:
    with pytest.raises(MlconfError, match="Did you mean 'count'"):
        OutlierClipper(columns=["cuont"]).fit(mixed_frame())
