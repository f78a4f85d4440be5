"""Exploratory data analysis: the profile of a table and its plots (stage `explore`)."""

from mlconf.ml.explore.profile import profile, profile_and_heatmap

__all__ = ["profile", "profile_and_heatmap"]
