"""Monitoring: drift, performance, health, impact, alert rules, notifiers and retraining."""
