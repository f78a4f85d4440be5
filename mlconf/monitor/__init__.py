"""Production monitoring: reference profiles, drift, data quality, performance, health,
impact, alert rules, notifiers and retraining (`mlconf monitor`)."""
