"""`kefu eval search` through the CLI, on a small copy of the fixture knowledge base."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kefu.cli import app
from tests.search.conftest import FIXTURE_KB

runner = CliRunner()


@pytest.fixture
def small_kb(tmp_path: Path) -> Path:
    kb = tmp_path / "kb"
    for name in ("withdrawals/withdrawal-pending.en.md", "withdrawals/withdrawal-pending.zh-CN.md",
                 "trading/funding-rate.en.md", "security/lost-phone.zh-CN.md"):
        target = kb / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURE_KB / name, target)
    return kb


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_eval_prints_metrics_for_every_mode(small_kb: Path, tmp_path: Path) -> None:
    queries = write(tmp_path / "q.csv", "query,expected_slug\nwithdrawl pendng,withdrawal-pending\n"
                    "资金费率,funding-rate\n手机丢了,lost-phone\nmissing article,not-in-kb\n")
    result = runner.invoke(app, ["eval", "search", "--kb", str(small_kb), "--queries",
                                 str(queries), "--json"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    report = json.loads(lines[0])
    assert report["articles"] == 3
    assert report["queries"] == 4
    assert report["unknown_expected_slugs"] == ["not-in-kb"]
    for mode in ("bm25", "vector", "hybrid"):
        assert {"recall@1", "recall@5", "mrr", "p95_ms"} <= report[mode].keys()
        assert 0 <= report[mode]["mrr"] <= 0.75  # the unknown slug is always a miss
    assert report["bm25"]["recall@1"] >= 0.5


def test_eval_table_comes_before_the_json(small_kb: Path, tmp_path: Path) -> None:
    queries = write(tmp_path / "q.csv", "query,expected_slug\nfunding rate,funding-rate\n")
    result = runner.invoke(app, ["eval", "search", "--kb", str(small_kb), "--queries",
                                 str(queries)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[1].split() == ["mode", "recall@1", "recall@5", "mrr", "p50_ms", "p95_ms"]
    assert json.loads(lines[-1])["hybrid"]["recall@1"] == 1.0


@pytest.mark.parametrize(("csv_text", "message"), [
    ("question,slug\nhi,there\n", "header must have columns query,expected_slug"),
    ("query,expected_slug\n", "no rows with both"),
    ("", "header must have columns"),
])
def test_bad_query_files_exit_2(small_kb: Path, tmp_path: Path, csv_text: str,
                                message: str) -> None:
    queries = write(tmp_path / "q.csv", csv_text)
    result = runner.invoke(app, ["eval", "search", "--kb", str(small_kb), "--queries",
                                 str(queries), "--json"])
    assert result.exit_code == 2
    assert message in result.stderr


def test_folder_without_articles_exits_2(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    queries = write(tmp_path / "q.csv", "query,expected_slug\nx,y\n")
    result = runner.invoke(app, ["eval", "search", "--kb", str(tmp_path / "empty"),
                                 "--queries", str(queries)])
    assert result.exit_code == 2
    assert "no article files" in result.stderr


def test_folder_with_a_broken_article_exits_2(small_kb: Path, tmp_path: Path) -> None:
    write(small_kb / "broken.md", "just text\n")
    queries = write(tmp_path / "q.csv", "query,expected_slug\nx,y\n")
    result = runner.invoke(app, ["eval", "search", "--kb", str(small_kb), "--queries",
                                 str(queries)])
    assert result.exit_code == 2
    assert "broken.md" in result.stderr
