"""Kefu (客服): self-hosted 24/7 customer service for cryptocurrency exchanges."""

import os

__version__ = "0.1.0"

# The embedding model's OpenMP threads spin while waiting by default; on a busy machine that
# made one query take seconds instead of milliseconds. Read once per process, before the model
# loads, so it is set here, first.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
