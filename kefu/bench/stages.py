"""The servers' own account of a measured window: the chat path's histograms
(:mod:`kefu.realtime.metrics`) read from ``/metrics`` before and after it, so a report says
where the time went inside the server (the event loop's lag, the wait for the analysis worker,
the wait for a write batch and the batch itself), not only what the client saw."""

from __future__ import annotations

import math
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

# Histogram name → its key in a report; all but the batch sizes are in seconds.
STAGES = {
    "kefu_event_loop_lag_seconds": "loop_lag",
    "kefu_chat_analysis_seconds": "analysis",
    "kefu_chat_write_wait_seconds": "write_wait",
    "kefu_chat_write_batch_seconds": "write_batch",
    "kefu_chat_write_batch_messages": "write_batch_messages",
}
Histograms = dict[str, dict[str, Any]]


def _empty() -> dict[str, Any]:
    return {"le": {}, "sum": 0.0, "count": 0.0}


def parse(text: str) -> Histograms:
    """The chat histograms in one ``/metrics`` text: ``{name: {"le": {bound: cumulative},
    "sum": s, "count": n}}``."""
    found: Histograms = {}
    for family in text_string_to_metric_families(text):
        if family.name not in STAGES:
            continue
        entry = _empty()
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                entry["le"][float(sample.labels["le"])] = sample.value
            elif sample.name.endswith("_sum"):
                entry["sum"] = sample.value
            elif sample.name.endswith("_count"):
                entry["count"] = sample.value
        found[family.name] = entry
    return found


def merge(parts: list[Histograms]) -> Histograms:
    """Several servers' histograms as one (their buckets are the same)."""
    total: Histograms = {}
    for part in parts:
        for name, entry in part.items():
            into = total.setdefault(name, _empty())
            for bound, count in entry["le"].items():
                into["le"][bound] = into["le"].get(bound, 0.0) + count
            into["sum"] += entry["sum"]
            into["count"] += entry["count"]
    return total


async def read(bases: list[str]) -> Histograms:
    """The chat histograms of the servers at ``bases``, summed; {} where a server has none."""
    parts = []
    async with httpx.AsyncClient(timeout=10) as client:
        for base in bases:
            response = await client.get(f"{base}/metrics")
            response.raise_for_status()
            parts.append(parse(response.text))
    return merge(parts)


def _bound(cumulative: list[tuple[float, float]], q: float, count: float,
           scale: float) -> float | None:
    """The upper bound of the bucket holding quantile ``q``, times ``scale``; None when it lies
    past the last finite bound."""
    for bound, seen in cumulative:
        if seen >= q * count:
            return None if math.isinf(bound) else round(bound * scale, 3)
    return None


def figures(before: Histograms, after: Histograms) -> dict[str, dict[str, Any]]:
    """What happened between two readings: per stage how many, the mean, and the bucket bounds
    that p50 and p99 fall under (``p99_le_ms`` 25 means: 99 % took at most 25 ms; None: more
    than the largest bucket). Times in milliseconds, batch sizes in sends."""
    report: dict[str, dict[str, Any]] = {}
    for name, key in STAGES.items():
        if name not in after:
            continue
        old = before.get(name, _empty())
        new = after[name]
        count = new["count"] - old["count"]
        if count <= 0:
            report[key] = {"n": 0}
            continue
        cumulative = sorted((bound, seen - old["le"].get(bound, 0.0))
                            for bound, seen in new["le"].items())
        scale = 1.0 if key == "write_batch_messages" else 1000.0
        unit = "" if scale == 1.0 else "_ms"
        report[key] = {"n": int(count),
                       f"mean{unit}": round((new["sum"] - old["sum"]) / count * scale, 3),
                       f"p50_le{unit}": _bound(cumulative, 0.50, count, scale),
                       f"p99_le{unit}": _bound(cumulative, 0.99, count, scale)}
    return report
