"""`kefu eval match` through the CLI: tiny CSVs (few distinct questions, so embedding is cheap),
malformed files, and a slice of the real BQ dev split."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from kefu.cli import app
from kefu.matching.datasets import read_pairs_csv
from kefu.matching.evaluate import dev_sample
from kefu.matching.matcher import QuestionMatcher, best_threshold
from tests.shared_data import SHARED_DATA, requires_shared_data

runner = CliRunner()

GROUPS = [
    ["花呗怎么提前还款", "花呗可以提前还吗", "怎样提前还花呗"],
    ["借呗怎么开通", "如何开通借呗", "借呗在哪里开通"],
    ["提币多久到账", "提币要多长时间才到账", "提现一般多久能到"],
    ["How do I reset my password?", "I forgot my password, how do I reset it?"],
    ["USDT充值没到账怎么办", "充值的USDT一直没到账"],
]


def pairs_from_groups(count: int, seed: int) -> list[tuple[str, str, int]]:
    """Pairs within a group are the same question; across groups they are not."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(count):
        group = GROUPS[rng.integers(len(GROUPS))]
        a = group[rng.integers(len(group))]
        if i % 2 == 0:
            b = group[(group.index(a) + 1) % len(group)]
        else:
            other = GROUPS[(GROUPS.index(group) + 1 + rng.integers(len(GROUPS) - 1))
                           % len(GROUPS)]
            b = other[rng.integers(len(other))]
        rows.append((a, b, int(i % 2 == 0)))
    return rows


def write_csv(path: Path, rows: list[tuple[str, str, int]], *, header: str = "sentence1,"
              "sentence2,label", bom: bool = False) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        handle.write(header + "\n")
        csv.writer(handle).writerows(rows)
    return path


def run_eval(dev: Path, test: Path) -> tuple[int, str, str]:
    result = runner.invoke(app, ["eval", "match", "--dev", str(dev), "--test", str(test),
                                 "--json"])
    return result.exit_code, result.stdout, result.stderr


def test_eval_match_prints_one_json_line(tmp_path: Path) -> None:
    dev = write_csv(tmp_path / "dev.csv", pairs_from_groups(240, seed=1), bom=True)
    test = write_csv(tmp_path / "test.csv", pairs_from_groups(12, seed=2))
    code, out, err = run_eval(dev, test)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1
    result = json.loads(lines[0])
    assert {"accuracy", "f1", "threshold", "p95_ms", "pairs"} <= result.keys()
    assert result["pairs"] == 12
    assert result["dev_pairs"] == 240
    assert result["adapted"] is True
    assert result["accuracy"] >= 0.75
    assert result["p95_ms"] > 0


def test_eval_match_summary_without_json(tmp_path: Path) -> None:
    dev = write_csv(tmp_path / "dev.csv", pairs_from_groups(20, seed=3))
    test = write_csv(tmp_path / "test.csv", pairs_from_groups(6, seed=4))
    result = runner.invoke(app, ["eval", "match", "--dev", str(dev), "--test", str(test)])
    assert result.exit_code == 0, result.stderr
    assert "shipped, tuned" in result.stdout  # 20 DEV pairs: too few to adapt, threshold only
    assert json.loads(result.stdout.strip().splitlines()[-1])["adapted"] is False


@pytest.mark.parametrize(("header", "rows", "message"), [
    ("question1,question2,label", [("a", "b", 1)], "missing CSV column(s) sentence1"),
    ("sentence1,sentence2,label", [("a", "b", 2)], "label must be 0 or 1"),
    ("sentence1,sentence2,label", [], "no question pairs"),
])
def test_eval_match_rejects_bad_csv(tmp_path: Path, header: str,
                                    rows: list[tuple[str, str, int]], message: str) -> None:
    good = write_csv(tmp_path / "good.csv", pairs_from_groups(4, seed=5))
    bad = write_csv(tmp_path / "bad.csv", rows, header=header)
    for dev, test in ((bad, good), (good, bad)):
        code, _, err = run_eval(dev, test)
        assert code == 2
        assert message in err
        assert len(err.strip().splitlines()) == 1


def test_eval_match_names_short_rows_and_folders(tmp_path: Path) -> None:
    good = write_csv(tmp_path / "good.csv", pairs_from_groups(4, seed=5))
    short = tmp_path / "short.csv"
    short.write_text("sentence1,sentence2,label\n充值,提现,0\n怎么提现,1\n", encoding="utf-8")
    code, _, err = run_eval(short, good)
    assert code == 2
    assert "short.csv line 3: 3 fields expected (sentence1,sentence2,label), fewer found" in err
    code, _, err = run_eval(tmp_path, good)
    assert code == 2
    assert err.strip() == f"kefu: a folder, not a file: {tmp_path}"


def test_eval_match_names_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    good = write_csv(tmp_path / "good.csv", pairs_from_groups(4, seed=5))
    bad = tmp_path / "bad.csv"
    bad.write_bytes("sentence1,sentence2,label\n充值,提现,0\n".encode("gb18030"))
    for dev, test in ((bad, good), (good, bad)):
        code, _, err = run_eval(dev, test)
        assert code == 2
        assert err.startswith(f"kefu: {bad}: not UTF-8 text (")
        assert "codec" not in err
        assert len(err.strip().splitlines()) == 1


def test_dev_sample_is_capped_and_repeatable(tmp_path: Path) -> None:
    pairs = read_pairs_csv(write_csv(tmp_path / "dev.csv", pairs_from_groups(40, seed=6)))
    sample = dev_sample(pairs, limit=25)
    assert len(sample) == 25
    assert sample == dev_sample(pairs, limit=25)
    assert dev_sample(pairs, limit=100) is pairs


@requires_shared_data
def test_bq_slice_clears_a_floor() -> None:
    """The shipped model with its threshold tuned on 100 real BQ dev pairs, scored on 100
    others. The majority class gets 0.50 and one standard error is 0.05, so 0.60 is a floor
    only a matcher that carries over to a new domain clears (about 0.70 is measured on the full
    split; adapting on DEV reaches 0.79). Small and through the API, to keep embedding cheap."""
    pairs = read_pairs_csv(SHARED_DATA / "bq" / "dev.csv")
    tuning, held = pairs.subset(list(range(100))), pairs.subset(list(range(100, 200)))
    shipped = QuestionMatcher.load_default()
    tuned = shipped.with_threshold(best_threshold(
        shipped.score_many(zip(tuning.first, tuning.second, strict=True)),
        np.array(tuning.labels)))
    scores = tuned.score_many(zip(held.first, held.second, strict=True))
    assert np.mean((scores >= tuned.threshold) == np.array(held.labels, dtype=bool)) >= 0.60
