"""The assistant's pipeline on one customer message (SPEC §D, docs/assistant.md):

    guard → language → hand-off rules → intent → guided flow | retrieval → answer → outbound check

:class:`Assistant` holds the models and services (intent classifier, search, exchange adapter,
optional LLM, optional step-up links) and no database: :meth:`Assistant.respond` takes the
conversation's :class:`ConversationState`, updates it in place, and returns a :class:`Turn`: an
answer, a flow question, small talk, or a hand-off with the agent's summary. The product glue
(``assistant.service``) loads and stores the state and posts the turn.

Everything after the guard sees only the masked text, so secrets never reach intents, search,
the LLM, the state or the hand-off note.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, partial
from pathlib import Path
from typing import Any, Literal, Protocol

import anyio
import yaml

from kefu.assistant.answer import (
    DEFAULT_CALIBRATION,
    Citation,
    RetrievalCalibration,
    answer_confidence,
    compose_answer,
    kb_language,
    localized,
    reply_language,
)
from kefu.assistant.facts import Facts, extract_facts
from kefu.assistant.flows import (
    FLOWS,
    FlowContext,
    FlowName,
    FlowReply,
    FlowState,
    StepUpLinker,
    canonical_network,
    continue_flow,
    start_flow,
)
from kefu.assistant.handoff import (
    UNHELPFUL_LIMIT,
    HandoffSummary,
    Reason,
    asks_for_human,
    customer_message,
    is_unhelpful_reply,
)
from kefu.assistant.llm import LLMClient, Source
from kefu.assistant.sentiment import sentiment
from kefu.core import clock
from kefu.core.language import detect_language
from kefu.exchange.base import ExchangeAdapter
from kefu.guard.outbound import LINK_NOT_ALLOWED, check_outbound
from kefu.guard.secrets import customer_notice, scan
from kefu.kb.status import StatusNotice
from kefu.search.index import Hit

INTENTS_YAML = Path(__file__).with_name("data") / "intents.yaml"
SEARCH_DEPTH = 5
SENSITIVE_MIN_CONFIDENCE = 0.4
"""Sensitive intents hand off from this confidence on, below the answer threshold: sending a
security case to a person by mistake costs an agent a minute, answering it wrongly costs more."""
MAX_ANSWERED = 8

TurnKind = Literal["answer", "ask", "handoff", "smalltalk"]
GeneratedBy = Literal["extractive", "llm", "flow", "template"]


# ---------------------------------------------------------------- what the pipeline reads


@dataclass(frozen=True, slots=True)
class IntentInfo:
    """One entry of ``data/intents.yaml``."""

    label: str
    article: str | None
    sensitive: bool
    category: str
    flow: FlowName | None


@cache
def load_intent_catalog(path: Path = INTENTS_YAML) -> Mapping[str, IntentInfo]:
    """Intent label → what the assistant does with it. ValueError names a malformed entry."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of intents")
    catalog: dict[str, IntentInfo] = {}
    for label, entry in data.items():
        if not isinstance(entry, dict) or "sensitive" not in entry:
            raise ValueError(f"{path}: intent {label!r} needs 'sensitive', 'category', 'flow'")
        flow = entry.get("flow")
        if flow is not None and flow not in FLOWS:
            raise ValueError(f"{path}: intent {label!r} names unknown flow {flow!r}")
        catalog[str(label)] = IntentInfo(str(label), entry.get("article"),
                                         bool(entry["sensitive"]),
                                         str(entry.get("category") or "other"), flow)
    return catalog


class IntentPrediction(Protocol):
    @property
    def label(self) -> str: ...

    @property
    def confidence(self) -> float: ...


class IntentClassifier(Protocol):
    """``kefu.assistant.intents.IntentModel`` or anything with its ``predict``."""

    def predict(self, text: str) -> IntentPrediction: ...


class Searcher(Protocol):
    """``kefu.search.service.SearchService``'s search."""

    def search(self, query: str, *, lang: str | None = None, k: int = 10,
               mode: Literal["hybrid", "bm25", "vector"] = "hybrid",
               category: str | None = None) -> list[Hit]: ...


@dataclass(frozen=True, slots=True)
class AssistantCustomer:
    """Who is writing: the exchange's id (None for an anonymous visitor: nothing to look up)."""

    external_id: str | None
    display_name: str = ""


# ---------------------------------------------------------------- conversation state


@dataclass
class ConversationState:
    """What the assistant remembers of one conversation; JSON via ``to_dict``/``from_dict``.

    ``facts`` merges ``Facts.to_dict()`` of every message; ``answered`` are short lines of what
    the assistant said (for the hand-off note); ``shown`` the ``slug#anchor`` of each section
    already shown, so a retry after "that didn't help" shows another one."""

    mode: Literal["active", "handed_off"] = "active"
    language: str | None = None
    turns: int = 0
    unhelpful_count: int = 0
    flow: FlowState | None = None
    facts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    answered: list[str] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)
    last_kind: str | None = None
    last_intent: str | None = None
    last_question: str | None = None
    handoff_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "language": self.language, "turns": self.turns,
                "unhelpful_count": self.unhelpful_count,
                "flow": self.flow.to_dict() if self.flow else None, "facts": self.facts,
                "answered": self.answered, "shown": self.shown, "last_kind": self.last_kind,
                "last_intent": self.last_intent, "last_question": self.last_question,
                "handoff_reason": self.handoff_reason}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ConversationState:
        flow = data.get("flow")
        return cls(mode=data.get("mode", "active"), language=data.get("language"),
                   turns=int(data.get("turns", 0)),
                   unhelpful_count=int(data.get("unhelpful_count", 0)),
                   flow=FlowState.from_dict(flow) if flow else None,
                   facts={k: list(v) for k, v in dict(data.get("facts", {})).items()},
                   answered=list(data.get("answered", [])), shown=list(data.get("shown", [])),
                   last_kind=data.get("last_kind"), last_intent=data.get("last_intent"),
                   last_question=data.get("last_question"),
                   handoff_reason=data.get("handoff_reason"))

    def remember_facts(self, facts: Facts) -> None:
        for kind, items in facts.to_dict().items():
            known = self.facts.setdefault(kind, [])
            values = {(item.get("value"), item.get("name"), item.get("symbol")) for item in known}
            for item in items:
                if (item.get("value"), item.get("name"), item.get("symbol")) not in values:
                    known.append({k: v for k, v in item.items() if k not in ("start", "end")})
        self.facts = {kind: items for kind, items in self.facts.items() if items}

    def remember_answer(self, line: str) -> None:
        self.answered = [*self.answered, line][-MAX_ANSWERED:]


@dataclass(frozen=True)
class Turn:
    """The assistant's reply to one message. ``text`` is in ``language`` (zh or en);
    ``handoff`` is set exactly when ``kind == "handoff"``; ``category`` and ``priority`` hints
    come from the intent (for the ticket the agent takes over)."""

    kind: TurnKind
    text: str
    language: str
    intent: str | None = None
    intent_confidence: float | None = None
    confidence: float | None = None
    citations: tuple[Citation, ...] = ()
    facts: Mapping[str, Any] = field(default_factory=dict)
    handoff: HandoffSummary | None = None
    generated_by: GeneratedBy = "template"
    flow: str | None = None
    category: str | None = None


_INTRO = {"en": "I'm the automated assistant (not a person). Type \"human\" at any time to reach "
                "our support team.",
          "zh": "我是自动助手（非人工）。如需人工客服，随时回复“人工”。"}
_GREETING = {"en": "Hi! Tell me what you need help with, for example a deposit that has not "
                   "arrived, a pending withdrawal or 2FA.",
             "zh": "您好！请告诉我您遇到的问题，例如充值未到账、提币处理中或二次验证。"}
_THANKS = {"en": "You're welcome! Is there anything else I can help with?",
           "zh": "不客气！还有其他可以帮您的吗？"}
_RETRY_LEAD = {"en": "Sorry about that. This may be closer to your question:",
               "zh": "抱歉。下面这篇可能更接近您的问题："}
_REPHRASE = {"en": "Sorry that didn't help. Could you describe the problem in other words, with "
                   "the coin, network or order involved?",
             "zh": "抱歉没能帮到您。能否换个说法描述一下问题，并说明涉及的币种、网络或订单？"}
_MEANWHILE = {"en": "Meanwhile, these steps help: {url}", "zh": "在此期间，可先参考：{url}"}
_READ_MORE = {"en": "More: {url}", "zh": "详见：{url}"}


@dataclass(frozen=True)
class _Message:
    """One message as the steps after the guard see it."""

    masked: str
    lang: str
    facts: Facts
    notice: str | None


class Assistant:
    """The pipeline; see the module docstring. Thread-compatible: it keeps no per-conversation
    state, so one instance serves every conversation of a process."""

    def __init__(self, *, intents: IntentClassifier, search: Searcher,
                 catalog: Mapping[str, IntentInfo] | None = None,
                 exchange: ExchangeAdapter | None = None, llm: LLMClient | None = None,
                 step_up: StepUpLinker | None = None, min_confidence: float = 0.5,
                 official_domains: Collection[str] = (),
                 calibration: RetrievalCalibration = DEFAULT_CALIBRATION,
                 now: Callable[[], datetime] = clock.now) -> None:
        self.intents = intents
        self.search = search
        self.catalog = catalog if catalog is not None else load_intent_catalog()
        self.exchange = exchange
        self.llm = llm
        self.step_up = step_up
        self.min_confidence = min_confidence
        self.official_domains = tuple(official_domains)
        self.calibration = calibration
        self.now = now

    async def respond(self, state: ConversationState, text: str, *,
                      customer: AssistantCustomer, notices: Sequence[StatusNotice] = (),
                      step_up: StepUpLinker | None = None) -> Turn:
        """Answer one customer message; ``state`` is updated in place. ``step_up`` makes the
        identity-verification link for this conversation (else the one given at construction;
        without any, a 2FA reset goes to an agent). ValueError when the conversation was already
        handed off (the assistant no longer speaks there)."""
        if state.mode != "active":
            raise ValueError("the conversation was handed off; the assistant does not answer")
        guard = scan(text)
        masked = guard.masked
        lang = reply_language(detect_language(masked), state.language, masked)
        facts = extract_facts(masked, now=self.now())
        message = _Message(masked, lang, facts, customer_notice(guard, lang))
        first_turn = state.turns == 0
        state.language = lang
        state.turns += 1
        state.remember_facts(facts)
        flow_context = FlowContext(self.exchange, customer.external_id, lang, self.now(),
                                   notices, step_up or self.step_up)
        turn = await self._decide(state, message, flow_context, guard.security_flag,
                                  _relevant_notices(notices, facts))
        if first_turn and turn.kind != "handoff":
            turn = _with_text(turn, localized(_INTRO, lang) + "\n\n" + turn.text)
        if message.notice:
            turn = _with_text(turn, message.notice + "\n\n" + turn.text)
        state.last_kind = turn.kind
        return turn

    async def feedback(self, state: ConversationState, *, helpful: bool,
                       customer: AssistantCustomer) -> Turn | None:
        """A 👍/👎 on the last answer. 👎 counts like "that didn't help" and returns the next
        turn (another answer, a request to rephrase, or the hand-off); 👍 returns None."""
        if helpful or state.mode != "active" or state.last_kind != "answer":
            return None
        return await self.respond(state, "\U0001F44E", customer=customer)

    # ---------------------------------------------------------------- decisions

    async def _decide(self, state: ConversationState, message: _Message, ctx: FlowContext,
                      leaked_wallet_secret: bool, notices: Sequence[StatusNotice]) -> Turn:
        if leaked_wallet_secret:
            return self._handoff(state, message, "secret_shared", None, None)
        if asks_for_human(message.masked):
            return self._handoff(state, message, "customer_request", None, None)
        if state.last_kind == "answer" and is_unhelpful_reply(message.masked):
            return await self._after_unhelpful(state, message)
        # The intent model embeds the text (CPU work): off the event loop, like search.
        prediction = await anyio.to_thread.run_sync(self.intents.predict, message.masked)
        label, confidence = prediction.label, float(prediction.confidence)
        info = self.catalog.get(label)
        sensitive = info is not None and info.sensitive and confidence >= SENSITIVE_MIN_CONFIDENCE
        if state.flow is not None and not sensitive:
            flow_intent = state.last_intent or state.flow.name
            flow_confidence = float(state.flow.slots.get("intent_confidence", confidence))
            reply = await continue_flow(state.flow, ctx, message.facts, message.masked)
            state.flow = None
            if reply is not None:  # an answer to the flow's question: the flow's intent holds
                return self._flow_turn(state, message, reply, flow_intent, flow_confidence)
        state.flow = None
        if sensitive:
            reason: Reason = "customer_request" if label == "talk_to_human" else "sensitive"
            return self._handoff(state, message, reason, label, confidence)
        if label == "oos":
            return self._handoff(state, message, "out_of_scope", label, confidence)
        if label in ("greeting", "thanks") and confidence >= self.min_confidence:
            text = localized(_GREETING if label == "greeting" else _THANKS, message.lang)
            state.last_intent = label
            return Turn("smalltalk", text, message.lang, label, confidence,
                        facts=message.facts.to_dict())
        if info is not None and info.flow is not None and confidence >= self.min_confidence:
            reply = await start_flow(info.flow, ctx, message.facts)
            if reply is not None:
                state.last_intent = label
                return self._flow_turn(state, message, reply, label, confidence)
        return await self._retrieval_answer(state, message, label, confidence, info, notices)

    async def _after_unhelpful(self, state: ConversationState, message: _Message) -> Turn:
        """The first "that didn't help" gets another section (or a request to rephrase); the
        second hands off."""
        state.unhelpful_count += 1
        if state.unhelpful_count >= UNHELPFUL_LIMIT:
            return self._handoff(state, message, "unhelpful", state.last_intent, None)
        if not state.last_question:  # a flow's explanation: nothing else to show
            return Turn("ask", localized(_REPHRASE, message.lang), message.lang,
                        state.last_intent)
        hits = await self._search(state.last_question, message.lang, k=SEARCH_DEPTH * 2)
        shown_slugs = {key.split("#", 1)[0] for key in state.shown}
        fresh = [hit for hit in hits if hit.slug not in shown_slugs]
        if not fresh:
            return Turn("ask", localized(_REPHRASE, message.lang), message.lang,
                        state.last_intent)
        # The customer rejected the best answer; the next one is offered as a possibility, with
        # no confidence claimed (the calibration does not cover second tries).
        return self._answer_turn(state, message, fresh[0], state.last_intent, None, None,
                                 lead=localized(_RETRY_LEAD, message.lang))

    async def _retrieval_answer(self, state: ConversationState, message: _Message, label: str,
                                confidence: float, info: IntentInfo | None,
                                notices: Sequence[StatusNotice]) -> Turn:
        hits = await self._search(message.masked, message.lang)
        if not hits:
            return self._handoff(state, message, "low_confidence", label, confidence)
        article = info.article if info is not None else None
        rank = next((i for i, hit in enumerate(hits, 1) if hit.slug == article), None)
        hit = hits[rank - 1] if rank is not None else hits[0]
        score = answer_confidence(confidence, rank, self.calibration)
        if score < self.min_confidence:
            return self._handoff(state, message, "low_confidence", label, confidence,
                                 answer_confidence=score)
        state.last_question = message.masked
        state.last_intent = label
        others = [other for other in hits if other.slug != hit.slug][:2]
        return await self._compose(state, message, hit, others, label, confidence, score,
                                   notices, category=info.category if info else None)

    async def _compose(self, state: ConversationState, message: _Message, hit: Hit,
                       others: Sequence[Hit], label: str, intent_confidence: float,
                       score: float, notices: Sequence[StatusNotice],
                       category: str | None) -> Turn:
        """The LLM's grounded rewrite when configured and accepted, else the extractive one."""
        if self.llm is not None:
            sources = [hit, *others]
            rewrite = await self.llm.rewrite(message.masked, [_source(h) for h in sources],
                                             message.lang)
            if rewrite is not None:
                cited = tuple(Citation.of(sources[n - 1]) for n in rewrite.cited)
                links = "\n".join(f"[{n}] {Citation.of(sources[n - 1]).url}"
                                  for n in rewrite.cited)
                text = rewrite.text + "\n" + links
                self._remember_shown(state, cited)
                return Turn("answer", text, message.lang, label, intent_confidence, score,
                            cited, message.facts.to_dict(), generated_by="llm",
                            category=category)
        return self._answer_turn(state, message, hit, label, intent_confidence, score,
                                 notices=notices, category=category)

    def _answer_turn(self, state: ConversationState, message: _Message, hit: Hit,
                     label: str | None, intent_confidence: float | None, score: float | None, *,
                     lead: str = "", notices: Sequence[StatusNotice] = (),
                     category: str | None = None) -> Turn:
        text = compose_answer(hit, message.lang, notices=notices, lead=lead)
        section = hit.section.text if hit.section is not None else hit.snippet
        if self._blocked(text, message.lang, section):
            return self._handoff(state, message, "answer_blocked", label, intent_confidence)
        citation = Citation.of(hit)
        self._remember_shown(state, (citation,))
        return Turn("answer", text, message.lang, label, intent_confidence, score, (citation,),
                    message.facts.to_dict(), generated_by="extractive", category=category)

    def _flow_turn(self, state: ConversationState, message: _Message, reply: FlowReply,
                   label: str, confidence: float) -> Turn:
        lang = message.lang
        info = self.catalog.get(label)
        flow = reply.state.name if reply.state else (info.flow if info else None)
        if reply.state is not None:
            reply.state.slots.setdefault("intent_confidence", confidence)
        citations: tuple[Citation, ...] = ()
        text = reply.text
        if reply.article:
            citation = Citation(reply.article, kb_language(lang), "", "", "")
            citations = (citation,)
            if reply.kind == "answer":
                text += "\n" + localized(_READ_MORE, lang, url=citation.url)
        if reply.kind == "handoff":
            return self._handoff(state, message, reply.reason, label, confidence,
                                 prefix=reply.text, detail=reply.detail, extra=reply.lookup)
        if self._blocked(text, lang, ""):
            return self._handoff(state, message, "answer_blocked", label, confidence)
        state.flow = reply.state
        state.last_question = None
        for key, value in reply.lookup.items():
            state.remember_answer(f"{key}: {value}")
        if reply.kind == "answer":
            state.remember_answer(reply.text.splitlines()[0][:160])
        return Turn(reply.kind, text, lang, label, confidence, confidence, citations,
                    message.facts.to_dict(), generated_by="flow", flow=flow,
                    category=info.category if info else None)

    def _handoff(self, state: ConversationState, message: _Message, reason: Reason,
                 label: str | None, confidence: float | None, *, prefix: str = "",
                 detail: str = "", extra: Mapping[str, str] | None = None,
                 answer_confidence: float | None = None) -> Turn:
        """Leave assistant mode: the customer is told, the agent gets the summary."""
        mood = sentiment(message.masked, message.lang)
        info = self.catalog.get(label) if label else None
        summary = HandoffSummary(
            reason=reason, intent=label, intent_confidence=confidence, facts=dict(state.facts),
            answered=list(state.answered), sentiment=mood.label, sentiment_score=mood.score,
            angry=mood.angry, language=message.lang, last_message=message.masked,
            detail=detail or (f"answer confidence {answer_confidence:.2f}"
                              if answer_confidence is not None else ""),
            extra=dict(extra or {}))
        parts = [prefix, customer_message(reason, message.lang)]
        citations: tuple[Citation, ...] = ()
        if reason == "sensitive" and info is not None and info.article:
            citation = Citation(info.article, kb_language(message.lang), "", "", "")
            citations = (citation,)
            parts.append(localized(_MEANWHILE, message.lang, url=citation.url))
        state.mode = "handed_off"
        state.handoff_reason = reason
        state.flow = None
        return Turn("handoff", "\n\n".join(part for part in parts if part), message.lang, label,
                    confidence, None, citations, message.facts.to_dict(), summary,
                    category=info.category if info else None)

    # ---------------------------------------------------------------- helpers

    async def _search(self, query: str, lang: str, k: int = SEARCH_DEPTH) -> list[Hit]:
        """Search in a worker thread (embedding a query is CPU work)."""
        return await anyio.to_thread.run_sync(
            partial(self.search.search, query, lang=kb_language(lang), k=k, mode="hybrid"))

    def _blocked(self, text: str, lang: str, source: str) -> bool:
        """The outbound anti-phishing check on the assistant's own text; links copied from the
        quoted help-center section are the editors' and allowed."""
        verdict = check_outbound(text, allowed_domains=self.official_domains, lang=lang)
        return any(not (r.code == LINK_NOT_ALLOWED and text[r.start:r.end] in source)
                   for r in verdict.reasons)

    @staticmethod
    def _remember_shown(state: ConversationState, citations: Sequence[Citation]) -> None:
        for citation in citations:
            state.shown.append(f"{citation.slug}#{citation.anchor}")
            title = citation.title + (f" › {citation.heading}" if citation.heading else "")
            state.remember_answer(f"{title} ({citation.url})")


def _source(hit: Hit) -> Source:
    citation = Citation.of(hit)
    text = hit.section.text if hit.section is not None else hit.snippet
    return Source(citation.title, citation.heading, text, citation.url)


def _with_text(turn: Turn, text: str) -> Turn:
    return Turn(turn.kind, text, turn.language, turn.intent, turn.intent_confidence,
                turn.confidence, turn.citations, turn.facts, turn.handoff, turn.generated_by,
                turn.flow, turn.category)


def _relevant_notices(notices: Sequence[StatusNotice], facts: Facts) -> list[StatusNotice]:
    """Status-page entries worth mentioning: a disrupted network the customer named, and
    incidents (most serious first, at most two)."""
    named = {canonical_network(n.name) for n in facts.networks}
    relevant = [n for n in notices
                if n.title and (n.kind == "incident" or (
                    n.kind == "network" and n.state != "operational"
                    and canonical_network(n.network) in named))]
    return relevant[:2]
