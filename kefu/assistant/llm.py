"""Optional LLM backend: rewrites the extractive answer fluently, grounded in the retrieved
help-center sections, over any OpenAI-compatible chat-completions API (vLLM, Ollama, …).

Off unless ``KEFU_LLM_BASE_URL`` is set. The contract with the rest of the assistant is that the
LLM can only make an answer nicer, never worse or unsafe:

- everything sent passes the secret guard first (masked), so a seed phrase typed by a customer
  never leaves Kefu;
- the model sees only the numbered sections and must cite them as ``[1]``, ``[2]``; a reply
  citing nothing, or a number that was not given, is discarded;
- the reply must pass the outbound anti-phishing check (``guard.outbound``): asking for a
  password, a code or a seed phrase, remote access, a transfer, or linking to a domain that is
  neither official nor in the given sections discards it;
- a timeout, an HTTP error or a malformed body discards it too.

A discarded rewrite returns ``None`` and the caller keeps the extractive answer (or hands off,
when that was not confident enough to send anyway).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import httpx

from kefu.config import Settings
from kefu.core.logging import get_logger
from kefu.guard.outbound import LINK_NOT_ALLOWED, check_outbound
from kefu.guard.secrets import scan

log = get_logger("kefu.assistant.llm")

TEMPERATURE = 0.2
MAX_TOKENS = 400
SOURCE_CHARS = 1500
_CITATION = re.compile(r"\[(\d{1,2})\]")

SYSTEM_PROMPT = """You are the customer-support assistant of a cryptocurrency exchange.
Answer the customer's question using ONLY the numbered help-center sections you are given.
Rules:
- Cite every statement with the number of its section in square brackets, like [1] or [2].
- If the sections do not answer the question, say so briefly; do not guess or invent facts,
  amounts, times, links or steps.
- Never ask the customer for a password, PIN, 2FA/SMS/email code, seed phrase, private key or API
  secret, never ask them to install remote-access software, and never ask them to send funds.
- Only use links that appear in the sections.
- Write in {language}, in at most 5 short sentences or a short list, plain text without
  Markdown headings."""
_LANGUAGES = {"zh": "Simplified Chinese", "en": "English"}


@dataclass(frozen=True, slots=True)
class Source:
    """One retrieved section as the model sees it (numbered from 1 in the prompt)."""

    title: str
    heading: str
    text: str
    url: str


@dataclass(frozen=True, slots=True)
class Rewrite:
    """An accepted rewrite: its text and the 1-based numbers of the sources it cites."""

    text: str
    cited: tuple[int, ...]


class LLMClient:
    """A chat-completions client. The caller owns it and ``aclose()``\\ s it."""

    def __init__(self, *, base_url: str, model: str, api_key: str | None = None,
                 timeout_s: float = 8.0, official_domains: Collection[str] = (),
                 http: httpx.AsyncClient | None = None) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("KEFU_LLM_BASE_URL must start with http:// or https://")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.timeout_s = timeout_s
        self.official_domains = tuple(official_domains)
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = http or httpx.AsyncClient(follow_redirects=False)
        self._owns_http = http is None

    @classmethod
    def from_settings(cls, settings: Settings,
                      official_domains: Collection[str] = ()) -> LLMClient | None:
        """The configured client, or None when ``KEFU_LLM_BASE_URL`` is unset (the default)."""
        if not settings.llm_base_url:
            return None
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        return cls(base_url=settings.llm_base_url, model=settings.llm_model, api_key=key,
                   timeout_s=settings.llm_timeout_s, official_domains=official_domains)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    def messages(self, question: str, sources: Sequence[Source],
                 lang: str) -> list[dict[str, str]]:
        """The chat messages sent: system rules, then the masked sections and question."""
        numbered = "\n\n".join(
            f"[{i}] {scan(s.title).masked}"
            + (f" › {scan(s.heading).masked}" if s.heading else "")
            + f" ({s.url})\n{scan(s.text[:SOURCE_CHARS]).masked}"
            for i, s in enumerate(sources, 1))
        user = f"Help-center sections:\n\n{numbered}\n\nCustomer question:\n{scan(question).masked}"
        system = SYSTEM_PROMPT.format(language=_LANGUAGES.get(lang, "English"))
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    async def rewrite(self, question: str, sources: Sequence[Source],
                      lang: str) -> Rewrite | None:
        """A grounded, checked rewrite, or None (see the module docstring for every reason)."""
        if not sources:
            return None
        body = {"model": self.model, "messages": self.messages(question, sources, lang),
                "temperature": TEMPERATURE, "max_tokens": MAX_TOKENS, "stream": False}
        try:
            response = await self._http.post(self.url, json=body, headers=self._headers,
                                             timeout=self.timeout_s)
            response.raise_for_status()
            text = response.json()["choices"][0]["message"]["content"]
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
            log.warning("llm_failed", error=type(exc).__name__)
            return None
        if not isinstance(text, str) or not text.strip():
            log.warning("llm_rejected", why="empty")
            return None
        return self.accept(text.strip(), sources, lang)

    def accept(self, text: str, sources: Sequence[Source], lang: str) -> Rewrite | None:
        """``text`` as a :class:`Rewrite` if it cites only given sources and passes the
        outbound check (links found in the sources themselves are allowed)."""
        cited = tuple(sorted({int(n) for n in _CITATION.findall(text)}))
        if not cited or any(n < 1 or n > len(sources) for n in cited):
            log.warning("llm_rejected", why="citations", cited=list(cited))
            return None
        verdict = check_outbound(text, allowed_domains=self.official_domains, lang=lang)
        source_text = "\n".join(f"{s.text} {s.url}" for s in sources)
        blocking = [r for r in verdict.reasons
                    if not (r.code == LINK_NOT_ALLOWED and text[r.start:r.end] in source_text)]
        if blocking:
            log.warning("llm_rejected", why="outbound", codes=sorted({r.code for r in blocking}))
            return None
        return Rewrite(text, cited)
