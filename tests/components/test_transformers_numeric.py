"""SignedLog1p: a log for signed values, and its inverse."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from transformer_frames import mixed_frame

from mlconf.components.transformers.numeric import SignedLog1p
from mlconf.core.errors import MlconfError


def test_signed_log1p_round_trips_and_needs_numbers() -> None:
    frame = pd.DataFrame({"v": [-10.0, -1.0, 0.0, 3.0, np.nan]})
    enc = SignedLog1p().fit(frame)
    out = enc.transform(frame)
    np.testing.assert_allclose(out["v"], [-np.log1p(10), -np.log1p(1), 0, np.log1p(3), np.nan])
    np.testing.assert_allclose(enc.inverse_transform(out)["v"], frame["v"])
    with pytest.raises(MlconfError, match="numeric"):
        SignedLog1p().fit(mixed_frame())
