"""The compiled scorer: a fitted pipeline turned, at model load, into array operations.

`compile_scorer` (mlconf.serve.fast.compiler) reads the fitted steps (imputation constants,
scaling, one-hot and ordinal lookups) into numpy operations on the request's columns and
scores with the model's own fast path (xgboost's `inplace_predict`); it is checked against
the full pipeline on reference rows before it is used, and any step it cannot compile, or
any disagreement, leaves the service on the full pipeline (it says why in `/model`).
"""
