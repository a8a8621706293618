"""The serving process's collector settings (kefu.core.gc_tuning)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


def test_only_a_serving_process_freezes_and_raises_the_thresholds() -> None:
    # A child process: freezing is process-wide and would keep this test process's garbage.
    script = textwrap.dedent("""
        import gc, json
        from kefu.core import gc_tuning
        before = gc.get_threshold()
        untouched = gc_tuning.freeze_after_startup()
        gc_tuning.tune_for_serving()
        kept = [object() for _ in range(1000)]
        froze = gc_tuning.freeze_after_startup()
        print(json.dumps({"before": before, "untouched": untouched, "froze": froze,
                          "after": gc.get_threshold(), "frozen": gc.get_freeze_count()}))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    result = json.loads(out)
    assert result["before"] == [700, 10, 10]
    assert result["untouched"] is False
    assert result["froze"] is True
    assert result["after"] == [20_000, 20, 20]
    assert result["frozen"] >= 1000
