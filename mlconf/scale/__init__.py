"""Scaling out on Dask: data larger than memory (`data.engine: dask`, external-memory
training) and clusters (`cluster=`, `model=xgboost_dask`)."""
