"""The target as the model sees it: class order, codes, and the rows that can be scored."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlconf.ml.target import Target, class_order, encode


def test_the_positive_class_comes_last() -> None:
    assert class_order(["b", "a", "c", "a"], "a") == ["b", "c", "a"]
    assert class_order([2, 1, 10], None) == ["1", "10", "2"]


def test_encoding_a_label_outside_the_classes_is_refused() -> None:
    with pytest.raises(KeyError):
        encode(pd.Series(["a", "z"]), ["a", "b"])


@given(
    labels=st.lists(st.sampled_from(["no", "yes", "maybe", "3"]), min_size=0, max_size=30),
    classes=st.lists(st.sampled_from(["no", "yes", "3"]), min_size=1, max_size=3, unique=True),
)
def test_labelled_keeps_the_known_rows_in_order_and_encodes_them(
    labels: list[str], classes: list[str]
) -> None:
    frame = pd.DataFrame({"y": labels, "x": range(len(labels))})
    rows, y = Target("y", "classification", tuple(classes)).labelled(frame)
    known = [label in classes for label in labels]
    assert rows["x"].tolist() == [i for i, k in enumerate(known) if k]
    assert y.tolist() == [classes.index(label) for label in labels if label in classes]
    assert y.dtype == np.int64


def test_a_regression_target_keeps_every_row_as_floats() -> None:
    frame = pd.DataFrame({"y": [1, 2, 3]})
    target = Target("y", "regression")
    rows, y = target.labelled(frame)
    assert target.known(frame) is None
    assert len(rows) == 3 and y.dtype == float
