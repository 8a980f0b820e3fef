"""Reproducible benchmarks, each measured against a baseline in the same run.

`python -m benchmarks NAME` runs `benchmarks/NAME.py`, whose `run()` returns a `BenchmarkResult`; the
last line printed is one JSON object with the figures, the targets and whether each was met.
"""
