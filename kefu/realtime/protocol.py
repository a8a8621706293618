"""The realtime protocol's constants and client frames (see docs/realtime-protocol.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    TypeAdapter,
    field_validator,
)

from kefu.tickets.schemas import MAX_FILES_PER_MESSAGE

VERSION = 1
MAX_FRAME_BYTES = 64 * 1024
MAX_BODY_CHARS = 20_000
MAX_SEQ = 2**53 - 1  # the largest integer a JavaScript client reads exactly
HELLO_TIMEOUT_S = 10.0
OUTBOUND_QUEUE = 2_000  # frames buffered for a slow reader before it is cut off
PING_INTERVAL_S = 25.0
INBOX_COALESCE_S = 0.25  # inbox rows moved by new messages are sent together this often
# Collision detection: a connection re-announces the tickets it views this often, and a
# `viewing` frame holds for VIEWING_TTL_S (`ttl_s`): a viewer whose process died, or whose
# `state: false` was lost with Redis, drops off the consoles after that long.
VIEWING_REFRESH_S = 20.0
VIEWING_TTL_S = 50
# Token buckets: sustained rate per second and burst.
CONNECTION_RATE = (10.0, 30.0)
CUSTOMER_RATE = (20.0, 60.0)
# A send takes one of the person's tokens per started CHARS_PER_SEND characters of its body: the
# analysis and the storage of a message grow with its length, and twenty 20,000-character
# messages a second would hold the analysis worker for seconds (decision 0002, twentieth round).
CHARS_PER_SEND = 1_000
TYPING_RATE = (5.0, 10.0)
# A client that keeps sending after this many rate-limited frames in a row is disconnected.
MAX_REFUSED_IN_A_ROW = 200


def send_cost(body: str) -> int:
    """The tokens a ``send`` of ``body`` takes from its person's budget: one per started
    :data:`CHARS_PER_SEND` characters (at least one)."""
    return max(1, -(-len(body) // CHARS_PER_SEND))


class Close:
    """WebSocket close codes. 4xxx are ours; the meaning mirrors HTTP."""

    NORMAL = 1000
    GOING_AWAY = 1001  # server shutting down: reconnect and resume
    POLICY = 1008  # slow consumer: the outbound queue overflowed; reconnect and resume
    TOO_BIG = 1009
    SERVER_ERROR = 1011
    BAD_REQUEST = 4400  # the hello was malformed
    UNAUTHORIZED = 4401  # no or invalid credentials, or no hello in time
    FORBIDDEN = 4403  # cross-origin cookie connection
    TOKEN_EXPIRED = 4408  # the customer token expired: reconnect with a fresh one
    UNSUPPORTED_VERSION = 4409
    RATE_LIMITED = 4429  # kept flooding after rate_limited errors


class _Frame(BaseModel):
    """Strict: a number is a number and a flag is true or false (``"5"``, ``"yes"``, ``1`` are
    ``invalid_frame``), as the protocol document says."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False, strict=True)


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _blank_is_none(value: str | None) -> str | None:
    """A blank subject is no subject: the first line of the message stands in."""
    return value if value is None or value.strip() else None


class Hello(_Frame):
    type: Literal["hello"]
    v: StrictInt = VERSION
    token: str | None = Field(default=None, max_length=4096)
    visitor: str | None = Field(default=None, max_length=200)
    # The language the person writes in (zh-CN, en, …): new conversations go to that queue.
    language: str | None = Field(default=None, max_length=16,
                                 pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


class Auth(_Frame):
    """Refresh the customer token before it expires."""

    type: Literal["auth"]
    token: str = Field(max_length=4096)


class Join(_Frame):
    """Customer: open a conversation (or the latest active chat) and replay after ``since``."""

    type: Literal["join"]
    ticket: str | None = Field(default=None, max_length=16)
    since: int = Field(default=0, ge=0, le=MAX_SEQ)


class Subscribe(_Frame):
    """Agent: follow a ticket (messages incl. notes, typing, viewers) from ``since``."""

    type: Literal["subscribe"]
    ticket: str = Field(max_length=16)
    since: int = Field(default=0, ge=0, le=MAX_SEQ)


class Unsubscribe(_Frame):
    type: Literal["unsubscribe"]
    ticket: str = Field(max_length=16)


class Send(_Frame):
    type: Literal["send"]
    client_msg_id: str = Field(min_length=1, max_length=64)
    body: str = Field(min_length=1, max_length=MAX_BODY_CHARS)
    ticket: str | None = Field(default=None, max_length=16)
    internal: bool = False
    attachment_ids: list[str] = Field(default_factory=list, max_length=MAX_FILES_PER_MESSAGE)
    subject: str | None = Field(default=None, max_length=200)
    override_guard: bool = False  # supervisors: send a reply the anti-phishing check blocked

    _clean = field_validator("body", "client_msg_id")(_no_nul)
    _body = field_validator("body")(_not_blank)
    _subject = field_validator("subject")(_blank_is_none)


class Typing(_Frame):
    type: Literal["typing"]
    ticket: str = Field(max_length=16)
    state: bool = True
    internal: bool = False


class Read(_Frame):
    type: Literal["read"]
    ticket: str = Field(max_length=16)
    seq: int = Field(ge=0, le=MAX_SEQ)


class Feedback(_Frame):
    """Customer: 👍/👎 on one of the assistant's messages (``seq``: its place in the customer's
    view). The first vote on a message stands; a second gets the first one back."""

    type: Literal["feedback"]
    ticket: str = Field(max_length=16)
    seq: int = Field(ge=1, le=MAX_SEQ)
    helpful: StrictBool  # a vote is true or false, never "yes" or 1


class Ping(_Frame):
    """``t`` comes back in the ``pong``: a number a JavaScript client reads exactly, or a short
    string."""

    type: Literal["ping"]
    t: Annotated[int, Field(ge=-MAX_SEQ, le=MAX_SEQ)] | float | Annotated[
        str, Field(max_length=64)] | None = None


class Status(_Frame):
    """Agent: set own availability."""

    type: Literal["status"]
    status: Literal["online", "away", "offline"]


ClientFrame = Annotated[
    Hello | Auth | Join | Subscribe | Unsubscribe | Send | Typing | Read | Feedback | Ping
    | Status,
    Field(discriminator="type"),
]
FRAME = TypeAdapter(ClientFrame)
FRAME_TYPES = ("hello", "auth", "join", "subscribe", "unsubscribe", "send", "typing", "read",
               "feedback", "ping", "status")
