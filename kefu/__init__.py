"""Kefu (客服): self-hosted 24/7 customer service for cryptocurrency exchanges."""

__version__ = "0.1.0"

# The embedding model's OpenMP threads spin while waiting by default; on a busy machine that
# made one query take seconds instead of milliseconds. libgomp reads its settings once, when it
# loads, so they are set here, first (see kefu.core.openmp).
from kefu.core.openmp import configure_waiting

configure_waiting()
