"""Reading labelled ``text,label`` CSV files for training and evaluating the intent model."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LabelledTexts:
    texts: list[str]
    labels: list[str]


def read_labelled_csv(path: Path) -> LabelledTexts:
    """Rows of a CSV whose header has ``text`` and ``label`` columns (others are ignored).

    Raises ValueError, with one line naming the file, for what a person must fix: not UTF-8,
    no such columns, no rows, or fewer than two labels (nothing to classify)."""
    try:
        content = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    reader = csv.DictReader(io.StringIO(content, newline=""))
    columns = reader.fieldnames or []
    if not columns:
        raise ValueError(f"{path}: empty file, expected a header text,label")
    missing = [name for name in ("text", "label") if name not in columns]
    if missing:
        raise ValueError(f"{path}: header lacks {', '.join(missing)} (expected text,label)")
    texts: list[str] = []
    labels: list[str] = []
    for line, row in enumerate(reader, start=2):
        text, label = row.get("text"), row.get("label")
        if text is None or label is None:
            raise ValueError(f"{path}: line {line} has too few columns")
        if not label.strip():
            raise ValueError(f"{path}: line {line} has an empty label")
        texts.append(text)
        labels.append(label.strip())
    if not texts:
        raise ValueError(f"{path}: no rows after the header")
    if len(set(labels)) < 2:
        raise ValueError(f"{path}: only one label ({labels[0]!r}); need at least two")
    return LabelledTexts(texts, labels)
