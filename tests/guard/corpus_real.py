"""Real customer text from ``../shared/data`` for measuring the secret guard's false positives.

Every message here was written by a person (or, for bitext, a template of real requests) and
holds no secret, so any finding the guard reports on it is a false positive. The files are read
in place, never copied into the repository."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path


def _lines(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8-sig") as handle:
        for line in handle:
            if line.strip():
                yield line.rstrip("\n")


def _banking77(root: Path) -> Iterator[str]:
    with (root / "banking77" / "train.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            yield row["text"]


def _banking77_oos(root: Path) -> Iterator[str]:
    for seq in sorted((root / "banking77_oos").rglob("seq.in")):
        yield from _lines(seq)


def _clinc150(root: Path) -> Iterator[str]:
    data = json.loads((root / "clinc150" / "data_full_trainval.json").read_text("utf-8"))
    for split in ("train", "val", "oos_train", "oos_val"):
        for text, _intent in data[split]:
            yield text


def _cic(root: Path) -> Iterator[str]:
    for name in ("train.json", "dev.json"):
        for line in _lines(root / "cic" / name):
            yield json.loads(line)["sentence"]


def _afqmc(root: Path) -> Iterator[str]:
    for name in ("train.json", "dev.json"):
        for line in _lines(root / "afqmc" / name):
            row = json.loads(line)
            yield row["sentence1"]
            yield row["sentence2"]


def _atec(root: Path) -> Iterator[str]:
    for line in _lines(root / "atec" / "atec_train_dedup.tsv"):
        parts = line.rstrip("\r").split("\t")
        if len(parts) == 4:
            yield parts[1]
            yield parts[2]


def _bq(root: Path) -> Iterator[str]:
    with (root / "bq" / "dev.csv").open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            yield row["sentence1"]
            yield row["sentence2"]


def _lcqmc(root: Path) -> Iterator[str]:
    for line in _lines(root / "lcqmc" / "dev.txt"):
        parts = line.split("\t")
        if len(parts) == 3:
            yield parts[0]
            yield parts[1]


def _twitter(root: Path) -> Iterator[str]:
    data = json.loads((root / "twitter_customer_care" / "dev.json").read_text("utf-8"))
    for conversation in data:
        for turn in conversation["dialogContent"]:
            yield turn["message"]


def _bitext(root: Path) -> Iterator[str]:
    path = root / "bitext" / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            yield row["instruction"]


SOURCES = {
    "banking77": _banking77, "banking77_oos": _banking77_oos, "clinc150": _clinc150,
    "cic": _cic, "afqmc": _afqmc, "atec": _atec, "bq": _bq, "lcqmc": _lcqmc,
    "twitter_customer_care": _twitter, "bitext": _bitext,
}


def real_messages(root: Path) -> Iterator[tuple[str, str]]:
    """Yield ``(source, text)`` for every non-empty message of every data set, in a fixed order."""
    for source, read in SOURCES.items():
        for text in read(root):
            if text.strip():
                yield source, text
