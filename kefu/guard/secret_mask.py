"""The marker that replaces a hidden secret.

One language-neutral form, ``[REDACTED <kind>]``, that keeps no character of the secret and not
its length, so the masked text cannot be reversed and reads the same to zh and en agents. The
detectors see markers blanked out (``secret_context.lowered``), which keeps masking idempotent
("my password is [REDACTED password]" scans clean)."""

from __future__ import annotations

MARKER_PREFIX = "[REDACTED "


def marker(kind: str) -> str:
    """The text that stands in for one hidden secret of ``kind``."""
    return f"{MARKER_PREFIX}{kind}]"
