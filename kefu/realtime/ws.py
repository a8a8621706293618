"""WebSocket endpoints: ``/ws/chat`` (customers and visitors) and ``/ws/agent`` (agents).

One connection: ``hello`` (credentials, version) → ``welcome``; then frames until either side
closes. Every ``send`` is persisted through the group-commit writer and acknowledged only after
the commit. Bad frames get an ``error`` frame and the connection carries on; only a bad hello,
an expired token, a cross-origin cookie connection or a flood closes it. See
docs/realtime-protocol.md."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any, Literal

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts import security
from kefu.accounts import service as accounts
from kefu.accounts.actor import Actor
from kefu.accounts.deps import PORTAL_COOKIE, SESSION_COOKIE
from kefu.accounts.models import Agent, Customer
from kefu.assistant import service as assistant
from kefu.config import Settings
from kefu.core import clock
from kefu.core.errors import KefuError, NotFound
from kefu.core.ids import normalize_ticket_number
from kefu.core.logging import get_logger
from kefu.db import Database
from kefu.guard.outbound import check_outbound
from kefu.realtime import protocol as p
from kefu.realtime.analysis import ChatAnalyzer
from kefu.realtime.events import AGENTS, INBOX, agent_topic, publish_now, ticket_topic
from kefu.realtime.hub import SIGNED_OUT, Connection, Hub, TokenBucket
from kefu.realtime.presence import mark_seen, restore_status
from kefu.realtime.protocol import Close
from kefu.realtime.queue import QueueWatcher
from kefu.realtime.writer import MessageWriter
from kefu.tickets import reads, replies
from kefu.tickets import schemas as ticket_schemas
from kefu.tickets import service as tickets
from kefu.tickets.chat import Appended, ChatSend
from kefu.tickets.creation import open_for_actor
from kefu.tickets.guarding import OutboundBlocked, allowed_link_domains
from kefu.tickets.listing import latest_chat
from kefu.tickets.messages import customer_name, message_events_after
from kefu.tickets.models import Message, Ticket
from kefu.tickets.notes import NotNotified, add_note
from kefu.trust.antiphishing import anti_phishing_code
from kefu.trust.compliance import tipoff_check
from kefu.trust.errors import TooManyRequests

log = get_logger("kefu.realtime.ws")
CREDENTIALS_RECHECK_S = 30.0
router = APIRouter()
Side = Literal["customer", "agent"]


def _ref_of(text: str | None) -> str | None:
    """The ``client_msg_id`` of a refused frame, for the error's ``ref`` (so the client knows
    which send to try again); parsed only when the frame names one."""
    if not text or '"client_msg_id"' not in text or len(text) > p.MAX_FRAME_BYTES:
        return None
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return _ref(raw)


def _ref(raw: object) -> str | None:
    """A frame's ``client_msg_id`` when it could be one (a string of at most 64 characters)."""
    ref = raw.get("client_msg_id") if isinstance(raw, dict) else None
    return ref if isinstance(ref, str) and len(ref) <= 64 else None


class Refused(Exception):
    def __init__(self, code: int, error: str, message: str) -> None:
        super().__init__(message)
        self.close_code, self.error, self.message = code, error, message


@router.websocket("/ws/chat")
async def chat_socket(websocket: WebSocket) -> None:
    await Session(websocket, "customer").run()


@router.websocket("/ws/agent")
async def agent_socket(websocket: WebSocket) -> None:
    await Session(websocket, "agent").run()


class Session:
    """One websocket connection, from hello to close."""

    def __init__(self, websocket: WebSocket, side: Side) -> None:
        self.ws = websocket
        self.side = side
        state = websocket.app.state
        self.settings: Settings = state.settings
        self.db: Database = state.db
        self.hub: Hub = state.hub
        self.writer: MessageWriter = state.writer
        self.queue: QueueWatcher = state.queue_watcher
        self.analyzer: ChatAnalyzer = state.analyzer
        self.conn: Connection | None = None
        self.frames = TokenBucket(*p.CONNECTION_RATE)
        self.typing = TokenBucket(*p.TYPING_RATE)
        self.expiry: asyncio.TimerHandle | None = None
        self.language: str | None = None

    # ------------------------------------------------------------ lifecycle

    async def run(self) -> None:
        await self.ws.accept()
        try:
            actor = await self._hello()
        except Refused as refusal:
            await self._refuse(refusal)
            return
        except (WebSocketDisconnect, RuntimeError):
            return
        if actor.agent is not None:  # stamped before a presence beat could take them offline
            await mark_seen(self.db, {actor.agent.id})
        conn = Connection(self.ws, actor, self.hub, self._fetch)
        self.conn = conn
        self.hub.register(conn)
        conn.start()
        if actor.agent is not None:
            for topic in (INBOX, AGENTS, agent_topic(actor.agent.id)):
                self.hub.attach(topic, conn)
            # Set offline by presence while away: given back (after the attach, so this
            # console hears it too; before the welcome, which says the status)
            await restore_status(self.db, actor.agent)
        you = _you(actor)
        if actor.customer is not None and not actor.customer.is_visitor:
            async with self.db.read() as session:
                conn.anti_phishing_code = await anti_phishing_code(session, actor.customer.id)
            you["anti_phishing_code"] = conn.anti_phishing_code
        conn.push({"type": "welcome", "v": p.VERSION, "conn": conn.id, "you": you,
                   "limits": {"max_frame_bytes": p.MAX_FRAME_BYTES,
                              "max_body_chars": p.MAX_BODY_CHARS,
                              "frames_per_s": int(p.CONNECTION_RATE[0]),
                              "frames_burst": int(p.CONNECTION_RATE[1]),
                              "sends_per_person_s": int(p.CUSTOMER_RATE[0]),
                              "sends_per_person_burst": int(p.CUSTOMER_RATE[1]),
                              "chars_per_send": p.CHARS_PER_SEND,
                              # the first names of frames_per_s and frames_burst
                              "messages_per_s": int(p.CONNECTION_RATE[0]),
                              "burst": int(p.CONNECTION_RATE[1])}})
        recheck = (asyncio.get_running_loop().create_task(self._recheck_credentials(conn))
                   if actor.agent is not None else None)
        try:
            await self._receive_loop(conn)
        finally:
            if self.expiry is not None:
                self.expiry.cancel()
            if recheck is not None:
                recheck.cancel()
            if actor.agent is not None:
                for follow in list(conn.follows.values()):
                    self.hub.announce_viewing(conn, follow.number, follow.ticket_id, state=False)
            self.queue.forget(conn)
            await conn.finish()

    async def _recheck_credentials(self, conn: Connection) -> None:
        """Signing out and revoking a token close the agent's sockets at once (a
        ``signed_out`` event); this catches what no event announces: a session that expired, an
        agent deactivated."""
        while not conn.closed:
            await asyncio.sleep(CREDENTIALS_RECHECK_S)
            try:
                async with self.db.read() as session:
                    valid = await accounts.credentials_in_force(session, conn.actor)
            except Exception:  # noqa: BLE001 - the database is away: try again later
                log.warning("credentials_recheck_failed", conn=conn.id)
                continue
            if not valid:
                conn.close_when_sent(Close.UNAUTHORIZED, "signed out", SIGNED_OUT)
                return

    async def _refuse(self, refusal: Refused) -> None:
        with contextlib.suppress(Exception):
            await self.ws.send_text(json.dumps({"type": "error", "code": refusal.error,
                                                "message": refusal.message, "fatal": True}))
            await self.ws.close(refusal.close_code, refusal.error)

    async def _receive_loop(self, conn: Connection) -> None:
        while not conn.closed and not conn.closing:
            try:
                message = await self.ws.receive()
            except (WebSocketDisconnect, RuntimeError):
                return
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if not self.frames.take():  # every frame counts, binary and oversized ones too
                await self._flooding(self.frames.retry_after(), _ref_of(text))
                continue
            if text is None:
                self._error("binary_not_supported", "send JSON text frames")
                continue
            if len(text.encode()) > p.MAX_FRAME_BYTES:
                self._error("frame_too_large", f"frames are limited to {p.MAX_FRAME_BYTES} bytes")
                continue
            strikes = conn.strikes
            await self._handle_text(conn, text)
            if conn.strikes == strikes:  # accepted (a refusal by the per-person limit is not)
                conn.strikes = 0

    async def _handle_text(self, conn: Connection, text: str) -> None:
        try:
            # orjson also refuses what could not be sent back (a lone surrogate in a string, a
            # number beyond a double), where the standard library's parser took it in
            raw = orjson.loads(text)
        except orjson.JSONDecodeError:  # arrays nested thousands deep too
            self._error("malformed_json", "the frame is not valid JSON")
            return
        if not isinstance(raw, dict):
            self._error("invalid_frame", "a frame is a JSON object")
            return
        ref = _ref(raw)
        if raw.get("type") not in p.FRAME_TYPES:
            self._error("unknown_type", f"unknown frame type {str(raw.get('type'))[:40]!r}", ref)
            return
        try:
            frame = p.FRAME.validate_python(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"][1:]) or "frame"
            self._error("invalid_frame", f"{where}: {first['msg']}", ref)
            return
        try:
            await self._dispatch(conn, frame)
        except TooManyRequests as exc:  # a cool-down: when the customer may write again
            self._error(exc.code, exc.message, ref, retry_after_s=exc.retry_after_s)
        except OutboundBlocked as exc:  # the reasons in the console's language
            self._error(exc.code, exc.message_in(self.language), ref)
        except KefuError as exc:
            self._error(exc.code, exc.message, ref)
        except Exception:  # noqa: BLE001 - a bug in one frame must not end the connection
            log.exception("frame_failed", type=raw.get("type"))
            self._error("internal_error", "the frame could not be processed", ref)

    async def _flooding(self, retry_after_s: float, ref: str | None = None) -> None:
        assert self.conn is not None
        self.conn.strikes += 1
        if self.conn.strikes > p.MAX_REFUSED_IN_A_ROW:
            self.conn.close_when_sent(Close.RATE_LIMITED, "rate limit exceeded", {
                "type": "error", "code": "rate_limited", "fatal": True,
                "message": "kept sending after rate_limited errors; closing",
                "retry_after_s": retry_after_s})
            return
        frame: dict[str, Any] = {"type": "error", "code": "rate_limited",
                                 "message": "too many frames; slow down",
                                 "retry_after_s": retry_after_s}
        if ref:
            frame["ref"] = ref  # which message was refused: the client sends it again later
        self.conn.push(frame)

    def _error(self, code: str, message: str, ref: str | None = None,
               retry_after_s: int | None = None) -> None:
        assert self.conn is not None
        frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
        if ref:
            frame["ref"] = ref
        if retry_after_s is not None:
            frame["retry_after_s"] = retry_after_s
        self.conn.push(frame)

    # ------------------------------------------------------------ hello

    async def _hello(self) -> Actor:
        try:
            text = await asyncio.wait_for(self.ws.receive_text(), timeout=p.HELLO_TIMEOUT_S)
        except TimeoutError as exc:
            raise Refused(Close.UNAUTHORIZED, "hello_timeout", "send hello first") from exc
        except KeyError as exc:  # a binary frame
            raise Refused(Close.BAD_REQUEST, "invalid_hello", "hello must be text") from exc
        try:
            hello = p.Hello.model_validate_json(text)
        except ValidationError as exc:
            raise Refused(Close.BAD_REQUEST, "invalid_hello",
                          "the first frame must be a valid hello") from exc
        if hello.v != p.VERSION:
            raise Refused(Close.UNSUPPORTED_VERSION, "unsupported_version",
                          f"this server speaks version {p.VERSION}")
        self.language = hello.language.split("-")[0].lower() if hello.language else None
        try:
            if self.side == "agent":
                return await self._agent_identity(hello)
            return await self._customer_identity(hello)
        except KefuError as exc:
            raise Refused(Close.UNAUTHORIZED, exc.code, exc.message) from exc

    def _same_origin(self) -> bool:
        """Cookie-authenticated sockets must come from our own pages (no cross-site hijack)."""
        origin = self.ws.headers.get("origin")
        host = self.ws.headers.get("host")
        if origin is None or host is None:
            return False
        return origin.split("://", 1)[-1].rstrip("/") == host

    async def _agent_identity(self, hello: p.Hello) -> Actor:
        async with self.db.transaction() as session:
            token_id = None
            if hello.token:
                found = await accounts.resolve_api_token_row(session, hello.token)
                if found is None:
                    raise KefuError("API token is not valid", code="invalid_token", status=401)
                session_id, token_id, agent = None, found[0].id, found[1]
            else:
                raw = self.ws.cookies.get(SESSION_COOKIE)
                resolved = await accounts.resolve_session(session, raw) if raw else None
                if resolved is None or not resolved[0].mfa_passed:
                    raise KefuError("sign in first", code="unauthorized", status=401)
                if not self._same_origin():
                    raise Refused(Close.FORBIDDEN, "cross_origin",
                                  "cookie connections must come from this site")
                session_id, agent = resolved[0].id, resolved[1]
            policy = await accounts.get_policy(session, self.settings)
            if policy["require_agent_2fa"] and not agent.totp_enabled:
                raise KefuError("set up two-factor authentication first",
                                code="2fa_enrollment_required", status=403)
            return Actor(kind="agent", agent=agent, via="token" if hello.token else "session",
                         session_id=session_id, token_id=token_id,
                         team_ids=await accounts.team_ids_of(session, agent.id))

    async def _customer_identity(self, hello: p.Hello) -> Actor:
        secret_key = self.settings.secret_key.get_secret_value()
        if hello.token:
            claims = self._claims(hello.token)
            customer = await self._customer_of(claims)
            self._expire_at(claims.expires_at.timestamp())
            return Actor(kind="customer", customer=customer, via="jwt")
        async with self.db.read() as session:
            if hello.visitor:
                visitor_id = accounts.parse_visitor_token(secret_key, hello.visitor)
                if visitor_id is None:
                    raise KefuError("visitor token is not valid", code="invalid_token",
                                    status=401)
                return Actor(kind="visitor", visitor_id=visitor_id, via="visitor",
                             customer=await accounts.visitor_customer(session, visitor_id))
            raw = self.ws.cookies.get(PORTAL_COOKIE)
            customer_id = accounts.parse_portal_cookie(secret_key, raw) if raw else None
            portal_customer = await session.get(Customer, customer_id) if customer_id else None
            if portal_customer is None:
                raise KefuError("send a customer token or a visitor token",
                                code="unauthorized", status=401)
            if not self._same_origin():
                raise Refused(Close.FORBIDDEN, "cross_origin",
                              "cookie connections must come from this site")
            return Actor(kind="customer", customer=portal_customer, via="portal")

    async def _customer_of(self, claims: security.CustomerClaims) -> Customer:
        """The token's customer: on a reconnect (known, nothing changed) only read; else
        created or brought up to date."""
        async with self.db.read() as session:
            customer = await session.scalar(
                select(Customer).where(Customer.external_id == claims.sub))
        if customer is not None and not accounts.customer_changes(customer, claims):
            return customer
        async with self.db.transaction() as session:
            return await accounts.upsert_customer(session, claims)

    def _claims(self, token: str) -> security.CustomerClaims:
        return security.decode_customer_jwt(
            token, secret=self.settings.customer_jwt_secret.get_secret_value(),
            max_lifetime_s=self.settings.customer_jwt_max_lifetime_s,
            leeway_s=self.settings.customer_jwt_leeway_s, now=clock.now())

    def _expire_at(self, timestamp: float) -> None:
        """Close with 4408 when the customer token expires, unless an ``auth`` frame renews it."""
        if self.expiry is not None:
            self.expiry.cancel()
        delay = max(0.0, timestamp + self.settings.customer_jwt_leeway_s - clock.now().timestamp())
        loop = asyncio.get_running_loop()

        def expire() -> None:
            if self.conn is not None:
                self.conn.close_when_sent(Close.TOKEN_EXPIRED, "token expired", {
                    "type": "error", "code": "token_expired", "fatal": True,
                    "message": "your session expired; reconnect with a new token"})

        self.expiry = loop.call_later(delay, expire)

    # ------------------------------------------------------------ frames

    async def _dispatch(self, conn: Connection, frame: Any) -> None:
        handler: Callable[[Connection, Any], Any] = getattr(self, f"_on_{frame.type}")
        await handler(conn, frame)

    async def _on_hello(self, conn: Connection, frame: p.Hello) -> None:
        self._error("already_welcome", "hello was already accepted")

    async def _on_ping(self, conn: Connection, frame: p.Ping) -> None:
        conn.push({"type": "pong", "t": frame.t})

    async def _on_auth(self, conn: Connection, frame: p.Auth) -> None:
        if conn.actor.kind != "customer" or conn.actor.customer is None:
            raise KefuError("only customer connections renew tokens", code="invalid_frame")
        claims = self._claims(frame.token)
        if claims.sub != conn.actor.customer.external_id:
            raise KefuError("the token is for another customer", code="invalid_token",
                            status=401)
        self._expire_at(claims.expires_at.timestamp())
        conn.push({"type": "authed", "expires_at": claims.expires_at.isoformat()})

    async def _readable(self, actor: Actor, number: str) -> Ticket:
        async with self.db.read() as session:
            return await tickets.get_readable(session, actor, number)

    async def _on_join(self, conn: Connection, frame: p.Join) -> None:
        if conn.actor.agent is not None:
            raise KefuError("agents subscribe to tickets", code="invalid_frame")
        actor = conn.actor
        if frame.ticket:
            ticket: Ticket | None = await self._readable(actor, frame.ticket)
        elif actor.customer is not None:
            async with self.db.read() as session:
                ticket = await latest_chat(session, actor.customer.id)
        else:
            ticket = None
        if ticket is None:
            conn.push({"type": "joined", "ticket": None, "since": 0})
            return
        await self._follow_ticket(conn, ticket, frame.since, "joined")

    async def _follow_ticket(self, conn: Connection, ticket: Ticket, since: int,
                             reply: str) -> None:
        for followed in list(conn.follows):
            if followed != ticket.id and conn.actor.agent is None:
                conn.unfollow(followed)  # a customer follows one conversation at a time
        # A since past the conversation's end (a stale or foreign number) would drop every live
        # message up to it: it is taken as the end, and the reply's since says so.
        since = min(since, ticket.last_seq if conn.actor.agent is not None
                    else ticket.last_public_seq)
        async with self.db.read() as session:
            # Where the other side has read to, in this side's numbering: receipts after a
            # reload; and for the customer their own point (unread counts on another device).
            customer_read = await reads.customer_read(session, ticket.id)
            read = ({"customer_read_seq": customer_read[0]} if conn.actor.agent is not None else
                    {"agent_read_seq": await reads.support_read_public_seq(session, ticket.id),
                     "read_seq": customer_read[1]})
        conn.push({"type": reply, "ticket": {"number": ticket.number, "status": ticket.status,
                                              "pending_reason": ticket.pending_reason,
                                              "subject": ticket.subject},
                   "since": since, **read})
        await conn.follow(ticket.id, ticket.number, since)
        if conn.actor.agent is not None:
            self.hub.announce_viewing(conn, ticket.number, ticket.id)
        else:
            await self.queue.watch(conn, ticket)

    async def _on_subscribe(self, conn: Connection, frame: p.Subscribe) -> None:
        if conn.actor.agent is None:
            raise KefuError("customers join their conversation", code="invalid_frame")
        ticket = await self._readable(conn.actor, frame.ticket)
        await self._follow_ticket(conn, ticket, frame.since, "subscribed")

    async def _on_unsubscribe(self, conn: Connection, frame: p.Unsubscribe) -> None:
        follow = self._followed(conn, frame.ticket)
        conn.unfollow(follow.ticket_id)
        self.hub.announce_viewing(conn, follow.number, follow.ticket_id, state=False)
        conn.push({"type": "unsubscribed", "ticket": follow.number})

    def _followed(self, conn: Connection, number: str) -> Any:
        wanted = normalize_ticket_number(number)
        for follow in conn.follows.values():
            if follow.number == wanted:
                return follow
        raise NotFound("followed ticket", code="not_following")

    async def _on_typing(self, conn: Connection, frame: p.Typing) -> None:
        follow = self._followed(conn, frame.ticket)
        if not self.typing.take():
            return  # typing is best effort: drop the excess silently
        actor = conn.actor
        who = ({"kind": "agent", "name": actor.agent.display_name, "agent_id": str(actor.agent.id)}
               if actor.agent else {"kind": "customer", "name": customer_name(actor)})
        await publish_now(self.db, ticket_topic(follow.ticket_id), {
            "type": "typing", "ticket": follow.number, "who": who, "state": frame.state,
            "internal": frame.internal and actor.agent is not None, "_conn": conn.id})

    async def _on_read(self, conn: Connection, frame: p.Read) -> None:
        """Read up to ``seq`` in the reader's numbering; each side is told in its own (agents
        count internal notes, customers do not)."""
        follow = self._followed(conn, frame.ticket)
        actor = conn.actor
        by = ({"kind": "agent", "name": actor.agent.display_name} if actor.agent
              else {"kind": "customer", "name": customer_name(actor)})
        seq: int | None
        public_seq: int | None
        async with self.db.transaction() as session:
            if actor.agent is not None:
                seq, public_seq = frame.seq, await session.scalar(
                    select(func.max(Message.public_seq)).where(
                        Message.ticket_id == follow.ticket_id, Message.seq <= frame.seq))
                if await session.scalar(select(Message.id).where(
                        Message.ticket_id == follow.ticket_id, Message.seq == seq)) is None:
                    seq = None
            else:
                public_seq, seq = frame.seq, await session.scalar(
                    select(Message.seq).where(Message.ticket_id == follow.ticket_id,
                                              Message.public_seq == frame.seq))
            if seq is None:
                return  # nothing of that number: nothing to tell
            moved = await reads.advance(session, follow.ticket_id, reads.reader_of(
                actor.agent.id if actor.agent else None), seq=seq, public_seq=public_seq or 0)
            if moved and actor.agent is not None:  # what is still unread for this agent
                unread = (await reads.unread_counts(
                    session, actor.agent.id, [follow.ticket_id])).get(follow.ticket_id, 0)
        if not moved:
            return  # read before (another tab, a reconnect): told then
        if actor.agent is not None:  # the agent's other consoles (another tab, another device)
            await publish_now(self.db, agent_topic(actor.agent.id), {
                "type": "seen", "ticket": follow.number, "unread": unread})
        await publish_now(self.db, ticket_topic(follow.ticket_id), {
            "type": "read", "ticket": follow.number, "by": by, "seq": seq,
            "_public_seq": public_seq, "_conn": conn.id})

    async def _on_feedback(self, conn: Connection, frame: p.Feedback) -> None:
        """A customer's 👍/👎 on an assistant message; answered after the commit."""
        actor = conn.actor
        if actor.agent is not None:
            raise KefuError("only customers rate the assistant's answers", code="invalid_frame")
        async with self.db.transaction() as session:
            ticket = await tickets.get_readable(session, actor, frame.ticket)
            reply, recorded = await assistant.record_feedback(
                session, actor, ticket=ticket, seq=frame.seq, helpful=frame.helpful)
            answer = {"type": "feedback_recorded", "ticket": ticket.number, "seq": frame.seq,
                      "helpful": reply.helpful, "duplicate": not recorded}
        conn.push(answer)

    async def _on_status(self, conn: Connection, frame: p.Status) -> None:
        agent = conn.actor.agent
        if agent is None:
            raise KefuError("only agents have a status", code="invalid_frame")
        async with self.db.transaction() as session:
            await session.execute(update(Agent).where(Agent.id == agent.id)
                                  .values(status=frame.status, seen_at=clock.now(),
                                          status_before_presence=None))  # their own choice
        agent.status = frame.status
        await publish_now(self.db, AGENTS, {"type": "agent_status", "agent": {
            "id": str(agent.id), "name": agent.display_name, "status": frame.status}})

    async def _on_send(self, conn: Connection, frame: p.Send) -> None:
        actor = conn.actor
        cost = p.send_cost(frame.body)  # one per started 1,000 characters
        wait = self.hub.take_send(actor, cost)
        if wait is None and self.hub.send_budget is not None:  # cluster: across processes
            wait = await self.hub.take_shared_send(actor, cost)
        if wait is not None:
            await self._flooding(wait, frame.client_msg_id)
            return
        attachment_ids = [_uuid(a) for a in frame.attachment_ids]
        if actor.agent is not None:
            if not frame.ticket:
                raise KefuError("name the ticket", code="invalid_frame")
            number: str | None = frame.ticket
            work: Any = partial(self._agent_send, actor=actor, frame=frame,
                                attachment_ids=attachment_ids)
        else:
            if frame.internal:
                raise KefuError("customers cannot write internal notes", code="invalid_frame")
            if frame.override_guard:  # as for an agent who is not a supervisor
                raise KefuError("only supervisors override the outbound check",
                                code="override_forbidden", status=403)
            number = frame.ticket or next((f.number for f in conn.follows.values()), None)
            work = partial(self._customer_send, actor=actor, frame=frame, number=number,
                           attachment_ids=attachment_ids)
        plain = (number is not None and not frame.internal and not attachment_ids
                 and (actor.agent is None or not (tipoff_check(frame.body) or check_outbound(
                     frame.body, allowed_domains=allowed_link_domains(self.settings)).blocked)))
        chat = None
        if plain and number is not None:
            analysis = (  # agents' sends are not screened on this path
                await self.analyzer.analyse(frame.body, key=f"{actor.label}|{number.upper()}")
                if actor.agent is None else None)
            chat = ChatSend(actor, number, frame.body, frame.client_msg_id, analysis)
        result = await self.writer.submit(  # key: lock tickets in one order (no deadlock)
            work, key=number.upper() if number else None, chat=chat)
        not_notified: list[NotNotified] = []
        if isinstance(result, Appended):
            ticket, message, new_actor = result.ticket, result.message, None
        else:
            ticket, message, new_actor, not_notified = result
        if new_actor is not None:
            conn.actor = new_actor
        seq = message.seq if actor.agent is not None else message.public_seq
        ack: dict[str, Any] = {
            "type": "ack", "client_msg_id": frame.client_msg_id, "ticket": ticket.number,
            "seq": seq, "id": str(message.id), "created_at": message.created_at.isoformat()}
        if frame.internal:  # who the note names but was not told (they may not read it)
            ack["not_notified"] = [{"agent_id": str(n.agent_id), "name": n.name,
                                    "reason": n.reason} for n in not_notified]
        conn.push(ack)
        if ticket.id not in conn.follows and actor.agent is None:
            await self._follow_ticket(conn, ticket, 0, "joined")

    async def _agent_send(
        self, session: AsyncSession, actor: Actor, frame: p.Send, attachment_ids: list[uuid.UUID]
    ) -> tuple[Ticket, Any, None, list[NotNotified]]:
        assert frame.ticket is not None
        ticket = await tickets.get_readable(session, actor, frame.ticket)
        if frame.internal:
            note = await add_note(session, actor, ticket, ticket_schemas.NoteCreate(
                body=frame.body, attachment_ids=attachment_ids,
                client_msg_id=frame.client_msg_id))
            return ticket, note.message, None, note.not_notified
        message = await replies.reply(session, actor, self.settings, ticket,
                                      ticket_schemas.ReplyCreate(
                                          body=frame.body, attachment_ids=attachment_ids,
                                          client_msg_id=frame.client_msg_id,
                                          override_guard=frame.override_guard))
        return ticket, message, None, []

    async def _customer_send(self, session: AsyncSession, actor: Actor, frame: p.Send,
                             number: str | None, attachment_ids: list[uuid.UUID]
                             ) -> tuple[Ticket, Any, Actor | None, list[NotNotified]]:
        new_actor = None
        if number is None:
            first_line = frame.body.strip().splitlines()[0] if frame.body.strip() else ""
            subject = (frame.subject or first_line or "Chat")[:80]
            opened = await open_for_actor(session, actor, ticket_schemas.TicketCreate(
                subject=subject, body=frame.body, channel="chat", language=self.language,
                client_msg_id=frame.client_msg_id))
            ticket, message = opened.ticket, opened.message  # a repeat: added to the open one
            if actor.customer is None and actor.visitor_id is not None:
                customer = await session.get(Customer, ticket.customer_id)
                new_actor = dataclasses.replace(actor, customer=customer)
            if attachment_ids:
                raise KefuError("upload attachments after the first message",
                                code="unknown_attachment", status=422)
            return ticket, message, new_actor, []
        ticket = await tickets.get_readable(session, actor, number)
        message = await replies.reply(session, actor, self.settings, ticket,
                                      ticket_schemas.ReplyCreate(
                                          body=frame.body, attachment_ids=attachment_ids,
                                          client_msg_id=frame.client_msg_id))
        return ticket, message, new_actor, []

    async def _fetch(self, ticket_id: uuid.UUID, after: int) -> list[dict[str, Any]]:
        conn = self.conn
        assert conn is not None
        public = conn.actor.agent is None
        frames: list[dict[str, Any]] = []
        async with self.db.read() as session:
            ticket = await session.get(Ticket, ticket_id)
            if ticket is None:
                return []
            while True:
                events = await message_events_after(session, ticket, after=after,
                                                    public=public)
                for event in events:
                    view = conn._message_view(event)
                    if view is not None:
                        frames.append(view)
                if len(events) < 500:
                    return frames
                after = frames[-1]["seq"]


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise KefuError("attachment ids are UUIDs", code="invalid_frame") from exc


def _you(actor: Actor) -> dict[str, Any]:
    if actor.agent is not None:
        return {"kind": "agent", "id": str(actor.agent.id), "name": actor.agent.display_name,
                "role": actor.agent.role, "status": actor.agent.status,
                "team_ids": sorted(str(t) for t in actor.team_ids)}
    if actor.customer is not None:
        return {"kind": actor.kind, "name": actor.customer.display_name,
                "language": actor.customer.language}
    return {"kind": actor.kind, "visitor_id": actor.visitor_id}
