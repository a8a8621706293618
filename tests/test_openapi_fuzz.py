"""Fuzz every operation of our own OpenAPI document with schemathesis: no input, from any of
five callers, may produce a 5xx; every 4xx is our ``{"error": {"code", "message"}}`` envelope;
every 2xx matches what the document declares (schema and content type).

How it is wired, and why:

- Schemathesis generates the cases and judges the responses (``Case.validate_response`` with
  ``response_schema_conformance`` and ``content_type_conformance``). The requests go through
  the ``client`` fixture (httpx on the test's event loop), not ``Case.call``: schemathesis'
  ASGI transport, like ``schemathesis.openapi.from_asgi``, runs the application on a thread of
  its own and starts a second lifespan there, whose database engine would serve requests from
  the wrong event loop. So the document is loaded with ``from_dict(app.openapi())``.
- Cases per operation: ``POSITIVE`` valid ones (half of them, where the path has a parameter,
  aimed at a real object: customer A's ticket, a file, a webhook endpoint, a spare agent and
  its token, a team; the rest can only ever be 404s), ``NEGATIVE`` invalid ones, and
  "hostile" copies of the smallest valid case with one query parameter or body field at a time
  set to a string holding NUL or to 2**63 (valid for the schema, not for a database). All are
  sent by each of the five roles. The coverage phase's deterministic cases (boundaries, wrong
  types, unexpected methods, malformed content types) are sent by the admin, the one caller
  that gets past authorization everywhere.
- Reproducible: cases are drawn once per operation (``derandomize=True``, no example database,
  no literals harvested from whatever modules happen to be imported) and replayed in order.
- One fresh database and world per operation, so what the fuzzer does to one operation (a
  merge, a closed ticket, a deleted endpoint) cannot hide failures of another.
- Both databases: PostgreSQL refuses what SQLite stores (NUL in text, over-long values), so
  most 5xx the fuzzer has found were PostgreSQL-only. Both together take about 80 s on two
  cores; ``-k sqlite`` halves that.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from unittest import mock

import httpx
import pytest
import requests
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from hypothesis.internal.conjecture import providers as hypothesis_providers
from hypothesis.internal.constants_ast import Constants
from schemathesis import Case, GenerationMode
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)
from sqlalchemy import select

from kefu.accounts.actor import Actor
from kefu.accounts.models import Customer
from kefu.accounts.service import create_api_token, create_team
from kefu.app import create_app
from kefu.config import Settings
from kefu.kb import schemas as kb_schemas
from kefu.kb import service as kb
from kefu.kb import status as kb_status
from kefu.kb.indexing import ArticleIndex
from kefu.kb.models import Deflection
from kefu.tickets import schemas as ticket_schemas
from kefu.tickets.attachments import AttachmentStore
from kefu.tickets.creation import create_ticket
from kefu.tickets.models import Macro, Notification
from kefu.tickets.notes import add_note
from kefu.tickets.uploads import upload_attachment
from kefu.webhooks.schemas import WebhookEndpointCreate
from kefu.webhooks.service import create_endpoint
from tests.factories import make_agent, make_world
from tests.kb.support import use_fast_search

ROLES = ("anonymous", "customer_a", "agent", "supervisor", "admin")
COVERAGE_ROLES = ("admin",)
POSITIVE = 10
NEGATIVE = 6
CHECKS_2XX = [response_schema_conformance, content_type_conformance]
SEEDED = "seeded-object"  # stands for a real object's id until the request is sent
HOSTILE_STRING = "nul\x00byte"
HOSTILE_INTEGER = 2**63  # one past BIGINT
BASE_URL = "http://kefu.test"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c63f8cfc0f01f0005000201e221bc330000000049454e44ae426082"
)


# ---------------------------------------------------------------- the cases


@functools.cache
def openapi_schema() -> Any:
    # An explicit empty config: a schemathesis.toml found on disk must not change the cases.
    return schemathesis.openapi.from_dict(create_app(Settings(env="test")).openapi(),
                                          config=schemathesis.Config.from_dict({}))


def operations() -> list[Any]:
    return [result.ok() for result in openapi_schema().get_all_operations()]


def operation_id(operation: Any) -> str:
    return f"{operation.method.upper()} {operation.path}"


def draw(strategy: Any, count: int) -> list[Case]:
    """``count`` cases from ``strategy``, the same ones on every run.

    Hypothesis also mixes in literals from every local module imported so far; which modules
    those are depends on the tests that ran before, so that pool is empty while drawing."""
    drawn: list[Case] = []

    @settings(max_examples=count, derandomize=True, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(case: Case) -> None:
        drawn.append(case)

    with mock.patch.object(hypothesis_providers, "_get_local_constants", Constants):
        try:
            collect()
        except Unsatisfiable:
            # Negative mode on an operation with nothing to get wrong (no parameters, no body).
            return []
    return drawn[:count]


@dataclass(frozen=True)
class Cases:
    fuzzed: tuple[Case, ...]  # sent by every role
    coverage: tuple[Case, ...]  # sent by COVERAGE_ROLES


@functools.cache
def cases_for(key: str) -> Cases:
    operation = next(op for op in operations() if operation_id(op) == key)
    names = [p.name for p in operation.path_parameters]
    positive = []
    if names:
        seeded = dict.fromkeys(names, SEEDED)
        positive += draw(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=seeded),
                         POSITIVE // 2)
        positive += draw(operation.as_strategy(GenerationMode.POSITIVE), POSITIVE - POSITIVE // 2)
    else:
        positive += draw(operation.as_strategy(GenerationMode.POSITIVE), POSITIVE)
    negative = draw(operation.as_strategy(GenerationMode.NEGATIVE), NEGATIVE)
    schema = openapi_schema()
    coverage = schema.iter_coverage_cases(
        operation, generation_modes=list(GenerationMode),
        generation_config=schema.config.generation_for(operation=operation))
    return Cases((*positive, *hostile_variants(operation, positive), *negative), tuple(coverage))


def hostile_variants(operation: Any, positive: list[Case]) -> list[Case]:
    """Copies of the smallest valid case (the one aimed at a real object, if any), each with one
    query parameter or top-level body field made hostile: every string slot gets a string
    holding NUL, every integer slot 2**63 too. Valid for the schema, not for a database."""
    def size(case: Case) -> int:
        return len(case.query) + (len(case.body) if isinstance(case.body, dict) else 0)

    if not positive:
        return []
    aimed = [c for c in positive if SEEDED in c.path_parameters.values()]
    base = min(aimed or positive, key=size)
    examples: dict[tuple[str, str], Any] = {("query", p.name): None for p in operation.query}
    for case in positive:
        body = case.body if isinstance(case.body, dict) else {}
        for location, values in (("query", case.query), ("body", body)):
            for name, value in values.items():
                if examples.get((location, name)) is None:
                    examples[(location, name)] = value
    variants = []
    for (location, name), example in examples.items():
        hostile = [[HOSTILE_STRING]] if isinstance(example, list) else [HOSTILE_STRING]
        if isinstance(example, int) and not isinstance(example, bool):
            hostile.append(HOSTILE_INTEGER)
        for value in hostile:
            if location == "query":
                variants.append(base.derive(query={**base.query, name: value}))
            else:
                variant = base.derive()
                variant.body = {**(base.body if isinstance(base.body, dict) else {}),
                                name: value}
                variants.append(variant)
    return variants


def hostile_field(case: Case) -> str:
    """`` with body.name=NUL``-style label of a hostile variant's field, else ``""``."""
    body = case.body if isinstance(case.body, dict) else {}
    for location, values in (("query", case.query), ("body", body)):
        for name, value in values.items():
            if value in (HOSTILE_STRING, [HOSTILE_STRING]):
                return f" with {location}.{name} holding NUL"
            if value == HOSTILE_INTEGER and not isinstance(value, bool):
                return f" with {location}.{name}=2**63"
    return ""


# ---------------------------------------------------------------- the seeded world


@dataclass(frozen=True)
class Seeded:
    headers: dict[str, dict[str, str]]
    path_values: dict[str, str]


async def seed(app: FastAPI, client: httpx.AsyncClient) -> Seeded:
    world = await make_world(app)
    settings = app.state.settings
    spare = await make_agent(app, "spare@kefu.test", teams=[world.en_team])
    me = await client.get("/api/v1/auth/me", headers=world.headers["customer_a"])
    assert me.status_code == 200, me.text
    agent = Actor(kind="agent", agent=world.agent, team_ids=frozenset({world.en_team.id}))
    async with app.state.db.transaction() as session:
        customer = await session.scalar(select(Customer).where(Customer.external_id == "cust-a"))
        assert customer is not None
        opened = await create_ticket(
            session, Actor(kind="customer", customer=customer), customer=customer,
            subject="Deposit missing", body="USDT on TRC20, 3 hours ago.", channel="portal")
        ticket = opened.ticket

        async def chunks() -> AsyncIterator[bytes]:
            yield PNG

        attachment = await upload_attachment(
            session, agent, AttachmentStore(settings), ticket, filename="proof.png",
            chunks=chunks())
        await add_note(session, agent, ticket, ticket_schemas.NoteCreate(
            body="Checked the node.", attachment_ids=[attachment.id]))
        endpoint = await create_endpoint(session, data=WebhookEndpointCreate(
            url="https://hooks.example.com/kefu",  # type: ignore[arg-type]
            events=["ticket.created", "ticket.updated", "message.created"]))
        team = await create_team(session, None, name="Fuzz", language="fr")  # type: ignore[arg-type]
        token, _ = await create_api_token(session, Actor(kind="agent", agent=spare), name="fuzz")
        notification = Notification(agent_id=world.agent.id, kind="mention",
                                    ticket_id=ticket.id, data={"ticket": ticket.number})
        macro = Macro(title="Fuzz macro", body="Hi {customer.name}", language="en")
        session.add_all([notification, macro])
        await session.flush()
        admin = Actor(kind="agent", agent=world.admin)
        index = ArticleIndex.for_settings(settings)
        await kb.put_category(session, admin, slug="fuzz", data=kb_schemas.CategoryWrite(
            names={"en": "Fuzz"}), index=index)
        article = await kb.create_article(session, admin, kb_schemas.ArticleCreate(
            slug="fuzz-article", category="fuzz", lang="en", title="Withdrawal pending",
            body_md="Withdrawals wait for a review."), index=index)
        await kb.save_translation(session, admin, article, "zh-CN", kb_schemas.TranslationWrite(
            title="提币处理中", body_md="提币需要审核。"), index=index)
        await kb.publish(session, admin, article, lang="en", index=index)
        entry = await kb_status.create_entry(session, admin, kb_schemas.StatusEntryCreate(
            kind="incident", state="degraded", titles={"en": "Login issues"}))
        session.add(Deflection(key="fuzz-deflection-key-01", channel="widget", lang="en",
                               shown_slugs=["fuzz-article"]))
        path_values = {"slug": "fuzz-article", "lang": "zh-CN", "version": "1",
                       "entry_id": str(entry.id), "key": "fuzz-deflection-key-01",
                       "number": ticket.number, "attachment_id": str(attachment.id),
                       "endpoint_id": str(endpoint.id), "agent_id": str(spare.id),
                       "team_id": str(team.id), "token_id": str(token.id),
                       "customer_id": str(customer.id), "notification_id": str(notification.id),
                       "macro_id": str(macro.id)}
    return Seeded({role: world.headers[role] for role in ROLES}, path_values)


@pytest.fixture(autouse=True)
def fast_search(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fast_search(monkeypatch)


# ---------------------------------------------------------------- sending and judging


def prepared(case: Case, seeded: Seeded, role: str) -> requests.PreparedRequest:
    """The request exactly as schemathesis would send it (its ``requests`` serialization), with
    the role's credentials and the seeded ids filled in."""
    case = case.derive()  # the cached case keeps its placeholders
    for name, value in list(case.path_parameters.items()):
        if value == SEEDED:
            case.path_parameters[name] = seeded.path_values[name]
    kwargs = case.as_transport_kwargs(base_url=BASE_URL, headers=seeded.headers[role])
    kwargs.pop("cookies", None)
    return requests.Request(**kwargs).prepare()


def envelope_problem(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return "is not JSON"
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("code"), str) \
            or not isinstance(error.get("message"), str):
        return "is not {'error': {'code': str, 'message': str}}"
    return None


@dataclass
class Findings:
    """Problems grouped by what went wrong, each with the roles that hit it and one example."""

    groups: dict[str, tuple[set[str], str]]

    def add(self, what: str, role: str, request: requests.PreparedRequest,
            response: httpx.Response) -> None:
        roles, example = self.groups.setdefault(what, (set(), ""))
        if not example:
            body = request.body if isinstance(request.body, bytes) else \
                (request.body or "").encode()
            example = (f"{request.method} {request.url} body={body[:300]!r}\n"
                       f"      -> {response.status_code} {response.text[:300]!r}")
            self.groups[what] = (roles, example)
        roles.add(role)

    def report(self) -> str:
        return "\n".join(f"- {what} [{', '.join(r for r in ROLES if r in roles)}]\n"
                         f"    e.g. {example}"
                         for what, (roles, example) in self.groups.items())


async def check(client: httpx.AsyncClient, case: Case, seeded: Seeded, role: str,
                findings: Findings) -> None:
    request = prepared(case, seeded, role)
    headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
    response = await client.request(request.method or "GET", request.url or "",
                                    headers=headers, content=request.body)
    client.cookies.clear()  # each request carries only its role's credentials
    status = response.status_code
    if status >= 500:
        findings.add(f"{status} from {case.method} {case.path}{hostile_field(case)}", role,
                     request, response)
    elif status >= 400:
        if (problem := envelope_problem(response)) is not None:
            findings.add(f"{status} body {problem}", role, request, response)
    else:
        try:
            case.validate_response(response, checks=CHECKS_2XX)
        except FailureGroup as group:
            for failure in group.exceptions:
                message = " ".join(failure.message.split())
                findings.add(f"{status} does not match the document: {failure.title}: "
                             f"{message[:200]}", role, request, response)


@pytest.mark.parametrize("key", [operation_id(op) for op in operations()])
async def test_operation_never_fails(app: FastAPI, client: httpx.AsyncClient, key: str) -> None:
    seeded = await seed(app, client)
    cases = cases_for(key)
    findings = Findings({})
    for case in cases.fuzzed:
        for role in ROLES:
            await check(client, case, seeded, role, findings)
    for case in cases.coverage:
        for role in COVERAGE_ROLES:
            await check(client, case, seeded, role, findings)
    if findings.groups:
        pytest.fail(f"{key}:\n{findings.report()}", pytrace=False)


def test_every_operation_is_fuzzed() -> None:
    """The parametrization comes from the live document; guard against it going empty."""
    paths = create_app(Settings(env="test")).openapi()["paths"]
    assert len(operations()) == sum(len(ops) for ops in paths.values())
    assert all(cases_for(operation_id(op)).fuzzed for op in operations())
