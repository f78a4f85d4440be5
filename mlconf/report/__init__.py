"""Figures and documents made from a run: plots now; the report and model card later."""
