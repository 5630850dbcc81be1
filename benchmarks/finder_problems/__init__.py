"""Helpers of ``benchmarks/finder_quality.py``: the problems, the training runs,
the two tools read off one sweep, and the scores. Not part of lrkit."""
