"""Benchmarks: each one measures against a baseline taken in the same run (see docs/benchmarks.md)."""
