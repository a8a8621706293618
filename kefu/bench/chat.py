"""``kefu bench chat``: load on the realtime chat over real websockets, against real servers.

It starts the servers itself: embedded (one ``kefu serve`` on SQLite) and/or cluster (two
``kefu serve`` processes sharing a PostgreSQL database and a Redis, customers and agents spread
over both), seeds a team with A agents (API tokens), connects C customers (JWTs signed with the
configured secret) and A agents (each subscribed to its share of the customers' tickets), and
measures, for each C:

* **open loop**: every customer sends at a fixed rate R (Poisson or fixed spacing) and every
  agent answers at ``--agent-rate``; latency customer send → agent receives the ``message``
  frame, agent send → customer receives it, and send → ``ack`` (which means committed); achieved
  persisted msgs/s against the offered rate.
* **closed loop**: every customer sends its next message when the previous one is acked, paced
  under the server's per-connection rate limit (10 frames/s, so C × 9 msgs/s is the most the
  protocol lets C customers send); the saturation msgs/s.
* the same two loads on ``/ws/echo`` (a bare echo on the same server stack: the ceiling), and
  the ratio of the chat's closed-loop saturation to the echo's.

Each population runs on freshly started servers, echo first and open loops last (in rising
rates; an overloaded one ends the run, since the backlog it leaves would distort what follows).
Each scenario reports msgs/s, p50/p95/p99 latency, the servers' RSS (VmHWM/VmRSS) and CPU use
(also per message; a server's analysis worker counted with it), frames received per second by
kind, and the client's CPU use and event-loop lag, so a saturated client is seen, not mistaken
for a slow server; and the servers' own account of the window from their ``/metrics``
(``server_stages``: the event loop's lag, the wait for the analysis worker, the wait for a
write batch and the batch itself; :mod:`kefu.bench.stages`); an open loop's chat deliveries
also by the second of the window they were sent in (``timeline``: n, p50/p95/p99/max), which
tells a tail made of a few bad seconds from one spread evenly. A human summary and one JSON
line per scenario are printed (``--json``: only the JSON lines on stdout, progress on stderr).
The client is one asyncio process (uvloop when installed). ``KEFU_BENCH_KEEP=1`` keeps the
servers' data dirs and logs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import resource
import secrets
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

from kefu.bench import stages
from kefu.bench.clients import (
    CLIENT_RATE,
    Agent,
    Customer,
    Echo,
    Phase,
    Traffic,
    connect_websocket,
    gather_limited,
    percentiles,
)
from kefu.bench.servers import (
    KefuServer,
    PostgresServer,
    RedisServer,
    find_pg_bin,
    find_redis_server,
    migrate,
)

Mode = Literal["embedded", "cluster"]
# Customers opening the chat at the same moment when a population connects: a surge (a market
# move), measured as each one's hello → welcome and first message → ack (``connect``).
CONNECTING_AT_ONCE = 200


@dataclass
class ChatBenchConfig:
    modes: list[Mode] = field(default_factory=lambda: ["embedded", "cluster"])
    customers: list[int] = field(default_factory=lambda: [100, 1000])
    agents: int | None = None  # default: max(2, C // 50)
    rates: list[float] = field(default_factory=lambda: [2.0])  # per customer, msgs/s
    agent_rate: float = 2.0  # per agent, msgs/s (open loop)
    spacing: Literal["poisson", "fixed"] = "poisson"
    duration_s: float = 6.0  # measured window of each open-loop run
    closed_s: float = 5.0  # measured window of each closed-loop run
    echo_s: float = 4.0  # measured window of each echo run
    warmup_s: float = 1.0
    echo: bool = True
    compression: bool = False  # permessage-deflate on the client's websockets
    seed: int = 7

    @classmethod
    def quick(cls) -> ChatBenchConfig:
        return cls(modes=["embedded"], customers=[100], duration_s=3.0, closed_s=3.0,
                   echo_s=2.0, warmup_s=0.5)

    def agents_for(self, customers: int) -> int:
        return max(1, min(customers, self.agents or max(2, customers // 50)))


# ---------------------------------------------------------------- deployments


@dataclass
class Deployment:
    mode: Mode
    servers: list[KefuServer]
    customer_jwt_secret: str
    agent_tokens: list[str]

    def server_for(self, index: int) -> KefuServer:
        return self.servers[index % len(self.servers)]

    def memory(self) -> dict[str, float]:
        figures = [s.memory() for s in self.servers]
        return {"server_peak_rss_mb": round(sum(f["peak_rss_mb"] for f in figures), 1),
                "server_rss_mb": round(sum(f["rss_mb"] for f in figures), 1),
                "server_processes": len(figures)}

    def cpu_seconds(self) -> float:
        return sum(s.cpu_seconds() for s in self.servers)


async def _seed(database_url: str, agents: int) -> list[str]:
    """A team and ``agents`` agents in it, each with an API token."""
    from kefu.accounts.actor import Actor
    from kefu.accounts.service import create_agent, create_api_token, create_team
    from kefu.db import Database

    db = Database(database_url)
    tokens: list[str] = []
    try:
        async with db.transaction() as session:
            team = await create_team(session, None, name="Bench desk",  # type: ignore[arg-type]
                                     language="en")
            for i in range(agents):
                agent = await create_agent(
                    session, None, email=f"bench-agent-{i}@kefu.invalid",
                    password=secrets.token_urlsafe(16), display_name=f"Agent {i}",
                    team_ids=[team.id], capacity=1000)
                _, raw = await create_api_token(session, Actor(kind="agent", agent=agent),
                                                name="bench")
                tokens.append(raw)
    finally:
        await db.dispose()
    return tokens


@contextlib.contextmanager
def deployment(mode: Mode, agents: int, *, log: Callable[[str], None]) -> Iterator[Deployment]:
    """Start the servers of ``mode`` (and PostgreSQL and Redis for a cluster); stop them all on
    the way out, whatever happens."""
    root = Path(tempfile.mkdtemp(prefix=f"kefu-bench-{mode}-"))
    jwt_secret = secrets.token_urlsafe(32)
    env = {"KEFU_ENV": "test", "KEFU_DATA_DIR": str(root / "data"),
           "KEFU_SECRET_KEY": secrets.token_urlsafe(32), "KEFU_CUSTOMER_JWT_SECRET": jwt_secret,
           "KEFU_LOG_LEVEL": "WARNING", "KEFU_BENCH_ECHO": "1",
           # The chat's transport and persistence are measured here; the assistant answering
           # every message is measured by bench/assistant.py.
           "KEFU_ASSISTANT_ENABLED": "false",
           # what a production server does (KEFU_ENV=test alone would turn it off)
           "KEFU_CHAT_ANALYSIS_WORKER": "true"}
    postgres: PostgresServer | None = None
    redis: RedisServer | None = None
    servers: list[KefuServer] = []
    try:
        if mode == "cluster":
            if find_pg_bin() is None or find_redis_server() is None:
                raise RuntimeError("cluster mode needs PostgreSQL and redis-server installed")
            postgres = PostgresServer.start(max_connections=300)
            env["KEFU_DATABASE_URL"] = postgres.create_database("kefu_bench")
            redis = RedisServer.start()
            env["KEFU_REDIS_URL"] = redis.url
        else:
            env["KEFU_DATABASE_URL"] = \
                f"sqlite+aiosqlite:///{(root / 'data' / 'kefu.db').resolve()}"
            (root / "data").mkdir(parents=True)
        migrate(env)
        tokens = _run(_seed(env["KEFU_DATABASE_URL"], agents))
        count = 2 if mode == "cluster" else 1
        servers = [KefuServer.start(env, root / f"server-{i}.log", wait=False)
                   for i in range(count)]
        for server in servers:
            server.wait_ready()
        log(f"{mode}: {count} server process(es) up, logs in {root}")
        yield Deployment(mode, servers, jwt_secret, tokens)
    finally:
        for server in servers:
            server.stop(timeout_s=30)
        if redis is not None:
            redis.stop()
        if postgres is not None:
            postgres.stop()
        if os.environ.get("KEFU_BENCH_KEEP") is None:
            shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------- scenarios


class ChatRun:
    """One population (C customers, A agents) on one deployment: connect, run the scenarios,
    disconnect."""

    def __init__(self, config: ChatBenchConfig, dep: Deployment, customers: int,
                 log: Callable[[str], None]) -> None:
        self.config = config
        self.dep = dep
        self.count = customers
        self.agent_count = config.agents_for(customers)
        self.log = log
        self.traffic = Traffic()
        self.customers: list[Customer] = []
        self.agents: list[Agent] = []
        self.echoes: list[Echo] = []
        self.lag: list[float] = []
        self.tag = secrets.token_hex(2)
        self.surge: dict[str, Any] = {}

    # ------------------------------------------------------------ setup

    async def connect(self) -> None:
        from kefu.accounts.security import issue_customer_jwt
        from kefu.core import clock

        started = time.perf_counter()
        now = clock.now()
        stages: dict[str, list[float]] = {"handshake": [], "welcome": [], "first_ack": []}

        async def customer(i: int) -> Customer:
            token = issue_customer_jwt(secret=self.dep.customer_jwt_secret,
                                       sub=f"bench-{self.tag}-{i}", now=now, lifetime_s=3600,
                                       name=f"Trader {i}", lang="en")
            at = time.perf_counter()
            ws = await connect_websocket(f"{self.dep.server_for(i).ws_base}/ws/chat",
                                self.config.compression)
            stages["handshake"].append(time.perf_counter() - at)
            link = Customer(ws, self.traffic, i)
            at = time.perf_counter()
            await link.send({"type": "hello", "v": 1, "token": token})
            await asyncio.wait_for(link.welcome, 60)
            stages["welcome"].append(time.perf_counter() - at)
            cid = f"open-{self.tag}-{i}"
            waiter = self.traffic.expect(cid)
            at = time.perf_counter()
            await link.send({"type": "send", "client_msg_id": cid,
                             "body": f"Hello, my withdrawal #{i} is stuck"})
            link.ticket = str((await asyncio.wait_for(waiter, 60))["ticket"])
            stages["first_ack"].append(time.perf_counter() - at)
            return link

        async def agent(j: int) -> Agent:
            ws = await connect_websocket(f"{self.dep.server_for(j + 1).ws_base}/ws/agent",
                                         self.config.compression)
            link = Agent(ws, self.traffic, j)
            await link.send({"type": "hello", "v": 1, "token": self.dep.agent_tokens[j]})
            await asyncio.wait_for(link.welcome, 60)
            return link

        self.agents = await gather_limited([partial(agent, j) for j in range(self.agent_count)])
        self.customers = await gather_limited([partial(customer, i) for i in range(self.count)],
                                              limit=CONNECTING_AT_ONCE)
        self.surge = {"customers_s": round(time.perf_counter() - started, 1),
                      "at_once": min(CONNECTING_AT_ONCE, self.count),
                      **{stage: percentiles(values) for stage, values in stages.items()}}
        for i, link in enumerate(self.customers):
            self.agents[i % self.agent_count].tickets.append(link.ticket)

        async def subscribe(link: Agent) -> None:
            try:
                await link.subscribe_all(120)
            except TimeoutError as exc:
                raise RuntimeError(
                    f"agent {link.index}: {len(link.confirmed)} of {len(link.tickets)} "
                    f"subscriptions confirmed; errors {dict(self.traffic.errors)}") from exc

        await asyncio.gather(*(subscribe(a) for a in self.agents if a.tickets))
        if self.config.echo:
            self.echoes = await gather_limited([partial(self._echo, i)
                                                for i in range(self.count)])
        self.surge["all_s"] = round(time.perf_counter() - started, 1)
        self.log(f"  connected {self.count} customers, {self.agent_count} agents"
                 f"{', ' + str(self.count) + ' echo sockets' if self.echoes else ''} in "
                 f"{self.surge['all_s']:.1f} s (customers {self.surge['customers_s']:.1f} s, "
                 f"{self.surge['at_once']} at once: hello → welcome p50/p95 "
                 f"{self.surge['welcome']['p50_ms']:.0f}/{self.surge['welcome']['p95_ms']:.0f} "
                 f"ms, first message → ack p50/p95 {self.surge['first_ack']['p50_ms']:.0f}/"
                 f"{self.surge['first_ack']['p95_ms']:.0f} ms)")

    async def _echo(self, i: int) -> Echo:
        ws = await connect_websocket(f"{self.dep.server_for(i).ws_base}/ws/echo",
                                     self.config.compression)
        return Echo(ws, self.traffic, i)

    async def close(self) -> None:
        for link in [*self.customers, *self.agents, *self.echoes]:
            link.abort()
        await asyncio.sleep(0.2)

    # ------------------------------------------------------------ measuring

    async def _watch_lag(self, stop: asyncio.Event) -> None:
        """How late the client's own loop wakes up: a busy client shows here."""
        while not stop.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            self.lag.append(time.perf_counter() - before - 0.01)

    async def _measure(self, name: str, drive: Callable[[float, float], Awaitable[None]],
                       window_s: float, *, deliveries: bool) -> dict[str, Any]:
        """Run ``drive(start, end)``; measure the window after the warm-up; drain."""
        warmup = self.config.warmup_s
        phase = Phase(name)
        self.traffic.phase = phase
        errors_before = Counter(self.traffic.errors)
        closed_before = sum(self.traffic.closed.values())
        frames_before = Counter(self.traffic.frames)
        self.lag = []
        stop = asyncio.Event()
        lag_task = asyncio.create_task(self._watch_lag(stop))
        start = time.perf_counter() + 0.1
        phase.window = (start + warmup, start + warmup + window_s)
        cpu_server, cpu_client = self.dep.cpu_seconds(), time.process_time()
        bases = [server.base for server in self.dep.servers]

        async def read_stages_at(when: float) -> stages.Histograms:
            await asyncio.sleep(max(0.0, when - time.perf_counter()))
            return await stages.read(bases)

        stages_before = asyncio.create_task(read_stages_at(phase.window[0]))
        try:
            await drive(start, start + warmup + window_s)
        except BaseException:
            stages_before.cancel()
            raise
        ended = time.perf_counter()
        server_stages = stages.figures(await stages_before, await stages.read(bases))
        cpu_server = (self.dep.cpu_seconds() - cpu_server) / (ended - start)
        cpu_client = (time.process_time() - cpu_client) / (ended - start)
        stop.set()
        await lag_task
        in_window = phase.acks_in_window
        # Drain: wait for what is still in flight, unless at the rate acks come it would take
        # long (an overloaded open loop); those are reported as still unacknowledged.
        deadline = time.perf_counter() + 15
        while time.perf_counter() < deadline and (
                phase.outstanding(False) or (deliveries and phase.outstanding(True))):
            if phase.outstanding(False) > 30 * max(in_window / window_s, 1.0):
                break
            await asyncio.sleep(0.05)
        frames = self.traffic.frames - frames_before
        result: dict[str, Any] = {
            "sent": len(phase.sent),
            "offered_msgs_s": round(len(phase.sent) / window_s, 1),
            # Acknowledged, so committed, in the window: the persisted throughput.
            "achieved_msgs_s": round(in_window / window_s, 1),
            "overloaded": in_window < 0.95 * len(phase.sent),
            # Still unacknowledged after the drain (in the server's backlog, not lost: the
            # cluster tests check that nothing acknowledged is ever lost).
            "unacked": phase.outstanding(False),
            "undelivered": phase.outstanding(True) if deliveries else 0,
            "errors": sum((self.traffic.errors - errors_before).values()),
            "error_codes": dict(self.traffic.errors - errors_before),
            "disconnects": sum(self.traffic.closed.values()) - closed_before,
            "frames_received_s": {kind: round(n / (ended - start), 1)
                                  for kind, n in sorted(frames.items())},
            "server_cpu_cores": round(cpu_server, 2),
            "server_cpu_ms_per_msg": round(cpu_server * 1000 / max(in_window / window_s, 1e-9),
                                           2) if in_window else None,
            "client_cpu_cores": round(cpu_client, 2),
            "client_loop_lag_p99_ms": percentiles(self.lag)["p99_ms"],
            # The servers' histograms over the window (kefu/realtime/metrics.py): bucket
            # bounds, so "p99_le_ms": 25 reads "99 % within 25 ms".
            "server_stages": server_stages,
            **self.dep.memory(),
        }
        return {"phase": phase, **result}

    def _latencies(self, phase: Phase, prefix: str) -> dict[str, Any]:
        acks = [v for k, v in phase.ack_latency.items() if k.startswith(prefix)]
        deliveries = [v for k, v in phase.delivery_latency.items() if k.startswith(prefix)]
        return {"ack": percentiles(acks), "delivery": percentiles(deliveries)}

    @staticmethod
    def _timeline(phase: Phase, prefix: str) -> list[dict[str, Any]]:
        """The deliveries by the second of the window they were sent in: a tail made of a few
        bad seconds (a pause, a backlog working off) reads differently from one spread
        evenly."""
        seconds: dict[int, list[float]] = {}
        for cid, latency in phase.delivery_latency.items():
            if cid.startswith(prefix):
                second = int(phase.sent[cid] - phase.window[0])
                seconds.setdefault(second, []).append(latency)
        return [{"s": second, "n": len(values),
                 **{k: v for k, v in percentiles(values).items() if k != "n"}}
                for second, values in sorted(seconds.items())]

    async def open_loop(self, rate: float, *, echo: bool = False) -> dict[str, Any]:
        senders: list[Customer] | list[Echo] = self.echoes if echo else self.customers
        tag = f"o{int(rate * 100)}"
        spacing = self.config.spacing
        seed = self.config.seed

        async def pace(link: Customer | Echo | Agent, per_s: float, start: float, end: float,
                       say: Callable[[int], Awaitable[str]]) -> None:
            rng = random.Random(seed * 1_000_003 + link.index * 3 + (link.kind == "agent"))
            at = start + rng.random() / per_s
            n = 0
            while at < end:
                delay = at - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                await say(n)
                n += 1
                at += rng.expovariate(per_s) if spacing == "poisson" else 1 / per_s

        async def drive(start: float, end: float) -> None:
            tasks = [pace(link, rate, start, end, partial(link.say, tag=tag))
                     for link in senders]
            if not echo and self.config.agent_rate > 0:
                tasks += [pace(a, self.config.agent_rate, start, end, partial(a.answer, tag=tag))
                          for a in self.agents if a.tickets]
            await asyncio.gather(*tasks)

        name = "echo_open" if echo else "open"
        measured = await self._measure(
            name, drive, self.config.echo_s if echo else self.config.duration_s, deliveries=True)
        phase: Phase = measured.pop("phase")
        result = {"scenario": name, "rate_per_customer": rate, **measured}
        if echo:
            result["latency"] = {"echo": self._latencies(phase, "e")["ack"]}
        else:
            customers, agents = self._latencies(phase, "c"), self._latencies(phase, "a")
            result["latency"] = {"customer_to_agent": customers["delivery"],
                                 "agent_to_customer": agents["delivery"],
                                 "ack": customers["ack"], "agent_ack": agents["ack"]}
            result["timeline"] = self._timeline(phase, "c")
        return result

    async def closed_loop(self, *, echo: bool = False) -> dict[str, Any]:
        senders: list[Customer] | list[Echo] = self.echoes if echo else self.customers
        tag = "k"
        stalled = 0

        async def loop_one(link: Customer | Echo, end: float) -> None:
            nonlocal stalled
            n = 0
            while time.perf_counter() < end:
                cid = f"{'e' if echo else 'c'}{tag}-{link.index}-{n}"
                waiter = self.traffic.expect(cid)
                await link.say(n, tag)  # a customer's send is paced by its bucket
                n += 1
                try:
                    await asyncio.wait_for(waiter, 30)
                except (TimeoutError, RuntimeError):
                    stalled += 1
                    return

        async def drive(start: float, end: float) -> None:
            delay = start - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await asyncio.gather(*(loop_one(link, end) for link in senders))

        name = "echo_closed" if echo else "closed"
        measured = await self._measure(
            name, drive, self.config.echo_s if echo else self.config.closed_s,
            deliveries=not echo)
        phase: Phase = measured.pop("phase")
        result = {"scenario": name, **measured, "stalled_senders": stalled}
        if echo:
            result["latency"] = {"echo": self._latencies(phase, "e")["ack"]}
        else:
            lat = self._latencies(phase, "c")
            result["latency"] = {"customer_to_agent": lat["delivery"], "ack": lat["ack"]}
            result["client_cap_msgs_s"] = round(len(senders) * CLIENT_RATE[0], 1)
        return result

    async def scenarios(self) -> list[dict[str, Any]]:
        """The echo ceiling first and the open loops last, in rising rates: an overloaded open
        loop leaves a backlog in the server that would distort whatever ran after it, so it
        ends the population's run (and higher rates are skipped, marked as such)."""
        await self.connect()
        results: list[dict[str, Any]] = []

        def done(result: dict[str, Any]) -> None:
            results.append(result)
            self.log(_line(self.dep.mode, self.count, self.agent_count, result))

        rates = sorted(self.config.rates)
        try:
            if self.echoes:
                done(await self.closed_loop(echo=True))
                done(await self.open_loop(rates[0], echo=True))
            done(await self.closed_loop())
            for rate in rates:
                done(await self.open_loop(rate))
                if results[-1]["overloaded"] and rate != rates[-1]:
                    self.log(f"  overloaded at {rate}/s per customer: higher rates skipped")
                    break
        finally:
            await self.close()
        ceiling = next((r["achieved_msgs_s"] for r in results
                        if r["scenario"] == "echo_closed"), None)
        for r in results:
            r.update({"bench": "chat", "mode": self.dep.mode, "customers": self.count,
                      "agents": self.agent_count, "spacing": self.config.spacing,
                      "compression": self.config.compression, "connect": self.surge})
            if ceiling:
                r["echo_ceiling_msgs_s"] = ceiling
                if r["scenario"] in ("closed", "echo_closed"):  # saturation against saturation
                    r["ratio_to_echo"] = round(r["achieved_msgs_s"] / ceiling, 3)
        return results


def _line(mode: str, customers: int, agents: int, r: dict[str, Any]) -> str:
    lat = r["latency"]
    main = lat.get("customer_to_agent") or lat.get("echo") or {}
    back = lat.get("agent_to_customer")
    ack = lat.get("ack")
    text = (f"  {mode:<8} C={customers:<5} A={agents:<3} {r['scenario']:<11} "
            f"offered {r['offered_msgs_s']:>8.1f}/s  achieved {r['achieved_msgs_s']:>8.1f}/s  "
            f"e2e p50/p95/p99 {main.get('p50_ms', 0):>6.1f}/{main.get('p95_ms', 0):>6.1f}/"
            f"{main.get('p99_ms', 0):>7.1f} ms")
    if back:
        text += f"  back p99 {back['p99_ms']:.1f} ms"
    if ack:
        text += f"  ack p99 {ack['p99_ms']:.1f} ms"
    text += (f"  server {r['server_cpu_cores']:.2f} cores {r['server_rss_mb']:.0f} MB"
             f"  client {r['client_cpu_cores']:.2f} cores lag p99 "
             f"{r['client_loop_lag_p99_ms']:.1f} ms")
    inside = r.get("server_stages") or {}
    bounds = [(inside.get(key) or {}).get("p99_le_ms")
              for key in ("loop_lag", "analysis", "write_wait", "write_batch")]
    if any(bound is not None for bound in bounds):
        text += "  server p99 lag/analysis/wait/batch ≤ " + "/".join(
            "-" if bound is None else f"{bound:g}" for bound in bounds) + " ms"
    if r.get("unacked") or r.get("undelivered") or r.get("errors") or r.get("disconnects"):
        text += (f"  !! unacked {r['unacked']} undelivered {r['undelivered']} "
                 f"errors {r['errors']} disconnects {r['disconnects']}")
    return text


def _run(coro: Awaitable[Any]) -> Any:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        return asyncio.run(coro)  # type: ignore[arg-type]
    return uvloop.run(coro)  # type: ignore[arg-type]


def _raise_fd_limit() -> None:
    """Each connection is a descriptor on both sides (the servers inherit the limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def run_chat_bench(config: ChatBenchConfig, *, json_only: bool = False) -> list[dict[str, Any]]:
    """Run every mode × population; returns one result per scenario (also printed)."""
    _raise_fd_limit()

    def log(text: str) -> None:
        """Progress: on stdout, or on stderr when stdout carries only the JSON lines."""
        print(text, file=sys.stderr if json_only else sys.stdout, flush=True)  # noqa: T201

    results: list[dict[str, Any]] = []
    log(f"kefu bench chat: modes {config.modes}, customers {config.customers}, "
        f"rates {config.rates}/s per customer ({config.spacing}), agent rate "
        f"{config.agent_rate}/s, {os.cpu_count()} cores, client and servers share them")
    for mode in config.modes:
        for customers in config.customers:
            # Fresh servers for each population: what one run leaves queued (an overloaded
            # open loop) must not slow the next one down.
            with deployment(mode, config.agents_for(customers), log=log) as dep:
                run = ChatRun(config, dep, customers, log)
                results.extend(_run(run.scenarios()))
    if not json_only:
        print_summary(results)
    for result in results:
        print(json.dumps(result, separators=(",", ":")), flush=True)  # noqa: T201
    return results


def print_summary(results: list[dict[str, Any]]) -> None:
    print("\nsummary (latency: chat = customer send → agent's message frame; echo = round trip;"  # noqa: T201
          " * = overloaded: fewer acks than sends in the window)")
    header = (f"{'mode':<9}{'C':>6}{'scenario':>13}{'rate':>6}{'offered/s':>11}{'msgs/s':>10}"
              f"{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'ack p99':>9}{'cpu ms/msg':>11}"
              f"{'RSS MB':>8}{'vs echo':>9}")
    print(header)  # noqa: T201
    for r in results:
        lat = r["latency"]
        main = lat.get("customer_to_agent") or lat.get("echo") or {}
        ack = lat.get("ack") or {}
        ratio = f"{r['ratio_to_echo']:.1%}" if "ratio_to_echo" in r else "-"
        rate = f"{r['rate_per_customer']:g}" if "rate_per_customer" in r else "-"
        cpu = f"{r['server_cpu_ms_per_msg']:.2f}" if r.get("server_cpu_ms_per_msg") else "-"
        mark = "*" if r.get("overloaded") and r["scenario"] in ("open", "echo_open") else " "
        print(f"{r['mode']:<9}{r['customers']:>6}{r['scenario']:>13}{rate:>6}"  # noqa: T201
              f"{r['offered_msgs_s']:>11.1f}{r['achieved_msgs_s']:>10.1f}{mark}"
              f"{main.get('p50_ms', 0):>8.1f}{main.get('p95_ms', 0):>9.1f}"
              f"{main.get('p99_ms', 0):>9.1f}{ack.get('p99_ms', 0):>9.1f}{cpu:>11}"
              f"{r['server_rss_mb']:>8.0f}{ratio:>9}")


def main(argv: list[str] | None = None) -> None:
    """``bench/chat_load.py``: the same options as ``kefu bench chat``."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="embedded, C=100, short runs")
    parser.add_argument("--json", action="store_true", help="print only the JSON lines")
    parser.add_argument("--mode", choices=["embedded", "cluster", "both"], default=None)
    parser.add_argument("--customers", default=None, help="comma-separated, e.g. 100,1000")
    parser.add_argument("--agents", type=int, default=None)
    parser.add_argument("--rate", default=None, help="msgs/s per customer, comma-separated")
    parser.add_argument("--agent-rate", type=float, default=None)
    parser.add_argument("--spacing", choices=["poisson", "fixed"], default=None)
    parser.add_argument("--duration", type=float, default=None)
    parser.add_argument("--closed-duration", type=float, default=None)
    parser.add_argument("--no-echo", action="store_true")
    parser.add_argument("--compression", action="store_true")
    args = parser.parse_args(argv)
    config = build_config(quick=args.quick, mode=args.mode, customers=args.customers,
                          agents=args.agents, rate=args.rate, agent_rate=args.agent_rate,
                          spacing=args.spacing, duration=args.duration,
                          closed_duration=args.closed_duration, echo=not args.no_echo,
                          compression=args.compression)
    run_chat_bench(config, json_only=args.json)


def build_config(*, quick: bool = False, mode: str | None = None, customers: str | None = None,
                 agents: int | None = None, rate: str | None = None,
                 agent_rate: float | None = None, spacing: str | None = None,
                 duration: float | None = None, closed_duration: float | None = None,
                 echo: bool = True, compression: bool = False) -> ChatBenchConfig:
    """The defaults (or ``--quick``'s), overridden by what was given."""
    config = ChatBenchConfig.quick() if quick else ChatBenchConfig()
    if mode is not None:
        config.modes = ["embedded", "cluster"] if mode == "both" else [mode]  # type: ignore[list-item]
    if customers:
        config.customers = [int(c) for c in customers.split(",") if c.strip()]
    if rate:
        config.rates = [float(r) for r in rate.split(",") if r.strip()]
    if agents is not None:
        config.agents = agents
    if agent_rate is not None:
        config.agent_rate = agent_rate
    if spacing is not None:
        config.spacing = spacing  # type: ignore[assignment]
    if duration is not None:
        config.duration_s = duration
    if closed_duration is not None:
        config.closed_s = closed_duration
    config.echo, config.compression = echo, compression
    if any(c < 1 for c in config.customers) or any(r <= 0 for r in config.rates):
        raise ValueError("customers and rates must be positive")
    if config.agent_rate > CLIENT_RATE[0] or max(config.rates) > CLIENT_RATE[0]:
        raise ValueError(f"rates above {CLIENT_RATE[0]}/s per connection hit the server's "
                         "rate limit")
    return config
