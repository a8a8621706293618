"""Generated, deterministic customer context for demos, development and tests.

The same external id always yields the same customer: a ``random.Random`` is seeded from the
sha256 of the id, and every timestamp is an offset back from one anchor (the clock, to the second),
so with a fixed clock the data is identical run after run. Data looks like a real exchange's:
real networks, address and txid formats (with valid checksums), confirmation counts, fees, and
the stuck cases support sees every day (BTC stuck in the mempool, XRP deposit without its tag,
withdrawal held for review).

Identity checks (step-up) are played by Kefu itself: the redirect goes to the local page
``/verify/identity/demo-exchange``, which simulates the exchange's sign-in and posts a signed
result back (``kefu.web.verify``).

The latest KYC application (``kyc_review``) comes from a generator of its own, seeded from the id
too, so adding it left every other value of a customer as it was: most customers have none or an
approved one, a few are pending (some past the 48-hour limit) or rejected with one or two reasons.

Special ids, for demoing the console: ``vip...`` forces VIP tier 5-9 (``vip7...`` forces 7),
``kyc-pending...`` and ``kyc-rejected...`` force a pending or rejected KYC application (at KYC
level 1 at most), ``unknown...`` raises ``CustomerNotFound`` and ``unavailable...`` raises
``ExchangeUnavailable``.
"""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal, TypeVar

from kefu.core import clock as core_clock
from kefu.exchange.base import CustomerNotFound, ExchangeUnavailable, normalize_txid
from kefu.exchange.schemas import (
    CustomerContext,
    Deposit,
    DepositStatus,
    IdentityCheckRequest,
    IdentityCheckStarted,
    KycReview,
    KycReviewStatus,
    Liquidation,
    Order,
    OrderStatus,
    Withdrawal,
    WithdrawalStatus,
)

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_XRP_B58 = "rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz"
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_DAY = 86_400
_OWN_ADDRESS_NETWORKS = ("Bitcoin", "ERC20", "TRC20", "Solana")
DEMO_SIGN_IN_PATH = "/verify/identity/demo-exchange"


def _base58(data: bytes, alphabet: str = _B58) -> str:
    number, out = int.from_bytes(data, "big"), ""
    while number:
        number, digit = divmod(number, 58)
        out = alphabet[digit] + out
    return alphabet[0] * (len(data) - len(data.lstrip(b"\0"))) + out


def _base58check(payload: bytes, alphabet: str = _B58) -> str:
    checksum = hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    return _base58(payload + checksum, alphabet)


def _segwit_v0_address(program: bytes) -> str:
    """BIP 173 bech32 address (``bc1q...``) for a 20-byte witness program."""
    acc = bits = 0
    data = [0]
    for byte in program:
        acc, bits = (acc << 8) | byte, bits + 8
        while bits >= 5:
            bits -= 5
            data.append((acc >> bits) & 31)
    if bits:
        data.append((acc << (5 - bits)) & 31)
    chk = 1
    for value in [3, 3, 0, 2, 3] + data + [0] * 6:  # "bc" expanded, then data, then padding
        top, chk = chk >> 25, ((chk & 0x1FFFFFF) << 5) ^ value
        for i, gen in enumerate((0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)):
            chk ^= gen if (top >> i) & 1 else 0
    chk ^= 1
    checksum = [(chk >> 5 * (5 - i)) & 31 for i in range(6)]
    return "bc1" + "".join(_BECH32[d] for d in data + checksum)


def _ton_address(account: bytes, *, bounceable: bool) -> str:
    """User-friendly TON address (workchain 0): tag, workchain, hash, CRC16-XModem, base64url."""
    body = bytes([0x11 if bounceable else 0x51, 0x00]) + account
    crc = 0
    for byte in body:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021 if crc & 0x8000 else crc << 1) & 0xFFFF
    return base64.urlsafe_b64encode(body + crc.to_bytes(2, "big")).decode()


def _hex(rng: random.Random, nbytes: int) -> str:
    return rng.randbytes(nbytes).hex()


def _btc_address(rng: random.Random) -> str:
    kind = rng.choices(("p2wpkh", "p2pkh", "p2sh"), (70, 20, 10))[0]
    if kind == "p2wpkh":
        return _segwit_v0_address(rng.randbytes(20))
    return _base58check((b"\x00" if kind == "p2pkh" else b"\x05") + rng.randbytes(20))


@dataclass(frozen=True)
class _Network:
    required: int  # confirmations to credit, as deposit-confirmations-by-network states
    block_ms: int  # time one confirmation takes
    memo: bool
    txid: Callable[[random.Random], str]
    address: Callable[[random.Random], str]


def _evm_address(rng: random.Random) -> str:
    return "0x" + _hex(rng, 20)  # all-lowercase: valid EIP-55 (no checksum claimed)


def _evm_txid(rng: random.Random) -> str:
    return "0x" + _hex(rng, 32)


_NETWORKS: dict[str, _Network] = {
    "Bitcoin": _Network(2, 600_000, False, lambda r: _hex(r, 32), _btc_address),
    "ERC20": _Network(64, 12_000, False, _evm_txid, _evm_address),
    "BEP20": _Network(15, 3_000, False, _evm_txid, _evm_address),
    "TRC20": _Network(
        20, 3_000, False, lambda r: _hex(r, 32), lambda r: _base58check(b"\x41" + r.randbytes(20))
    ),
    "Solana": _Network(  # one finalized confirmation: about 32 slots of 400 ms
        1, 13_000, False, lambda r: _base58(r.randbytes(64)), lambda r: _base58(r.randbytes(32))
    ),
    "TON": _Network(
        1, 5_000, True, lambda r: _hex(r, 32),
        lambda r: _ton_address(r.randbytes(32), bounceable=r.random() < 0.5),
    ),
    "XRP Ledger": _Network(
        1, 4_000, True, lambda r: _hex(r, 32).upper(),
        lambda r: _base58check(b"\x00" + r.randbytes(20), _XRP_B58),
    ),
}


@dataclass(frozen=True)
class _Coin:
    weight: int
    price: Decimal  # rough USDT price, for amounts and volumes
    places: int  # wallet precision
    # network -> (weight, withdrawal fee); fees as the help center's withdrawal-fees states
    networks: dict[str, tuple[int, Decimal]]
    tick: Decimal = Decimal("0.01")  # spot order price tick
    step: Decimal = Decimal("0.0001")  # spot order quantity step


_COINS: dict[str, _Coin] = {
    "USDT": _Coin(45, Decimal(1), 2, {
        "TRC20": (55, Decimal(1)), "ERC20": (15, Decimal("4.5")),
        "BEP20": (20, Decimal("0.3")), "TON": (10, Decimal("0.25")),
    }),
    "BTC": _Coin(15, Decimal(63_000), 8, {"Bitcoin": (1, Decimal("0.0002"))},
                 Decimal("0.1"), Decimal("0.00001")),
    "ETH": _Coin(12, Decimal(3_100), 8, {"ERC20": (1, Decimal("0.0012"))}),
    "SOL": _Coin(8, Decimal(145), 6, {"Solana": (1, Decimal("0.008"))}, step=Decimal("0.01")),
    "TRX": _Coin(7, Decimal("0.12"), 6, {"TRC20": (1, Decimal(1))},
                 Decimal("0.00001"), Decimal(1)),
    "XRP": _Coin(7, Decimal("0.55"), 6, {"XRP Ledger": (1, Decimal("0.2"))},
                 Decimal("0.0001"), Decimal("0.1")),
    "TON": _Coin(6, Decimal("5.2"), 4, {"TON": (1, Decimal("0.05"))}, Decimal("0.001"),
                 Decimal("0.01")),
}

# Withdrawal minimums as the help center's withdrawal-limits states; elsewhere three fees.
_WITHDRAWAL_MINIMUMS: dict[tuple[str, str], Decimal] = {
    ("USDT", "TRC20"): Decimal(10), ("USDT", "BEP20"): Decimal(10), ("USDT", "TON"): Decimal(10),
    ("USDT", "ERC20"): Decimal(20), ("BTC", "Bitcoin"): Decimal("0.001"),
}

_VIP_WEIGHTS = (560, 220, 100, 50, 30, 18, 10, 6, 4, 2)
# 30-day volume band (USDT) per VIP tier: from its threshold in the vip-tiers article to the next.
_VIP_VOLUME = ((0, 10**6), (10**6, 5 * 10**6), (5 * 10**6, 2 * 10**7), (2 * 10**7, 5 * 10**7),
               (5 * 10**7, 10**8), (10**8, 25 * 10**7), (25 * 10**7, 5 * 10**8),
               (5 * 10**8, 10**9), (10**9, 25 * 10**8), (25 * 10**8, 5 * 10**9))
_FLAGS = (("withdrawals_frozen", 0.06), ("under_investigation", 0.03),
          ("new_device_login", 0.10), ("p2p_restricted", 0.05))
# The latest KYC application's status by KYC level ("none": no application on record).
_KYC_REVIEWS: dict[int, dict[KycReviewStatus | Literal["none"], int]] = {
    0: {"none": 50, "pending": 20, "rejected": 25, "resubmission_required": 5},
    1: {"none": 15, "approved": 50, "pending": 15, "rejected": 15, "resubmission_required": 5},
    2: {"none": 25, "approved": 75},
}
_KYC_REASON_WEIGHTS = {"document_blurry": 30, "document_expired": 15, "name_mismatch": 20,
                       "selfie_mismatch": 15, "unsupported_document": 12, "region_restricted": 8}
_KYC_RESUBMIT_REASONS = {"document_blurry": 50, "document_expired": 20, "unsupported_document": 15,
                         "selfie_mismatch": 15}
_S = TypeVar("_S", bound=str)
_T = TypeVar("_T", Deposit, Withdrawal, Order, Liquidation)


def _shared_addresses() -> dict[str, str]:
    """The exchange's deposit address on each memo network: shared, the memo tells customers
    apart. From a constant seed, so every demo customer sees the same one."""
    rng = random.Random(b"kefu-demo-exchange-hot-wallets")
    return {name: net.address(rng) for name, net in _NETWORKS.items() if net.memo}


_SHARED_ADDRESSES = _shared_addresses()


def _pick(rng: random.Random, weights: Mapping[_S, int]) -> _S:
    return rng.choices(list(weights), list(weights.values()))[0]


def _usdt_value(rng: random.Random, low_exp: int, high_exp: int) -> Decimal:
    """A value in [10**low_exp, 10**(high_exp+1)), log-uniform; a third of them round."""
    exponent = rng.randint(low_exp, high_exp)
    if rng.random() < 0.33:
        return Decimal(rng.randint(10, 99)).scaleb(exponent - 1)
    return Decimal(rng.randint(100_000, 999_999)).scaleb(exponent - 5)


def _quantize(value: Decimal, unit: Decimal) -> Decimal:
    """``value`` to a whole number of ``unit`` in fixed-point form (never ``9.4E+6``), > 0."""
    return max(value.quantize(unit), unit)


@dataclass
class _Customer:
    rng: random.Random
    anchor: datetime
    window_s: int  # how far back history may go (never before the account existed)
    tier: int
    addresses: dict[str, str]
    memo: str

    def ago(self, low_s: int, high_s: int) -> datetime:
        high = min(high_s, self.window_s)
        return self.anchor - timedelta(seconds=self.rng.randint(min(low_s, high), high))

    def new_id(self) -> str:
        return str(self.rng.randint(10**17, 10**18 - 1))

    def coin_and_network(self) -> tuple[str, _Coin, str]:
        ticker = _pick(self.rng, {name: coin.weight for name, coin in _COINS.items()})
        coin = _COINS[ticker]
        return ticker, coin, _pick(self.rng, {n: w for n, (w, _) in coin.networks.items()})

    def amount(self, coin: _Coin) -> Decimal:
        value = _usdt_value(self.rng, 1, 3 + min(self.tier, 6) // 2)
        return _quantize(value / coin.price, Decimal(1).scaleb(-coin.places))


class DemoExchangeAdapter:
    """An ``ExchangeAdapter`` with no exchange behind it; see the module docstring."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self._clock = clock or core_clock.now

    async def customer_context(self, external_id: str) -> CustomerContext:
        return self.generate(external_id)

    async def find_deposit(self, external_id: str, *, txid: str) -> Deposit | None:
        wanted = normalize_txid(txid)
        for deposit in self.generate(external_id).deposits:
            if deposit.txid is not None and normalize_txid(deposit.txid) == wanted:
                return deposit
        return None

    async def start_identity_check(
        self, external_id: str, check: IdentityCheckRequest
    ) -> IdentityCheckStarted:
        """The demo exchange's sign-in page is Kefu's own simulation, on Kefu's origin (the one
        ``check.callback_url`` names)."""
        self.generate(external_id)  # unknown / unavailable ids behave as for the context
        origin = check.callback_url.split("/", 3)[:3]
        return IdentityCheckStarted(
            redirect_url=f"{'/'.join(origin)}{DEMO_SIGN_IN_PATH}?reference={check.reference}")

    async def aclose(self) -> None:
        return None

    def generate(self, external_id: str) -> CustomerContext:
        """The customer's context at the clock's current second (pure, synchronous)."""
        if not external_id.strip() or len(external_id) > 128 or external_id.startswith("unknown"):
            raise CustomerNotFound(external_id)
        if external_id.startswith("unavailable"):
            raise ExchangeUnavailable("demo exchange is unavailable for this customer (demo id)")
        seed = int.from_bytes(hashlib.sha256(external_id.encode()).digest(), "big")
        rng = random.Random(seed)
        anchor = core_clock.ensure_utc(self._clock()).replace(microsecond=0)

        tier = rng.choices(range(10), _VIP_WEIGHTS)[0]
        if external_id[:3].lower() == "vip":
            digit = external_id[3:4]
            tier = int(digit) if digit.isdigit() and int(digit) >= 5 else rng.randint(5, 9)
        kyc = rng.choices(range(3), (8, 30, 62))[0]  # levels 0-2, as kyc-levels-and-limits says
        kyc = max(kyc, 2) if tier >= 3 else kyc
        forced_review: KycReviewStatus | None = (
            "pending" if external_id.startswith("kyc-pending")
            else "rejected" if external_id.startswith("kyc-rejected") else None)
        if forced_review is not None:
            kyc = min(kyc, 1)
        age_s = rng.randint(2 * _DAY, 2_500 * _DAY)
        low, high = _VIP_VOLUME[tier]
        volume = Decimal(rng.randint(low * 100, high * 100)).scaleb(-2)
        if tier == 0 and rng.random() < 0.25:
            volume = Decimal("0.00")
        flags = [name for name, p in _FLAGS if rng.random() < p]
        addresses = {name: _NETWORKS[name].address(rng) for name in _OWN_ADDRESS_NETWORKS}
        addresses["BEP20"] = addresses["ERC20"]  # one EVM key pair serves every EVM chain
        addresses.update(_SHARED_ADDRESSES)
        customer = _Customer(
            rng, anchor, min(30 * _DAY, age_s - 3_600), tier, addresses,
            str(rng.randint(100_000_000, 4_294_967_295)),
        )
        deposits = [_deposit(customer) for _ in range(rng.randint(0, 6) + (2 if tier > 3 else 0))]
        withdrawals = [
            _withdrawal(customer, hold=index == 0 and "withdrawals_frozen" in flags)
            for index in range(rng.randint(0, 5) if kyc >= 1 else 0)
        ]
        orders = [_order(customer) for _ in range(rng.randint(0, min(6 + 2 * tier, 20)))]
        trades_futures = rng.random() < 0.3
        liquidations = [
            _liquidation(customer) for _ in range(rng.randint(1, 3) if trades_futures else 0)
        ]
        return CustomerContext(
            external_id=external_id,
            vip_tier=tier,
            kyc_level=kyc,
            account_created_at=anchor - timedelta(seconds=age_s),
            thirty_day_volume_usdt=volume,
            deposits=_newest_first(deposits),
            withdrawals=_newest_first(withdrawals),
            orders=_newest_first(orders),
            liquidations=_newest_first(liquidations),
            flags=flags,
            kyc_review=_kyc_review(external_id, anchor, age_s, kyc, forced_review),
        )


def _newest_first(items: list[_T]) -> list[_T]:
    return sorted(items, key=lambda item: item.created_at, reverse=True)


def _kyc_review(external_id: str, anchor: datetime, age_s: int, kyc: int,
                forced: KycReviewStatus | None) -> KycReview | None:
    """The latest KYC application, consistent with the level: approved for the level the
    customer has, pending or rejected for the next one. From its own generator, so the rest of
    the customer does not depend on it."""
    rng = random.Random(hashlib.sha256(b"kyc-review:" + external_id.encode()).digest())
    status = forced or _pick(rng, _KYC_REVIEWS[min(kyc, 2)])
    if status == "none":
        return None
    window = age_s - 600  # applied after signing up (accounts are at least 2 days old)
    if status == "pending":  # most within the 48-hour limit, some past it
        waited = (rng.randint(600, 40 * 3_600) if rng.random() < 0.8
                  else rng.randint(49 * 3_600, 6 * _DAY))
        return KycReview(status=status, level_requested=kyc + 1,
                         submitted_at=anchor - timedelta(seconds=min(waited, window)))
    oldest = min(window, (400 if status == "approved" else 30) * _DAY)
    submitted = anchor - timedelta(seconds=rng.randint(min(3_600, oldest), oldest))
    took = rng.randint(300, 900) if rng.random() < 0.7 else rng.randint(3_600, 47 * 3_600)
    reasons: list[str] = []
    if status == "rejected":
        reasons = [_pick(rng, _KYC_REASON_WEIGHTS)]
        if reasons[0] != "region_restricted" and rng.random() < 0.3:
            reasons.append(_pick(rng, {code: weight for code, weight in _KYC_REASON_WEIGHTS.items()
                                       if code not in (reasons[0], "region_restricted")}))
    elif status == "resubmission_required":
        reasons = [_pick(rng, _KYC_RESUBMIT_REASONS)]
    return KycReview(status=status, level_requested=kyc if status == "approved" else kyc + 1,
                     submitted_at=submitted,
                     reviewed_at=min(submitted + timedelta(seconds=took), anchor),
                     reasons=reasons)


def _deposit(c: _Customer) -> Deposit:
    rng = c.rng
    ticker, coin, network = c.coin_and_network()
    net = _NETWORKS[network]
    statuses: dict[DepositStatus, int] = {
        "credited": 70, "confirming": 10, "pending": 7, "on_hold": 6, "failed": 7
    }
    status = _pick(rng, statuses)
    memo: str | None = c.memo if net.memo else None
    block_s = max(net.block_ms // 1000, 1)
    if status == "confirming":
        confirmations = rng.randint(0, net.required - 1)
        created = c.ago(30 + confirmations * block_s, 90 + (confirmations + 1) * block_s)
    elif status == "pending":  # seen in the mempool; a low-fee BTC transfer waits for hours
        confirmations = 0
        created = c.ago(2 * 3_600, 3 * _DAY) if network == "Bitcoin" else c.ago(20, 120)
    elif status == "failed":
        confirmations, created = 0, c.ago(_DAY, 30 * _DAY)
    else:  # credited, or on_hold: on chain, held (memo/tag missing, or compliance review)
        created = c.ago(3_600, 30 * _DAY) if status == "credited" else c.ago(3_600, 10 * _DAY)
        elapsed_ms = int((c.anchor - created).total_seconds()) * 1000
        confirmations = max(net.required, elapsed_ms // net.block_ms)
        if status == "on_hold" and net.memo and rng.random() < 0.8:
            memo = None
    return Deposit(
        id=c.new_id(), coin=ticker, network=network, amount=c.amount(coin),
        address=c.addresses[network], memo=memo, txid=net.txid(rng), status=status,
        confirmations=confirmations, required_confirmations=net.required, created_at=created,
    )


def _withdrawal(c: _Customer, *, hold: bool) -> Withdrawal:
    rng = c.rng
    ticker, coin, network = c.coin_and_network()
    net = _NETWORKS[network]
    fee = coin.networks[network][1]
    minimum = max(fee * 3, _WITHDRAWAL_MINIMUMS.get((ticker, network), fee))
    statuses: dict[WithdrawalStatus, int] = {
        "completed": 60, "broadcast": 8, "processing": 8, "pending_review": 10,
        "failed": 6, "cancelled": 8,
    }
    status: WithdrawalStatus = "pending_review" if hold else _pick(rng, statuses)
    ages = {
        "processing": (120, 2_400), "pending_review": (3_600, 3 * _DAY),
        "broadcast": (60, 3_600 if network == "Bitcoin" else 600),
    }
    created = c.ago(*ages.get(status, (3_600, 30 * _DAY)))
    return Withdrawal(
        id=c.new_id(), coin=ticker, network=network, amount=max(c.amount(coin), minimum), fee=fee,
        address=net.address(rng),
        memo=str(rng.randint(1_000, 999_999_999)) if net.memo and rng.random() < 0.8 else None,
        txid=net.txid(rng) if status in ("broadcast", "completed") else None,
        status=status, created_at=created,
    )


def _order(c: _Customer) -> Order:
    rng = c.rng
    ticker = _pick(rng, {name: coin.weight for name, coin in _COINS.items() if name != "USDT"})
    coin = _COINS[ticker]
    kind = "limit" if rng.random() < 0.7 else "market"
    statuses: dict[OrderStatus, int] = (
        {"filled": 45, "cancelled": 25, "open": 12, "partially_filled": 8, "expired": 5,
         "rejected": 5}
        if kind == "limit" else {"filled": 92, "rejected": 8}
    )
    status = _pick(rng, statuses)
    price = _quantize(coin.price * (1 + Decimal(rng.randint(-300, 300)).scaleb(-4)), coin.tick)
    value = _usdt_value(rng, 1, 3 + min(c.tier, 6) // 2)
    quantity = max(_quantize(value / price, coin.step), coin.step * 10)
    filled = Decimal(0)
    if status == "filled":
        filled = quantity
    elif status == "partially_filled" or (status == "cancelled" and rng.random() < 0.3):
        share = Decimal(rng.randint(5, 95)).scaleb(-2)
        filled = min(_quantize(quantity * share, coin.step), quantity - coin.step)
    recent = status in ("open", "partially_filled")
    return Order(
        id=c.new_id(), symbol=f"{ticker}-USDT", side=rng.choice(("buy", "sell")), type=kind,
        price=None if kind == "market" and filled == 0 else price, quantity=quantity,
        filled=filled, status=status,
        created_at=c.ago(60, 2 * _DAY) if recent else c.ago(600, 30 * _DAY),
    )


def _liquidation(c: _Customer) -> Liquidation:
    rng = c.rng
    ticker = rng.choice(("BTC", "BTC", "ETH", "SOL", "XRP", "TON"))
    coin = _COINS[ticker]
    side = rng.choice(("long", "short"))
    move = Decimal(rng.randint(200, 1_500)).scaleb(-4)
    price = _quantize(coin.price * (1 - move if side == "long" else 1 + move), coin.tick)
    notional = _usdt_value(rng, 2, 3 + c.tier // 3)
    quantity = _quantize(notional / price, coin.step)
    leverage = rng.choice((5, 10, 20, 25, 50, 100))
    loss = _quantize(quantity * price / leverage * rng.randint(80, 100) / 100, Decimal("0.01"))
    return Liquidation(
        id=c.new_id(), symbol=f"{ticker}-USDT-PERP", side=side, quantity=quantity, price=price,
        loss_usdt=loss, created_at=c.ago(600, 30 * _DAY),
    )
