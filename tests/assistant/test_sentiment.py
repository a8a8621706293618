"""Sentiment as a priority signal: sign and anger on real-style zh/en support messages."""

from __future__ import annotations

import json

import pytest

from kefu.assistant.sentiment import sentiment
from tests.shared_data import SHARED_DATA, requires_shared_data


@pytest.mark.parametrize(("text", "label"), [
    ("Thanks, the deposit arrived, great support", "positive"),
    ("Problem solved, appreciate your help!", "positive"),
    ("My withdrawal has been pending for 3 days", "neutral"),
    ("how do I reset 2FA", "neutral"),
    ("still not received after 3 days", "negative"),
    ("Where is my money?", "negative"),
    ("You guys are scammers", "negative"),
    ("谢谢，已经到账了", "positive"),
    ("问题解决了，感谢客服", "positive"),
    ("非常满意", "positive"),
    ("客服辛苦了👍", "positive"),
    ("请问怎么提币", "neutral"),
    ("我的USDT充值没到账", "negative"),
    ("不满意", "negative"),
    ("不太满意", "negative"),  # negation one character before the positive word
    ("还没解决", "negative"),
    ("垃圾平台", "negative"),
    ("有人盗了我的账户，币全被提走了", "negative"),  # losing funds, said without 被盗
    ("我的币被转走了", "negative"),
    ("Someone stole all my funds, my account was hacked", "negative"),
    ("gracias", "positive"),
    ("мошенники", "negative"),
])
def test_sign(text: str, label: str) -> None:
    assert sentiment(text).label == label


@pytest.mark.parametrize("text", [
    "this is fucking ridiculous", "他妈的什么破平台", "WHERE IS MY MONEY YOU THIEVES",
    "垃圾平台，骗子！！！", "Where is my money??? You guys are scammers!!!",
    "我要投诉你们，再不处理就报警", "estafadores!!!",
])
def test_angry(text: str) -> None:
    result = sentiment(text)
    assert result.angry
    assert result.label == "negative"


@pytest.mark.parametrize("text", [
    "为什么还没到账？", "My withdrawal has been pending for 3 days", "谢谢！！！", "不满意",
])
def test_not_angry(text: str) -> None:
    assert not sentiment(text).angry


def test_signals_explain_the_score() -> None:
    assert "profanity" in sentiment("wtf is this").signals
    assert "shouting" in sentiment("WHERE IS MY DEPOSIT NOW").signals
    assert {"accusation", "exclamations"} <= set(sentiment("骗子！！！").signals)
    assert "threat" in sentiment("I will call the police").signals


def test_punctuation_and_intensifiers_move_the_score() -> None:
    assert sentiment("为什么还没到账？？？").score < sentiment("为什么还没到账").score
    assert sentiment("真的太慢了").score < sentiment("慢").score
    assert sentiment("谢谢！！").score > sentiment("谢谢").score
    assert -1.0 <= sentiment("骗子" * 50 + "！" * 50).score <= -0.9


def test_explicit_language_skips_detection() -> None:
    # Short English-looking text scored with the Chinese rules: only its punctuation counts.
    assert sentiment("great", "zh").label == "neutral"
    assert sentiment("great", "en").label == "positive"


@requires_shared_data
def test_chinese_customer_messages_from_cic() -> None:
    """CIC dev: buyers expressing anger ("不满/生气") or praise and thanks. Labels are noisy and
    the domain is e-commerce, so the bar is the sign, rarely inverted."""
    negative, positive = "买家表达不满/生气", {"买家表达赞美/满意", "买家表示麻烦卖家，表达感谢"}
    with (SHARED_DATA / "cic" / "dev.json").open(encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines]
    neg = [sentiment(r["sentence"], "zh").label for r in rows if r["label_des"] == negative]
    pos = [sentiment(r["sentence"], "zh").label for r in rows if r["label_des"] in positive]
    assert neg.count("negative") / len(neg) >= 0.6
    assert pos.count("positive") / len(pos) >= 0.6
    assert (neg.count("positive") + pos.count("negative")) / (len(neg) + len(pos)) <= 0.06
