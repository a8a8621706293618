"""``kefu search reindex`` through the CLI: a missing, unmigrated or unreachable database is one
line on stderr and exit code 2, never a traceback; a migrated one is indexed."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kefu.cli import app
from kefu.migrations.runner import upgrade

runner = CliRunner()


def reindex(monkeypatch: pytest.MonkeyPatch, data_dir: Path,
            database_url: str | None = None) -> tuple[int, str, str]:
    monkeypatch.setenv("KEFU_DATA_DIR", str(data_dir))
    if database_url is None:
        monkeypatch.delenv("KEFU_DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("KEFU_DATABASE_URL", database_url)
    result = runner.invoke(app, ["search", "reindex"])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("existing_folder", [False, True])
def test_reindex_without_a_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                    existing_folder: bool) -> None:
    data_dir = tmp_path / "data"
    if existing_folder:
        data_dir.mkdir()
    code, out, err = reindex(monkeypatch, data_dir)
    assert code == 2
    assert out == ""
    assert err == f"kefu: no database at {(data_dir / 'kefu.db').resolve()}: run kefu migrate\n"
    assert not (data_dir / "kefu.db").exists()  # not created as a side effect


def test_reindex_an_unmigrated_database(monkeypatch: pytest.MonkeyPatch,
                                        tmp_path: Path) -> None:
    (tmp_path / "kefu.db").touch()
    code, _, err = reindex(monkeypatch, tmp_path)
    assert code == 2
    assert err.startswith("kefu: cannot read the articles from the database (no such table")
    assert len(err.strip().splitlines()) == 1


def test_reindex_an_unreachable_database(monkeypatch: pytest.MonkeyPatch,
                                         tmp_path: Path) -> None:
    code, _, err = reindex(monkeypatch, tmp_path,
                           "postgresql+asyncpg://kefu@127.0.0.1:1/kefu")
    assert code == 2
    assert err.startswith("kefu: cannot read the articles from the database (")
    assert len(err.strip().splitlines()) == 1


def test_reindex_a_migrated_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    upgrade(f"sqlite+aiosqlite:///{tmp_path / 'kefu.db'}")
    code, out, err = reindex(monkeypatch, tmp_path)
    assert code == 0, err
    assert out == "indexed 0 published article translations\n"
