"""`bench/matching.py` runs end to end on its built-in questions and prints the figures it
promises as its last line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_matching_bench_prints_throughput(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "matching.py"), "--pairs", "12", "--single", "3",
         "--data", str(tmp_path)],  # no bq/ there: the built-in questions are used
        capture_output=True, text=True, timeout=300, check=False, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert (figures["bench"], figures["source"], figures["pairs"]) == ("matching", "built-in", 12)
    assert figures["single_pairs"] == 3
    for key in ("batched_pairs_s", "features_only_pairs_s", "single_p50_ms", "single_p95_ms",
                "cross_batched_pairs_s", "cross_single_p50_ms", "cross_single_p95_ms"):
        assert figures[key] > 0, key
