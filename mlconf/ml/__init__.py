"""Domain logic as functions over values (data frames, arrays, configs, fitted models): what
both engines, the pandas stages and the Dask stages, compute. Nothing here reads a run state."""
