"""Kefu (客服): self-hosted 24/7 customer service for cryptocurrency exchanges."""

__version__ = "0.1.0"
