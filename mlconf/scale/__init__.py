"""Scaling out on Dask: clusters, lazy data, training on many workers."""
