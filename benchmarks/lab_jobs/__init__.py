"""Training functions for the lab's benchmarks (user functions of other kinds than the built-in classifiers)."""
