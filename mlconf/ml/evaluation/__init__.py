"""Evaluation: metric kernels, bootstrap intervals and success verdicts.

`score` gives metric sets with intervals, `success_verdict` judges the criteria on them,
`mean_with_interval` does the same for a per-row mean (e.g. costs); the kernels behind
them also serve the metric functions, decision thresholds and fairness groups.
"""

from mlconf.ml.evaluation.bootstrap import TASKS, mean_with_interval, score
from mlconf.ml.evaluation.value import MetricValue
from mlconf.ml.evaluation.verdict import success_verdict

__all__ = ["TASKS", "MetricValue", "mean_with_interval", "score", "success_verdict"]
