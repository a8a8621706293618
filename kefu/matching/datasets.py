"""Reading question pairs: the eval CSV format, and the public sets used for training.

The public sets each come in their own layout (see ../shared/data/README.md): AFQMC JSON lines,
ATEC TSV with an id column, BQ CSV with a UTF-8 BOM, LCQMC TSV. All use label 1 = same question
(DataCLUE's AFQMC readme says the opposite; the data do not). They are read only by training and
experiments, never at run time.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REQUIRED_COLUMNS = ("sentence1", "sentence2", "label")


@dataclass(frozen=True)
class Pairs:
    """Question pairs with 0/1 labels (1 = the same question)."""

    first: list[str]
    second: list[str]
    labels: list[int]

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, indices: list[int]) -> Pairs:
        return Pairs([self.first[i] for i in indices], [self.second[i] for i in indices],
                     [self.labels[i] for i in indices])

    def __add__(self, other: Pairs) -> Pairs:
        return Pairs(self.first + other.first, self.second + other.second,
                     self.labels + other.labels)


def parse_label(value: str, where: str) -> int:
    text = value.strip()
    if text not in ("0", "1"):
        raise ValueError(f"{where}: label must be 0 or 1, got {value!r}")
    return int(text)


def read_pairs_csv(path: Path) -> Pairs:
    """Read a ``sentence1,sentence2,label`` CSV (a UTF-8 BOM is accepted). ValueError with a
    one-line message for a missing column, a label other than 0/1, or no rows."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path.name}: missing CSV column(s) {', '.join(missing)}; "
                             f"expected header {','.join(REQUIRED_COLUMNS)}")
        first, second, labels = [], [], []
        for row in reader:
            line = reader.line_num  # the row's last line (a quoted field may span several)
            if None in row.values():
                raise ValueError(f"{path.name} line {line}: {len(REQUIRED_COLUMNS)} fields "
                                 f"expected ({','.join(REQUIRED_COLUMNS)}), fewer found")
            labels.append(parse_label(row["label"] or "", f"{path.name} line {line}"))
            first.append(row["sentence1"] or "")
            second.append(row["sentence2"] or "")
    if not labels:
        raise ValueError(f"{path.name}: no question pairs")
    return Pairs(first, second, labels)


def _json_lines(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8-sig") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def read_afqmc(path: Path) -> Pairs:
    rows = list(_json_lines(path))
    return Pairs([r["sentence1"] for r in rows], [r["sentence2"] for r in rows],
                 [parse_label(r["label"], path.name) for r in rows])


def _tsv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [row for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE) if row]


def read_atec(path: Path) -> Pairs:
    rows = _tsv(path)
    return Pairs([r[1] for r in rows], [r[2] for r in rows],
                 [parse_label(r[3], path.name) for r in rows])


def read_lcqmc(path: Path) -> Pairs:
    rows = _tsv(path)
    return Pairs([r[0] for r in rows], [r[1] for r in rows],
                 [parse_label(r[2], path.name) for r in rows])


def read_shared_sets(data: Path) -> dict[str, Pairs]:
    """The matching sets in ``../shared/data``: ``atec`` and ``afqmc_train`` are training data;
    ``afqmc``, ``bq``, ``lcqmc`` are the dev splits that ``kefu eval match`` gets as DEV."""
    return {
        "atec": read_atec(data / "atec" / "atec_train_dedup.tsv"),
        "afqmc_train": read_afqmc(data / "afqmc" / "train.json"),
        "afqmc": read_afqmc(data / "afqmc" / "dev.json"),
        "bq": read_pairs_csv(data / "bq" / "dev.csv"),
        "lcqmc": read_lcqmc(data / "lcqmc" / "dev.txt"),
    }
