"""Real servers on free loopback ports, for the benchmarks and the cluster tests: PostgreSQL,
Redis and ``kefu serve`` processes. Each starts in its own temp dir and is stopped (SIGTERM,
then SIGKILL after a timeout) by the caller, so nothing outlives the run.

The PostgreSQL helper mirrors ``tests/servers.py`` (the benchmarks cannot import the tests)."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (a server's analysis worker, say), from ``/proc``."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                parents.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(parents.get(current, []))
    return tree


def memory_mb(pid: int) -> dict[str, float]:
    """Resident memory of a process and its descendants, in MB: now (VmRSS) and the sum of
    each one's peak (VmHWM)."""
    figures = {"peak_rss_mb": 0.0, "rss_mb": 0.0}
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    figures["peak_rss_mb"] += int(line.split()[1]) / 1024
                elif line.startswith("VmRSS:"):
                    figures["rss_mb"] += int(line.split()[1]) / 1024
    return {key: round(value, 1) for key, value in figures.items()}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time that a process and its living descendants have used so far."""
    total = 0.0
    for member in process_tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _die_with_parent() -> None:
    """In the child before exec (Linux): get SIGTERM when the parent dies, so a killed test run
    or benchmark leaves no server behind."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _stop_process(process: subprocess.Popen[Any], timeout_s: float) -> int | None:
    """SIGTERM, wait, then SIGKILL: a process that hangs on shutdown still goes away."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    return process.returncode


# ---------------------------------------------------------------- PostgreSQL


def find_pg_bin() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for directory in candidates:
        if Path(directory, "initdb").exists() and Path(directory, "pg_ctl").exists():
            return Path(directory)
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


@dataclass
class PostgresServer:
    """A throwaway cluster (fsync off): fast, and gone when stopped. As root it runs as the
    ``postgres`` user, which initdb requires."""

    root: Path
    port: int
    bin_dir: Path
    as_postgres: bool

    @property
    def url(self) -> str:
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        return f"postgresql+asyncpg://kefu@127.0.0.1:{self.port}/{database}"

    def _cmd(self, *args: str) -> list[str]:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        return ["runuser", "-u", "postgres", "--", *cmd] if self.as_postgres else cmd

    @classmethod
    def start(cls, *, max_connections: int = 200) -> PostgresServer:
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
                   "-c synchronous_commit=off -c full_page_writes=off "
                   f"-c max_connections={max_connections}")
        subprocess.run(server._cmd("pg_ctl", "-D", str(data), "-o", options, "-l",
                                   str(root / "log"), "-w", "-t", "60", "start"),
                       check=True, capture_output=True)
        wait_for_port(server.port, 30)
        return server

    def create_database(self, name: str, *, template: str | None = None) -> str:
        """CREATE DATABASE (optionally from a template); returns its URL."""
        import asyncio

        import asyncpg

        async def go() -> None:
            conn = await asyncpg.connect(self.url.replace("postgresql+asyncpg", "postgresql"))
            try:
                suffix = f" TEMPLATE {template}" if template else ""
                await conn.execute(f"CREATE DATABASE {name}{suffix}")
            finally:
                await conn.close()

        asyncio.run(go())
        return self.url_for(name)

    def stop(self) -> None:
        subprocess.run(self._cmd("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate",
                                 "stop"), capture_output=True, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


# ---------------------------------------------------------------- Redis


def find_redis_server() -> str | None:
    return shutil.which("redis-server") or next(
        (p for p in ("/usr/bin/redis-server", "/usr/local/bin/redis-server")
         if Path(p).exists()), None)


def redis_ping(port: int, timeout_s: float = 1.0) -> bool:
    """PING over a raw socket (no client library needed): True on ``+PONG``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class RedisServer:
    """``redis-server`` without persistence on a loopback port. :meth:`stop` then
    :meth:`restart` brings it back on the same port, empty, as after a crash."""

    root: Path
    port: int
    binary: str
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @classmethod
    def start(cls, *, port: int | None = None) -> RedisServer:
        binary = find_redis_server()
        if binary is None:
            raise RuntimeError("redis-server is not installed")
        server = cls(root=Path(tempfile.mkdtemp(prefix="kefu-redis-")), port=port or free_port(),
                     binary=binary)
        server._launch()
        return server

    def _launch(self, timeout_s: float = 20.0) -> None:
        self._log = (self.root / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.root), "--daemonize", "no"],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout_s
        while not redis_ping(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self._halt()
                raise RuntimeError(f"redis-server did not start; see {self.root / 'redis.log'}")
            time.sleep(0.05)

    def _halt(self) -> None:
        if self.process is not None:
            _stop_process(self.process, 10)
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self) -> None:
        """Start again on the same port (after :meth:`halt`)."""
        if self.process is None:
            self._launch()

    def halt(self) -> None:
        """Stop the server but keep its port and dir, for :meth:`restart`."""
        self._halt()

    def stop(self) -> None:
        self._halt()
        shutil.rmtree(self.root, ignore_errors=True)


# ---------------------------------------------------------------- kefu serve


@dataclass
class KefuServer:
    """A ``kefu serve`` subprocess (``python -m kefu.cli serve``) with its log in a file."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    _log: IO[bytes] = field(repr=False)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_base(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    @classmethod
    def start(cls, env: dict[str, str], log_path: Path, *, port: int | None = None,
              wait: bool = True) -> KefuServer:
        """Start with ``env`` added to this process's environment (KEFU_PORT is set here)."""
        port = port or free_port()
        log = log_path.open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "kefu.cli", "serve", "--port", str(port)],
            env={**os.environ, **env, "KEFU_PORT": str(port)},
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent)
        server = cls(port=port, process=process, log_path=log_path, _log=log)
        if wait:
            server.wait_ready()
        return server

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"kefu serve exited with {self.process.returncode}:\n"
                                   f"{self.log_tail()}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"kefu serve did not answer in {timeout_s:.0f} s:\n{self.log_tail()}")

    def memory(self) -> dict[str, float]:
        return memory_mb(self.process.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout_s: float = 30.0) -> int | None:
        """SIGTERM (graceful: websockets get 1001, queued writes commit), SIGKILL on timeout."""
        code = _stop_process(self.process, timeout_s)
        self._log.close()
        return code


def migrate(env: dict[str, str]) -> None:
    """``kefu migrate`` with ``env``; raises with its output if it fails."""
    result = subprocess.run([sys.executable, "-m", "kefu.cli", "migrate"],
                            env={**os.environ, **env}, capture_output=True, text=True,
                            check=False)
    if result.returncode != 0:
        raise RuntimeError(f"kefu migrate failed: {result.stderr.strip()[-2000:]}")
