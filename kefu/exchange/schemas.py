"""What Kefu knows about a customer from the exchange's back office, as agents see it.

These models are the wire format of the back-office API documented in ``docs/exchange-api.yaml``
(a test keeps the two in step). Amounts are ``Decimal`` and travel as plain decimal strings, so no
float ever rounds a balance; times are timezone-aware UTC. Unknown fields are ignored, so an
exchange may send more than Kefu reads.
"""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal
from typing import Annotated, Final, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer


def _plain_decimal(value: Decimal) -> str:
    # format(..., "f") never uses exponent notation: Decimal("1E-8") -> "0.00000001".
    return format(value, "f")


Amount = Annotated[
    Decimal,
    Field(ge=0, allow_inf_nan=False),
    PlainSerializer(_plain_decimal, return_type=str, when_used="json"),
]
"""A non-negative decimal amount; serialized to JSON as a plain decimal string."""

UtcDatetime = Annotated[AwareDatetime, AfterValidator(lambda value: value.astimezone(UTC))]
"""A timezone-aware timestamp, normalized to UTC; naive timestamps are rejected."""

Identifier = Annotated[str, Field(min_length=1, max_length=128)]
Text = Annotated[str, Field(min_length=1, max_length=256)]

DepositStatus = Literal["pending", "confirming", "credited", "failed", "on_hold"]
WithdrawalStatus = Literal[
    "processing", "pending_review", "broadcast", "completed", "failed", "cancelled"
]
OrderStatus = Literal["open", "partially_filled", "filled", "cancelled", "rejected", "expired"]
KycReviewStatus = Literal["pending", "approved", "rejected", "resubmission_required"]

ACCOUNT_FLAGS: Final[dict[str, str]] = {
    "withdrawals_frozen": "Withdrawals are frozen on the account.",
    "under_investigation": "Compliance investigation open: do not tip the customer off.",
    "new_device_login": "Recent login from a new device; possible account takeover.",
    "p2p_restricted": "The customer may not trade on the P2P market.",
}
"""Flags Kefu understands, with what they mean for an agent; exchanges may send others."""

KYC_REASONS: Final[tuple[str, ...]] = (
    "document_blurry", "document_expired", "name_mismatch", "selfie_mismatch",
    "unsupported_document", "region_restricted",
)
"""Rejection reason codes Kefu explains (panel, assistant); exchanges may send others, which are
kept as text and shown as they are."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Deposit(_Frozen):
    """An on-chain deposit to the customer's account, as the exchange's wallet system sees it."""

    id: Identifier
    coin: Text = Field(description="Asset ticker, e.g. USDT")
    network: Text = Field(description="Chain the transfer used, e.g. TRC20")
    amount: Amount
    address: Text = Field(description="Deposit address the funds were sent to")
    memo: str | None = Field(default=None, max_length=256, description="Memo / tag, if any")
    txid: str | None = Field(default=None, max_length=256, description="On-chain transaction id")
    status: DepositStatus
    confirmations: int = Field(ge=0)
    required_confirmations: int = Field(ge=0)
    created_at: UtcDatetime


class Withdrawal(_Frozen):
    """A withdrawal from the customer's account; ``txid`` exists once it is broadcast."""

    id: Identifier
    coin: Text
    network: Text
    amount: Amount
    fee: Amount
    address: Text = Field(description="Destination address")
    memo: str | None = Field(default=None, max_length=256, description="Destination memo / tag")
    txid: str | None = Field(default=None, max_length=256)
    status: WithdrawalStatus
    created_at: UtcDatetime


class Order(_Frozen):
    """A spot order. ``price`` is the limit price, or a market order's average fill price
    (``None`` while nothing is filled)."""

    id: Identifier
    symbol: Text = Field(description="Base-quote pair, e.g. BTC-USDT")
    side: Literal["buy", "sell"]
    type: Literal["limit", "market"]
    price: Amount | None = None
    quantity: Amount
    filled: Amount
    status: OrderStatus
    created_at: UtcDatetime


class Liquidation(_Frozen):
    """A forced close of a derivatives position; ``side`` is the position that was closed."""

    id: Identifier
    symbol: Text = Field(description="Contract, e.g. BTC-USDT-PERP")
    side: Literal["long", "short"]
    quantity: Amount
    price: Amount = Field(description="Price at which the position was liquidated")
    loss_usdt: Amount
    created_at: UtcDatetime


class KycReview(_Frozen):
    """The customer's latest identity-verification (KYC) application: its state only. It never
    carries documents, their numbers or images, so none can reach an agent, a log or the
    assistant through Kefu."""

    status: KycReviewStatus
    level_requested: int = Field(ge=1, le=3)
    submitted_at: UtcDatetime
    reviewed_at: UtcDatetime | None = None
    reasons: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=10,
        description="Rejection / resubmission reason codes; see KYC_REASONS")


class CustomerContext(_Frozen):
    """Everything the agent's customer panel shows; lists are newest first."""

    external_id: Identifier
    vip_tier: int = Field(ge=0, le=9)
    kyc_level: int = Field(ge=0, le=3)
    account_created_at: UtcDatetime
    thirty_day_volume_usdt: Amount
    deposits: list[Deposit] = Field(default_factory=list)
    withdrawals: list[Withdrawal] = Field(default_factory=list)
    orders: list[Order] = Field(default_factory=list)
    liquidations: list[Liquidation] = Field(default_factory=list)
    flags: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list
    )
    kyc_review: KycReview | None = None


class DepositList(_Frozen):
    """Body of ``GET /v1/customers/{external_id}/deposits``."""

    deposits: list[Deposit]


IdentityPurpose = Literal["2fa_reset", "unfreeze", "appeal"]
IdentityResult = Literal["verified", "failed"]
HttpUrl = Annotated[str, Field(min_length=8, max_length=2048, pattern=r"^https?://\S+$")]


class IdentityCheckRequest(_Frozen):
    """Body of ``POST /v1/customers/{external_id}/identity-checks``: Kefu asks the exchange to
    re-authenticate the customer (step-up identity verification)."""

    reference: Identifier = Field(description="Kefu's id of this check; the callback names it")
    purpose: IdentityPurpose = Field(description="Why: 2fa_reset, unfreeze or appeal")
    callback_url: HttpUrl = Field(description="Where the exchange POSTs the signed result")
    return_url: HttpUrl = Field(description="Where the exchange sends the customer afterwards")
    expires_at: UtcDatetime = Field(description="After this the result is refused")


class IdentityCheckStarted(_Frozen):
    """The exchange's answer: the page where the customer signs in again."""

    redirect_url: HttpUrl = Field(description="The exchange's re-authentication page")


class IdentityCheckResult(_Frozen):
    """What the exchange POSTs to ``callback_url`` once the customer signed in again (or gave
    up), signed with the shared secret (``kefu.exchange.callbacks``)."""

    reference: Identifier = Field(description="The reference of the check")
    external_id: Identifier = Field(description="The customer who re-authenticated")
    result: IdentityResult = Field(description="verified, or failed")
    method: Text = Field(description="How they re-authenticated, e.g. password+totp, passkey")
    authenticated_at: UtcDatetime = Field(description="When the exchange checked them")
