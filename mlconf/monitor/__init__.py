"""Production monitoring: reference profiles, drift, data quality and `mlconf monitor`."""
