"""Models saved before the transformers were split by family still load from the old path."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pandas as pd
import skops.io as sio
from sklearn.pipeline import make_pipeline

from mlconf.components import _transformers
from mlconf.components.transformers.categories import AsCategory
from mlconf.components.transformers.feature_names import SafeFeatureNames
from mlconf.components.transformers.numeric import SignedLog1p
from mlconf.components.transformers.selection import KBestSelector, seeded_mutual_info_regression

OLD = "mlconf.components._transformers"


def test_old_module_re_exports_the_same_objects() -> None:
    callables = [getattr(_transformers, name) for name in _transformers.__all__]
    callables = [value for value in callables if callable(value)]
    assert len(callables) == 19
    for value in callables:
        assert value.__module__.startswith("mlconf.components.transformers."), value


def _with_old_paths(data: bytes) -> bytes:
    """The same skops file as a model saved before the split would have it."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "schema.json":
                schema = json.loads(content)
                text = json.dumps(schema).replace('"mlconf.components.transformers.', '"X.')
                for family in ("categories", "numeric", "selection", "feature_names"):
                    text = text.replace(f'"X.{family}"', f'"{OLD}"')
                assert '"X.' not in text
                content = text.encode()
            target.writestr(item, content)
    return out.getvalue()


def test_a_pipeline_saved_with_the_old_module_path_loads_and_predicts_the_same() -> None:
    frame = pd.DataFrame({"a": [1.0, 5.0, 2.0, 8.0, 3.0, 9.0], "b": [3.0, 1.0, 4.0, 1.0, 5.0, 9.0]})
    y = np.array([1.0, 2.0, 1.5, 3.0, 2.0, 4.0])
    pipeline = make_pipeline(
        SignedLog1p(), KBestSelector(seeded_mutual_info_regression, k=1), SafeFeatureNames()
    )
    pipeline.set_output(transform="pandas").fit(frame, y)
    category = AsCategory().fit(pd.DataFrame({"c": ["x", "y", "x"]}))
    for fitted, rows in ((pipeline, frame), (category, pd.DataFrame({"c": ["y", "z"]}))):
        old = _with_old_paths(sio.dumps(fitted))
        untrusted = sio.get_untrusted_types(data=old)
        assert any(t.startswith(f"{OLD}.") for t in untrusted)
        loaded = sio.loads(old, trusted=untrusted)
        pd.testing.assert_frame_equal(loaded.transform(rows), fitted.transform(rows))
