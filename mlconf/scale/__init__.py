"""Data larger than memory: the dask engine (`data.engine: dask`) and external-memory training."""
