"""Reproducible benchmarks: `make bench` prints ratios to a baseline measured in the same run."""
