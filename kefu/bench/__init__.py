"""Benchmarks that ship with the package, so ``kefu bench …`` can run them anywhere."""
