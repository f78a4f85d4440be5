"""Custom scikit-learn transformers behind the `transform` and `selector` components, by family.

They follow the scikit-learn contract (so `clone`, pipelines and `set_output` work) and
take and return pandas DataFrames with the input's index, because some outputs (pandas
categoricals for xgboost, pass-through string columns) cannot be numpy arrays. Fitted
state is plain data (lists, arrays, str), never functions or lambdas, so that skops can
persist and reload every fitted pipeline. The package itself imports nothing, so that
listing components stays fast; import the family module you need.
"""
