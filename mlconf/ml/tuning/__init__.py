"""Hyperparameter tuning with Optuna, driven by a search space written in YAML."""
