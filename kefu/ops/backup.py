"""``kefu backup`` / ``kefu restore`` for embedded mode: the SQLite database and attachments.

The database is copied with SQLite's online backup API, so a backup taken while the server runs
is consistent. PostgreSQL deployments use pg_dump and their volume snapshots instead."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import tarfile
import tempfile
import zlib
from pathlib import Path

from kefu import __version__
from kefu.config import Settings
from kefu.core import clock

MANIFEST = "manifest.json"
DB_MEMBER = "kefu.db"
ATTACHMENTS = "attachments"


class BackupError(Exception):
    pass


def _sqlite_path(settings: Settings) -> Path:
    url = settings.resolved_database_url
    if not url.startswith("sqlite"):
        raise BackupError("backup/restore handle SQLite only; use pg_dump for PostgreSQL")
    return Path(url.split(":///", 1)[1])


def create_backup(settings: Settings, output: Path) -> str:
    db_path = _sqlite_path(settings)
    if not db_path.exists():
        raise BackupError(f"no database at {db_path}")
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        snapshot = Path(tmp) / DB_MEMBER
        source = sqlite3.connect(db_path)
        target = sqlite3.connect(snapshot)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        with sqlite3.connect(snapshot) as conn:
            revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        attachments = sorted(p for p in settings.attachments_dir.rglob("*")
                             if p.is_file() and not p.name.endswith(".part")) \
            if settings.attachments_dir.exists() else []
        manifest = {
            "format": 1, "kefu_version": __version__, "created_at": clock.now().isoformat(),
            "alembic_revision": revision[0] if revision else None,
            "attachments": len(attachments),
        }
        partial = output.with_name(output.name + ".part")
        with tarfile.open(partial, "w:gz") as tar:
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            tar.add(snapshot, arcname=DB_MEMBER)
            for path in attachments:
                tar.add(path, arcname=f"{ATTACHMENTS}/{path.relative_to(settings.attachments_dir)}")
        partial.replace(output)
    return f"backup written to {output} ({manifest['attachments']} attachments)"


def _extract(tar: tarfile.TarFile, into: Path) -> None:
    """The archive's files and folders under ``into``; anything else (a link, a device, a path
    that leaves ``into``) refuses the whole archive before a byte is written. A backup holds
    nothing else. This is stricter than tarfile's "data" filter, which Python 3.11 has only
    since 3.11.4 (Debian's is 3.11.2, see docs/decisions/0007-interpreter.md)."""
    root = into.resolve()
    members = tar.getmembers()
    for member in members:
        if not (member.isfile() or member.isdir()) or not (
                root / member.name).resolve().is_relative_to(root):
            raise BackupError(f"not a Kefu backup: refusing {member.name!r}")
    for member in members:
        target = root / member.name
        if member.isdir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        source = tar.extractfile(member)
        assert source is not None  # a regular file
        with source, target.open("wb") as out:
            shutil.copyfileobj(source, out)


def restore_backup(settings: Settings, archive: Path, *, force: bool) -> str:
    db_path = _sqlite_path(settings)
    if not archive.is_file():
        raise BackupError(f"no such archive: {archive}")
    if db_path.exists() and not force:
        raise BackupError(f"{db_path} exists; pass --force to replace it (stop the server first)")
    try:
        tar = tarfile.open(archive, "r:gz")  # noqa: SIM115 - closed by the with below
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"not a Kefu backup: {exc}") from exc
    with tar, tempfile.TemporaryDirectory() as tmp:
        try:  # a truncated or crafted archive fails here, before anything is replaced
            names = tar.getnames()
            if MANIFEST not in names or DB_MEMBER not in names:
                raise BackupError("not a Kefu backup: manifest or database missing")
            _extract(tar, Path(tmp))
            manifest = json.loads((Path(tmp) / MANIFEST).read_text())
        except (tarfile.TarError, OSError, EOFError, zlib.error, ValueError) as exc:
            raise BackupError(f"not a Kefu backup: {exc}") from exc
        if not isinstance(manifest, dict):
            raise BackupError("not a Kefu backup: its manifest is not an object")
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        for suffix in ("-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(Path(tmp) / DB_MEMBER, db_path)
        restored = Path(tmp) / ATTACHMENTS
        if settings.attachments_dir.exists():
            shutil.rmtree(settings.attachments_dir)
        if restored.exists():
            shutil.copytree(restored, settings.attachments_dir)
    return (f"restored {archive} from {manifest.get('created_at')} "
            f"({manifest.get('attachments', 0)} attachments); run `kefu migrate` if needed")
