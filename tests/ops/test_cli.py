"""The `kefu` command, run as a real process."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path

import jwt
import pytest

from kefu.config import DEMO_CUSTOMER_JWT_SECRET

KEFU = [sys.executable, "-m", "kefu.cli"]


def kefu(data_dir: Path, *args: str, env: dict[str, str] | None = None,
         input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "KEFU_DATA_DIR": str(data_dir), "KEFU_LOG_JSON": "false",
                   **(env or {})}
    environment.pop("KEFU_DATABASE_URL", None)
    return subprocess.run([*KEFU, *args], capture_output=True, text=True, env=environment,
                          input=input_text, timeout=120, check=False)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli")
    assert kefu(path, "migrate").returncode == 0
    return path


def test_token_customer_prints_a_valid_jwt_on_its_last_line(data_dir: Path):
    result = kefu(data_dir, "token", "customer", "cust-42", "--name", "Wang", "--vip", "2")
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip().splitlines()[-1]
    claims = jwt.decode(token, DEMO_CUSTOMER_JWT_SECRET, algorithms=["HS256"])
    assert claims["sub"] == "cust-42"
    assert claims["vip"] == 2
    assert claims["exp"] - claims["iat"] == 900
    secret = "s" * 40
    custom = kefu(data_dir, "token", "customer", "x", env={"KEFU_CUSTOMER_JWT_SECRET": secret})
    jwt.decode(custom.stdout.strip().splitlines()[-1], secret, algorithms=["HS256"])


def test_bad_input_is_one_line_and_exit_2(data_dir: Path):
    too_long = kefu(data_dir, "token", "customer", "x", "--ttl", "999999")
    assert too_long.returncode == 2
    assert too_long.stderr.strip().count("\n") == 0
    assert "ttl" in too_long.stderr
    weak = kefu(data_dir, "create-admin", "boss@kefu.test", "--password", "short")
    assert weak.returncode == 2
    assert "Traceback" not in weak.stderr
    missing = kefu(data_dir, "restore", str(data_dir / "nope.tar.gz"))
    assert missing.returncode == 2
    assert "no such archive" in missing.stderr
    prod = kefu(data_dir, "migrate", env={"KEFU_ENV": "production"})
    assert prod.returncode == 2
    assert "KEFU_SECRET_KEY" in prod.stderr
    unknown = kefu(data_dir, "token", "agent", "ghost@kefu.test")
    assert unknown.returncode == 2
    assert "no agent" in unknown.stderr


def test_create_admin_then_agent_token(data_dir: Path):
    created = kefu(data_dir, "create-admin", "root@kefu.test", "--password", "a-long-password")
    assert created.returncode == 0, created.stderr
    duplicate = kefu(data_dir, "create-admin", "root@kefu.test", "--password", "a-long-password")
    assert duplicate.returncode == 2
    token = kefu(data_dir, "token", "agent", "root@kefu.test")
    assert token.stdout.strip().splitlines()[-1].startswith("kefu_pat_")


def test_backup_and_restore_round_trip(tmp_path: Path):
    data = tmp_path / "data"
    assert kefu(data, "migrate").returncode == 0
    created = kefu(data, "create-admin", "a@kefu.test", "--password", "a-long-password")
    assert created.returncode == 0
    attachment = data / "attachments" / "ab" / ("ab" + "0" * 30)
    attachment.parent.mkdir(parents=True)
    attachment.write_bytes(b"evidence")
    archive = tmp_path / "backup.tar.gz"
    made = kefu(data, "backup", str(archive))
    assert made.returncode == 0, made.stderr
    with tarfile.open(archive) as tar:
        assert {"manifest.json", "kefu.db"} <= set(tar.getnames())

    # Lose everything, then restore.
    (data / "kefu.db").unlink()
    attachment.unlink()
    restored = kefu(data, "restore", str(archive))
    assert restored.returncode == 0, restored.stderr
    assert attachment.read_bytes() == b"evidence"
    with sqlite3.connect(data / "kefu.db") as conn:
        emails = [row[0] for row in conn.execute("SELECT email FROM agents")]
    assert emails == ["a@kefu.test"]
    again = kefu(data, "restore", str(archive))
    assert again.returncode == 2
    assert "--force" in again.stderr
    assert kefu(data, "restore", str(archive), "--force").returncode == 0
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"not a tarball")
    assert kefu(data, "restore", str(garbage), "--force").returncode == 2


@pytest.mark.parametrize("member", ["link", "absolute", "parent", "device"])
def test_restore_refuses_an_archive_with_anything_but_files_inside_it(tmp_path: Path,
                                                                       member: str):
    """A crafted archive (a link, an absolute path, a path out of the tree, a device) restores
    nothing and writes nothing outside its temporary folder."""
    data = tmp_path / "data"
    assert kefu(data, "migrate").returncode == 0
    before = (data / "kefu.db").read_bytes()
    archive = tmp_path / "crafted.tar.gz"
    outside = tmp_path / "outside.txt"
    with tarfile.open(archive, "w:gz") as tar:
        for name, body in (("manifest.json", b"{}"), ("kefu.db", b"not a database")):
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
        info = tarfile.TarInfo({"link": "attachments/evil", "absolute": str(outside),
                                "parent": "../outside.txt", "device": "attachments/dev"}[member])
        if member == "link":
            info.type, info.linkname = tarfile.SYMTYPE, str(outside)
        elif member == "device":
            info.type = tarfile.CHRTYPE
        else:
            info.size = 4
        tar.addfile(info, io.BytesIO(b"evil") if info.isfile() else None)
    refused = kefu(data, "restore", str(archive), "--force")
    assert refused.returncode == 2
    assert "refusing" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert (data / "kefu.db").read_bytes() == before
    assert not outside.exists()


def test_restore_refuses_a_truncated_archive_without_a_traceback(tmp_path: Path):
    data = tmp_path / "data"
    assert kefu(data, "migrate").returncode == 0
    before = (data / "kefu.db").read_bytes()
    archive = tmp_path / "backup.tar.gz"
    assert kefu(data, "backup", str(archive)).returncode == 0
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[:len(archive.read_bytes()) // 2])
    refused = kefu(data, "restore", str(truncated), "--force")
    assert refused.returncode == 2
    assert "not a Kefu backup" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert (data / "kefu.db").read_bytes() == before
