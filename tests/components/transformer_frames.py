"""Small frames the transformer tests share."""

from __future__ import annotations

import numpy as np
import pandas as pd


def mixed_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "num": [1.0, 2.0, np.nan, 4.0, 100.0, 6.0, 7.0, 8.0],
            "count": [0, 1, 2, 3, 4, 5, 6, 7],
            "cat": pd.array(["x", "y", None, "x", "z", "y", "x", "x"], dtype="str"),
        },
        index=[70, 30, 50, 10, 90, 0, 20, 40],
    )
