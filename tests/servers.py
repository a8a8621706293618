"""Real PostgreSQL and Redis servers (and `kefu serve` processes) for the test suite, started in
a temp dir on a free loopback port. One implementation, shared with the benchmarks."""

from __future__ import annotations

from kefu.bench.servers import (
    KefuServer,
    PostgresServer,
    RedisServer,
    find_pg_bin,
    find_redis_server,
    free_port,
)

__all__ = ["KefuServer", "PostgresServer", "RedisServer", "find_pg_bin", "find_redis_server",
           "free_port"]
