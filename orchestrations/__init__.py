"""Deterministic code only: the pipeline, the monitors, and the activity wrappers they call."""
