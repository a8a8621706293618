"""``kefu demo``: seed an empty database with a month of realistic support traffic.

Everything goes through the real services (accounts, tickets, workflow), so ticket events, the
audit log and webhook deliveries are exactly what production would have recorded. The clock is
set back while each ticket plays out, so timestamps spread over the last 30 days; it is restored
when seeding ends, whatever happens. Run it alone (the CLI does): while it runs, ``clock.now()``
returns the demo's past times.

Deterministic: one ``random.Random(seed)`` drives every choice, and customer ids are ones the demo
exchange adapter understands (``vip7-…`` is a VIP 7 there too), so a TxID quoted in a ticket is
the one the customer context panel shows. Ticket numbers stay random (they must be unguessable).
"""

from __future__ import annotations

import random
import time
import unicodedata
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Literal

from sqlalchemy import delete, func, select
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.actor import Actor
from kefu.accounts.models import Agent, Customer, Team
from kefu.accounts.security import CustomerClaims
from kefu.accounts.service import (
    create_agent,
    create_team,
    team_ids_of,
    update_agent,
    upsert_customer,
)
from kefu.config import Settings
from kefu.core import clock
from kefu.core.errors import KefuError
from kefu.db import Base, Database
from kefu.demo import content
from kefu.demo.content import (
    AGENTS,
    COMMON,
    TEAMS,
    TOPIC_SKILLS,
    TOPIC_WEIGHTS,
    AgentSpec,
    Script,
    Step,
)
from kefu.exchange.demo import DemoExchangeAdapter
from kefu.exchange.schemas import CustomerContext, Deposit
from kefu.jobs.models import Job
from kefu.kb import schemas as kb_schemas
from kefu.kb import status as status_page
from kefu.kb.loader import LoadResult, load_folder
from kefu.kb.models import Article, ArticleTranslation, StatusEntry
from kefu.tickets import schemas, workflow
from kefu.tickets.creation import create_ticket
from kefu.tickets.macros import seed_default_macros
from kefu.tickets.models import DELIVER_JOB, Message, Ticket
from kefu.tickets.notes import add_note
from kefu.tickets.replies import reply
from kefu.trust.verify import add_missing_channels

DEMO_PASSWORD = "kefu-demo-password"
KB_DIR = Path(__file__).parent / "kb"  # docs/kb-format.md
DEFAULT_SEED = 20_260_101
# Kefu Verify's registry; every active agent's public id is official without an entry.
OFFICIAL_CHANNELS = (
    ("domain", "demoex.example", "DemoEx website"),
    ("email", "support@demoex.example", "DemoEx support email"),
    ("telegram", "@DemoExSupport", "DemoEx support on Telegram"),
    ("x", "@DemoExSupport", "DemoEx on X"),
    ("phone", "+44 20 7946 0000", "DemoEx support hotline"),
)
CUSTOMERS = 200
MERGED_DUPLICATES = 3  # tickets opened again for the same problem, merged by an agent

# Customers' languages (the names they go by are in ``content``).
CUSTOMER_LANGUAGES = {"zh": 48, "en": 32, "ja": 4, "ko": 4, "ru": 4, "es": 3, "vi": 3, "tr": 2}

# ---------------------------------------------------------------- tickets

# Final state of each of the 297 scripted tickets (the other 3 are duplicates merged into some).
OUTCOMES: dict[str, int] = {
    "new": 27, "open": 48, "reopened": 4, "pending_customer": 36, "pending_internal": 17,
    "escalated": 22, "resolved": 82, "closed": 61,
}
# How long ago (hours) a ticket with this outcome was opened.
_AGE_HOURS: dict[str, tuple[float, float]] = {
    "new": (0.1, 20), "open": (0.5, 96), "reopened": (30, 240), "pending_customer": (2, 144),
    "pending_internal": (2, 120), "escalated": (1, 144), "resolved": (24, 650),
    "closed": (200, 720),
}
_CHANNELS: dict[str, dict[str, int]] = {
    "zh": {"chat": 36, "email": 9, "portal": 14, "telegram": 16, "phone": 5, "webform": 20},
    "en": {"chat": 30, "email": 25, "portal": 14, "telegram": 10, "phone": 6, "webform": 15},
}
# Other languages are served by email and tickets only (kb: support-hours-by-language).
_TICKET_CHANNELS = {"email": 45, "portal": 25, "webform": 30}
_UTC_OFFSET = {"zh": 8, "en": 0, "ja": 9, "ko": 9, "ru": 3, "es": 1, "vi": 7, "tr": 3}
_COIN_WEIGHTS = {"USDT": 45, "BTC": 15, "ETH": 12, "SOL": 8, "TRX": 7, "XRP": 7, "TON": 6}
_COIN_PRICE = {"USDT": 1.0, "BTC": 63_000.0, "ETH": 3_100.0, "SOL": 145.0, "TRX": 0.12,
               "XRP": 0.55, "TON": 5.2}
_COIN_NETWORKS: dict[str, dict[str, int]] = {
    "USDT": {"TRC20": 55, "ERC20": 15, "BEP20": 20, "TON": 10}, "BTC": {"Bitcoin": 1},
    "ETH": {"ERC20": 1}, "SOL": {"Solana": 1}, "TRX": {"TRC20": 1}, "XRP": {"XRP Ledger": 1},
    "TON": {"TON": 1},
}
# As the demo knowledge base states them (deposit-confirmations-by-network, withdrawal-fees);
# tests/demo/test_consistency.py holds these, and the demo exchange's, to the articles.
_CONFIRMATIONS = {"Bitcoin": 2, "ERC20": 64, "BEP20": 15, "TRC20": 20, "Solana": 1, "TON": 1,
                  "XRP Ledger": 1}
_FEES = {("USDT", "TRC20"): "1", ("USDT", "ERC20"): "4.5", ("USDT", "BEP20"): "0.3",
         ("USDT", "TON"): "0.25", ("BTC", "Bitcoin"): "0.0002", ("ETH", "ERC20"): "0.0012",
         ("SOL", "Solana"): "0.008", ("TRX", "TRC20"): "1", ("XRP", "XRP Ledger"): "0.2",
         ("TON", "TON"): "0.05"}
_SYMBOLS = {"BTCUSDT": (45, 63_000.0, 1), "ETHUSDT": (25, 3_100.0, 2), "SOLUSDT": (12, 145.0, 3),
            "XRPUSDT": (10, 0.55, 4), "TONUSDT": (8, 5.2, 4)}
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


@dataclass
class _DemoClock:
    """Stands in for the wall clock while a ticket is played back."""

    at: datetime

    def __call__(self) -> datetime:
        return self.at


@dataclass
class _Person:
    customer: Customer
    language: str
    first: str
    tier: int
    context: CustomerContext

    @property
    def actor(self) -> Actor:
        return Actor(kind="customer", customer=self.customer)


@dataclass
class _Staff:
    spec: AgentSpec
    agent: Agent
    team_ids: frozenset[uuid.UUID]

    @property
    def actor(self) -> Actor:
        return Actor(kind="agent", agent=self.agent, team_ids=self.team_ids)


@dataclass
class _Plan:
    person: _Person
    script: Script
    outcome: str
    channel: str
    language: str
    priority: str
    opened_at: datetime
    # The ticket's own generator: what happens in it does not depend on the order tickets are
    # played in (which follows their times, and those follow today's clock).
    rng: random.Random
    merge_duplicate: bool = False


@dataclass
class _Action:
    """One thing that happens to a ticket, ``delay`` after the previous one."""

    delay: timedelta
    kind: Literal["customer", "agent", "note", "assign", "tags", "pending", "escalate",
                  "customer_escalate", "resolve", "customer_resolve", "close", "duplicate",
                  "merge"]
    text: str = ""


# ---------------------------------------------------------------- entry point


async def seed_demo(settings: Settings, *, force: bool = False, seed: int = DEFAULT_SEED) -> str:
    """Seed demo data once. If any agent exists and ``force`` is false, nothing changes and the
    answer says so. With ``force``, teams and demo agents are reused and another batch of
    customers' tickets is added. Refused in production: the demo logins share a known password."""
    if settings.env == "production":
        raise KefuError("refusing to seed demo data with a known password in production",
                        code="demo_in_production")
    started = time.perf_counter()
    db = Database(settings.resolved_database_url)
    try:
        async with db.transaction() as session:
            try:
                agents = await session.scalar(select(func.count()).select_from(Agent)) or 0
                tickets = await session.scalar(select(func.count()).select_from(Ticket)) or 0
            except (OperationalError, ProgrammingError) as exc:  # no tables yet
                raise KefuError("the database is not migrated; run `kefu migrate` first",
                                code="not_migrated") from exc
            if agents and not force:
                loaded = await seed_help_center(session)
                return _already_seeded(settings, agents, tickets, loaded)
            # Another batch (force) plays other stories for the same people.
            queued = set(await session.scalars(select(Job.id).where(Job.name == DELIVER_JOB)))
            seeder = _Seeder(session, settings, seed, tickets, clock.now())
            try:
                await seeder.run()
            finally:
                clock.set_clock(None)
            # The stories' replies on email and Telegram tickets were sent long ago: nothing
            # of them is delivered now (add_message queued a delivery for each).
            await session.execute(delete(Job).where(Job.name == DELIVER_JOB,
                                                    Job.id.not_in(queued)))
            await seed_default_macros(session)
            await add_missing_channels(session, None, OFFICIAL_CHANNELS)
            await seed_help_center(session)
        async with db.transaction() as session:
            return await _summary(session, settings, time.perf_counter() - started)
    finally:
        clock.set_clock(None)
        await db.dispose()


def _base_url(settings: Settings) -> str:
    return (settings.public_url or f"http://127.0.0.1:{settings.port}").rstrip("/")


def _logins(settings: Settings) -> list[str]:
    base = _base_url(settings)
    teams = {spec.language: spec.name for spec in TEAMS}
    lines = [f"Agent console: {base}/agent; every demo login's password is {DEMO_PASSWORD} "
             "(development only):"]
    for spec in AGENTS:
        team_names = ", ".join(teams[lang] for lang in spec.teams)
        lines.append(f"  {spec.email:<27} {spec.role:<10} {team_names}")
    lines += [
        f"Customer portal: {base}/portal (as a demo customer: kefu token customer demo-0001)",
        f"Help center:     {base}/help",
        f"API docs:        {base}/docs",
    ]
    return lines


def _already_seeded(settings: Settings, agents: int, tickets: int, loaded: LoadResult) -> str:
    added = (f"Help center: {loaded.articles_added} new articles and "
             f"{loaded.translations_added} new translations loaded from {KB_DIR}."
             if loaded.translations_added else "Help center: up to date.")
    return "\n".join([
        f"Data already exists ({agents} agents, {tickets} tickets); nothing was seeded. "
        "Use `kefu demo --reset` to add another batch of demo tickets.",
        added,
        *_logins(settings),
    ])


async def _summary(session: AsyncSession, settings: Settings, seconds: float) -> str:
    async def count(model: type[Base]) -> int:
        return await session.scalar(select(func.count()).select_from(model)) or 0

    statuses: dict[str, int] = {status: n for status, n in await session.execute(
        select(Ticket.status, func.count()).group_by(Ticket.status))}
    languages = [(language, n) for language, n in await session.execute(
        select(Ticket.language, func.count()).group_by(Ticket.language)
        .order_by(func.count().desc(), Ticket.language))]
    order = ("new", "open", "pending", "escalated", "resolved", "closed")
    return "\n".join([
        f"Demo data seeded in {seconds:.1f} s: {await count(Team)} teams, {await count(Agent)} "
        f"agents, {await count(Customer)} customers, {await count(Ticket)} tickets, "
        f"{await count(Message)} messages.",
        "Tickets by status: " + ", ".join(f"{s} {statuses.get(s, 0)}" for s in order),
        "Tickets by language: " + ", ".join(f"{lang} {n}" for lang, n in languages),
        f"Help center: {await count(Article)} articles in "
        + ", ".join(await session.scalars(select(ArticleTranslation.lang).distinct()
                                          .order_by(ArticleTranslation.lang)))
        + f"; status page: {await count(StatusEntry)} entries.",
        *_logins(settings),
    ])


# ---------------------------------------------------------------- the help center


async def seed_help_center(session: AsyncSession) -> LoadResult:
    """The demo knowledge base (``kefu/demo/kb``, every article in zh-CN and en, published, with
    its version 1) and a few status-page entries, by the first admin. Adds only what is
    missing: a second run changes nothing, and article files added since are picked up.
    Embedding ~140 articles takes a minute or more on two cores, so the search index is built
    by the server, in the background, on the first search (``kefu.kb.finder``)."""
    admin = await session.scalar(select(Agent).where(Agent.role == "admin")
                                 .order_by(Agent.created_at, Agent.email).limit(1))
    if admin is None:
        return LoadResult(categories=0, articles_added=0, translations_added=0)
    publisher = Actor(kind="agent", agent=admin, team_ids=await team_ids_of(session, admin.id))
    loaded = await load_folder(session, publisher, KB_DIR, index=None)
    if not await session.scalar(select(func.count()).select_from(StatusEntry)):
        for entry in _status_entries(clock.now()):
            await status_page.create_entry(session, publisher, entry)
    return loaded


def _status_entries(now: datetime) -> list[kb_schemas.StatusEntryCreate]:
    """A delayed network now, maintenance next week, an incident resolved three days ago."""
    return [
        kb_schemas.StatusEntryCreate(
            kind="network", state="delayed", coin="USDT", network="TRC20",
            direction="withdrawal", starts_at=now - timedelta(hours=2),
            titles={"en": "TRC20 withdrawals delayed", "zh-CN": "TRC20 网络提币延迟"},
            bodies={"en": "USDT withdrawals on TRC20 are taking up to 30 minutes because the "
                          "network is congested. Deposits are not affected; no action needed.",
                    "zh-CN": "TRON 网络拥堵，USDT（TRC20）提币可能延迟最多 30 分钟。充值不受影响，"
                             "无需任何操作。"}),
        kb_schemas.StatusEntryCreate(
            kind="maintenance", state="suspended", starts_at=now + timedelta(days=6),
            ends_at=now + timedelta(days=6, hours=1),
            titles={"en": "Futures trading maintenance (60 minutes)",
                    "zh-CN": "合约交易系统维护（60 分钟）"},
            bodies={"en": "Futures orders cannot be placed or cancelled during the upgrade; "
                          "open positions stay open and funding is settled as usual.",
                    "zh-CN": "升级期间无法下单或撤单；已有仓位不受影响，资金费率照常结算。"}),
        kb_schemas.StatusEntryCreate(
            kind="incident", state="degraded", starts_at=now - timedelta(days=3, hours=2),
            ends_at=now - timedelta(days=3),
            titles={"en": "Solana deposits credited late", "zh-CN": "SOL 充值到账延迟"},
            bodies={"en": "A node upgrade delayed crediting of SOL deposits for two hours. All "
                          "deposits have been credited.",
                    "zh-CN": "节点升级导致 SOL 充值延迟约两小时到账，所有充值均已入账。"}),
    ]


# ---------------------------------------------------------------- the seeder


class _Seeder:
    def __init__(
        self, session: AsyncSession, settings: Settings, seed: int, batch: int, now: datetime
    ) -> None:
        self.session = session
        self.settings = settings
        self.rng = random.Random(seed + batch)
        # People are the same in every batch: their own generator, untouched by the tickets'.
        self.people_rng = random.Random(seed)
        self.now = now
        self.clock = _DemoClock(now)
        self.exchange = DemoExchangeAdapter(clock=lambda: now)
        self.teams: dict[str, Team] = {}
        self.staff: list[_Staff] = []
        self.people: list[_Person] = []

    def at(self, moment: datetime) -> None:
        self.clock.at = moment
        clock.set_clock(self.clock)

    async def run(self) -> None:
        await self.seed_people()
        await self.seed_customers()
        for plan in self.plan_tickets():
            await self.play(plan)

    # ------------------------------------------------------------ agents and teams

    async def seed_people(self) -> None:
        """The admin first (teams are created by someone), then teams, then the other agents.
        With ``force``, existing teams and demo agents are reused as they are."""
        session, rng = self.session, self.rng
        self.at(self.now - timedelta(days=120))
        admin_spec = AGENTS[0]
        admin = await session.scalar(select(Agent).where(Agent.email == admin_spec.email))
        new_admin = admin is None
        if admin is None:
            admin = await self._create_agent(admin_spec, [])
        admin_actor = Actor(kind="agent", agent=admin)
        for team_spec in TEAMS:
            team = await session.scalar(select(Team).where(Team.name == team_spec.name))
            if team is None:
                self.at(self.clock.at + timedelta(minutes=rng.randint(2, 30)))
                team = await create_team(session, admin_actor, name=team_spec.name,
                                         language=team_spec.language,
                                         description=team_spec.description)
            self.teams[team_spec.language] = team
        for spec in AGENTS:
            team_ids = [self.teams[lang].id for lang in spec.teams]
            agent = admin if spec is admin_spec else await session.scalar(
                select(Agent).where(Agent.email == spec.email))
            if spec is admin_spec and new_admin:
                agent = await update_agent(session, admin_actor, admin,
                                           {"team_ids": team_ids, "status": spec.status})
            elif agent is None:
                self.at(self.clock.at + timedelta(days=rng.uniform(0.5, 6)))
                agent = await self._create_agent(spec, team_ids)
                if spec.status != "offline":
                    await update_agent(session, admin_actor, agent, {"status": spec.status})
            else:
                team_ids = list(await team_ids_of(session, agent.id))
            self.staff.append(_Staff(spec, agent, frozenset(team_ids)))

    async def _create_agent(self, spec: AgentSpec, team_ids: list[uuid.UUID]) -> Agent:
        return await create_agent(
            self.session, None, email=spec.email, password=DEMO_PASSWORD,
            display_name=spec.display_name, role=spec.role, languages=list(spec.languages),
            skills=list(spec.skills), capacity=spec.capacity, team_ids=team_ids,
        )

    # ------------------------------------------------------------ customers

    async def seed_customers(self) -> None:
        rng = self.people_rng
        vip_slots = set(rng.sample(range(1, CUSTOMERS + 1), 7))
        languages = list(CUSTOMER_LANGUAGES)
        weights = list(CUSTOMER_LANGUAGES.values())
        moments = sorted(self.now - timedelta(days=rng.uniform(31, 900)) for _ in range(CUSTOMERS))
        for index, moment in enumerate(moments, start=1):
            if index in vip_slots:
                external_id = f"vip{rng.choice((5, 5, 6, 6, 7, 8, 9))}-demo-{index:04d}"
            else:
                external_id = f"demo-{index:04d}"
            context = self.exchange.generate(external_id)
            language = rng.choices(languages, weights)[0]
            display, first, local_part = _person_name(rng, language)
            email = None
            if rng.random() < 0.88:
                suffix = str(rng.randint(1, 99)) if rng.random() < 0.4 else ""
                email = f"{local_part}{suffix}@{rng.choice(content.EMAIL_DOMAINS)}"
            self.at(moment)
            customer = await upsert_customer(self.session, CustomerClaims(
                sub=external_id, issued_at=moment, expires_at=moment + timedelta(minutes=15),
                name=display, email=email, lang=language, vip=context.vip_tier,
            ))
            self.people.append(_Person(customer, language, first, context.vip_tier, context))

    # ------------------------------------------------------------ planning

    def plan_tickets(self) -> list[_Plan]:
        rng = self.rng
        outcomes = [name for name, n in OUTCOMES.items() for _ in range(n)]
        rng.shuffle(outcomes)
        plans: list[_Plan] = []
        told: set[tuple[str, str, str]] = set()  # nobody tells the same story twice
        weights = [1 + p.tier / 3 for p in self.people]  # VIPs trade more, and write more
        for outcome in outcomes:
            for _ in range(10):
                person = rng.choices(self.people, weights)[0]
                language = person.language
                if language not in ("zh", "en") and rng.random() < 0.35:
                    language = "en"  # many customers write in English to be answered faster
                script = self._pick_script(language, escalated=outcome == "escalated")
                story = (person.customer.external_id, language, script.key)
                if story not in told:
                    break
            told.add(story)
            channel = self._pick_channel(language, person.tier, outcome)
            priority = script.priority
            if person.tier >= 5 and priority != "urgent":
                priority = ("low", "normal", "high", "urgent")[
                    ("low", "normal", "high").index(priority) + 1]
            opened = self._opened_at(outcome, language)
            plans.append(_Plan(person, script, outcome, channel, language, priority, opened,
                               random.Random(rng.getrandbits(64))))
        candidates = [p for p in plans if p.outcome in ("open", "pending_customer", "escalated")
                      and p.language in ("zh", "en") and p.channel != "phone"]
        for plan in rng.sample(candidates, MERGED_DUPLICATES):
            plan.merge_duplicate = True
            plan.opened_at = self.now - timedelta(hours=rng.uniform(40, 140))
        plans.sort(key=lambda p: p.opened_at)
        return plans

    def _pick_script(self, language: str, *, escalated: bool) -> Script:
        scripts = content.scripts_for(language)
        if escalated:  # stories that warrant a supervisor (customers also escalate the others)
            scripts = tuple(s for s in scripts if s.escalation) or scripts
        per_topic = Counter(s.topic for s in scripts)
        weights = [TOPIC_WEIGHTS[s.topic] / per_topic[s.topic] for s in scripts]
        return self.rng.choices(scripts, weights)[0]

    def _pick_channel(self, language: str, tier: int, outcome: str) -> str:
        weights = dict(_CHANNELS.get(language, _TICKET_CHANNELS))
        if "phone" in weights:
            if tier >= 5:
                weights["phone"] *= 3  # VIP callbacks
            if outcome == "new":
                del weights["phone"]  # a phone ticket is opened by the agent on the call
        return self.rng.choices(list(weights), list(weights.values()))[0]

    def _opened_at(self, outcome: str, language: str) -> datetime:
        """A past moment, quieter in the customer's local night. Draws from its own generator
        (seeded from the main one) because how many tries it takes depends on today's clock,
        and the main sequence must not."""
        low, high = _AGE_HOURS[outcome]
        tries = random.Random(self.rng.getrandbits(64))
        while True:
            moment = self.now - timedelta(hours=tries.uniform(low, high))
            local_hour = (moment.hour + _UTC_OFFSET.get(language, 0)) % 24
            if 1 <= local_hour <= 7 and tries.random() < 0.65:
                continue
            return moment

    # ------------------------------------------------------------ playing a ticket

    def _staff_for(self, plan: _Plan) -> _Staff:
        team = self.teams.get(plan.language, self.teams["en"])
        skill = TOPIC_SKILLS.get(plan.script.topic)
        members = [s for s in self.staff if team.id in s.team_ids]
        weights = []
        for member in members:
            weight = 3.0 if skill in member.spec.skills else 1.0
            weight *= {"online": 1.5, "away": 1.0, "offline": 0.6}[member.spec.status]
            weight *= 0.25 if member.spec.role != "agent" else 1.0
            weights.append(weight)
        return plan.rng.choices(members, weights)[0]

    def _played(self, plan: _Plan) -> tuple[Step, ...]:
        """How far into its script a ticket with this outcome has got: a new ticket waits for
        its first answer, a pending one stops after the agent's question, and so on."""
        rng, steps = plan.rng, plan.script.steps
        first_agent = next(i for i, s in enumerate(steps) if s.kind == "agent")
        outcome = plan.outcome
        if outcome == "new":
            return steps[:first_agent]
        if outcome == "open":
            later = [i for i, s in enumerate(steps) if s.kind == "customer" and i > first_agent]
            return steps[:(rng.choice(later) if later else first_agent) + 1]
        if outcome == "pending_customer":
            asking = [i for i, s in enumerate(steps[:-1])
                      if s.kind == "agent" and steps[i + 1].kind == "customer"]
            return steps[:(rng.choice(asking) if asking else first_agent) + 1]
        if outcome == "pending_internal":
            notes = [i for i, s in enumerate(steps) if s.kind == "note" and i > first_agent]
            return steps[:(notes[0] if notes else first_agent) + 1]
        if outcome == "escalated":
            end = first_agent
            if end + 1 < len(steps) and steps[end + 1].kind == "customer" and rng.random() < 0.5:
                end += 1
            return steps[:end + 1]
        return steps

    def _actions(self, plan: _Plan) -> list[_Action]:
        """What happens to the ticket after it is opened, each step with its delay."""
        rng, common = plan.rng, COMMON[plan.language]
        fast = plan.channel in ("chat", "phone")

        def wait(kind: str) -> timedelta:
            if kind == "first_response":
                if plan.channel == "phone":
                    return timedelta(seconds=rng.uniform(20, 90))
                minutes = {"chat": (1, 6), "telegram": (3, 45)}.get(plan.channel, (20, 540))
                scale = 0.5 if plan.person.tier >= 5 else 1.0
                return timedelta(minutes=rng.uniform(*minutes) * scale)
            if kind == "agent":
                return timedelta(minutes=rng.uniform(1, 5) if fast else rng.uniform(10, 360))
            if kind == "customer":
                return timedelta(minutes=rng.uniform(1, 4) if fast else rng.uniform(5, 600))
            return timedelta(minutes=rng.uniform(1, 20))

        outcome, played = plan.outcome, self._played(plan)
        actions: list[_Action] = []
        if outcome == "new":
            actions += [_Action(wait("customer"), "customer", s.text) for s in played]
            if rng.random() < 0.35:
                actions.append(_Action(timedelta(minutes=rng.uniform(15, 180)), "customer",
                                       rng.choice(common.nudge)))
            return actions
        # Who picks the ticket up, and when: chat and phone are pushed to an agent at once;
        # email-like channels are pulled from the queue; a neglected ticket gets a duplicate.
        assigned = True
        if plan.merge_duplicate:
            actions += [
                _Action(timedelta(hours=rng.uniform(18, 26)), "duplicate", common.duplicate),
                _Action(timedelta(minutes=rng.uniform(5, 40)), "assign"),
                _Action(timedelta(minutes=rng.uniform(1, 5)), "merge"),
            ]
        elif plan.channel in ("chat", "phone"):
            actions.append(_Action(timedelta(seconds=rng.uniform(5, 60)), "assign"))
        else:
            assigned = False
        answered = False
        for step in played:
            if step.kind == "agent" and not answered:
                answered = True
                delay = wait("first_response")
                if not assigned:
                    actions.append(_Action(delay, "assign"))
                    delay = timedelta(seconds=rng.uniform(20, 180))
                # Agents tag most tickets they pick up, and always the ones they hand on.
                if rng.random() < 0.7 or outcome in ("escalated", "pending_internal"):
                    actions.append(_Action(delay, "tags"))
                    delay = timedelta(seconds=rng.uniform(20, 120))
                actions.append(_Action(delay, "agent", step.text))
            elif step.kind == "agent":
                actions.append(_Action(wait("agent"), "agent", step.text))
            elif step.kind == "customer":
                actions.append(_Action(wait("customer"), "customer", step.text))
            else:
                actions.append(_Action(wait("note"), "note", step.text))

        if outcome == "pending_customer":
            actions.append(_Action(timedelta(seconds=rng.uniform(5, 60)), "pending", "customer"))
        elif outcome == "pending_internal":
            if played[-1].kind != "note":
                actions.append(_Action(wait("note"), "note", common.waiting_note))
            actions.append(_Action(timedelta(seconds=rng.uniform(5, 60)), "pending", "internal"))
        elif outcome == "escalated":
            if rng.random() < 0.25:
                actions.append(_Action(wait("customer"), "customer_escalate",
                                       common.ask_escalation))
            else:
                actions.append(_Action(wait("note"), "escalate",
                                       plan.script.escalation or common.escalation))
        elif outcome in ("resolved", "closed", "reopened"):
            if played[-1].kind == "agent" and rng.random() < 0.4:
                actions.append(_Action(wait("customer"), "customer", rng.choice(common.thanks)))
            if plan.channel == "portal" and rng.random() < 0.5:
                actions.append(_Action(wait("customer"), "customer_resolve"))
            else:
                actions.append(_Action(timedelta(minutes=rng.uniform(1, 90)), "resolve"))
            if outcome == "closed":
                actions.append(_Action(timedelta(days=rng.uniform(3, 7)), "close"))
            elif outcome == "reopened":
                actions.append(_Action(timedelta(hours=rng.uniform(4, 60)), "customer",
                                       common.reopen))
        return actions

    def _schedule(self, plan: _Plan, actions: list[_Action]) -> list[datetime]:
        """Absolute times; squeezed so the last one stays at least a minute in the past."""
        room = (self.now - timedelta(minutes=1) - plan.opened_at).total_seconds()
        total = sum(a.delay.total_seconds() for a in actions)
        scale = min(1.0, room / total) if total > 0 else 1.0
        moments, moment = [], plan.opened_at
        for action in actions:
            moment += timedelta(seconds=action.delay.total_seconds() * scale)
            moments.append(moment)
        return moments

    async def play(self, plan: _Plan) -> None:
        session, settings = self.session, self.settings
        person, common = plan.person, COMMON[plan.language]
        staff = self._staff_for(plan)
        values = self._values(plan, staff)
        actions = self._actions(plan)
        moments = self._schedule(plan, actions)

        self.at(plan.opened_at)
        creator = staff.actor if plan.channel == "phone" else person.actor
        opened = await create_ticket(
            session, creator, customer=person.customer,
            subject=_fill(plan.script.subject, values)[:200],
            body=_fill(plan.script.opening, values), channel=plan.channel,
            language=plan.language, priority=plan.priority,
        )
        ticket = opened.ticket
        values["number"] = ticket.number
        duplicate: Ticket | None = None
        for action, moment in zip(actions, moments, strict=True):
            self.at(moment)
            text = _fill(action.text, values) if action.text else ""
            if action.kind == "customer":
                await reply(session, person.actor, settings, ticket, schemas.ReplyCreate(body=text))
            elif action.kind == "agent":
                await reply(session, staff.actor, settings, ticket, schemas.ReplyCreate(body=text))
            elif action.kind == "note":
                await add_note(session, staff.actor, ticket, schemas.NoteCreate(body=text))
            elif action.kind == "assign":
                await workflow.assign(session, staff.actor, ticket,
                                      schemas.AssignRequest(agent_id=staff.agent.id))
            elif action.kind == "tags":
                await workflow.change_tags(session, staff.actor, ticket,
                                           schemas.TagChange(add=self._tags(plan, values)))
            elif action.kind == "pending":
                await workflow.change_status(session, staff.actor, ticket,
                                             schemas.StatusChange.model_validate(
                                                 {"status": "pending",
                                                  "pending_reason": action.text}))
            elif action.kind == "escalate":
                await workflow.escalate(session, staff.actor, ticket, reason=text)
            elif action.kind == "customer_escalate":
                await reply(session, person.actor, settings, ticket, schemas.ReplyCreate(body=text))
                await workflow.escalate(session, person.actor, ticket, reason=text)
            elif action.kind in ("resolve", "customer_resolve"):
                actor = person.actor if action.kind == "customer_resolve" else staff.actor
                await workflow.change_status(session, actor, ticket,
                                             schemas.StatusChange(status="resolved"))
            elif action.kind == "close":
                await workflow.change_status(session, staff.actor, ticket,
                                             schemas.StatusChange(status="closed"))
            elif action.kind == "duplicate":
                duplicate = (await create_ticket(
                    session, person.actor, customer=person.customer,
                    subject=common.duplicate_subject, body=text,
                    channel=plan.rng.choice(("email", "chat", "portal")),
                    language=plan.language, priority=plan.priority,
                )).ticket
            elif action.kind == "merge":
                assert duplicate is not None
                await workflow.merge(session, staff.actor, duplicate, into_number=ticket.number)

    def _tags(self, plan: _Plan, values: Mapping[str, str]) -> list[str]:
        tags = list(plan.script.tags[:2])
        if plan.person.tier >= 5:
            tags.append("vip")
        elif plan.script.topic in ("deposits", "withdrawals"):
            tags.append(values["coin"].lower())
        return tags

    # ------------------------------------------------------------ placeholder values

    def _values(self, plan: _Plan, staff: _Staff) -> dict[str, str]:
        rng, script, language = plan.rng, plan.script, plan.language
        pick = script.pick
        coin = rng.choice(pick["coin"]) if "coin" in pick else _weighted(rng, _COIN_WEIGHTS)
        networks = _COIN_NETWORKS[coin]
        allowed = [n for n in pick.get("network", ()) if n in networks]
        network = rng.choice(allowed) if allowed else _weighted(rng, networks)
        required = _CONFIRMATIONS[network]
        symbol = _weighted(rng, {name: weight for name, (weight, _, _) in _SYMBOLS.items()})
        _, price, places = _SYMBOLS[symbol]
        side_index = rng.randrange(2)
        move = rng.uniform(0.02, 0.12)
        liq = price * (1 - move if side_index == 0 else 1 + move)
        mark = liq * (0.9997 if side_index == 0 else 1.0003)
        fiat, rate, methods = rng.choice(content.FIAT.get(language, content.FIAT["en"]))
        fiat_amount = _round_fiat(rng.uniform(50, 3_000) * (1 + plan.person.tier / 3) * rate)
        opened = plan.opened_at + timedelta(hours=_UTC_OFFSET.get(language, 0))
        values = {
            "first": plan.person.first,
            "agent": staff.spec.name_in(language),
            "coin": coin,
            "network": network,
            "wrong_network": rng.choice(pick.get("wrong_network", ("BEP20",))),
            "amount": _amount(rng, coin, plan.person.tier),
            "txid": _txid(rng, network),
            "address": _address(rng, network),
            "memo": str(rng.randint(100_000_000, 4_294_967_295)),
            "conf": str(rng.randint(0, required - 1) if required > 1 else 0),
            "req": str(required),
            "fee": _FEES[(coin, network)],
            "order_id": str(rng.randint(10**17, 10**18 - 1)),
            "p2p_order": "2" + str(rng.randint(10**18, 10**19 - 1)),
            "fiat_amount": f"{fiat_amount:,}",
            "fiat": fiat,
            "pay_method": rng.choice(methods),
            "symbol": symbol,
            "side": content.SIDES.get(language, content.SIDES["en"])[side_index],
            "leverage": str(rng.choice((10, 20, 25, 50, 75, 100))),
            "liq_price": f"{liq:,.{places}f}",
            "mark_price": f"{mark:,.{places}f}",
            "loss": f"{rng.uniform(80, 9_000) * (1 + plan.person.tier / 3):,.2f}",
            "hours": str(rng.randint(2, 9)),
            "days": str(rng.randint(2, 5)),
            "date": (opened - timedelta(days=rng.randint(0, 2))).date().isoformat(),
            "time": f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d} UTC",
            "city": rng.choice(content.CITIES.get(language, content.CITIES["en"])),
            "endpoint": rng.choice(content.ENDPOINTS),
            "sdk": rng.choice(content.SDKS),
        }
        deposit = self._matching_deposit(plan)
        if deposit is not None:
            values.update(
                coin=deposit.coin, network=deposit.network, txid=deposit.txid or values["txid"],
                amount=_plain_decimal(deposit.amount), address=deposit.address,
                memo=deposit.memo or values["memo"], req=str(deposit.required_confirmations),
                conf=str(min(deposit.confirmations, max(deposit.required_confirmations - 1, 0))),
                fee=_FEES.get((deposit.coin, deposit.network), values["fee"]),
            )
        return values

    def _matching_deposit(self, plan: _Plan) -> Deposit | None:
        """The customer's own stuck deposit (as the demo exchange reports it), if it fits the
        story: the agent console then finds the very TxID the customer quotes."""
        script = plan.script
        if not script.deposit_statuses:
            return None
        for deposit in plan.person.context.deposits:
            if deposit.status not in script.deposit_statuses or deposit.coin not in _COIN_PRICE:
                continue
            if "coin" in script.pick and deposit.coin not in script.pick["coin"]:
                continue
            if "network" in script.pick and deposit.network not in script.pick["network"]:
                continue
            return deposit
        return None


# ---------------------------------------------------------------- small pure helpers


def _fill(template: str, values: Mapping[str, str]) -> str:
    return template.format_map(values)


def _weighted(rng: random.Random, weights: Mapping[str, int]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


def _plain_decimal(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def _amount(rng: random.Random, coin: str, tier: int) -> str:
    usdt = 10 ** rng.uniform(1.3, 3.4 + min(tier, 6) * 0.3)
    amount = usdt / _COIN_PRICE[coin]
    if coin in ("USDT", "TRX", "XRP"):
        return str(round(amount)) if rng.random() < 0.6 else f"{amount:.2f}"
    if amount >= 100:
        return f"{amount:.1f}"
    if amount >= 1:
        return f"{amount:.3f}".rstrip("0").rstrip(".")
    return f"{amount:.6f}".rstrip("0")


def _round_fiat(value: float) -> int:
    step = 10 ** max(len(str(int(value))) - 2, 0)
    return max(int(round(value / step) * step), 1)


def _txid(rng: random.Random, network: str) -> str:
    if network in ("ERC20", "BEP20", "Arbitrum One", "Polygon"):
        return "0x" + rng.randbytes(32).hex()
    if network == "Solana":
        return "".join(rng.choice(_B58) for _ in range(88))
    if network == "XRP Ledger":
        return rng.randbytes(32).hex().upper()
    return rng.randbytes(32).hex()


def _address(rng: random.Random, network: str) -> str:
    if network in ("ERC20", "BEP20", "Arbitrum One", "Polygon"):
        return "0x" + rng.randbytes(20).hex()
    if network == "TRC20":
        return "T" + "".join(rng.choice(_B58) for _ in range(33))
    if network == "Bitcoin":
        return "bc1q" + "".join(rng.choice("qpzry9x8gf2tvdw0s3jn54khce6mua7l") for _ in range(38))
    if network == "XRP Ledger":
        return "r" + "".join(rng.choice(_B58) for _ in range(33))
    if network == "TON":
        return "UQ" + "".join(rng.choice(_B58 + "-_") for _ in range(46))
    return "".join(rng.choice(_B58) for _ in range(44))


def _ascii(text: str) -> str:
    text = text.replace("ı", "i").replace("đ", "d").replace("Đ", "D").replace("'", "")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if c.isascii() and (c.isalnum() or c in ".-")).lower()


def _person_name(rng: random.Random, language: str) -> tuple[str, str, str]:
    """(display name, first name for greetings, email local part)."""
    if language in ("zh", "ja", "ko"):
        family_pool, given_pool = {
            "zh": (content.ZH_FAMILY, content.ZH_GIVEN),
            "ja": (content.JA_FAMILY, content.JA_GIVEN),
            "ko": (content.KO_FAMILY, content.KO_GIVEN),
        }[language]
        family, family_latin = rng.choice(family_pool).split()
        given, given_latin = rng.choice(given_pool).split()
        display = f"{family} {given}" if language == "ja" else family + given
        style = rng.randrange(3)
        local = (f"{given_latin}.{family_latin}", f"{family_latin}{given_latin}",
                 f"{given_latin}{family_latin[0]}")[style]
        return display, given, local
    if language == "ru":
        given, given_latin, gender = rng.choice(content.RU_GIVEN).split()
        family, family_latin = rng.choice(content.RU_FAMILY).split()
        if gender == "f":
            family, family_latin = family + "а", family_latin + "a"
        return f"{given} {family}", given, f"{given_latin}.{family_latin}"
    if language == "vi":
        family, middle, given = (rng.choice(content.VI_FAMILY), rng.choice(content.VI_MIDDLE),
                                 rng.choice(content.VI_GIVEN))
        return f"{family} {middle} {given}", given, _ascii(f"{given}.{family}")
    given_pool, family_pool = {
        "es": (content.ES_GIVEN, content.ES_FAMILY), "tr": (content.TR_GIVEN, content.TR_FAMILY),
    }.get(language, (content.EN_GIVEN, content.EN_FAMILY))
    given, family = rng.choice(given_pool), rng.choice(family_pool)
    display = f"{given} {family}"
    if language == "es" and rng.random() < 0.5:
        display += f" {rng.choice(content.ES_FAMILY)}"
    return display, given, _ascii(f"{given}.{family}")
