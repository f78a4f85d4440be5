"""`mlconf init`: a project folder whose conf/ joins mlconf's and trains out of the box."""

from __future__ import annotations

import shutil
from pathlib import Path

from mlconf.core.datasets import embedded_path
from mlconf.core.errors import MlconfError

FILES: dict[str, str] = {
    "conf/data/example.yaml": """\
# Your data: one source, or several joined on keys (mlconf's docs: the config reference).
name: example
id_columns: [Name]
sources:
  main:
    kind: csv            # csv | parquet | sql | your own registered source
    path: data/example.csv
""",
    "conf/problem/example.yaml": """\
task: classification     # classification | regression
target: Origin
positive_class: null     # the class that counts as "positive" in binary metrics
primary_metric: balanced_accuracy
objective: Tell a car's region of origin from its specification.
stakeholders: [catalogue editors]
usage: batch             # real_time | batch | decision_support
# Binary problems may add costs: {tp: 0, fp: 1, fn: 5, tn: 0} and
# threshold: {optimize: cost} (or a metric such as f1), chosen on validation.
success_criteria:
  balanced_accuracy: {min: 0.7}
""",
    "conf/experiment/example.yaml": """\
# @package _global_
# Run with: mlconf train experiment=example
defaults:
  - override /data: example
  - override /schema: example
  - override /problem: example
  - override /features: basic
  - override /model: xgboost

plugins: [my_components]   # modules of your own that call @mlconf.register(...)

features:
  column_sets:
    numeric:
      steps:
        - {name: clip_negative}            # from my_components.py
        - {name: impute, params: {strategy: median}}
        - {name: standard_scaler}
""",
    "conf/local/default.yaml": """\
# @package _global_
# Personal overrides, kept out of version control (see .gitignore).
""",
    "my_components.py": '''\
"""Your own components: register them by name, then use the names in conf/."""

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin

from mlconf import register


class ClipNegative(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Negative readings are sensor errors here: clip them to zero."""

    def fit(self, X, y=None):
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        return X.clip(lower=0)


@register("transform", "clip_negative")
def clip_negative():
    """Clip negative numbers to zero (an example of a custom transform)."""
    return ClipNegative()
''',
    ".gitignore": "experiments/\nconf/local/\n",
}


def scaffold(directory: Path, *, force: bool = False) -> list[Path]:
    """Write the starter files and a sample CSV with its inferred schema."""
    from mlconf.components.sources import csv
    from mlconf.ml.validation import infer_schema, schema_yaml

    directory = Path(directory)
    # the folder, or the nearest part of its path that exists, must be a folder
    existing = next(p for p in (directory, *directory.parents) if p.exists())
    if not existing.is_dir():
        raise MlconfError(
            f"'{existing}' is a file, so the folder '{directory}' cannot be made",
            where="mlconf init",
            fix="choose a folder path that does not run through a file",
        )
    if directory.exists() and any(directory.iterdir()) and not force:
        raise MlconfError(
            f"folder '{directory}' is not empty",
            where="mlconf init",
            fix="choose a new folder, or pass --force to add the starter files anyway",
        )
    created = []
    for relative, text in FILES.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        created.append(path)
    sample = directory / "data" / "example.csv"
    sample.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(embedded_path("cars"), sample)
    created.append(sample)
    schema = infer_schema(csv(str(sample)))
    schema["on_error"] = "quarantine"
    schema_path = directory / "conf" / "schema" / "example.yaml"
    schema_path.parent.mkdir(parents=True, exist_ok=True)
    schema_path.write_text(schema_yaml(schema, source="data/example.csv"))
    created.append(schema_path)
    return sorted(created)
