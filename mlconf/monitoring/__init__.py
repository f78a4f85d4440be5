"""Monitoring a served model: drift, data quality, performance on labelled feedback,
health, rules, notifications and retraining (`mlconf monitor`)."""
