"""Facts in a customer's message: transaction ids, addresses, order ids, amounts, coins,
networks, dates, memos and ticket numbers (SPEC §D).

The guided flows ask for exactly these ("which network? what is the txid?"), so whatever the
customer already wrote is not asked again, and the agent who takes over sees it at once.
Addresses count only when their checksum holds (see :mod:`kefu.assistant.chains`); the ones
that fail are kept apart in ``invalid_addresses`` so the assistant can say "that address looks
mistyped". Every fact carries its character span, for highlighting and masking.

Extraction runs in one pass per kind, most specific first; each kind claims its spans so that a
later, looser kind (order ids, amounts) never reads digits out of an address or a txid.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from kefu.assistant.chains import AddressFormat, Mistyped, identify_address, is_solana_signature
from kefu.core import clock
from kefu.core.ids import TICKET_ALPHABET


@dataclass(frozen=True, slots=True)
class TxId:
    value: str
    chain: str | None  # "EVM", "BTC", "TRON", "SOL", …; None when nothing in the text says
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Address:
    value: str
    chain: str  # "BTC", "EVM", "TRON", "SOL", "LTC", "XRP", "TON"
    kind: str  # "p2pkh", "p2sh", "p2wpkh", "p2wsh", "p2tr", "eip55", "unchecksummed", "account", …
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class InvalidAddress:
    value: str
    chain: str
    reason: str  # "checksum", "length" or "characters"
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class OrderId:
    value: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Amount:
    value: Decimal
    coin: str  # ticker ("USDT", "BTC") or currency ("CNY", "USD", "EUR")
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Network:
    name: str  # canonical: "TRC20", "ERC20", "BEP20", "SOL", "BTC", "ARB", "OP", "POLYGON", …
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Coin:
    symbol: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class DateMention:
    value: date
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Memo:
    """A memo or destination tag: deposits of XRP, TON, EOS … are lost without it."""

    value: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class TicketNumber:
    value: str  # canonical "KF-7Q4M2X"
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Facts:
    tx_ids: tuple[TxId, ...] = ()
    addresses: tuple[Address, ...] = ()
    invalid_addresses: tuple[InvalidAddress, ...] = ()
    order_ids: tuple[OrderId, ...] = ()
    amounts: tuple[Amount, ...] = ()
    networks: tuple[Network, ...] = ()
    coins: tuple[Coin, ...] = ()
    dates: tuple[DateMention, ...] = ()
    memos: tuple[Memo, ...] = ()
    ticket_numbers: tuple[TicketNumber, ...] = ()

    def to_dict(self) -> dict[str, list[dict[str, Any]]]:
        """JSON-ready: amounts as decimal strings (no float rounding), dates as ISO strings."""
        return {
            kind.name: [{key: _jsonable(value) for key, value in asdict(item).items()}
                        for item in getattr(self, kind.name)]
            for kind in fields(self)
        }

    def __bool__(self) -> bool:
        """True when anything at all was found."""
        return any(getattr(self, kind.name) for kind in fields(self))


def _jsonable(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


# --- lexicons ------------------------------------------------------------------------------

# Coin symbol → spellings matched case-insensitively.
_COINS: dict[str, tuple[str, ...]] = {
    "USDT": ("USDT", "Tether", "泰达币", "泰达"),
    "USDC": ("USDC",),
    "BTC": ("BTC", "Bitcoin", "比特币", "比特幣"),
    "ETH": ("ETH", "Ether", "Ethereum", "以太坊", "以太币", "以太幣"),
    "TRX": ("TRX", "波场币"),
    "SOL": ("Solana", "索拉纳"),
    "BNB": ("BNB", "币安币"),
    "XRP": ("XRP", "Ripple", "瑞波币"),
    "TON": ("Toncoin",),
    "DOGE": ("DOGE", "Dogecoin", "狗狗币"),
    "LTC": ("LTC", "Litecoin", "莱特币"),
    "MATIC": ("MATIC",),
    "AVAX": ("AVAX",),
    "SHIB": ("SHIB",),
    "PEPE": ("PEPE",),
    "FDUSD": ("FDUSD",),
    "BUSD": ("BUSD",),
    "TUSD": ("TUSD",),
}
# Symbols that are also everyday words ("the sol", "2 ton", "op", "link", "dot"): upper case only.
_CASED_COINS = ("SOL", "TON", "OP", "ARB", "ADA", "DOT", "LINK", "DAI", "POL", "SUI", "APT")

# Canonical network → spellings (case-insensitive). Bare chain names count as networks (以太坊,
# Solana, Tron); bare tickers do not ("0.5 ETH" names a coin), unless written next to another
# coin or after "on", "走", "network:" (see _NETWORK_TICKERS).
_NETWORKS: dict[str, tuple[str, ...]] = {
    "TRC20": ("TRC20", "TRC-20", "TRC 20", "TRON", "波场", "波场链", "波場", "TRX链", "TRX網絡"),
    "ERC20": ("ERC20", "ERC-20", "ERC 20", "Ethereum", "以太坊", "以太坊链", "以太坊网络",
              "以太坊主网", "ETH链", "ETH网络", "ETH network", "ETH mainnet", "以太坊鏈"),
    "BEP20": ("BEP20", "BEP-20", "BEP 20", "BSC", "BNB Smart Chain", "Binance Smart Chain",
              "币安智能链", "幣安智能鏈", "BSC链", "BNB链", "币安链"),
    "BEP2": ("BEP2", "BEP-2", "BNB Beacon Chain", "Binance Chain"),
    "SOL": ("Solana", "SOL链", "SOL网络", "SOL network", "SPL", "索拉纳"),
    "BTC": ("Bitcoin network", "BTC network", "BTC链", "BTC网络", "比特币网络", "比特币链"),
    "LIGHTNING": ("Lightning Network", "闪电网络"),
    "ARB": ("Arbitrum One", "Arbitrum", "ARB链", "ARB网络"),
    "OP": ("Optimism", "OP Mainnet", "OP链"),
    "POLYGON": ("Polygon", "Polygon PoS", "MATIC链", "Matic network", "POL链", "马蹄链"),
    "TON": ("The Open Network", "TON链", "TON网络", "TON network"),
    "XRP": ("XRP Ledger", "XRPL", "瑞波链"),
    "LTC": ("Litecoin network", "LTC链", "LTC网络"),
    "DOGE": ("DOGE链", "Dogecoin network"),
    "AVAXC": ("AVAX C-Chain", "Avalanche C-Chain", "Avalanche", "AVAXC", "AVAX链"),
    "BASE": ("Base chain", "Base network", "Base mainnet", "Base链"),
    "OMNI": ("Omni Layer", "OMNI链", "OMNI网络"),
}
# Tickers that name a network when used as one ("USDT-TRX", "USDT (SOL)", "on TON", "走BSC").
_NETWORK_TICKERS = {
    "TRX": "TRC20", "ETH": "ERC20", "BSC": "BEP20", "BNB": "BEP20", "SOL": "SOL", "TON": "TON",
    "BTC": "BTC", "ARB": "ARB", "OP": "OP", "MATIC": "POLYGON", "POL": "POLYGON",
    "AVAX": "AVAXC", "XRP": "XRP", "LTC": "LTC", "DOGE": "DOGE", "BASE": "BASE", "OMNI": "OMNI",
}
# Network → the chain whose transaction-id format it uses.
_NETWORK_CHAINS = {
    "TRC20": "TRON", "ERC20": "EVM", "BEP20": "EVM", "ARB": "EVM", "OP": "EVM", "POLYGON": "EVM",
    "AVAXC": "EVM", "BASE": "EVM", "BTC": "BTC", "LIGHTNING": "BTC", "OMNI": "BTC",
    "LTC": "LTC", "DOGE": "DOGE", "XRP": "XRP", "TON": "TON", "SOL": "SOL", "BEP2": "BNB",
}
_COIN_CHAINS = {"BTC": "BTC", "TRX": "TRON", "ETH": "EVM", "LTC": "LTC", "XRP": "XRP",
                "DOGE": "DOGE", "TON": "TON"}

_CURRENCY_SYMBOLS = {"¥": "CNY", "￥": "CNY", "$": "USD", "US$": "USD", "€": "EUR"}
_CURRENCY_WORDS = {"元": "CNY", "块": "CNY", "块钱": "CNY", "人民币": "CNY", "RMB": "CNY",
                   "CNY": "CNY", "美元": "USD", "美金": "USD", "刀": "USD", "USD": "USD",
                   "EUR": "EUR", "欧元": "EUR"}
_MULTIPLIERS = {"k": 1_000, "K": 1_000, "千": 1_000, "w": 10_000, "W": 10_000, "万": 10_000}
_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1_000}
_ZH_SECTIONS = {"万": 10_000, "亿": 100_000_000}

_MONTHS = {name: index for index, names in enumerate(
    [("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
     ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
     ("oct", "october"), ("nov", "november"), ("dec", "december")], start=1) for name in names}
_WEEKDAYS_EN = {name: index for index, names in enumerate(
    [("mon", "monday"), ("tue", "tues", "tuesday"), ("wed", "wednesday"),
     ("thu", "thur", "thurs", "thursday"), ("fri", "friday"), ("sat", "saturday"),
     ("sun", "sunday")]) for name in names}
_WEEKDAYS_ZH = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
# Days back from today; negative for promises ("明天能到吗").
_RELATIVE_DAYS = {"today": 0, "yesterday": 1, "day before yesterday": 2,
                  "the day before yesterday": 2, "tomorrow": -1, "今天": 0, "今日": 0,
                  "昨天": 1, "昨日": 1, "前天": 2, "大前天": 3, "明天": -1, "后天": -2, "後天": -2}


# --- patterns ------------------------------------------------------------------------------

def _alternation(words: list[str]) -> str:
    """Longest first, so "USDT" wins over "USD" and "BNB Smart Chain" over "BNB"."""
    return "|".join(re.escape(word) for word in sorted(set(words), key=len, reverse=True))


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_WORD_START = r"(?<![0-9A-Za-z])"
_WORD_END = r"(?![0-9A-Za-z])"
_COIN_SPELLINGS = {spelling.lower(): symbol
                   for symbol, spellings in _COINS.items() for spelling in spellings}
_NETWORK_SPELLINGS = {spelling.lower(): name
                      for name, spellings in _NETWORKS.items() for spelling in spellings}

_TICKET_RE = re.compile(
    rf"{_WORD_START}KF(?P<sep>[-\s_]?)(?P<code>[{TICKET_ALPHABET}]{{6}}){_WORD_END}", re.I)
_TON_RE = re.compile(r"(?<![0-9A-Za-z_+/=-])[EU]Q[0-9A-Za-z_+/-]{46}(?![0-9A-Za-z_+/=-])")
_TOKEN_RE = re.compile(r"[0-9A-Za-z]{24,}")
_HEX64_RE = re.compile(r"(?:0[xX])?[0-9a-fA-F]{64}")
# Case-insensitive lexicons are matched case-sensitively against a lower-cased copy of the text:
# Python's re is several times slower on a long alternation with re.IGNORECASE.
# Digits may touch a coin ("0.5btc", "100USDT"), letters may not.
_COIN_RE = re.compile(rf"(?<![a-z])(?:{_alternation(list(_COIN_SPELLINGS))})(?![0-9a-z])")
_CASED_COIN_RE = re.compile(rf"(?<![A-Za-z])(?:{_alternation(list(_CASED_COINS))}){_WORD_END}")
_NETWORK_RE = re.compile(
    rf"(?<![0-9a-z])(?:{_alternation(list(_NETWORK_SPELLINGS))})(?![0-9a-z])")
_NETWORK_TICKER_RE = re.compile(
    # "USDT-TRX", "USDT(SOL)", "on BSC", "via SOL", "走TRX", "network: ETH"
    rf"(?:{_WORD_START}(?i:USDT|USDC|FDUSD)\s?[-_(（]\s?|{_WORD_START}(?i:on|via|over|using)\s+"
    rf"|走|用|选的?|(?i:network|chain|网络|链)\s*[:：]\s*)"
    rf"(?P<ticker>{_alternation(list(_NETWORK_TICKERS))}){_WORD_END}")

# Amount units, spelled as written (lower case for case-insensitive ones) → symbol.
_UNIT_SYMBOLS: dict[str, str] = {
    **_COIN_SPELLINGS, **{coin.lower(): coin for coin in _CASED_COINS},
    **{word.lower(): code for word, code in _CURRENCY_WORDS.items()}, "u": "USDT",
}
_ASCII_UNITS = [w for w in _COIN_SPELLINGS if w.isascii()] + [
    w.lower() for w in _CURRENCY_WORDS if w.isascii()]
_OTHER_UNITS = [w for w in _COIN_SPELLINGS if not w.isascii()] + [
    w for w in _CURRENCY_WORDS if not w.isascii()]
_NUMBER = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+"
# "2k", "5w" (万) and "1.5万"; k and w may touch only a U ("5wU"), not a word ("5 weeks").
_MULTIPLIER = r"(?:\s?(?P<mult>[kKwW](?![A-TV-Za-tv-z])|[千万]))?"
_AMOUNT_RE = re.compile(
    rf"(?<![0-9A-Za-z.,])(?:(?P<number>{_NUMBER})|(?P<zh>[零〇一二两三四五六七八九十百千万亿]+))"
    rf"{_MULTIPLIER}\s*(?:个|枚)?\s*"
    # "100U" and "100u" are Chinese traders' USDT; a lower-case u only right after the digits.
    rf"(?P<unit>(?i:{_alternation(_ASCII_UNITS)})|{_alternation(list(_CASED_COINS))}"
    rf"|{_alternation(_OTHER_UNITS)}|U|(?<=\d)u)(?![A-Za-z])"
)
_CURRENCY_AMOUNT_RE = re.compile(rf"(?P<symbol>US\$|[¥￥$€])\s?(?P<number>{_NUMBER}){_MULTIPLIER}")

_ORDER_CONTEXT_RE = re.compile(  # on lower-cased text
    r"(?:(?<![a-z])order(?:\s*(?:id|no\.?|number|num|#))?|订单(?:号|编号)?|訂單(?:號|編號)?"
    r"|委托单号?|单号)\s*(?:is|是|为|:|：|#|=)?\s*(?P<value>[a-z0-9][a-z0-9_-]{5,39})")
_LONG_DIGITS_RE = re.compile(r"(?<![0-9A-Za-z+])\d{10,20}(?![0-9A-Za-z])")
_CN_MOBILE_RE = re.compile(r"1[3-9]\d{9}")
# Numbers after these are someone's identity or contact, not an order.
_NOT_ORDER_CONTEXT_RE = re.compile(
    r"(?:uid|user\s*id|account\s*(?:id|no)?|用户\s*id|用户名|账号|帳號|账户|phone|tel|mobile|"
    r"手机号?|电话|微信|wechat|qq|memo|tag|备注|标签|\+\d{1,3})\W{0,3}$",
    re.I,
)
_SECRET_CONTEXT_RE = re.compile(r"(?:private\s*key|私钥|私鑰|secret)\W{0,3}$", re.I)
_MEMO_RE = re.compile(  # on lower-cased text
    r"(?:(?<![a-z])(?:destination\s*tag|memo|tag)|备注|标签|標籤|備註)"
    r"\s*(?:is|是|为|:|：|#|=)?\s*(?P<value>[a-z0-9]{1,40})(?![0-9a-z])")
_ISO_DATE_RE = re.compile(r"(?<!\d)(?P<y>20\d{2})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?!\d)")
_ZH_DATE_RE = re.compile(
    r"(?:(?P<y>20\d{2})\s*年\s*)?(?<!\d)(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*[日号號]")
_MONTH_ALT = _alternation(list(_MONTHS))
_EN_DATE_RE = re.compile(  # on lower-cased text
    rf"(?<![0-9a-z])(?:(?P<mon1>{_MONTH_ALT})\.?\s+(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?"
    rf"|(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon2>{_MONTH_ALT})\.?)"
    rf"(?:,?\s+(?P<y>20\d{{2}}))?(?![0-9a-z])")
_RELATIVE_RE = re.compile(  # on lower-cased text
    rf"(?<![0-9a-z])(?:{_alternation([k for k in _RELATIVE_DAYS if k.isascii()])})(?![0-9a-z])"
    rf"|{_alternation([k for k in _RELATIVE_DAYS if not k.isascii()])}"
    rf"|(?P<n>\d{{1,2}}|[一二两三四五六七八九十]{{1,2}})\s*(?:天前|days?\s+ago)"
)
_WEEKDAY_EN_RE = re.compile(  # on lower-cased text
    rf"(?<![0-9a-z])(?P<which>last|this|on)\s+(?P<day>{_alternation(list(_WEEKDAYS_EN))})"
    rf"(?![0-9a-z])")
# Not "一周一次" (once a week) or "每周一" (every Monday).
_WEEKDAY_ZH_RE = re.compile(
    r"(?<![一二三四五六七八九十两几每])(?P<which>上|这|這|本)?(?:周|週|星期|礼拜|禮拜)"
    r"(?P<day>[一二三四五六日天])")
# Cheap tests that let most messages skip whole families of patterns.
_DIGIT_RE = re.compile(r"\d")
_AMOUNT_HINT_RE = re.compile(r"[0-9零〇一二两三四五六七八九十]")
_UPPER_PAIR_RE = re.compile(r"[A-Z]{2}")
_WEEKDAY_HINT_RE = re.compile(r"[周週期拜]")


# --- extraction ----------------------------------------------------------------------------

@dataclass
class _Claims:
    """Character spans already taken by a more specific fact."""

    spans: list[tuple[int, int]] = field(default_factory=list)

    def free(self, start: int, end: int) -> bool:
        return all(end <= taken_start or start >= taken_end
                   for taken_start, taken_end in self.spans)

    def take(self, start: int, end: int) -> None:
        self.spans.append((start, end))


def extract_facts(text: str, *, now: datetime | None = None) -> Facts:
    """All facts in ``text``; relative dates ("yesterday", "上周一") count from ``now``'s
    calendar day (default: :func:`kefu.core.clock.now`)."""
    today = (now or clock.now()).date()
    lowered = text.lower()
    if len(lowered) != len(text):  # "İ" lower-cases to two characters; spans must line up
        lowered = text.translate(_ASCII_LOWER)
    claims = _Claims()
    ticket_numbers = tuple(_ticket_numbers(text, claims))
    addresses, invalid, raw_tx = _addresses_and_tx_ids(text, claims)
    memos = tuple(_memos(text, lowered, claims))
    networks = tuple(_networks(text, lowered, claims))
    coins = tuple(_coins(text, lowered, claims, networks))
    dates = tuple(_dates(text, lowered, claims, today))
    amounts = tuple(_amounts(text, claims)) if _AMOUNT_HINT_RE.search(text) else ()
    order_ids = tuple(_order_ids(text, lowered, claims))
    chain = _context_chain(networks, addresses, coins)
    tx_ids = tuple(TxId(value, known or chain, start, end)
                   for value, known, start, end in raw_tx)
    return Facts(
        tx_ids=tx_ids, addresses=tuple(addresses), invalid_addresses=tuple(invalid),
        order_ids=order_ids, amounts=amounts, networks=networks, coins=coins, dates=dates,
        memos=memos, ticket_numbers=ticket_numbers,
    )


def _ticket_numbers(text: str, claims: _Claims) -> Iterator[TicketNumber]:
    for match in _TICKET_RE.finditer(text):
        code = match["code"].upper()
        # "kf thanks" is not a ticket: without the hyphen a code must hold a digit.
        if match["sep"] != "-" and not any(char.isdigit() for char in code):
            continue
        claims.take(match.start(), match.end())
        yield TicketNumber(f"KF-{code}", match.start(), match.end())


_RawTxId = tuple[str, str | None, int, int]


def _addresses_and_tx_ids(
    text: str, claims: _Claims,
) -> tuple[list[Address], list[InvalidAddress], list[_RawTxId]]:
    addresses: list[Address] = []
    invalid: list[InvalidAddress] = []
    tx_ids: list[_RawTxId] = []
    candidates = [*_TON_RE.finditer(text), *_TOKEN_RE.finditer(text)]
    for match in sorted(candidates, key=lambda m: m.start()):
        token, start, end = match.group(), match.start(), match.end()
        if not claims.free(start, end):
            continue
        if _HEX64_RE.fullmatch(token):
            if _SECRET_CONTEXT_RE.search(text, max(0, start - 20), start):
                continue
            tx_ids.append((token, "EVM" if token[:2] in ("0x", "0X") else None, start, end))
        elif is_solana_signature(token):
            tx_ids.append((token, "SOL", start, end))
        else:
            found = identify_address(token)
            if isinstance(found, AddressFormat):
                addresses.append(Address(token, found.chain, found.kind, start, end))
            elif isinstance(found, Mistyped):
                invalid.append(InvalidAddress(token, found.chain, found.reason, start, end))
            else:
                continue
        claims.take(start, end)
    return addresses, invalid, tx_ids


def _memos(text: str, lowered: str, claims: _Claims) -> Iterator[Memo]:
    for match in _MEMO_RE.finditer(lowered):
        start, end = match.span("value")
        if any(char.isdigit() for char in match["value"]) and claims.free(start, end):
            claims.take(start, end)
            yield Memo(text[start:end], start, end)


def _networks(text: str, lowered: str, claims: _Claims) -> Iterator[Network]:
    found: list[Network] = []
    for match in _NETWORK_RE.finditer(lowered):
        if claims.free(match.start(), match.end()):
            found.append(Network(_NETWORK_SPELLINGS[match.group()], match.start(), match.end()))
    tickers = _NETWORK_TICKER_RE.finditer(text) if _UPPER_PAIR_RE.search(text) else ()
    for match in tickers:
        start, end = match.span("ticker")
        if claims.free(start, end) and all(n.end <= start or n.start >= end for n in found):
            found.append(Network(_NETWORK_TICKERS[match["ticker"]], start, end))
    yield from sorted(found, key=lambda network: network.start)


def _coins(
    text: str, lowered: str, claims: _Claims, networks: tuple[Network, ...],
) -> Iterator[Coin]:
    """Coin mentions, except tickers used as a network ("ETH链", "USDT-TRX", "on SOL"); a chain
    name that is both ("以太坊", "Solana") counts as both."""
    found = [Coin(_COIN_SPELLINGS[m.group()], *m.span()) for m in _COIN_RE.finditer(lowered)]
    found += [Coin(m.group(), *m.span()) for m in _CASED_COIN_RE.finditer(text)]
    for coin in sorted(found, key=lambda c: c.start):
        as_network = any(n.start < coin.end and coin.start < n.end for n in networks)
        if as_network and lowered[coin.start:coin.end] not in _NETWORK_SPELLINGS:
            continue
        if claims.free(coin.start, coin.end):
            yield coin


def _amounts(text: str, claims: _Claims) -> Iterator[Amount]:
    found: list[Amount] = []
    for match in _AMOUNT_RE.finditer(text):
        value = (_decimal(match["number"]) if match["number"]
                 else _parse_chinese_number(match["zh"]))
        if value is not None:
            found.append(Amount(value * _MULTIPLIERS.get(match["mult"] or "", 1),
                                _UNIT_SYMBOLS[match["unit"].lower()], *match.span()))
    for match in _CURRENCY_AMOUNT_RE.finditer(text):
        value = _decimal(match["number"])
        if value is not None:
            found.append(Amount(value * _MULTIPLIERS.get(match["mult"] or "", 1),
                                _CURRENCY_SYMBOLS[match["symbol"]], *match.span()))
    for amount in sorted(found, key=lambda a: a.start):
        if claims.free(amount.start, amount.end):  # "¥500元" is one amount
            claims.take(amount.start, amount.end)
            yield amount


def _decimal(number: str) -> Decimal | None:
    try:
        return Decimal(number.replace(",", ""))
    except InvalidOperation:
        return None


def _parse_chinese_number(numeral: str) -> Decimal | None:
    """五百 → 500, 一千五百 → 1500, 两万 → 20000, and the spoken 一万五 → 15000, 三百五 → 350.
    ``None`` for strings that are not a well-formed numeral (万一, 二二)."""
    if numeral[0] not in _ZH_DIGITS and numeral[0] != "十":
        return None
    total = section = 0
    digit: int | None = None
    last_unit = 1
    previous = ""
    for char in numeral:
        if char in _ZH_DIGITS:
            if digit is not None and previous != "零":
                return None
            digit = _ZH_DIGITS[char]
        elif char in _ZH_UNITS:
            section += (1 if digit is None else digit) * _ZH_UNITS[char]
            digit, last_unit = None, _ZH_UNITS[char]
        else:
            total += (section + (digit or 0)) * _ZH_SECTIONS[char]
            section, digit, last_unit = 0, None, _ZH_SECTIONS[char]
        previous = char
    if digit is not None:
        spoken = previous in _ZH_DIGITS and last_unit >= 100 and len(numeral) >= 2
        spoken = spoken and numeral[-2] in (*_ZH_UNITS, *_ZH_SECTIONS)
        section += digit * (last_unit // 10) if spoken else digit
    return Decimal(total + section)


def _order_ids(text: str, lowered: str, claims: _Claims) -> Iterator[OrderId]:
    found: list[OrderId] = []
    for match in _ORDER_CONTEXT_RE.finditer(lowered):
        start, end = match.span("value")
        if any(char.isdigit() for char in match["value"]) and claims.free(start, end):
            claims.take(start, end)
            found.append(OrderId(text[start:end], start, end))
    for match in _LONG_DIGITS_RE.finditer(text):
        start, end = match.span()
        if not claims.free(start, end) or _is_contact_number(text, match.group(), start):
            continue
        claims.take(start, end)
        found.append(OrderId(match.group(), start, end))
    yield from sorted(found, key=lambda order: order.start)


def _is_contact_number(text: str, digits: str, start: int) -> bool:
    """A UID, phone number or memo written where an order id could be."""
    if _NOT_ORDER_CONTEXT_RE.search(text, max(0, start - 24), start):
        return True
    return bool(_CN_MOBILE_RE.fullmatch(digits))


def _dates(text: str, lowered: str, claims: _Claims, today: date) -> Iterator[DateMention]:
    found: list[DateMention] = []

    def add(value: date | None, start: int, end: int) -> None:
        if value is not None and claims.free(start, end):
            claims.take(start, end)
            found.append(DateMention(value, start, end))

    if _DIGIT_RE.search(text):
        for match in _ISO_DATE_RE.finditer(text):
            add(_make_date(int(match["y"]), int(match["m"]), int(match["d"])), *match.span())
        for match in _ZH_DATE_RE.finditer(text):
            add(_month_day(match["y"], int(match["m"]), int(match["d"]), today), *match.span())
        for match in _EN_DATE_RE.finditer(lowered):
            month = "mon1" if match["mon1"] else "mon2"
            if text[slice(*match.span(month))] == "may":  # the verb, as in "may 2 people"
                continue
            day = int(match["d1"] or match["d2"])
            add(_month_day(match["y"], _MONTHS[match[month]], day, today), *match.span())
    for match in _RELATIVE_RE.finditer(lowered):
        add(today - timedelta(days=_days_back(match)), *match.span())
    for match in _WEEKDAY_EN_RE.finditer(lowered):
        add(_weekday_date(today, _WEEKDAYS_EN[match["day"]], match["which"]), *match.span())
    weekdays_zh = _WEEKDAY_ZH_RE.finditer(text) if _WEEKDAY_HINT_RE.search(text) else ()
    for match in weekdays_zh:
        which = {"上": "previous week", "这": "this", "這": "this", "本": "this"}.get(
            match["which"] or "", "on")
        add(_weekday_date(today, _WEEKDAYS_ZH[match["day"]], which), *match.span())
    yield from sorted(found, key=lambda mention: mention.start)


def _make_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _month_day(year: str | None, month: int, day: int, today: date) -> date | None:
    """A date written without a year is the latest one not after today: customers report what
    already happened ("Nov 20" in January is last November)."""
    if year:
        return _make_date(int(year), month, day)
    value = _make_date(today.year, month, day)
    if value is None or value <= today:
        return value
    return _make_date(today.year - 1, month, day)


def _days_back(match: re.Match[str]) -> int:
    if match["n"] is None:
        return _RELATIVE_DAYS[match.group()]
    count = match["n"]
    return int(count) if count.isdigit() else int(_parse_chinese_number(count) or 0)


def _weekday_date(today: date, weekday: int, which: str) -> date:
    """Weekday mentions: "last Monday" is the latest Monday before today, a bare "周一" or "on
    Monday" the latest one up to today; "上周一" is Monday of the previous calendar week and
    "this Monday" or "这周一" that of the current one."""
    if which in ("this", "previous week"):
        monday = today - timedelta(days=today.weekday())
        if which == "previous week":
            monday -= timedelta(days=7)
        return monday + timedelta(days=weekday)
    back = (today.weekday() - weekday) % 7
    if which == "last" and back == 0:
        back = 7
    return today - timedelta(days=back)


def _context_chain(
    networks: tuple[Network, ...], addresses: list[Address], coins: tuple[Coin, ...],
) -> str | None:
    """The chain of a bare 64-hex transaction id, when the message names exactly one: by its
    networks first, then its addresses, then its coins ("BTC", "TRX")."""
    for chains in (
        {_NETWORK_CHAINS[network.name] for network in networks},
        {address.chain for address in addresses},
        {_COIN_CHAINS[coin.symbol] for coin in coins if coin.symbol in _COIN_CHAINS},
    ):
        chains.discard("SOL")  # Solana signatures are base58, never hex
        if len(chains) == 1:
            return chains.pop()
        if chains:
            return None
    return None
