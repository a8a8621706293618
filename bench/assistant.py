"""Assistant benchmark, retrieval calibration and the transcript report.

    .venv/bin/python bench/assistant.py [--messages 200] [--index-dir DIR]
    .venv/bin/python bench/assistant.py --calibrate [--intent-embeddings]
    .venv/bin/python bench/assistant.py --transcripts docs/assistant-transcripts.md

The demo knowledge base (kefu/demo/kb) is indexed with the real search service (BM25 + e5) into
``--index-dir`` (a temporary folder by default; pass a folder to reuse the index across runs:
building it embeds every section). The intent model is the shipped one
(``kefu.assistant.intents.load_default``), the exchange is the demo adapter.

- default: messages/s and p50/p95/p99 latency of ``Assistant.respond`` over distinct real
  first messages from intents.csv in Chinese and English (each in a fresh conversation, one
  after another), peak RSS, one JSON line.
- ``--calibrate``: the intent model trained on 80 % of ``kefu/assistant/data/intents.csv``
  predicts the other 20 %; where hybrid search ranks each predicted intent's article, for right
  and for wrong predictions, gives the likelihood ratios of ``answer.RetrievalCalibration``.
  Prints them with the calibration error and the precision/coverage at confidence 0.5 (fitted
  and currently shipped ratios) as one JSON line. ``--intent-embeddings`` trains the intent
  model with its e5 features, as shipped (slower); by default on n-grams only.
- ``--transcripts FILE``: 30 multi-turn conversations (15 zh, 15 en) as a Markdown report.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kefu.assistant.answer import (  # noqa: E402
    DEFAULT_CALIBRATION,
    RetrievalCalibration,
    kb_language,
)
from kefu.assistant.intent_data import read_labelled_csv  # noqa: E402
from kefu.assistant.pipeline import (  # noqa: E402
    Assistant,
    AssistantCustomer,
    ConversationState,
    IntentClassifier,
    Turn,
    load_intent_catalog,
)
from kefu.core import clock  # noqa: E402
from kefu.exchange.demo import DemoExchangeAdapter  # noqa: E402
from kefu.kb.status import StatusNotice  # noqa: E402
from kefu.search.service import SearchService  # noqa: E402

KB = ROOT / "kefu" / "demo" / "kb"
INTENTS_CSV = ROOT / "kefu" / "assistant" / "data" / "intents.csv"
ANCHOR = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)



def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def open_search(index_dir: Path) -> SearchService:
    """The demo KB's index in ``index_dir``, built when the folder has none yet."""
    service = SearchService(index_dir)
    if len(service) == 0:
        started = time.perf_counter()
        count = service.rebuild_from_folder(KB)
        print(f"indexed {count} articles in {time.perf_counter() - started:.0f} s",
              file=sys.stderr)
    return service


def load_intents(model_dir: Path) -> IntentClassifier:
    from kefu.assistant.intents import load_default

    return load_default(model_dir)


# ---------------------------------------------------------------- throughput


def bench_messages(count: int, seed: int = 3) -> list[str]:
    """``count`` distinct customer messages from intents.csv (Chinese and English, every
    intent), so no cache of the intent encoder or of search sees a message twice."""
    rows = read_labelled_csv(INTENTS_CSV)
    texts = list(dict.fromkeys(rows.texts))
    random.Random(seed).shuffle(texts)
    if count > len(texts):
        raise ValueError(f"--messages at most {len(texts)} (distinct texts in intents.csv)")
    return texts[:count]


async def measure(assistant: Assistant, messages: int) -> dict[str, object]:
    customer = AssistantCustomer(external_id="bench-customer")
    latencies: list[float] = []
    kinds: Counter[str] = Counter()
    texts = bench_messages(messages)
    started = time.perf_counter()
    for text in texts:
        begin = time.perf_counter()
        turn = await assistant.respond(ConversationState(), text, customer=customer)
        latencies.append((time.perf_counter() - begin) * 1000)
        kinds[turn.kind] += 1
    elapsed = time.perf_counter() - started
    return {"bench": "assistant", "messages": messages,
            "messages_s": round(messages / elapsed, 2),
            "p50_ms": round(percentile(latencies, 0.50), 1),
            "p95_ms": round(percentile(latencies, 0.95), 1),
            "p99_ms": round(percentile(latencies, 0.99), 1),
            "mean_ms": round(statistics.fmean(latencies), 1), "kinds": dict(kinds),
            "peak_rss_mb": round(peak_rss_mb(), 1)}


# ---------------------------------------------------------------- calibration


@dataclass(frozen=True)
class Observation:
    """One held-out question: the intent model's confidence, the rank of its intent's article
    in search (0 = absent), whether that intent was right, whether search's top hit is right."""

    confidence: float
    rank: int
    intent_right: bool
    top1_right: bool


def observe(search: SearchService, depth: int, embeddings: bool) -> list[Observation]:
    """Train the intent model on 80 % of intents.csv, and for each held-out question whose
    predicted intent names an article, see where search ranks that article."""
    from kefu.assistant.intent_calibration import holdout_split
    from kefu.assistant.intents import IntentModel

    catalog = load_intent_catalog()
    rows = read_labelled_csv(INTENTS_CSV)
    fit, held = holdout_split(rows.labels, 0.2, seed=7)
    model = IntentModel.train([rows.texts[i] for i in fit], [rows.labels[i] for i in fit],
                              oos_label="oos", use_embeddings=embeddings)
    observations: list[Observation] = []
    for i in held:
        text, gold_label = rows.texts[i], rows.labels[i]
        prediction = model.predict(text)
        predicted = catalog.get(prediction.label)
        gold = catalog.get(gold_label)
        if predicted is None or predicted.article is None or gold is None or not gold.article:
            continue
        lang = "zh" if any("\u4e00" <= c <= "\u9fff" for c in text) else "en"
        slugs = [hit.slug for hit in search.search(text, lang=kb_language(lang), k=depth)]
        rank = slugs.index(predicted.article) + 1 if predicted.article in slugs else 0
        observations.append(Observation(prediction.confidence, rank,
                                        predicted.article == gold.article,
                                        bool(slugs) and slugs[0] == gold.article))
    return observations


def fit_calibration(observations: Sequence[Observation], depth: int) -> RetrievalCalibration:
    """Laplace-smoothed likelihood ratios P(rank | intent right) / P(rank | intent wrong) for
    three outcomes: first, ranks 2..depth pooled (a few hundred questions cannot tell rank 3
    from rank 4), and absent; and the precision of search's top hit when the intent's article
    is absent."""

    def bucket(rank: int) -> int:
        return min(rank, 2)

    right = Counter(bucket(o.rank) for o in observations if o.intent_right)
    wrong = Counter(bucket(o.rank) for o in observations if not o.intent_right)
    n_right, n_wrong = sum(right.values()), sum(wrong.values())

    def ratio(rank: int) -> float:
        return round(((right[bucket(rank)] + 1) / (n_right + 3))
                     / ((wrong[bucket(rank)] + 1) / (n_wrong + 3)), 3)

    absent = [o for o in observations if o.rank == 0]
    top1 = (sum(o.top1_right for o in absent) + 1) / (len(absent) + 2)
    return RetrievalCalibration(tuple(ratio(r) for r in range(1, depth + 1)), ratio(0),
                                round(top1, 3))


def reliability(observations: Sequence[Observation], calibration: RetrievalCalibration,
                threshold: float) -> dict[str, float]:
    """Expected calibration error (10 bins) of ``answer_confidence``, and precision and
    coverage of the answers sent at ``threshold``."""
    from kefu.assistant.answer import answer_confidence

    scored = [(answer_confidence(o.confidence, o.rank or None, calibration),
               o.intent_right if o.rank else o.top1_right) for o in observations]
    error = 0.0
    for low in range(10):
        bucket = [(c, r) for c, r in scored if low / 10 <= c < (low + 1) / 10 or
                  (low == 9 and c == 1.0)]
        if bucket:
            error += abs(statistics.fmean(c for c, _ in bucket)
                         - statistics.fmean(r for _, r in bucket)) * len(bucket)
    sent = [right for confidence, right in scored if confidence >= threshold]
    return {"ece": round(error / len(scored), 3),
            "precision_at_threshold": round(statistics.fmean(sent), 3) if sent else 0.0,
            "coverage_at_threshold": round(len(sent) / len(scored), 3),
            "intent_accuracy": round(statistics.fmean(o.intent_right for o in observations), 3)}


# ---------------------------------------------------------------- transcripts

DEMO_IDS = {"confirming": "flow-2", "credited": "flow-0", "failed": "flow-1",
            "btc_pending": "flow-112", "memo": "flow-24", "review": "flow-3",
            "investigation": "flow-112", "fresh": "flow-10"}


def _txid(adapter: DemoExchangeAdapter, external_id: str, status: str,
          network: str | None = None) -> str:
    """The txid of the demo customer's first deposit in ``status`` (looked up, not typed)."""
    found = next(d for d in adapter.generate(external_id).deposits
                 if d.status == status and network in (None, d.network))
    assert found.txid is not None
    return found.txid


@dataclass(frozen=True)
class Conversation:
    title: str
    lang: str
    customer: str | None
    messages: tuple[str, ...]
    notices: tuple[StatusNotice, ...] = ()
    step_up: bool = True


def conversations(adapter: DemoExchangeAdapter) -> list[Conversation]:
    """The 30 scripted conversations (15 zh, 15 en); txids come from the demo adapter."""
    trc20_delay = StatusNotice(kind="network", state="delayed", coin="USDT", network="TRC20",
                               direction="withdrawal", title="USDT TRC20 提币延迟",
                               body="", starts_at=ANCHOR, ends_at=None)
    trc20_delay_en = StatusNotice(kind="network", state="delayed", coin="USDT",
                                  network="TRC20", direction="withdrawal",
                                  title="USDT TRC20 withdrawals delayed", body="",
                                  starts_at=ANCHOR, ends_at=None)
    ids = DEMO_IDS
    return [
        Conversation("充值未到账：从最近的充值中选择", "zh", ids["confirming"],
                     ("我充值的USDT还没到账", "1")),
        Conversation("充值已到账（按交易哈希查询）", "zh", ids["credited"],
                     (f"充值没到账，哈希是 {_txid(adapter, ids['credited'], 'credited')}",)),
        Conversation("TON 充值漏填 Memo", "zh", ids["memo"],
                     ("我充的TON一直没到账",
                      f"哈希 {_txid(adapter, ids['memo'], 'on_hold', 'TON')}")),
        Conversation("提币审核中", "zh", ids["review"],
                     ("我的提币一直在审核中，怎么回事", "2", "好的，谢谢")),
        Conversation("谷歌验证器丢失，重置二次验证", "zh", ids["confirming"],
                     ("手机丢了，谷歌验证器没了，怎么重置二次验证",)),
        Conversation("账号被盗", "zh", ids["credited"],
                     ("我的账号被盗了！有人改了我的邮箱还把币提走了",)),
        Conversation("要求人工", "zh", ids["credited"], ("转人工",)),
        Conversation("两次没帮到 → 转人工", "zh", ids["credited"],
                     ("提币手续费是多少", "没用", "还是不对")),
        Conversation("实名认证审核时间", "zh", ids["credited"],
                     ("实名认证审核要多久", "谢谢")),
        Conversation("超出范围：行情预测", "zh", ids["credited"], ("明天比特币会涨吗",)),
        Conversation("问候后提问：资金费率", "zh", ids["credited"],
                     ("你好", "合约的资金费率是什么意思")),
        Conversation("BTC 充值矿工费过低", "zh", ids["btc_pending"],
                     ("BTC充值好久了还没到 "
                      + _txid(adapter, ids["btc_pending"], "pending", "Bitcoin"),)),
        Conversation("P2P 申诉", "zh", ids["credited"],
                     ("P2P卖币，买家说付款了但我没收到钱，要申诉",)),
        Conversation("充值选错网络", "zh", ids["credited"],
                     ("我把USDT用BEP20网络转到了ERC20的地址，怎么办",)),
        Conversation("TRC20 提币延迟（状态页）", "zh", ids["credited"],
                     ("TRC20 提USDT手续费多少",), notices=(trc20_delay,)),
        Conversation("Deposit not in the list, unknown txid", "en", ids["confirming"],
                     ("my USDT deposit has not arrived", "none of these",
                      "the txid is " + "ab" * 32)),
        Conversation("Deposit confirming (txid)", "en", ids["confirming"],
                     ("deposit still not credited, txid "
                      + _txid(adapter, ids["confirming"], "confirming"),)),
        Conversation("Failed deposit", "en", ids["failed"],
                     ("my deposit never arrived: "
                      + _txid(adapter, ids["failed"], "failed", "TRC20"),)),
        Conversation("Withdrawal broadcast", "en", ids["confirming"],
                     ("where is my withdrawal? it's been a while", "thanks!")),
        Conversation("2FA reset as a visitor (no account to verify)", "en", None,
                     ("I lost my authenticator app, how do I reset 2FA?",)),
        Conversation("Unauthorized withdrawal", "en", ids["credited"],
                     ("I didn't make this withdrawal!! someone took 3000 USDT from my account",)),
        Conversation("Asks for a human", "en", ids["credited"],
                     ("can I talk to a real person please",)),
        Conversation("Maker and taker fees", "en", ids["credited"],
                     ("what are the maker and taker fees on spot?", "thanks, that helps")),
        Conversation("Out of scope: weather", "en", ids["credited"],
                     ("what's the weather like in Singapore?",)),
        Conversation("Greeting, then cancel a withdrawal", "en", ids["credited"],
                     ("hi", "how do I cancel a withdrawal I just made?")),
        Conversation("Seed phrase pasted in chat", "en", ids["credited"],
                     ("my wallet is empty, my seed is abandon ability able about above absent "
                      "absorb abstract absurd abuse access accident",)),
        Conversation("Withdrawal on an account under review", "en", ids["investigation"],
                     ("why is my withdrawal not processed yet?",)),
        Conversation("API rate limits, one retry", "en", ids["credited"],
                     ("what are the API rate limits?", "that didn't help", "ok thanks")),
        Conversation("Funding rate, then a fresh ERC20 deposit", "en", ids["fresh"],
                     ("what is the funding rate on perpetuals?",
                      "also my ETH deposit is not credited yet, txid "
                      + _txid(adapter, ids["fresh"], "pending", "ERC20"))),
        Conversation("TRC20 withdrawal fee during a network delay", "en", ids["credited"],
                     ("how much is the USDT withdrawal fee on TRC20?",),
                     notices=(trc20_delay_en,)),
    ]


async def demo_step_up(external_id: str, purpose: str) -> str:
    """A link in the format ``kefu.trust.stepup`` issues (the real one needs a database row)."""
    return f"https://demoex.example/verify/identity/demo-{purpose}-{len(external_id)}"


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def _turn_header(turn: Turn) -> str:
    parts: list[str] = [turn.kind]
    if turn.intent:
        confidence = (f" {turn.intent_confidence:.2f}" if turn.intent_confidence is not None
                      else "")
        parts.append(f"intent {turn.intent}{confidence}")
    if turn.confidence is not None and turn.kind == "answer":
        parts.append(f"confidence {turn.confidence:.2f}")
    if turn.flow:
        parts.append(f"flow {turn.flow}")
    if turn.handoff is not None:
        parts.append(f"reason {turn.handoff.reason}")
    return " · ".join(parts)


async def write_transcripts(assistant: Assistant, adapter: DemoExchangeAdapter,
                            path: Path) -> None:
    """Run the 30 conversations and write the Markdown report."""
    kinds: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    sections: list[str] = []
    scripts = conversations(adapter)
    for number, script in enumerate(scripts, 1):
        state = ConversationState()
        customer = AssistantCustomer(script.customer)
        lines = [f"## {number}. {script.title} ({script.lang})", ""]
        if script.notices:
            lines += ["Status page: " + "; ".join(n.title for n in script.notices), ""]
        for text in script.messages:
            lines += [f"**Customer:** {text}", ""]
            if state.mode != "active":
                lines += ["*(handed off: an agent answers from here)*", ""]
                break
            turn = await assistant.respond(state, text, customer=customer,
                                           notices=script.notices,
                                           step_up=demo_step_up if script.step_up else None)
            kinds[turn.kind] += 1
            lines += [f"**Assistant** ({_turn_header(turn)}):", "", _quote(turn.text), ""]
            if turn.handoff is not None:
                reasons[turn.handoff.reason] += 1
                note_lang = "zh" if script.lang == "zh" else "en"
                lines += ["Hand-off note for the agent:", "", "```text",
                          turn.handoff.note(note_lang), "```", ""]
        sections.append("\n".join(lines))
    languages = Counter(script.lang for script in scripts)
    header = [
        "# Assistant transcripts",
        "",
        "Generated by `bench/assistant.py --transcripts docs/assistant-transcripts.md`: the "
        "shipped intent model, the demo help center indexed with the real search (BM25 + e5), "
        "and the demo exchange adapter at a fixed clock "
        f"({ANCHOR:%Y-%m-%d %H:%M} UTC), so the deposits and withdrawals are the same on every "
        "run. Step-up links are in the format `kefu.trust.stepup` issues (in the product each is "
        "a single-use database row). Nothing here is edited by hand.",
        "",
        f"{len(scripts)} conversations ({languages['zh']} zh, {languages['en']} en), "
        f"{sum(kinds.values())} assistant turns: "
        + ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
        + ". Hand-offs by reason: "
        + ", ".join(f"{reason} {count}" for reason, count in sorted(reasons.items())) + ".",
        "",
    ]
    path.write_text("\n".join(header) + "\n" + "\n\n".join(sections) + "\n",
                    encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--index-dir", type=Path, default=None)
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--intent-embeddings", action="store_true",
                        help="calibrate with the e5 features of the intent model (slow)")
    parser.add_argument("--transcripts", type=Path, default=None)
    args = parser.parse_args()
    if args.messages <= 0:
        parser.error("--messages must be positive")
    with tempfile.TemporaryDirectory() as scratch:
        index_dir = args.index_dir or Path(scratch) / "index"
        search = open_search(index_dir)
        if args.calibrate:
            started = time.perf_counter()
            observations = observe(search, 5, args.intent_embeddings)
            fitted = fit_calibration(observations, 5)
            print(json.dumps({"bench": "assistant_calibration", "questions": len(observations),
                              "rank_ratios": fitted.rank_ratios,
                              "absent_ratio": fitted.absent_ratio,
                              "top1_precision": fitted.top1_precision,
                              "fitted": reliability(observations, fitted, 0.5),
                              "shipped": reliability(observations, DEFAULT_CALIBRATION, 0.5),
                              "seconds": round(time.perf_counter() - started, 1)}))
            return
        clock.set_clock(lambda: ANCHOR)
        intents = load_intents(args.model_dir or Path(scratch) / "model")
        adapter = DemoExchangeAdapter(clock=lambda: ANCHOR)
        assistant = Assistant(intents=intents, search=search, exchange=adapter,
                              now=lambda: ANCHOR, official_domains=("demoex.example",))
        if args.transcripts is not None:
            asyncio.run(write_transcripts(assistant, adapter, args.transcripts))
            print(f"wrote {args.transcripts}", file=sys.stderr)
            return
        try:
            print(json.dumps(asyncio.run(measure(assistant, args.messages))))
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None

if __name__ == "__main__":
    main()
