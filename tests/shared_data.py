"""The public data sets in ``../shared/data`` (never copied into the repo). Tests that need them
skip, with the reason, only where that folder is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

requires_shared_data = pytest.mark.skipif(
    not SHARED_DATA.is_dir(), reason=f"public data sets not present at {SHARED_DATA}")
