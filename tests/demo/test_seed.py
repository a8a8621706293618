"""``kefu demo``: a month of realistic support traffic, seeded once, through the real services.

Seeding takes seconds, so each database (SQLite, PostgreSQL) is seeded once for this module and
the tests read it; the one test that calls the seeder again checks that it changes nothing."""

from __future__ import annotations

import asyncio
import re
import shutil
import string
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts import security
from kefu.accounts.models import Agent, AuditEntry, Customer, Team
from kefu.config import Settings
from kefu.core import clock
from kefu.core.errors import KefuError
from kefu.db import Base, Database
from kefu.demo import content
from kefu.demo.seed import DEMO_PASSWORD, seed_demo
from kefu.tickets.models import STATUSES, Message, Tag, Ticket, TicketEvent
from tests.servers import PostgresServer

# An agent asking for a secret, in the languages the demo speaks. Agents may say that support
# never *asks for* these; the verbs below are the ones a request (or a phisher) uses.
SECRET_REQUESTS = [
    re.compile(r"\b(send|give|tell|provide|share|type|enter|paste|confirm|reply with|what is|"
               r"what's)\b[^.?!\n]{0,40}\b(password|passcode|seed phrase|recovery phrase|"
               r"mnemonic|private key|secret key|2fa code|authenticator code|verification code|"
               r"sms code|otp)\b", re.IGNORECASE),
    re.compile(r"(提供|发送|发给|发一下|告诉|告知|输入|回复|报一下)[^。！？\n]{0,12}"
               r"(密码|助记词|私钥|验证码|谷歌验证|短信码|secret key)", re.IGNORECASE),
    re.compile(r"(密码|助记词|私钥|验证码)[^。！？\n]{0,6}(发给|告诉|发送|提供)"),
    re.compile(r"(パスワード|認証コード|秘密鍵)[^。\n]{0,10}(教えて|送って|入力して)"),
    re.compile(r"(비밀번호|인증 ?코드|시드)[^.\n]{0,10}(알려|보내)"),
    re.compile(r"(пришлите|сообщите|отправьте|назовите)[^.\n]{0,30}(пароль|код|сид-фраз)",
               re.IGNORECASE),
    re.compile(r"(envía|envíanos|dime|comparte|indícanos)[^.\n]{0,30}(contraseña|código|"
               r"frase semilla)", re.IGNORECASE),
    re.compile(r"(gửi|cung cấp|cho mình)[^.\n]{0,30}(mật khẩu|mã xác thực|cụm từ khôi phục)",
               re.IGNORECASE),
    re.compile(r"(şifre|kod|kurtarma)[^.\n]{0,30}(gönder|paylaş|ilet)", re.IGNORECASE),
]
# Under ``pytest -n auto --dist loadgroup`` the module stays on one worker (tests/conftest.py
# GROUPED_MODULES), which seeds once.

PLACEHOLDERS = {
    "first", "agent", "number", "coin", "network", "wrong_network", "amount", "txid", "address",
    "memo", "conf", "req", "fee", "order_id", "p2p_order", "fiat_amount", "fiat", "pay_method",
    "symbol", "side", "leverage", "liq_price", "mark_price", "loss", "hours", "days", "date",
    "time", "city", "endpoint", "sdk",
}


def asks_for_secret(text: str) -> bool:
    return any(pattern.search(text) for pattern in SECRET_REQUESTS)


async def _pg_execute(url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@dataclass(frozen=True)
class Seeded:
    settings: Settings
    summary: str
    started: datetime


class Seeder:
    """Seeds each backend's database the first time a test asks for it and keeps it for the
    module: with the tests in random order the parametrized fixture below is set up again
    whenever the backend changes, and a seeding takes ~11 s."""

    def __init__(self, postgres: PostgresServer | None, migrated_templates: dict[str, str],
                 tmp_path_factory: pytest.TempPathFactory) -> None:
        self.postgres = postgres
        self.templates = migrated_templates
        self.tmp_path_factory = tmp_path_factory
        self.seeded: dict[str, Seeded] = {}
        self.drops: list[str] = []

    def get(self, backend: str) -> Seeded:
        if backend not in self.seeded:
            self.seeded[backend] = self._seed(backend)
        return self.seeded[backend]

    def _seed(self, backend: str) -> Seeded:
        """One freshly migrated database (as the ``settings`` fixture builds them), seeded."""
        directory = self.tmp_path_factory.mktemp("demo")
        if backend == "sqlite":
            shutil.copyfile(self.templates["sqlite"], directory / "kefu.db")
            url = f"sqlite+aiosqlite:///{directory / 'kefu.db'}"
        else:
            if self.postgres is None:
                pytest.skip("PostgreSQL is not installed (set KEFU_TEST_POSTGRES=required to fail)")
            name = "demo_" + uuid.uuid4().hex[:12]
            asyncio.run(_pg_execute(self.postgres.url,
                                    f"CREATE DATABASE {name} TEMPLATE kefu_template"))
            self.drops.append(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            url = self.postgres.url_for(name)
        settings = Settings(env="test", data_dir=directory / "data", database_url=url,
                            jobs_enabled=False, log_json=True, log_level="WARNING", port=8123)
        started = clock.now()
        try:
            return Seeded(settings, asyncio.run(seed_demo(settings)), started)
        finally:
            clock.set_clock(None)


@pytest.fixture(scope="module")
def seeder(postgres: PostgresServer | None, migrated_templates: dict[str, str],
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeder]:
    made = Seeder(postgres, migrated_templates, tmp_path_factory)
    try:
        yield made
    finally:
        for drop in made.drops:
            if postgres is not None:
                asyncio.run(_pg_execute(postgres.url, drop))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(request: pytest.FixtureRequest, seeder: Seeder) -> Seeded:
    """The backend's demo database, seeded once for the whole module."""
    return seeder.get(request.param)


@pytest.fixture
async def session(seeded: Seeded) -> AsyncIterator[AsyncSession]:
    db = Database(seeded.settings.resolved_database_url)
    try:
        async with db.transaction() as session:
            yield session
    finally:
        await db.dispose()


async def count(session: AsyncSession, model: type[Base]) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_seeds_people_and_tickets(seeded: Seeded, session: AsyncSession) -> None:
    assert await count(session, Agent) == 12
    assert await count(session, Team) == 8
    assert await count(session, Customer) == 200
    assert await count(session, Ticket) == 300
    tickets = list(await session.scalars(select(Ticket)))
    assert {t.status for t in tickets} == set(STATUSES)
    assert {t.pending_reason for t in tickets if t.status == "pending"} == {"customer", "internal"}
    languages = {t.language for t in tickets}
    assert {"zh", "en"} <= languages
    assert len(languages) >= 5
    by_language = {lang: sum(t.language == lang for t in tickets) for lang in languages}
    assert by_language["zh"] >= 90
    assert by_language["en"] >= 90
    assert len({t.channel for t in tickets}) >= 5
    assert {t.priority for t in tickets} == {"low", "normal", "high", "urgent"}
    assert all(t.escalation_reason for t in tickets if t.status == "escalated")
    merged = [t for t in tickets if t.merged_into_id is not None]
    assert len(merged) >= 2
    assert all(t.status == "closed" for t in merged)
    open_ones = [t for t in tickets if t.status not in ("new", "resolved", "closed")]
    assert all(t.assignee_id is not None for t in open_ones if t.merged_into_id is None)
    assert all(t.team_id is not None for t in tickets)
    assert await count(session, Tag) >= 20
    reopened = await session.scalar(select(func.count()).select_from(TicketEvent)
                                    .where(TicketEvent.kind == "reopened"))
    assert reopened is not None
    assert reopened >= 1


async def test_every_ticket_starts_with_the_customer(session: AsyncSession) -> None:
    silent = await session.scalar(select(func.count()).select_from(Ticket).where(
        ~select(Message.id).where(Message.ticket_id == Ticket.id).exists()))
    assert silent == 0
    firsts = await session.scalars(select(Message).where(Message.seq == 1))
    assert {m.author_kind for m in firsts} == {"customer"}
    answered = await session.scalars(select(Ticket).where(Ticket.status.in_(("resolved",
                                                                           "closed"))))
    assert all(t.first_response_at is not None for t in answered if t.merged_into_id is None)


async def test_agents_never_ask_for_secrets(session: AsyncSession) -> None:
    bodies = list(await session.scalars(select(Message.body).where(
        Message.author_kind == "agent")))
    assert len(bodies) >= 300
    offending = [body for body in bodies if asks_for_secret(body)]
    assert offending == []
    # The patterns do catch a request, in English and Chinese.
    assert asks_for_secret("To verify you, please send me your 2FA code.")
    assert asks_for_secret("Could you tell us your seed phrase so we can check the wallet?")
    assert asks_for_secret("请提供您的登录密码以便核实。")
    assert asks_for_secret("把短信验证码发给我")
    assert not asks_for_secret("Our staff will never ask for your password or any codes.")


async def test_timestamps_are_aware_and_spread(seeded: Seeded, session: AsyncSession) -> None:
    tickets = list(await session.scalars(select(Ticket)))
    messages = list(await session.scalars(select(Message).order_by(Message.ticket_id,
                                                                   Message.seq)))
    audit = list(await session.scalars(select(AuditEntry.at)))
    moments = ([t.created_at for t in tickets] + [t.updated_at for t in tickets]
               + [m.created_at for m in messages] + audit)
    assert all(m.tzinfo is not None and m.utcoffset() == timedelta(0) for m in moments)
    assert all(m <= seeded.started + timedelta(minutes=5) for m in moments)
    created = [t.created_at for t in tickets]
    assert min(created) < seeded.started - timedelta(days=20)
    assert max(created) > seeded.started - timedelta(days=1)
    assert len({c.date() for c in created}) >= 20
    opened = {t.id: t.created_at for t in tickets}
    previous: dict[object, datetime] = {}
    for message in messages:  # each conversation moves forward in time
        assert message.created_at >= opened[message.ticket_id]
        assert message.created_at >= previous.get(message.ticket_id, message.created_at)
        previous[message.ticket_id] = message.created_at
    for ticket in tickets:
        if ticket.resolved_at is not None:
            assert ticket.resolved_at >= ticket.created_at
        if ticket.closed_at is not None and ticket.merged_into_id is None:
            assert ticket.resolved_at is None or ticket.closed_at >= ticket.resolved_at


async def test_customers_look_like_an_exchange(session: AsyncSession) -> None:
    customers = list(await session.scalars(select(Customer)))
    assert all(re.fullmatch(r"(demo|vip[5-9]-demo)-\d{4}", c.external_id) for c in customers)
    tiers = [c.vip_tier for c in customers]
    assert sum(t <= 1 for t in tiers) > 120
    assert 3 <= sum(t >= 5 for t in tiers) <= 30
    assert any(2 <= t <= 4 for t in tiers)
    for customer in customers:
        if customer.external_id.startswith("vip"):
            assert customer.vip_tier == int(customer.external_id[3])
    languages = [c.language for c in customers]
    assert languages.count("zh") + languages.count("en") >= 140
    assert all(c.display_name for c in customers)
    assert sum(c.email is not None for c in customers) > 150


async def test_demo_logins(seeded: Seeded, session: AsyncSession) -> None:
    agents = {a.email: a for a in await session.scalars(select(Agent))}
    assert agents["admin@kefu.demo"].role == "admin"
    assert agents["supervisor@kefu.demo"].role == "supervisor"
    assert agents["agent@kefu.demo"].role == "agent"
    assert all(email.endswith("@kefu.demo") for email in agents)
    assert security.verify_password(agents["agent@kefu.demo"].password_hash, DEMO_PASSWORD)
    teams = await session.scalars(select(Team.language).join(Team.agents)
                                  .where(Agent.email == "agent@kefu.demo"))
    assert set(teams) == {"zh", "en"}
    assert {a.status for a in agents.values()} == {"online", "away", "offline"}
    for email in ("admin@kefu.demo", "supervisor@kefu.demo", "agent@kefu.demo", DEMO_PASSWORD):
        assert email in seeded.summary
    for path in ("/agent", "/portal", "/help", "/docs"):
        assert f"http://127.0.0.1:8123{path}" in seeded.summary
    assert "300 tickets" in seeded.summary


async def test_second_run_changes_nothing(seeded: Seeded) -> None:
    async def snapshot() -> list[int]:
        db = Database(seeded.settings.resolved_database_url)
        try:
            async with db.transaction() as session:
                return [await count(session, model) for model in
                        (Agent, Team, Customer, Ticket, Message, TicketEvent, AuditEntry, Tag)]
        finally:
            await db.dispose()

    before = await snapshot()
    answer = await seed_demo(seeded.settings)
    assert await snapshot() == before
    assert "already" in answer
    assert "agent@kefu.demo" in answer
    assert DEMO_PASSWORD in answer
    assert clock.now() > seeded.started  # the wall clock is back


async def test_refuses_production(tmp_path: Path) -> None:
    settings = Settings(env="production", data_dir=tmp_path, secret_key="s" * 40,
                        customer_jwt_secret="j" * 40)
    with pytest.raises(KefuError, match="production"):
        await seed_demo(settings)


async def test_unmigrated_database_is_one_clear_error(tmp_path: Path) -> None:
    settings = Settings(env="test", data_dir=tmp_path)
    with pytest.raises(KefuError, match="kefu migrate"):
        await seed_demo(settings)


def test_scripts_are_complete() -> None:
    by_language = {lang: content.scripts_for(lang) for lang in content.COMMON}
    assert len(by_language["zh"]) >= 30
    assert len(by_language["en"]) >= 30
    assert all(len(scripts) >= 3 for scripts in by_language.values())
    for script in content.SCRIPTS:
        assert script.topic in content.TOPIC_WEIGHTS
        follow_ups = [step for step in script.steps if step.kind != "note"]
        assert 1 <= len(follow_ups) <= 4
        assert any(s.kind == "agent" for s in follow_ups)
        texts = [script.subject, script.opening, script.escalation,
                 *(step.text for step in script.steps)]
        fields = {name for text in texts for _, name, _, _ in string.Formatter().parse(text)
                  if name}
        assert fields <= PLACEHOLDERS, (script.key, script.language, fields - PLACEHOLDERS)
        assert "number" not in {name for _, name, _, _ in
                                string.Formatter().parse(script.opening + script.subject)}
        for step in script.steps:
            if step.kind != "customer":
                assert not asks_for_secret(step.text), (script.key, step.text)
    for lines in content.COMMON.values():
        assert "{number}" in lines.ask_escalation


async def test_default_macros_in_both_languages(session: AsyncSession) -> None:
    from kefu.tickets.models import Macro

    languages = list(await session.scalars(select(Macro.language)))
    assert languages.count("zh") >= 8
    assert languages.count("en") >= 8
