"""The ``kefu`` command. Errors are one line on stderr and exit code 2."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError

from kefu.channels.email_cli import email_app
from kefu.channels.telegram_cli import telegram_app
from kefu.config import Settings
from kefu.web.i18n_cli import i18n_app

app = typer.Typer(help="Kefu (客服): customer service for cryptocurrency exchanges.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
token_app = typer.Typer(help="Issue tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(i18n_app, name="i18n")
app.add_typer(telegram_app, name="telegram")
app.add_typer(email_app, name="email")
T = TypeVar("T")


def fail(message: str) -> NoReturn:
    typer.echo(f"kefu: {message}", err=True)
    raise typer.Exit(2)


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(f"configuration error: {'.'.join(map(str, first['loc']))}: {first['msg']}")


def run(coro: Coroutine[Any, Any, T]) -> T:
    from kefu.core.errors import KefuError

    try:
        return asyncio.run(coro)
    except KefuError as exc:
        fail(exc.message)


@app.command()
def migrate() -> None:
    """Apply database migrations up to the latest."""
    from kefu.migrations.runner import upgrade

    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        upgrade(settings.resolved_database_url)
    except Exception as exc:  # noqa: BLE001 - reported as one line
        fail(f"migration failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    typer.echo("database is at the latest migration")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Default KEFU_HOST or 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="Default KEFU_PORT or 8000")] = None,
) -> None:
    """Serve the web app and API (embedded mode: jobs run in this process)."""
    import uvicorn

    from kefu.app import create_app
    from kefu.core.gc_tuning import tune_for_serving
    from kefu.realtime.transport import UVICORN_WEBSOCKETS

    settings = load_settings()
    tune_for_serving()
    base = f"http://{host or settings.host}:{port or settings.port}"
    typer.echo(f"Kefu is starting on {base}\n  agent console  {base}/agent\n"
               f"  portal         {base}/portal\n  help center    {base}/help\n"
               f"  API docs       {base}/docs", err=True)
    uvicorn.run(
        create_app(settings), host=host or settings.host, port=port or settings.port,
        log_config=None, proxy_headers=False, timeout_graceful_shutdown=20,
        **UVICORN_WEBSOCKETS,
    )


@app.command()
def demo(
    reset: Annotated[bool, typer.Option(help="Seed even if data exists (adds more).")] = False,
) -> None:
    """Seed realistic demo data once: agents, teams, customers, tickets."""
    from kefu.demo.seed import seed_demo

    settings = load_settings()
    summary = run(seed_demo(settings, force=reset))
    typer.echo(summary)


@app.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Argument()],
    name: Annotated[str, typer.Option(help="Display name")] = "Administrator",
    password: Annotated[str | None, typer.Option(
        help="At least 10 characters; prompted for if omitted")] = None,
) -> None:
    """Create an admin agent."""
    from kefu.accounts.service import create_agent
    from kefu.db import Database

    settings = load_settings()
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)

    async def go() -> str:
        db = Database(settings.resolved_database_url)
        try:
            async with db.transaction() as session:
                agent = await create_agent(session, None, email=email, password=password,
                                           display_name=name, role="admin",
                                           languages=["en", "zh"])
                return str(agent.id)
        finally:
            await db.dispose()

    agent_id = run(go())
    typer.echo(f"admin {email} created ({agent_id})")


@token_app.command("customer")
def token_customer(
    external_id: Annotated[str, typer.Argument(help="The exchange's id of the customer")],
    name: Annotated[str | None, typer.Option()] = None,
    email: Annotated[str | None, typer.Option()] = None,
    lang: Annotated[str | None, typer.Option()] = None,
    vip: Annotated[int | None, typer.Option(min=0, max=9)] = None,
    ttl: Annotated[int, typer.Option(help="Lifetime in seconds")] = 900,
) -> None:
    """Print a customer bearer token signed with KEFU_CUSTOMER_JWT_SECRET (last line)."""
    from kefu.accounts.security import issue_customer_jwt
    from kefu.core import clock

    settings = load_settings()
    if not external_id.strip() or len(external_id) > 128:
        fail("external id must be 1-128 characters")
    if not 1 <= ttl <= settings.customer_jwt_max_lifetime_s:
        fail(f"ttl must be between 1 and {settings.customer_jwt_max_lifetime_s} seconds")
    typer.echo(issue_customer_jwt(
        secret=settings.customer_jwt_secret.get_secret_value(), sub=external_id,
        now=clock.now(), lifetime_s=ttl, name=name, email=email, lang=lang, vip=vip))


@token_app.command("agent")
def token_agent(
    email: Annotated[str, typer.Argument()],
    name: Annotated[str, typer.Option(help="What the token is for")] = "cli",
) -> None:
    """Create a personal API token for an agent and print it (last line)."""
    from sqlalchemy import select

    from kefu.accounts.actor import Actor
    from kefu.accounts.models import Agent
    from kefu.accounts.service import create_api_token
    from kefu.db import Database

    settings = load_settings()

    async def go() -> str:
        db = Database(settings.resolved_database_url)
        try:
            async with db.transaction() as session:
                agent = await session.scalar(select(Agent).where(Agent.email == email.lower()))
                if agent is None:
                    fail(f"no agent with email {email}")
                _, raw = await create_api_token(session, Actor(kind="agent", agent=agent),
                                                name=name)
                return raw
        finally:
            await db.dispose()

    typer.echo(run(go()))


@app.command()
def backup(
    output: Annotated[Path, typer.Argument(help="Archive to write (.tar.gz)")],
) -> None:
    """Back up the SQLite database (online, consistent) and the attachments."""
    from kefu.ops.backup import BackupError, create_backup

    settings = load_settings()
    try:
        info = create_backup(settings, output)
    except BackupError as exc:
        fail(str(exc))
    typer.echo(info)


@app.command()
def restore(
    archive: Annotated[Path, typer.Argument(help="Archive made by `kefu backup`")],
    force: Annotated[bool, typer.Option(help="Replace existing data")] = False,
) -> None:
    """Restore a backup into the data dir. Stop the server first."""
    from kefu.ops.backup import BackupError, restore_backup

    settings = load_settings()
    try:
        info = restore_backup(settings, archive, force=force)
    except BackupError as exc:
        fail(str(exc))
    typer.echo(info)


bench_app = typer.Typer(help="Benchmarks against real servers that the command starts.",
                        no_args_is_help=True)
app.add_typer(bench_app, name="bench")


@bench_app.command("chat")
def bench_chat(
    quick: Annotated[bool, typer.Option(help="Embedded only, C=100, short runs")] = False,
    json_only: Annotated[bool, typer.Option("--json", help="Print only the JSON lines")] = False,
    mode: Annotated[str | None, typer.Option(help="embedded, cluster or both")] = None,
    customers: Annotated[str | None, typer.Option(help="Populations, e.g. 100,1000")] = None,
    agents: Annotated[int | None, typer.Option(help="Agents (default C/50, at least 2)")] = None,
    rate: Annotated[str | None, typer.Option(help="Msgs/s per customer, e.g. 1,2,4")] = None,
    agent_rate: Annotated[float | None, typer.Option(help="Msgs/s per agent")] = None,
    spacing: Annotated[str | None, typer.Option(help="poisson or fixed")] = None,
    duration: Annotated[float | None, typer.Option(help="Open-loop window, seconds")] = None,
    closed_duration: Annotated[float | None, typer.Option(
        help="Closed-loop window, seconds")] = None,
    echo: Annotated[bool, typer.Option(help="Also measure the /ws/echo ceiling")] = True,
    compression: Annotated[bool, typer.Option(help="permessage-deflate on the client")] = False,
) -> None:
    """Chat over websockets: latency, msgs/s, RSS, and the ratio to a bare echo."""
    from kefu.bench.chat import build_config, run_chat_bench

    if mode not in (None, "embedded", "cluster", "both"):
        fail("--mode is embedded, cluster or both")
    if spacing not in (None, "poisson", "fixed"):
        fail("--spacing is poisson or fixed")
    try:
        config = build_config(quick=quick, mode=mode, customers=customers, agents=agents,
                              rate=rate, agent_rate=agent_rate, spacing=spacing,
                              duration=duration, closed_duration=closed_duration, echo=echo,
                              compression=compression)
    except ValueError as exc:
        fail(str(exc))
    try:
        run_chat_bench(config, json_only=json_only)
    except RuntimeError as exc:
        fail(str(exc).splitlines()[0][:300])


eval_app = typer.Typer(help="Quality evaluations on labelled files.",
                       no_args_is_help=True)
app.add_typer(eval_app, name="eval")
JsonFlag = Annotated[bool, typer.Option("--json", help="Print only the JSON line")]


def existing_file(path: Path) -> Path:
    if path.is_dir():
        fail(f"a folder, not a file: {path}")
    if not path.is_file():
        fail(f"no such file: {path}")
    return path


@eval_app.command("intents")
def eval_intents(
    train: Annotated[Path, typer.Option(help="CSV with header text,label")],
    test: Annotated[Path, typer.Option(help="CSV with header text,label")],
    oos_label: Annotated[str | None, typer.Option(help="Label that marks out-of-scope")] = None,
    json_only: JsonFlag = False,
) -> None:
    """Train the intent model on TRAIN, score TEST: accuracy, macro-F1, latency."""
    from kefu.assistant.evaluate import evaluate_intents

    try:
        evaluate_intents(existing_file(train), existing_file(test), oos_label=oos_label,
                         json_only=json_only)
    except ValueError as exc:
        fail(str(exc).splitlines()[0][:300])


@eval_app.command("match")
def eval_match(
    dev: Annotated[Path, typer.Option(help="CSV sentence1,sentence2,label to tune on")],
    test: Annotated[Path, typer.Option(help="CSV sentence1,sentence2,label to score")],
    json_only: JsonFlag = False,
) -> None:
    """Question matching: are two customer questions the same question?"""
    from kefu.matching.evaluate import evaluate_matching

    try:
        evaluate_matching(existing_file(dev), existing_file(test), json_only=json_only)
    except ValueError as exc:
        fail(str(exc).splitlines()[0][:300])


@eval_app.command("search")
def eval_search(
    kb: Annotated[Path, typer.Option(help="Folder of articles in the demo Markdown format")],
    queries: Annotated[Path, typer.Option(help="CSV with header query,expected_slug")],
    json_only: JsonFlag = False,
) -> None:
    """Help-center search quality: recall@1, recall@5, MRR for bm25, vector and hybrid."""
    from kefu.search.evaluate import evaluate_search

    if not kb.is_dir():
        fail(f"no such folder: {kb}")
    try:
        evaluate_search(kb, existing_file(queries), json_only=json_only)
    except ValueError as exc:
        fail(str(exc).splitlines()[0][:300])


guard_app = typer.Typer(help="The secret guard and other trust-and-safety checks.",
                        no_args_is_help=True)
app.add_typer(guard_app, name="guard")


@guard_app.command("scan")
def guard_scan(
    jsonl: Annotated[bool, typer.Option("--jsonl", help="JSON lines {\"text\": ...} on stdin")]
    = False,
) -> None:
    """Mask secrets: one JSON line out ({"masked", "findings"}) per line in, in order."""
    from kefu.guard.cli import scan_stream

    if not jsonl:
        fail("only --jsonl input is supported: JSON lines {\"text\": \"...\"} on stdin")
    try:
        scan_stream(sys.stdin, sys.stdout)
    except ValueError as exc:
        fail(str(exc).splitlines()[0][:300])


def require_database_file(settings: Settings) -> None:
    """A SQLite file that is not there is one line (exit 2), and is not created."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        database = Path(url.database)
        if not database.is_file():
            fail(f"no database at {database}: run kefu migrate")


def articles_unreadable(exc: Exception) -> Exception:
    from kefu.core.errors import KefuError

    reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
    return KefuError(f"cannot read the articles from the database ({reason}): is it "
                     "running and migrated (kefu migrate)?", code="database_unavailable")


search_app = typer.Typer(help="The help-center search index.", no_args_is_help=True)
app.add_typer(search_app, name="search")


@search_app.command("reindex")
def search_reindex() -> None:
    """Rebuild the search index from the published articles in the database. A database that
    is missing, unreachable or not migrated is one line on stderr (exit 2); a missing SQLite
    file is not created."""
    from sqlalchemy.exc import DBAPIError

    from kefu.db import Database
    from kefu.kb.indexing import ArticleIndex
    from kefu.kb.service import public_documents

    settings = load_settings()
    require_database_file(settings)

    async def go() -> int:
        db = Database(settings.resolved_database_url)
        try:
            async with db.transaction() as session:
                docs = await public_documents(session)
        except (DBAPIError, OSError) as exc:
            raise articles_unreadable(exc) from exc
        finally:
            await db.dispose()
        await ArticleIndex.for_settings(settings).rebuild(docs)
        return len(docs)

    typer.echo(f"indexed {run(go())} published article translations")


kb_app = typer.Typer(help="The knowledge base's articles.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")


@kb_app.command("rerender")
def kb_rerender(
    every: Annotated[bool, typer.Option(
        "--all", help="Every translation, not only those an older renderer made")] = False,
) -> None:
    """Store again the HTML of the article translations that an older renderer made (the app
    also does this when it starts). Not an edit: no new version, no change of author or date.
    A translation whose Markdown cannot be rendered keeps its HTML and is named on stderr
    (exit 1, the others done); no database or an unmigrated one is one line (exit 2)."""
    from sqlalchemy.exc import DBAPIError

    from kefu.db import Database
    from kefu.kb.rerender import RerenderReport, rerender_translations

    settings = load_settings()
    require_database_file(settings)

    async def go() -> RerenderReport:
        db = Database(settings.resolved_database_url)
        try:
            return await rerender_translations(db, every=every)
        except (DBAPIError, OSError) as exc:
            raise articles_unreadable(exc) from exc
        finally:
            await db.dispose()

    report = run(go())
    typer.echo(f"re-rendered {report.rendered} article translations ({report.changed} changed)")
    for failure in report.failures:
        typer.echo(f"kefu: cannot render {failure.slug} ({failure.lang}): {failure.error}",
                   err=True)
    if report.failures:
        raise typer.Exit(1)


assistant_app = typer.Typer(help="The assistant's models.", no_args_is_help=True)
app.add_typer(assistant_app, name="assistant")


@assistant_app.command("train")
def assistant_train(
    if_needed: Annotated[bool, typer.Option(
        "--if-needed", help="Only when the model is missing or the data changed")] = False,
) -> None:
    """Retrain the intent model from kefu/assistant/data/intents.csv."""
    from kefu.assistant.intents import load_default, train_default

    model_dir = load_settings().data_dir / "models" / "intents"
    if if_needed:
        model = load_default(model_dir)
        typer.echo(f"intent model ready ({len(model.labels)} labels)")
        return
    stats = train_default(model_dir)
    typer.echo(" ".join(f"{k}={v}" for k, v in stats.items()))


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
