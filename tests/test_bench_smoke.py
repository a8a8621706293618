"""`kefu bench chat --quick --json` runs end to end (tiny numbers, embedded only) and prints one
JSON line per scenario with the figures the benchmark promises."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCENARIOS = {"open", "echo_open", "closed", "echo_closed"}


def test_kefu_bench_chat_quick_json() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kefu.cli", "bench", "chat", "--quick", "--json",
         "--customers", "10", "--duration", "2", "--closed-duration", "2"],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "KEFU_LOG_LEVEL": "WARNING"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    results = [json.loads(line) for line in lines]  # stdout carries only JSON lines
    assert {r["scenario"] for r in results} == SCENARIOS
    for r in results:
        assert (r["bench"], r["mode"], r["customers"]) == ("chat", "embedded", 10)
        for key in ("offered_msgs_s", "achieved_msgs_s", "server_peak_rss_mb", "server_rss_mb",
                    "server_cpu_cores", "client_cpu_cores", "echo_ceiling_msgs_s",
                    "unacked", "errors"):
            assert key in r, key
        # a window of 2 s: with 1 s a busy box (load 8) once stalled past all of it
        assert r["achieved_msgs_s"] > 0, r
        assert r["server_peak_rss_mb"] > 0
        assert r["unacked"] == 0, r
        assert r["errors"] == 0, r
        for figures in r["latency"].values():
            assert {"n", "p50_ms", "p95_ms", "p99_ms"} <= figures.keys()
        # how long the customers took to connect at once: welcomed, first message acked
        surge = r["connect"]
        assert surge["at_once"] == 10
        assert surge["welcome"]["n"] == surge["first_ack"]["n"] == 10
        assert 0 < surge["welcome"]["p50_ms"] <= surge["welcome"]["max_ms"]
        assert 0 < surge["customers_s"] <= surge["all_s"]
        # the server's own account of the window, from its /metrics (kefu/bench/stages.py)
        assert r["server_stages"]["loop_lag"]["n"] > 0, r["server_stages"]
    chat = {r["scenario"]: r for r in results}
    for scenario in ("open", "closed"):  # chat sends were written in batches; echoes were not
        assert chat[scenario]["server_stages"]["write_batch"]["n"] > 0
    assert chat["echo_open"]["server_stages"]["write_batch"] == {"n": 0}
    latency = chat["open"]["latency"]
    assert latency["customer_to_agent"]["n"] > 0
    # the same deliveries by the second they were sent in, in order
    timeline = chat["open"]["timeline"]
    assert sum(second["n"] for second in timeline) == latency["customer_to_agent"]["n"]
    assert [second["s"] for second in timeline] == sorted({second["s"] for second in timeline})
    assert max(second["max_ms"] for second in timeline) == latency["customer_to_agent"]["max_ms"]
    assert latency["agent_to_customer"]["n"] > 0
    assert chat["open"]["undelivered"] == 0
    assert chat["echo_closed"]["ratio_to_echo"] == 1.0
    assert 0 < chat["closed"]["ratio_to_echo"] < 1


def test_writer_bench_measures_each_kind_of_odd_send() -> None:
    """``bench/writer.py --odd``: each batch holds one send of the kind; the closed and foreign
    ones are refused (counted by code), the flagged ones stored. ``--history`` stores older
    messages first."""
    script = Path(__file__).resolve().parents[1] / "bench" / "writer.py"
    result = subprocess.run(
        [sys.executable, str(script), "--tickets", "20", "--batches", "3", "--sizes", "2,4",
         "--odd", "none,closed,foreign,flagged", "--history", "45"],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "KEFU_LOG_LEVEL": "WARNING"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.splitlines()[-1])
    assert sorted(figures["median_ms_per_batch"]) == sorted(
        f"{odd}/{size}" for odd in ("none", "closed", "foreign", "flagged") for size in (2, 4))
    assert all(ms > 0 for ms in figures["median_ms_per_batch"].values())
    assert set(figures["fit"]) == {"none", "closed", "foreign", "flagged"}
    assert figures["refused"] == {"ticket_closed": 6, "not_found": 6}  # 3 batches, 2 sizes
    # the older 45, then the first message of each ticket: the one the older ones copy, the 20
    # customers' open and closed ones, and the 6 flagged senders' (one a batch: 3 × 2 sizes)
    assert figures["messages_before"] == 45 + 2 + 20 * 2 + 6 * 2
    bad = subprocess.run([sys.executable, str(script), "--odd", "none,bogus"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 2
    assert "--odd: unknown bogus" in bad.stderr
