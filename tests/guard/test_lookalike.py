"""Look-alike detection for Kefu Verify: skeletons, registrable domains, links and ``assess``."""

from __future__ import annotations

import re
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kefu.guard.lookalike import (
    assess,
    damerau_levenshtein,
    fold_letters,
    is_public_suffix,
    is_within,
    normalize_handle,
    normalize_phone,
    registrable_domain,
    skeleton,
    split_url,
)

OFFICIAL_DOMAINS = ("demoex.example",)
OFFICIAL_EMAIL = ("support@demoex.example",)
OFFICIAL_TELEGRAM = ("@DemoExSupport",)
OFFICIAL_PHONE = ("+44 20 7946 0000",)


# ---------------------------------------------------------------- skeleton


@pytest.mark.parametrize("spelling", [
    "demoex",
    "DEMOEX",
    "d\u0435moex",            # Cyrillic е
    "dem\u043eex",            # Cyrillic о
    "d\u03b5mo\u03b5x",       # Greek ε
    "ｄｅｍｏｅｘ",            # fullwidth
    "dem0ex",                 # digit zero
    "démoex",                 # accent
    "demo\u200bex",           # zero-width space
    "xn--dmoex-zwe",          # punycode of "dеmoex" with Cyrillic е
    "xn--dmoex-bsa",          # punycode of "démoex"
])
def test_skeleton_folds_spellings_that_look_like_demoex(spelling: str) -> None:
    assert skeleton(spelling) == "demoex"


@pytest.mark.parametrize(("left", "right"), [
    ("paypal", "paypa1"),
    ("paypal", "paypaI"),
    ("support", "5upport"),
    ("modern", "rnodern"),
    ("wallet", "vvallet"),
    ("ΜΑΤΙΧ", "matix"),       # Greek capitals read as Latin capitals
])
def test_skeleton_equates_digit_and_letter_swaps(left: str, right: str) -> None:
    assert skeleton(left) == skeleton(right)


def test_skeleton_keeps_different_names_apart() -> None:
    assert skeleton("demoex") != skeleton("demoax")
    assert skeleton("binance") != skeleton("coinbase")


def test_fold_letters_keeps_digits_and_chinese() -> None:
    assert fold_letters("Fuсk 123 傻逼") == "fuck 123 傻逼"
    assert fold_letters("ＩＤＩＯＴ\u200b İdiot ſhit") == "idiot idiot shit"  # width, format, case


_CASED_AS_A_LATIN_LETTER = re.compile("[a-z]", re.IGNORECASE)


def _capitals(folded: str) -> list[str]:
    """Characters that a case-insensitive regex would take for a Latin letter, other than the
    small letters themselves: what the abuse lexicons, matched case-sensitively, would miss."""
    return [c for c in folded if ("A" <= c <= "Z") or (
        not c.isascii() and _CASED_AS_A_LATIN_LETTER.match(c))]


def test_fold_letters_leaves_no_capital_of_any_character() -> None:
    """Every code point: the lexicons can match folded text case-sensitively."""
    found = {(hex(code), folded) for code in range(sys.maxunicode + 1)
             if not 0xD800 <= code <= 0xDFFF
             and _capitals(folded := fold_letters(chr(code)))}
    assert found == set()


@given(st.text(max_size=40))
def test_fold_letters_leaves_no_capital_in_any_text(text: str) -> None:
    assert _capitals(fold_letters(text)) == []


# ---------------------------------------------------------------- hosts and links


@pytest.mark.parametrize(("host", "expected"), [
    ("demoex.example", "demoex.example"),
    ("api.demoex.example", "demoex.example"),
    ("a.b.c.demoex.example.", "demoex.example"),
    ("WWW.DemoEx.Example", "demoex.example"),
    ("shop.example.co.uk", "example.co.uk"),
    ("m.jd.com.cn", "jd.com.cn"),
    ("help.exchange.com.hk", "exchange.com.hk"),
    ("evil.github.io", "evil.github.io"),
    ("a.evil.github.io", "evil.github.io"),
    ("xn--dmoex-zwe.example", "d\u0435moex.example"),
    ("localhost", "localhost"),
    ("192.168.0.1", "192.168.0.1"),
    ("ｄｅｍｏｅｘ．ｅｘａｍｐｌｅ", "demoex.example"),
])
def test_registrable_domain(host: str, expected: str) -> None:
    assert registrable_domain(host) == expected


@pytest.mark.parametrize("bad", ["", "a b.com", "evil.com/path", "a..b", "user@host"])
def test_registrable_domain_rejects_non_hosts(bad: str) -> None:
    with pytest.raises(ValueError, match="not a host name"):
        registrable_domain(bad)


def test_public_suffixes_own_nothing() -> None:
    for suffix in ("co.uk", "github.io", "com"):
        assert is_public_suffix(suffix)
    assert not is_public_suffix("demoex.example")
    assert is_within("help.demoex.example", "demoex.example")
    assert is_within("demoex.example", "DemoEx.Example.")
    assert not is_within("evil.github.io", "github.io")
    assert not is_within("demoex.example.evil.io", "demoex.example")
    assert not is_within("notdemoex.example", "demoex.example")


@pytest.mark.parametrize(("url", "host", "userinfo"), [
    ("https://demoex.example/login", "demoex.example", ""),
    ("https://demoex.example@evil.com/login", "evil.com", "demoex.example"),
    ("http://user:pw@evil.com:8080/x", "evil.com", "user:pw"),
    ("https://evil.com\\@demoex.example/", "evil.com", ""),
    ("demoex.example.evil.io/verify?x=1", "demoex.example.evil.io", ""),
    ("//evil.com/x", "evil.com", ""),
    ("https://%65vil.com/", "evil.com", ""),
    ("http://[2001:db8::1]:8443/", "2001:db8::1", ""),
    ("HTTPS://API.DEMOEX.EXAMPLE:443", "api.demoex.example", ""),
])
def test_split_url_finds_the_host_a_browser_opens(url: str, host: str, userinfo: str) -> None:
    parts = split_url(url)
    assert (parts.host, parts.userinfo) == (host, userinfo)


def test_split_url_without_host_is_an_error() -> None:
    with pytest.raises(ValueError, match="no host"):
        split_url("https:///path")


# ---------------------------------------------------------------- assess: domains and URLs


@pytest.mark.parametrize("value", [
    "demoex.example", "www.demoex.example", "API.DemoEx.Example.", "ｄｅｍｏｅｘ．ｅｘａｍｐｌｅ"])
def test_official_domains_and_subdomains(value: str) -> None:
    result = assess(value, "domain", OFFICIAL_DOMAINS)
    assert result.verdict == "official"
    assert result.matched == "demoex.example"


@pytest.mark.parametrize(("value", "reason_part"), [
    ("d\u0435moex.example", "look-alike characters"),      # Cyrillic е
    ("xn--dmoex-zwe.example", "look-alike characters"),    # the same, as punycode
    ("dem0ex.example", "look-alike characters"),
    ("demoex.com", "another domain ending"),
    ("demoex.example.co", "in front of another domain"),
    ("demoex.example.evil.io", "in front of another domain"),
    ("demoex-support.com", "Wraps the official name"),
    ("login-demoex.net", "Wraps the official name"),
    ("demoxe.example", "(1 of its characters changed)"),                 # transposition
    ("deomxe.example", "(2 of its characters changed)"),
])
def test_lookalike_domains_are_suspicious(value: str, reason_part: str) -> None:
    result = assess(value, "domain", OFFICIAL_DOMAINS)
    assert result.verdict == "suspicious"
    assert result.matched == "demoex.example"
    assert reason_part in result.reason


@pytest.mark.parametrize("value", ["google.com", "example.com", "binance.com", "dxmxxx.example"])
def test_unrelated_domains_are_unknown(value: str) -> None:
    result = assess(value, "domain", OFFICIAL_DOMAINS)
    assert (result.verdict, result.matched) == ("unknown", None)


def test_short_official_names_need_an_exact_skeleton() -> None:
    """Two-letter names differ by one letter all the time: no edit-distance rule for them."""
    assert assess("ox.com", "domain", ["ok.com"]).verdict == "unknown"
    assert assess("0k.com", "domain", ["ok.com"]).verdict == "suspicious"


def test_an_ip_address_is_never_official() -> None:
    result = assess("203.0.113.7", "domain", OFFICIAL_DOMAINS)
    assert result.verdict == "unknown"
    assert "IP address" in result.reason


def test_official_entries_may_be_written_as_urls() -> None:
    result = assess("help.demoex.example", "domain", ["https://demoex.example/"])
    assert (result.verdict, result.matched) == ("official", "https://demoex.example/")


@pytest.mark.parametrize(("value", "verdict", "reason_part"), [
    ("https://support.demoex.example/verify", "official", "Belongs to"),
    ("https://demoex.example@evil.com/login", "suspicious", "before an @"),
    ("https://evil.com\\@demoex.example/", "suspicious", "in the path"),
    ("https://evil.com/demoex.example/login", "suspicious", "in the path"),
    ("http://dem0ex.example:8080/", "suspicious", "look-alike characters"),
    ("https://news.ycombinator.com/", "unknown", "Not in the registry"),
])
def test_assess_urls(value: str, verdict: str, reason_part: str) -> None:
    result = assess(value, "url", OFFICIAL_DOMAINS)
    assert result.verdict == verdict
    assert reason_part in result.reason


# ---------------------------------------------------------------- assess: email, handles, phones


@pytest.mark.parametrize(("value", "verdict"), [
    ("support@demoex.example", "official"),
    ("SUPPORT@DemoEx.Example", "official"),
    ("security@demoex.example", "unknown"),       # official domain, not a listed address
    ("support@dem0ex.example", "suspicious"),
    ("support@demoex-help.com", "suspicious"),
    ("demoex.support@gmail.com", "suspicious"),   # the brand as a mailbox name elsewhere
    ("alice@gmail.com", "unknown"),
])
def test_assess_email_against_listed_addresses(value: str, verdict: str) -> None:
    assert assess(value, "email", OFFICIAL_EMAIL).verdict == verdict


def test_assess_email_against_an_official_mail_domain() -> None:
    assert assess("security@demoex.example", "email", OFFICIAL_DOMAINS).verdict == "official"
    assert assess("security@mail.demoex.example", "email", OFFICIAL_DOMAINS).verdict == "official"


def test_assess_email_rejects_non_addresses() -> None:
    with pytest.raises(ValueError, match="not an email"):
        assess("demoex.example", "email", OFFICIAL_EMAIL)


@pytest.mark.parametrize(("value", "verdict", "reason_part"), [
    ("@DemoExSupport", "official", "listed"),
    ("demoexsupport", "official", "listed"),
    ("https://t.me/DemoExSupport", "official", "listed"),
    ("@DemoExSupp0rt", "suspicious", "look-alike"),
    ("@DemoEx_Support", "suspicious", "look-alike"),
    ("@D\u0435moExSupport", "suspicious", "look-alike"),   # Cyrillic е
    ("@DemoEx_Support_Help", "suspicious", "extra words"),
    ("@DemoExSuport", "suspicious", "(1 of its characters changed)"),
    ("@DemoEx_Help_Desk", "suspicious", "other words"),
    ("@CryptoNews", "unknown", "Not in the registry"),
])
def test_assess_telegram_handles(value: str, verdict: str, reason_part: str) -> None:
    result = assess(value, "telegram", OFFICIAL_TELEGRAM)
    assert result.verdict == verdict
    assert reason_part in result.reason
    if verdict != "unknown":
        assert result.matched == "@DemoExSupport"


def test_assess_x_handles_accept_profile_links() -> None:
    assert assess("https://x.com/demoex", "x", ["@DemoEx"]).verdict == "official"
    assert assess("twitter.com/DemoEx_", "x", ["@DemoEx"]).verdict == "suspicious"


def test_normalize_handle_rejects_spaces() -> None:
    assert normalize_handle("@DemoEx") == "demoex"
    with pytest.raises(ValueError, match="not a handle"):
        normalize_handle("Demo Ex")


@pytest.mark.parametrize(("raw", "normalized"), [
    ("+44 20 7946 0000", "+442079460000"),
    ("0044 (20) 7946-0000", "+442079460000"),
    ("+86 138-0013-8000", "+8613800138000"),
    ("＋８６ １３８００１３８０００", "+8613800138000"),
])
def test_normalize_phone(raw: str, normalized: str) -> None:
    assert normalize_phone(raw) == normalized


@pytest.mark.parametrize(("value", "verdict"), [
    ("0044 20 7946 0000", "official"),
    ("020 7946 0000", "official"),        # national form of the official number
    ("+44 20 7946 0001", "suspicious"),   # one digit off
    ("+44 20 7964 0000", "suspicious"),   # two digits swapped
    ("+1 202 555 0100", "unknown"),
])
def test_assess_phone(value: str, verdict: str) -> None:
    assert assess(value, "phone", OFFICIAL_PHONE).verdict == verdict


@pytest.mark.parametrize("bad", ["call me", "12", "+44 20 7946 0000 ext"])
def test_assess_phone_rejects_non_numbers(bad: str) -> None:
    with pytest.raises(ValueError, match="not a phone number"):
        assess(bad, "phone", OFFICIAL_PHONE)


def test_assess_rejects_unknown_kinds_and_empty_values() -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        assess("demoex.example", "agent", OFFICIAL_DOMAINS)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        assess("  ", "domain", OFFICIAL_DOMAINS)


# ---------------------------------------------------------------- edit distance


@pytest.mark.parametrize(("left", "right", "distance"), [
    ("demoex", "demoex", 0),
    ("demoex", "demoxe", 1),
    ("demoex", "demo", 2),
    ("demoex", "dmeoxe", 2),
    ("demoex", "binance", 3),   # above the limit of 2: reported as limit + 1
])
def test_damerau_levenshtein(left: str, right: str, distance: int) -> None:
    assert damerau_levenshtein(left, right, 2) == distance


def _plain_distance(a: str, b: str) -> int:
    """Reference optimal-string-alignment distance without a limit."""
    rows = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                rows[i][j] = min(rows[i][j], rows[i - 2][j - 2] + 1)
    return rows[-1][-1]


@given(st.text("abcde", max_size=8), st.text("abcde", max_size=8), st.integers(0, 4))
def test_bounded_distance_agrees_with_the_reference(a: str, b: str, limit: int) -> None:
    assert damerau_levenshtein(a, b, limit) == min(_plain_distance(a, b), limit + 1)
