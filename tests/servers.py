"""Real PostgreSQL and Redis servers for the test suite, started in a temp dir on a free loopback
port."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# Redis (and ``kefu serve`` processes) have one implementation, shared with the benchmarks.
from kefu.bench.servers import KefuServer, RedisServer, find_redis_server

__all__ = ["KefuServer", "PostgresServer", "RedisServer", "find_pg_bin", "find_redis_server",
           "free_port"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_pg_bin() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for directory in candidates:
        if Path(directory, "initdb").exists() and Path(directory, "pg_ctl").exists():
            return Path(directory)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


@dataclass
class PostgresServer:
    root: Path
    port: int
    bin_dir: Path
    as_postgres: bool

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://kefu@127.0.0.1:{self.port}/postgres"

    def url_for(self, database: str) -> str:
        return f"postgresql+asyncpg://kefu@127.0.0.1:{self.port}/{database}"

    def _cmd(self, *args: str) -> list[str]:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        return ["runuser", "-u", "postgres", "--", *cmd] if self.as_postgres else cmd

    @classmethod
    def start(cls) -> PostgresServer:
        bin_dir = find_pg_bin()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL (initdb/pg_ctl) is not installed")
        as_postgres = os.geteuid() == 0
        root = Path(tempfile.mkdtemp(prefix="kefu-pg-"))
        if as_postgres:
            shutil.chown(root, "postgres", "postgres")
        server = cls(root=root, port=free_port(), bin_dir=bin_dir, as_postgres=as_postgres)
        data = root / "data"
        subprocess.run(server._cmd("initdb", "-D", str(data), "-A", "trust", "-U", "kefu",
                                   "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"),
                       check=True, capture_output=True)
        options = (f"-p {server.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        subprocess.run(server._cmd("pg_ctl", "-D", str(data), "-o", options, "-l",
                                   str(root / "log"), "-w", "-t", "60", "start"),
                       check=True, capture_output=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        return server

    def stop(self) -> None:
        subprocess.run(self._cmd("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate",
                                 "stop"), capture_output=True, check=False)
        shutil.rmtree(self.root, ignore_errors=True)
