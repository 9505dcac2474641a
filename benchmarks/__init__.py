"""Benchmarks: speed figures, never timed tests. Each prints its figures on its last line."""
