"""`bench/search.py` runs end to end on a tiny corpus and prints the figures it promises."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parents[2] / "bench" / "search.py"


def test_search_bench_quick_json() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH), "--articles", "120", "--queries", "15",
         "--embed-sample", "4", "--json"],
        capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["articles"] == 120
    assert report["embedded_sections"] == 4
    assert report["sections"] > 120
    assert report["peak_rss_mb"] > 0
    for mode in ("bm25", "vector", "hybrid"):
        figures = report["latency"][mode]
        assert figures["n"] == 15
        assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["p99_ms"]
