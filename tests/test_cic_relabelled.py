"""`bench/cic_dev_relabelled.csv`, the reviewed sample of CIC's noisy dev split, stays in step
with the data it annotates: every id is a dev message, every corrected label is one of CIC's
label names and differs from the dev label it corrects, and the bench's `cic-relabelled` set
is exactly the confirmed and corrected messages."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path
from types import ModuleType

from tests.shared_data import SHARED_DATA, requires_shared_data

BENCH = Path(__file__).resolve().parents[1] / "bench" / "intents.py"


def _bench_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_intents", BENCH)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@requires_shared_data
def test_reviewed_sample_matches_cic_dev() -> None:
    bench = _bench_module()
    dev = {str(row["id"]): row for row in map(json.loads, (SHARED_DATA / "cic" / "dev.json")
                                              .read_text(encoding="utf-8").splitlines()) if row}
    names = {row["label_des"] for row in map(json.loads, (SHARED_DATA / "cic" / "train.json")
                                             .read_text(encoding="utf-8").splitlines()) if row}
    with bench.RELABELLED.open(encoding="utf-8", newline="") as handle:
        reviewed = list(csv.DictReader(handle))
    assert len(reviewed) == 300
    assert len({row["id"] for row in reviewed}) == 300
    counts = {review: sum(row["review"] == review for row in reviewed)
              for review in ("kept", "corrected", "unsure")}
    assert counts == {"kept": 216, "corrected": 61, "unsure": 23}
    for row in reviewed:
        assert row["id"] in dev
        if row["review"] == "corrected":
            assert row["label"] in names
            assert row["label"] != dev[row["id"]]["label_des"]
        else:
            assert row["label"] == ""

    _, test, oos_label = bench.cic_relabelled(SHARED_DATA)
    assert oos_label is None
    expected = [(dev[row["id"]]["sentence"], row["label"] or dev[row["id"]]["label_des"])
                for row in reviewed if row["review"] != "unsure"]
    assert test == expected
    assert len(test) == 277
