"""Block explorer links for the txids in the agent's customer panel.

A link is offered only for a network Kefu knows and a txid in that network's format: the
back office's values are not trusted to build a URL (a "txid" such as ``javascript:…`` or
``../../evil`` gets no link, only its text and the copy button)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_EVM = re.compile(r"0x[0-9a-fA-F]{64}")
_BASE58_SIGNATURE = re.compile(r"[1-9A-HJ-NP-Za-km-z]{64,90}")
_TON_HASH = re.compile(r"[0-9a-fA-F]{64}|[A-Za-z0-9_-]{43}=?")


@dataclass(frozen=True)
class Explorer:
    url: str  # ``{txid}`` is replaced by the txid
    txid: re.Pattern[str]


_BITCOIN = Explorer("https://mempool.space/tx/{txid}", _HEX64)
_ETHEREUM = Explorer("https://etherscan.io/tx/{txid}", _EVM)
_BSC = Explorer("https://bscscan.com/tx/{txid}", _EVM)
_TRON = Explorer("https://tronscan.org/#/transaction/{txid}", _HEX64)
_SOLANA = Explorer("https://solscan.io/tx/{txid}", _BASE58_SIGNATURE)
_TON = Explorer("https://tonviewer.com/transaction/{txid}", _TON_HASH)
_XRP = Explorer("https://livenet.xrpl.org/transactions/{txid}", _HEX64)

# Network names as back offices write them, compared without case, spaces, "-" or "_".
EXPLORERS: Final[dict[str, Explorer]] = {
    "bitcoin": _BITCOIN, "btc": _BITCOIN,
    "erc20": _ETHEREUM, "ethereum": _ETHEREUM, "eth": _ETHEREUM,
    "bep20": _BSC, "bsc": _BSC, "bnbsmartchain": _BSC,
    "trc20": _TRON, "tron": _TRON, "trx": _TRON,
    "solana": _SOLANA, "sol": _SOLANA,
    "ton": _TON,
    "xrpledger": _XRP, "xrp": _XRP, "ripple": _XRP,
}


def _network_key(network: str) -> str:
    return re.sub(r"[\s_-]+", "", network).casefold()


def explorer_url(network: str | None, txid: str | None) -> str | None:
    """The public explorer page of ``txid`` on ``network``; ``None`` for an unknown network or
    a txid that is not in the network's format."""
    if not network or not txid:
        return None
    explorer = EXPLORERS.get(_network_key(network))
    if explorer is None or not explorer.txid.fullmatch(txid.strip()):
        return None
    return explorer.url.format(txid=txid.strip())


def short_txid(txid: str, *, head: int = 8, tail: int = 6) -> str:
    """``txid`` with its middle elided (``3f5a9c0e…4b7d21``) when it is long; the full value
    stays copyable next to it."""
    if len(txid) <= head + tail + 1:
        return txid
    return f"{txid[:head]}…{txid[-tail:]}"
