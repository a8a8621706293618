"""Look-alike detection for official channels ("Kefu Verify", SPEC §H).

Scammers register ``dеmoex.example`` (Cyrillic е), ``demoex-support.com``, ``demoex.example.co``
or ``@DemoExSupp0rt`` and wait for customers to trust them. ``assess`` tells, for one value, whether
it is one of the exchange's official channels, resembles one (suspicious) or is simply not in the
registry (unknown). The registry itself (what is official) belongs to the product; this module is
pure matching logic: no database, no network.

Three building blocks are public because the outbound guard uses them too:

- ``skeleton`` folds every way of writing a name that *looks* the same to one string (Unicode
  confusables, fullwidth forms, diacritics, 0/o 1/l/i 5/s, rn→m, vv→w, punycode ``xn--``).
- ``registrable_domain`` is the part of a host name that one owner controls. It uses a compact
  shipped list of multi-label public suffixes (``data/public_suffixes.txt``: co.uk, com.cn, com.hk,
  github.io, …), not the full Public Suffix List: enough for the names seen in exchange support,
  and any other name counts its last label as the suffix.
- ``split_url`` finds the host a browser would really open (scheme, userinfo, port, backslashes).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final, Literal
from urllib.parse import unquote

__all__ = ["KINDS", "Assessment", "UrlParts", "assess", "damerau_levenshtein", "fold_letters",
           "is_public_suffix", "is_within", "normalize_handle", "normalize_host",
           "normalize_phone", "registrable_domain", "skeleton", "split_url"]

Kind = Literal["domain", "url", "email", "telegram", "x", "phone"]
Verdict = Literal["official", "suspicious", "unknown"]
KINDS: Final = ("domain", "url", "email", "telegram", "x", "phone")

_DATA = Path(__file__).with_name("data")


def _data_lines(name: str) -> list[str]:
    lines = (_DATA / name).read_text("utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def _load_confusables() -> dict[int, str]:
    table: dict[int, str] = {}
    for line in _data_lines("confusables.tsv"):
        char, ascii_letter = line.split("\t")[:2]
        table[ord(char)] = ascii_letter
    return table


_CONFUSABLES: Final = _load_confusables()
_PUBLIC_SUFFIXES: Final = frozenset(_data_lines("public_suffixes.txt"))
_MAX_SUFFIX_LABELS: Final = max(s.count(".") + 1 for s in _PUBLIC_SUFFIXES)
# Digits and symbols that stand in for letters, folded after the letters themselves: "dem0ex",
# "paypa1", "5upport" and "DemoEx|Support" read like the real names.
_DIGIT_SWAPS: Final = str.maketrans({"0": "o", "1": "l", "i": "l", "5": "s", "!": "l"})
_MULTI_SWAPS: Final = (("rn", "m"), ("vv", "w"))
_PUNYCODE_LABEL: Final = re.compile(r"xn--[a-z0-9-]+", re.IGNORECASE)
_DOTS: Final = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})
_SEPARATORS: Final = re.compile(r"[\s._\-]+")


def _decode_punycode(match: re.Match[str]) -> str:
    try:
        return match.group(0)[4:].encode("ascii").decode("punycode")
    except UnicodeError:
        return match.group(0)


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    """One character as the ASCII letter it looks like: the confusables table first, then the
    character stripped of its accents ("é" → "e"); other characters stay as they are."""
    mapped = _CONFUSABLES.get(ord(char))
    if mapped is not None:
        return mapped
    if char.isascii():
        return char
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    return base if base.isascii() and base else char


class _FoldTable(dict[int, str]):
    """A ``str.translate`` table of :func:`_fold_char`, filled as characters are first seen
    (a chat message's characters were two Python calls each; now a lookup in C). At most
    :data:`_FOLD_TABLE_SIZE` characters are kept; rarer ones are folded on every call."""

    def __init__(self, *, drop_format: bool) -> None:
        super().__init__()
        self.drop_format = drop_format

    def __missing__(self, code: int) -> str:
        char = chr(code)
        folded = "" if self.drop_format and unicodedata.category(char) == "Cf" else _fold_char(
            char)
        if len(self) < _FOLD_TABLE_SIZE:
            self[code] = folded
        return folded


_FOLD_TABLE_SIZE: Final = 65_536
_FOLD_FIRST: Final = _FoldTable(drop_format=True)  # invisible format characters dropped
_FOLD_AFTER_CASEFOLD: Final = _FoldTable(drop_format=False)


def fold_letters(s: str) -> str:
    """``s`` with NFKC, casefolding, invisible format characters dropped and confusable letters
    and accents folded to ASCII (``"Fuсk"`` with Cyrillic с → ``"fuck"``), digits and CJK kept:
    the form in which the abuse lexicons are matched. It holds no capital letter (the
    lexicons are matched case-sensitively)."""
    text = unicodedata.normalize("NFKC", s).translate(_FOLD_FIRST).casefold()
    return text.translate(_FOLD_AFTER_CASEFOLD)


def skeleton(s: str) -> str:
    """The look-alike skeleton of ``s``: two strings that a reader cannot tell apart at a glance
    have the same skeleton (``skeleton("dеmoex") == skeleton("DEM0EX") == "demoex"``).

    Steps: punycode ``xn--`` labels decoded, NFKC (fullwidth, ligatures), invisible format
    characters dropped, confusable letters and accents folded (before and after casefolding,
    since Greek Μ and μ look like different Latin letters), digit-letter swaps, rn→m, vv→w."""
    text = fold_letters(_PUNYCODE_LABEL.sub(_decode_punycode, s)).translate(_DIGIT_SWAPS)
    for pair, single in _MULTI_SWAPS:
        text = text.replace(pair, single)
    return text


def _fold(s: str) -> str:
    """Skeleton without separators: "demo-ex", "demo_ex" and "demoex" look like one name."""
    return _SEPARATORS.sub("", skeleton(s))


def normalize_host(host: str) -> str:
    """A host name in one canonical form: NFKC, casefolded, ideographic dots as dots, no trailing
    dot, punycode labels decoded to Unicode (so ``xn--…`` and its Unicode spelling compare equal).

    Raises ValueError when ``host`` cannot be a host name."""
    text = unicodedata.normalize("NFKC", host.strip().translate(_DOTS)).casefold().rstrip(".")
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if not text or any(c.isspace() or c in "/\\@?#<>\"'" for c in text) or ".." in text:
        raise ValueError(f"not a host name: {host!r}")
    return _PUNYCODE_LABEL.sub(_decode_punycode, text)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def is_public_suffix(name: str) -> bool:
    """True for a name under which anyone can register (``com``, ``co.uk``, ``github.io``)."""
    host = normalize_host(name)
    return "." not in host or host in _PUBLIC_SUFFIXES


def registrable_domain(host: str) -> str:
    """The domain one owner registered, in ``normalize_host`` form: ``shop.example.co.uk`` →
    ``example.co.uk``, ``evil.github.io`` → ``evil.github.io``, ``a.b.demoex.example`` →
    ``demoex.example``. An IP address or a single label is returned as it is."""
    name = normalize_host(host)
    if _is_ip(name):
        return name
    labels = name.split(".")
    for size in range(min(_MAX_SUFFIX_LABELS, len(labels)), 1, -1):
        if ".".join(labels[-size:]) in _PUBLIC_SUFFIXES:
            return ".".join(labels[-size - 1:])
    return ".".join(labels[-2:])


def is_within(host: str, domain: str) -> bool:
    """True when ``host`` is ``domain`` or one of its subdomains. A public suffix owns nothing:
    ``evil.github.io`` is not within ``github.io``."""
    name, parent = normalize_host(host), normalize_host(domain)
    if name == parent:
        return True
    return name.endswith("." + parent) and not is_public_suffix(parent)


@dataclass(frozen=True, slots=True)
class UrlParts:
    """The parts of a link that decide where it leads: ``host`` (``normalize_host`` form), the
    ``userinfo`` before an ``@`` (the classic ``https://demoex.example@evil.com`` disguise, empty
    when absent) and the ``rest`` (path, query, fragment)."""

    host: str
    userinfo: str
    rest: str


_SCHEME: Final = re.compile(r"^[a-z][a-z0-9+.\-]*://|^//", re.IGNORECASE)
_AUTHORITY_END: Final = re.compile(r"[/\\?#]")
_PORT: Final = re.compile(r":\d*$")


def has_scheme(text: str) -> bool:
    """Whether ``text`` starts like a link: ``https://``, any ``scheme://`` or ``//``."""
    return _SCHEME.match(text.strip()) is not None


def split_url(url: str) -> UrlParts:
    """The host a browser would open for ``url``, with or without a scheme. Backslashes end the
    authority as browsers treat them (``https://evil.com\\@demoex.example`` opens evil.com), the
    last ``@`` ends the userinfo, a port is dropped, percent-escapes in the host are decoded.

    Raises ValueError when no host can be found."""
    text = _SCHEME.sub("", url.strip(), count=1)
    end = _AUTHORITY_END.search(text)
    authority, rest = (text[:end.start()], text[end.start():]) if end else (text, "")
    userinfo, _, hostport = authority.rpartition("@")
    if hostport.startswith("[") and "]" in hostport:
        host = hostport[:hostport.index("]") + 1]  # an IPv6 literal, its port after the "]"
    else:
        host = _PORT.sub("", hostport)
    if not host:
        raise ValueError(f"no host in link: {url!r}")
    return UrlParts(normalize_host(unquote(host)), unquote(userinfo), rest)


def damerau_levenshtein(a: str, b: str, limit: int) -> int:
    """Edit distance with adjacent transpositions (optimal string alignment), computed only up to
    ``limit``: any distance above it is returned as ``limit + 1``, so long unrelated names cost
    almost nothing."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[-1], limit + 1)


# Why a value got its verdict: a code, with the values its sentence names. The English sentences
# are for the API and logs; pages show ``trust.verify.reason.<code>`` in the reader's language
# (a test keeps the two sets of codes equal).
REASONS: Final[dict[str, str]] = {
    "unknown": "Not in the registry of official channels.",
    "ip_address": "A bare IP address; official links use domain names.",
    "official_domain": "Belongs to {entry}.",
    "homoglyph_domain": "Looks like {entry} but uses look-alike characters.",
    "other_ending": "Same name as {entry} under another domain ending.",
    "official_in_front": "Puts the official {entry} in front of another domain.",
    "wraps_domain": "Wraps the official name {name} in another domain.",
    "misspelled_domain":
        "Looks like a misspelling of the official domain {entry} ({distance} of its characters "
        "changed).",
    "shown_before_at": "Shows {entry} before an @ but opens {host}.",
    "named_in_path": "Mentions {entry} in the path but opens {host}.",
    "official_address": "A listed official address.",
    "official_mail_domain": "An address at the official {entry}.",
    "unlisted_address": "The domain is official but this address is not a listed channel.",
    "name_at_other_mail": "Uses the name {name} at an unrelated mail domain.",
    "official_account": "A listed official account.",
    "homoglyph_account": "Looks like {entry} but uses look-alike characters or separators.",
    "wraps_account": "Wraps the official {entry} in extra words.",
    "misspelled_account":
        "Looks like a misspelling of the official account {entry} ({distance} of its "
        "characters changed).",
    "account_name_reused": "Uses the name of {entry} with other words.",
    "official_number": "A listed official number.",
    "number_one_digit_off": "One digit away from the official number {entry}.",
    "official_agent": "An active support agent.",
    "agent_one_off": "One character away from an official agent id.",
}


@dataclass(frozen=True, slots=True)
class Assessment:
    """What Verify says about one value. ``matched`` is the registry entry it is (official) or
    resembles (suspicious), as the registry spells it; ``code`` (a key of ``REASONS``) and
    ``params`` say why."""

    verdict: Verdict
    matched: str | None
    code: str
    params: tuple[tuple[str, str], ...] = ()

    @property
    def values(self) -> dict[str, str]:
        return dict(self.params)

    @property
    def reason(self) -> str:
        """The reason as one English sentence, for the API and the audit log."""
        return REASONS[self.code].format(**self.values)


def _why(verdict: Verdict, matched: str | None, code: str, **params: object) -> Assessment:
    return Assessment(verdict, matched, code, tuple((k, str(v)) for k, v in params.items()))


_UNKNOWN: Final = Assessment("unknown", None, "unknown")
# Role words around a brand in handles: "@DemoExSupport", "@DemoEx_Official" share the core
# "demoex", which a look-alike like "@DemoEx_Help_Desk" also carries.
_ROLE_WORDS: Final = ("official", "support", "service", "helpdesk", "help", "desk", "team", "care",
                      "global", "exchange", "news", "admin", "bot", "app", "cs", "hq", "real")
_MIN_EMBEDDED: Final = 4  # a shorter official name inside another word is mostly chance


def _max_distance(name: str) -> int:
    """Edits allowed between look-alike names: two for names of five letters or more, one for
    three or four, none below (``ok`` and ``ox`` are simply different names)."""
    if len(name) >= 5:
        return 2
    return 1 if len(name) >= 3 else 0


def _distance(value: str, official: str) -> int | None:
    """The edits between a look-alike name and the official one, when few enough to count."""
    limit = _max_distance(official)
    if not limit or value == official:
        return None
    distance = damerau_levenshtein(value, official, limit)
    return None if distance > limit else distance


@dataclass(frozen=True, slots=True)
class _Domain:
    entry: str
    host: str
    registrable: str
    label: str
    folded: str


def _domain(entry: str, host: str) -> _Domain:
    registrable = registrable_domain(host)
    label = registrable.split(".")[0]
    return _Domain(entry, host, registrable, label, _fold(label))


def _host_of(entry: str) -> str:
    """The host named by a registry entry written as a domain, a URL or an email address."""
    text = entry.strip()
    if "@" in text and "/" not in text and ":" not in text:
        return normalize_host(text.rpartition("@")[2])
    return split_url(text).host


def _official_domains(official: Iterable[str]) -> list[_Domain]:
    return [_domain(entry, _host_of(entry)) for entry in official if entry.strip()]


def _domain_resemblance(host: str, official: _Domain) -> tuple[int, Assessment] | None:
    """How ``host`` resembles one official domain: (rank, assessment), lower rank = stronger."""
    mine = _domain(host, host)
    entry = official.entry
    if mine.label != official.label and mine.folded == official.folded:
        return 0, _why("suspicious", entry, "homoglyph_domain", entry=entry)
    if mine.label == official.label:
        return 1, _why("suspicious", entry, "other_ending", entry=entry)
    labels = host.split(".")
    official_labels = official.registrable.split(".")
    size = len(official_labels)
    for start in range(len(labels) - size):
        if labels[start:start + size] == official_labels:
            return 2, _why("suspicious", entry, "official_in_front", entry=entry)
    if len(official.folded) >= _MIN_EMBEDDED and any(
            official.folded in _fold(label) for label in labels[:-1]):
        return 2, _why("suspicious", entry, "wraps_domain", name=official.label)
    distance = _distance(mine.folded, official.folded)
    if distance is None:
        return None
    return 3, _why("suspicious", entry, "misspelled_domain", entry=entry, distance=distance)


def _assess_host(host: str, officials: list[_Domain]) -> Assessment:
    for official in officials:
        if is_within(host, official.host):
            return _why("official", official.entry, "official_domain", entry=official.entry)
    if _is_ip(host):
        return Assessment("unknown", None, "ip_address")
    best: tuple[int, Assessment] | None = None
    for official in officials:
        found = _domain_resemblance(host, official)
        if found and (best is None or found[0] < best[0]):
            best = found
    return best[1] if best else _UNKNOWN


def _assess_url(value: str, official: Collection[str]) -> Assessment:
    parts = split_url(value)
    officials = _official_domains(official)
    verdict = _assess_host(parts.host, officials)
    if verdict.verdict == "official":
        return verdict
    for candidate in officials:
        if candidate.registrable in parts.userinfo.casefold():
            return _why("suspicious", candidate.entry, "shown_before_at",
                        entry=candidate.entry, host=parts.host)
    if verdict.verdict == "unknown":
        for candidate in officials:
            if candidate.registrable in parts.rest.casefold():
                return _why("suspicious", candidate.entry, "named_in_path",
                            entry=candidate.entry, host=parts.host)
    return verdict


def _assess_email(value: str, official: Collection[str]) -> Assessment:
    local, at, domain = value.strip().rpartition("@")
    if not at or not local:
        raise ValueError(f"not an email address: {value!r}")
    host = normalize_host(domain)
    address = f"{local.casefold()}@{host}"
    domains = []
    for entry in official:
        if "@" in entry:
            entry_local, _, entry_domain = entry.strip().rpartition("@")
            entry_host = normalize_host(entry_domain)
            if address == f"{entry_local.casefold()}@{entry_host}":
                return Assessment("official", entry, "official_address")
            domains.append(_domain(entry, entry_host))
        elif entry.strip():
            whole = _domain(entry, _host_of(entry))
            if is_within(host, whole.host):
                return _why("official", entry, "official_mail_domain", entry=entry)
            domains.append(whole)
    if any(host == d.host for d in domains):
        return Assessment("unknown", None, "unlisted_address")
    verdict = _assess_host(host, domains)
    if verdict.verdict == "suspicious":
        return verdict
    folded_local = _fold(local)
    for candidate in domains:
        if len(candidate.folded) >= _MIN_EMBEDDED and candidate.folded in folded_local:
            return _why("suspicious", candidate.entry, "name_at_other_mail",
                        name=candidate.label)
    return verdict


_HANDLE_URL: Final = re.compile(
    r"^(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me|telegram\.dog|x\.com|twitter\.com)/",
    re.IGNORECASE)


def normalize_handle(value: str) -> str:
    """A Telegram or X handle as compared: no ``@``, no ``t.me/``/``x.com/`` prefix, casefolded
    (both services ignore case). Raises ValueError on an empty or spaced value."""
    text = _HANDLE_URL.sub("", value.strip()).split("?")[0].strip("/").lstrip("@")
    if not text or any(c.isspace() for c in text):
        raise ValueError(f"not a handle: {value!r}")
    return unicodedata.normalize("NFKC", text).casefold()


def _core(folded: str) -> str:
    """A folded handle without the role words around the brand: "demoexsupport" → "demoex"."""
    core = folded
    changed = True
    while changed:
        changed = False
        for word in _ROLE_WORDS:
            if core.endswith(word) and len(core) - len(word) >= _MIN_EMBEDDED:
                core, changed = core[:-len(word)], True
            if core.startswith(word) and len(core) - len(word) >= _MIN_EMBEDDED:
                core, changed = core[len(word):], True
    return core


def _assess_handle(value: str, official: Collection[str]) -> Assessment:
    handle = normalize_handle(value)
    entries = [(entry, normalize_handle(entry)) for entry in official if entry.strip()]
    for entry, candidate in entries:
        if handle == candidate:
            return Assessment("official", entry, "official_account")
    folded = _fold(handle)
    best: tuple[int, Assessment] | None = None
    for entry, candidate in entries:
        found = _handle_resemblance(folded, _fold(candidate), entry)
        if found and (best is None or found[0] < best[0]):
            best = found
    return best[1] if best else _UNKNOWN


def _handle_resemblance(folded: str, official: str, entry: str) -> tuple[int, Assessment] | None:
    if folded == official:
        return 0, _why("suspicious", entry, "homoglyph_account", entry=entry)
    if len(official) >= _MIN_EMBEDDED and official in folded:
        return 2, _why("suspicious", entry, "wraps_account", entry=entry)
    distance = _distance(folded, official)
    if distance is not None:
        return 3, _why("suspicious", entry, "misspelled_account", entry=entry, distance=distance)
    core = _core(official)
    if core != official and core in folded:
        return 4, _why("suspicious", entry, "account_name_reused", entry=entry)
    return None


_PHONE_JUNK: Final = re.compile(r"[\s\-.()/\u00a0]")
_PHONE: Final = re.compile(r"^\+?\d{5,15}$")
_MIN_NATIONAL: Final = 7


def normalize_phone(value: str) -> str:
    """A phone number E.164-style: spaces, dashes, dots and parentheses dropped, fullwidth digits
    folded, a leading 00 turned into +. Raises ValueError when digits are missing or too many."""
    text = _PHONE_JUNK.sub("", unicodedata.normalize("NFKC", value))
    if text.startswith("00"):
        text = "+" + text[2:]
    if not _PHONE.match(text):
        raise ValueError(f"not a phone number: {value!r}")
    return text


def _national_match(number: str, official: str) -> bool:
    """A number typed without its country code ("020 7946 0000", "13800138000") matches the
    official one whose international form ends with it (trunk 0 dropped)."""
    if number.startswith("+") or not official.startswith("+"):
        return False
    national = number[1:] if number.startswith("0") else number
    return len(national) >= _MIN_NATIONAL and official.endswith(national)


def _assess_phone(value: str, official: Collection[str]) -> Assessment:
    number = normalize_phone(value)
    entries = [(entry, normalize_phone(entry)) for entry in official if entry.strip()]
    for entry, candidate in entries:
        if number == candidate or _national_match(number, candidate):
            return Assessment("official", entry, "official_number")
    for entry, candidate in entries:
        digits, official_digits = number.lstrip("+"), candidate.lstrip("+")
        if (len(official_digits) >= _MIN_NATIONAL and len(digits) == len(official_digits)
                and damerau_levenshtein(digits, official_digits, 1) == 1):
            return _why("suspicious", entry, "number_one_digit_off", entry=entry)
    return _UNKNOWN


def assess(value: str, kind: Kind, official: Collection[str]) -> Assessment:
    """Whether ``value`` (of ``kind``) is an official channel, resembles one or is unknown.

    Official: equal after normalisation, or a subdomain of an official domain (the exchange owns
    its DNS), or a national spelling of an official number. Suspicious: the same skeleton
    (homoglyphs, digit swaps, separators), the same name under another domain ending, the official
    name wrapped in extra words (``demoex-support.com``, ``demoex.example.evil.io``,
    ``@DemoEx_Support_Help``), Damerau-Levenshtein distance ≤ 2 on the name without its suffix or
    ``@``, a URL that shows the official domain before ``@`` or in its path, a phone number one
    digit off. ``official`` holds registry entries of the same kind (domains may be given as
    URLs; email entries may be whole addresses or domains).

    Raises ValueError for an unknown kind or a value that cannot be of that kind."""
    if not value or not value.strip():
        raise ValueError("nothing to check: the value is empty")
    if kind == "domain":
        return _assess_host(normalize_host(value), _official_domains(official))
    if kind == "url":
        return _assess_url(value, official)
    if kind == "email":
        return _assess_email(value, official)
    if kind in ("telegram", "x"):
        return _assess_handle(value, official)
    if kind == "phone":
        return _assess_phone(value, official)
    raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
