"""A generated corpus for the secret guard: zh and en support messages holding real-format secrets,
and messages holding look-alikes that must stay readable.

Secrets are real formats made from random bytes: BIP39 phrases from ``mnemonic`` (English,
simplified and traditional Chinese; spaced, comma-separated, numbered, split over lines, Chinese
unspaced), raw hex keys, WIF and xprv/zprv/tprv via base58check, exchange API secrets, passwords,
PINs, one-time codes, Luhn-valid cards of the main networks and Chinese resident IDs with their
check character. Look-alikes are txids (EVM, BTC, TRON), EVM/BTC/TRON/Solana addresses, Solana
signatures, order ids, phone numbers, amounts, dates, ticket numbers and UIDs, in sentences that
also talk about passwords, codes and seed phrases without containing one.

Deterministic for a seed. Run it to measure the guard (recall per kind, false-positive rate on the
look-alikes and on the real text in ../shared/data):

    .venv/bin/python -m tests.guard.corpus [--cases 20000] [--seed 7] [--show 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import base58
from mnemonic import Mnemonic

_MNEMONICS = {lang: Mnemonic(lang) for lang in
              ("english", "chinese_simplified", "chinese_traditional")}
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_CN_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CN_REGIONS = ("110101", "110105", "310104", "310115", "440106", "440305", "330106", "320102",
               "510104", "420102", "610113", "210102", "370202", "350203", "500103", "120101")


@dataclass(frozen=True)
class Case:
    """One message and the secrets in it (``(kind, start, end)``; empty for a clean message)."""

    text: str
    secrets: tuple[tuple[str, int, int], ...]
    lang: str
    form: str


# ---------------------------------------------------------------- secrets


def seed_phrase(rng: random.Random, lang: str = "english", words: int = 12) -> str:
    """A checksum-valid BIP39 phrase of ``words`` words, space-separated (ideographic lists too)."""
    entropy = rng.randbytes(words * 4 // 3)
    return str(_MNEMONICS[lang].to_mnemonic(entropy))


def format_phrase(phrase: str, form: str) -> str:
    """Lay a space-separated phrase out as people paste it."""
    words = phrase.split()
    if form == "spaces":
        return " ".join(words)
    if form == "commas":
        return ", ".join(words)
    if form == "numbered":
        return " ".join(f"{i}. {w}" for i, w in enumerate(words, 1))
    if form == "numbered_lines":
        return "\n".join(f"{i}) {w}" for i, w in enumerate(words, 1))
    if form == "lines":
        return "\n".join(" ".join(words[i:i + 4]) for i in range(0, len(words), 4))
    if form == "upper":
        return " ".join(words).upper()
    if form == "unspaced":
        return "".join(words)
    if form == "zh_commas":
        return "，".join(words)
    raise ValueError(f"unknown phrase form {form!r}")


def private_key_hex(rng: random.Random) -> str:
    key = rng.randbytes(32).hex()
    return rng.choice(("0x" + key, key, key.upper()))


def wif(rng: random.Random) -> str:
    compressed = rng.random() < 0.7
    payload = b"\x80" + rng.randbytes(32) + (b"\x01" if compressed else b"")
    return base58.b58encode_check(payload).decode()


def xprv(rng: random.Random) -> str:
    version = rng.choice((b"\x04\x88\xad\xe4", b"\x04\xb2\x43\x0c", b"\x04\x9d\x78\x78",
                          b"\x04\x35\x83\x94"))
    depth = rng.choice((b"\x00", b"\x03"))
    body = version + depth + rng.randbytes(4) + rng.randbytes(4) + rng.randbytes(32)
    return base58.b58encode_check(body + b"\x00" + rng.randbytes(32)).decode()


def api_secret(rng: random.Random) -> str:
    style = rng.randrange(3)
    if style == 0:  # Binance-style 64 alphanumerics
        return "".join(rng.choice(_ALNUM) for _ in range(64))
    if style == 1:  # OKX-style 32 upper hex
        return rng.randbytes(16).hex().upper()
    return base58.b58encode(rng.randbytes(24)).decode() + rng.choice(("==", "A9", "x7"))


def password(rng: random.Random) -> str:
    words = ("sunshine", "dragon", "monkey", "panda", "tiger", "crypto", "moon", "lucky", "happy",
             "bitcoin", "wang", "zhang", "love", "star")
    style = rng.randrange(5)
    word = rng.choice(words)
    if style == 0:
        return word.capitalize() + str(rng.randrange(10, 9999)) + rng.choice("!@#$%&*")
    if style == 1:
        return word + str(rng.randrange(1960, 2025))
    if style == 2:
        return "".join(rng.choice(_ALNUM) for _ in range(rng.randrange(8, 16)))
    if style == 3:
        return f"{word[0].upper()}{word[1:]}_{rng.randrange(100, 999)}"
    return str(rng.randrange(10**5, 10**8))


def pin(rng: random.Random) -> str:
    return f"{rng.randrange(10**4):04d}" if rng.random() < 0.6 else f"{rng.randrange(10**6):06d}"


def otp(rng: random.Random) -> str:
    code = f"{rng.randrange(10**6):06d}"
    return code if rng.random() < 0.85 else f"{code[:3]} {code[3:]}"


def _luhn_complete(body: str) -> str:
    total = 0
    for position, char in enumerate(reversed(body)):
        value = int(char)
        if position % 2 == 0:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return body + str((10 - total % 10) % 10)


def card_number(rng: random.Random) -> str:
    prefix, length = rng.choice((("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("34", 15),
                                 ("37", 15), ("6222", 19), ("6228", 19), ("6217", 16),
                                 ("6011", 16), ("3530", 16), ("4", 13)))
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    digits = _luhn_complete(body)
    if length == 16 and rng.random() < 0.4:
        separator = rng.choice((" ", "-"))
        return separator.join(digits[i:i + 4] for i in range(0, 16, 4))
    if length == 15 and rng.random() < 0.4:
        return f"{digits[:4]} {digits[4:10]} {digits[10:]}"
    return digits


def cn_national_id(rng: random.Random) -> str:
    born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(365 * 55))
    body = f"{rng.choice(_CN_REGIONS)}{born:%Y%m%d}{rng.randrange(1000):03d}"
    total = sum(int(c) * w for c, w in zip(body, _CN_WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


# ---------------------------------------------------------------- look-alikes


def txid(rng: random.Random) -> str:
    return rng.choice(("0x", "")) + rng.randbytes(32).hex()


def evm_address(rng: random.Random) -> str:
    return "0x" + rng.randbytes(20).hex()


def btc_address(rng: random.Random) -> str:
    kind = rng.randrange(3)
    if kind == 0:
        return base58.b58encode_check(b"\x00" + rng.randbytes(20)).decode()
    if kind == 1:
        return base58.b58encode_check(b"\x05" + rng.randbytes(20)).decode()
    return "bc1q" + "".join(rng.choice("qpzry9x8gf2tvdw0s3jn54khce6mua7l") for _ in range(38))


def tron_address(rng: random.Random) -> str:
    return base58.b58encode_check(b"\x41" + rng.randbytes(20)).decode()


def sol_address(rng: random.Random) -> str:
    return base58.b58encode(rng.randbytes(32)).decode()


def sol_signature(rng: random.Random) -> str:
    return base58.b58encode(rng.randbytes(64)).decode()


def order_id(rng: random.Random) -> str:
    style = rng.randrange(4)
    if style == 0:
        return str(rng.randrange(10**15, 10**19))
    if style == 1:
        return f"{rng.randrange(2023, 2026)}{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}" \
               f"{rng.randrange(10**9, 10**10)}"
    if style == 2:
        return "".join(rng.choice("0123456789") for _ in range(18))
    return "P2P" + str(rng.randrange(10**17, 10**18))


def phone(rng: random.Random) -> str:
    mobile = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
    return rng.choice((mobile, f"+86 {mobile}", f"+86{mobile}", f"{mobile[:3]} {mobile[3:7]} "
                       f"{mobile[7:]}", f"+1 (415) {rng.randrange(200, 999)}-"
                       f"{rng.randrange(1000, 9999)}", f"+44 7{rng.randrange(10**9):09d}"))


def amount(rng: random.Random) -> str:
    value = rng.choice((f"{rng.randrange(1, 10**6):,}", f"{rng.uniform(0, 5):.8f}",
                        str(rng.randrange(100, 999999)), f"{rng.uniform(1, 10**5):.2f}"))
    return f"{value} {rng.choice(('USDT', 'BTC', 'ETH', 'TRX', 'SOL', 'USD', '元', 'CNY'))}"


def date(rng: random.Random) -> str:
    day = dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange(800))
    return rng.choice((f"{day:%Y-%m-%d}", f"{day:%Y/%m/%d}", f"{day:%d.%m.%Y}",
                       f"{day.year}年{day.month}月{day.day}日", f"{day:%Y%m%d}"))


def ticket(rng: random.Random) -> str:
    return f"KF-{rng.randrange(10**6):06d}"


def uid(rng: random.Random) -> str:
    return str(rng.randrange(10**7, 10**10))


LOOKALIKES: dict[str, Callable[[random.Random], str]] = {
    "txid": txid, "evm": evm_address, "btc": btc_address, "tron": tron_address,
    "sol": sol_address, "sig": sol_signature, "order": order_id, "phone": phone,
    "amount": amount, "date": date, "ticket": ticket, "uid": uid,
}

# ---------------------------------------------------------------- templates

_OPENERS_EN = ("", "", "Hi, ", "Hello support, ", "URGENT!! ", "hey ", "Good morning. ",
               "Please help. ")
_CLOSERS_EN = ("", "", " Thanks", " thank you!", " Please help asap.", " What should I do?",
               " Is my account safe?")
_OPENERS_ZH = ("", "", "你好，", "您好，", "客服你好，", "急！", "在吗？")
_CLOSERS_ZH = ("", "", "，谢谢", "，麻烦尽快处理", "。我该怎么办？", "，请帮忙看看", "！！")

SECRET_TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "seed_phrase": {
        "en": ("my seed phrase is {s}", "Here is my recovery phrase: {s}",
               "I imported these words into the app: {s} and my balance is 0",
               "{s}", "mnemonic:\n{s}", "is this a valid phrase? {s}",
               "my 12 words are {s}. someone drained my wallet",
               "Trust Wallet backup: {s}", "secret recovery phrase {s}",
               "Hello, I need help restoring my wallet. My recovery words are {s}",
               'I typed "{s}" into the site and it stole my coins',
               "Is this phrase ok?\n\n{s}\n\nThanks", "my metamask SRP: {s}. please restore"),
        "zh": ("我的助记词是：{s}", "助记词 {s}", "这是我的钱包助记词\n{s}\n请帮我找回资产",
               "{s}", "助记词：{s}，导入后余额为0", "帮我看看这个助记词对不对 {s}",
               "我把助记词{s}导入了imToken", "这是我的12个助记词：{s}，帮忙看下为什么导入不了",
               "助记词如下\n{s}", "請幫我看看助記詞 {s}"),
    },
    "private_key": {
        "en": ("my private key is {s}", "Private key: {s}", "here is the key {s} for my metamask",
               "priv: {s}", "I exported the private key {s} from my wallet, can you recover it?",
               "key: {s}", "my PK: {s}", "wallet key = {s}",
               "I think someone got my private key. It was {s}", "Private Key\n{s}"),
        "zh": ("我的私钥是{s}", "私钥：{s}", "这是我钱包的私钥 {s} 请帮我把币转出来",
               "导出的私钥 {s}，请问安全吗", "私钥是{s}，钱包被盗了"),
    },
    "wif": {
        "en": ("my bitcoin private key (WIF) is {s}", "{s}", "paper wallet key {s} can't import"),
        "zh": ("比特币私钥 {s}", "{s} 这个能导入吗"),
    },
    "extended_private_key": {
        "en": ("xprv for my ledger account: {s}", "{s}", "my extended key is {s}"),
        "zh": ("扩展私钥 {s}", "我的{s}是从电子钱包导出的"),
    },
    "api_secret": {
        "en": ("API Secret: {s}", "my api secret key is {s}", "secretKey={s}",
               "the secret key for my API is {s} and the bot stopped trading",
               '{{"apiKey": "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A", '
               '"secretKey": "{s}"}}'),
        "zh": ("API密钥：{s}", "我的密钥是{s}，机器人不能下单了", "Secret Key {s}"),
    },
    "password": {
        "en": ("my password is {s}", "Password: {s}", "login email aa@bb.com pwd: {s}",
               "I changed my password to {s} yesterday", "my password for binance is {s}",
               "password is '{s}'", "The password I set was {s}", "Password - {s}",
               "I use {s} as my password", "user: john pass: {s}",
               "my account password: {s}, email john@x.com"),
        "zh": ("我的密码是{s}", "登录密码：{s}", "密码 {s}，账号 13800138000", "资金密码是{s}",
               "密码改成了{s}还是登不上", "账号 test@gmail.com 密码 {s}", "密码为{s}，请帮我登录"),
    },
    "pin": {
        "en": ("my PIN is {s}", "card pin {s}", "PIN: {s}", "the pin code is {s}",
               "ATM pin is {s}", "the PIN number is {s}"),
        "zh": ("PIN码是{s}", "我的pin码 {s}", "银行卡PIN码是{s}"),
    },
    "otp_code": {
        "en": ("my 2FA code is {s}", "Google Authenticator code: {s}", "sms code {s}",
               "the verification code I got is {s}", "here is the OTP {s}",
               "{s} is my 2fa code", "google code {s} please hurry", "Code: {s}",
               "the OTP you sent is {s}", "Binance verification code: {s}", "GA code {s}",
               "one-time password {s}", "I got the code {s}"),
        "zh": ("验证码是{s}", "我的谷歌验证码 {s}", "短信验证码：{s}", "2FA验证码{s}",
               "收到的验证码是 {s}", "邮箱验证码{s}", "{s} 是我的验证码", "動態碼 {s}",
               "二次验证码：{s}"),
    },
    "card_number": {
        "en": ("my card number is {s}", "card: {s} exp 09/27", "I paid with visa {s}",
               "charged twice on {s}", "Card {s} was declined"),
        "zh": ("卡号{s}", "银行卡号：{s}", "我的信用卡 {s} 被扣款两次", "用{s}这张卡充值失败"),
    },
    "national_id": {
        "en": ("my ID number is {s}", "Chinese ID {s} for KYC", "{s} is my id card"),
        "zh": ("身份证号{s}", "我的身份证：{s}，实名认证失败", "{s}", "证件号码 {s} 认证不通过"),
    },
}

SECRET_MAKERS: dict[str, Callable[[random.Random], str]] = {
    "private_key": private_key_hex, "wif": wif, "extended_private_key": xprv,
    "api_secret": api_secret, "password": password, "pin": pin, "otp_code": otp,
    "card_number": card_number, "national_id": cn_national_id,
}

_PHRASE_FORMS = {
    "english": ("spaces", "spaces", "commas", "numbered", "numbered_lines", "lines", "upper"),
    "chinese_simplified": ("spaces", "unspaced", "zh_commas", "numbered", "lines"),
    "chinese_traditional": ("spaces", "unspaced", "numbered"),
}

LOOKALIKE_TEMPLATES: dict[str, tuple[str, ...]] = {
    "en": (
        "I sent {amount} to {evm} but it hasn't arrived. txid {txid}",
        "Withdrawal stuck. TXID: {txid} amount {amount}",
        "deposit hash {txid} to address {tron}, please check",
        "my BTC withdrawal to {btc} on {date} still pending, hash {txid}",
        "order {order} not credited, I paid {amount} on {date}",
        "please call me at {phone}, my UID is {uid}",
        "ticket {ticket}: still waiting for refund of {amount}",
        "I lost my seed phrase, can you help me recover my wallet {evm}?",
        "I forgot my password and the verification code never arrives at {phone}",
        "my 2FA is not working since {date}, UID {uid}",
        "reset password please, order {order}",
        "SOL deposit to {sol} signature {sig}",
        "Transaction {txid} shows success on etherscan but my balance is {amount}",
        "my card was charged {amount} for order {order}",
        "P2P order {order}: buyer paid {amount} but did not release",
        "The API key I created on {date} shows no trading permission",
        "Where do I find my private key for {evm}? never mind, found it",
        "the sms code was sent to {phone} but expired",
        "My PIN is blocked after 3 attempts, account {uid}",
        "is {txid} a valid hash? I withdrew {amount}",
        "I got a 6 digit code from google but it says invalid, UID {uid}",
        "Hash: {txid}\nFrom: {evm}\nTo: {evm}\nValue: {amount}",
        "invoice {order} dated {date} total {amount}",
    ),
    "zh": (
        "我{date}提现{amount}到{tron}，交易哈希{txid}，还没到账",
        "充值没到账，TXID：{txid}",
        "订单号{order}，已付款{amount}，卖家不放币",
        "我的手机号{phone}收不到验证码",
        "UID：{uid}，谷歌验证器丢了怎么重置",
        "助记词丢了怎么办，钱包地址{evm}",
        "工单{ticket}一直没人回复",
        "提币地址{btc}，数量{amount}，哈希{txid}",
        "忘记密码了，绑定手机{phone}",
        "我的私钥是不是泄露了？地址{evm}里的币没了",
        "{date}充值{amount}，订单{order}",
        "SOL提现到{sol}，签名{sig}",
        "验证码一直发不到{phone}，UID {uid}",
        "交易密码错误5次被锁了，UID：{uid}",
        "API密钥怎么创建？",
        "转账记录：{txid}，金额{amount}，时间{date}",
        "联系电话：{phone}，订单编号：{order}",
        "区块浏览器显示{txid}已确认",
    ),
}


def _wrap(rng: random.Random, lang: str, body: str) -> tuple[str, str, str]:
    openers, closers = (_OPENERS_ZH, _CLOSERS_ZH) if lang == "zh" else (_OPENERS_EN, _CLOSERS_EN)
    return rng.choice(openers), body, rng.choice(closers)


def _secret_case(rng: random.Random, kind: str) -> Case:
    lang = rng.choice(("en", "zh"))
    template = rng.choice(SECRET_TEMPLATES[kind][lang])
    form = kind
    if kind == "seed_phrase":
        wordlist = "english" if lang == "en" else rng.choice(
            ("chinese_simplified", "chinese_simplified", "chinese_traditional", "english"))
        phrase_form = rng.choice(_PHRASE_FORMS[wordlist])
        words = rng.choice((12, 12, 12, 15, 18, 21, 24))
        secret = format_phrase(seed_phrase(rng, wordlist, words), phrase_form)
        form = f"seed_phrase/{wordlist}/{phrase_form}/{words}"
    else:
        secret = SECRET_MAKERS[kind](rng)
    before, after = template.split("{s}")
    opener, _, closer = _wrap(rng, lang, template)
    prefix = opener + before.replace("{{", "{").replace("}}", "}")
    text = prefix + secret + after.replace("{{", "{").replace("}}", "}") + closer
    return Case(text, ((kind, len(prefix), len(prefix) + len(secret)),), lang, form)


def _lookalike_case(rng: random.Random) -> Case:
    lang = rng.choice(("en", "zh"))
    template = rng.choice(LOOKALIKE_TEMPLATES[lang])
    values = {name: make(rng) for name, make in LOOKALIKES.items()}
    opener, body, closer = _wrap(rng, lang, template.format(**values))
    return Case(opener + body + closer, (), lang, "lookalike")


def secret_cases(count: int, seed: int = 7) -> list[Case]:
    """``count`` messages, each with one secret, the kinds in turn."""
    rng = random.Random(seed)
    kinds = list(SECRET_TEMPLATES)
    return [_secret_case(rng, kinds[i % len(kinds)]) for i in range(count)]


def lookalike_cases(count: int, seed: int = 7) -> list[Case]:
    """``count`` clean messages full of txids, addresses, ids, phones, amounts and dates."""
    rng = random.Random(seed + 1)
    return [_lookalike_case(rng) for _ in range(count)]


# ---------------------------------------------------------------- measuring


def covered(case_span: tuple[str, int, int], findings: list[tuple[str, int, int]],
            *, same_kind: bool) -> bool:
    """True when the findings (of the same kind, if asked) cover every character of the span."""
    kind, start, end = case_span
    position = start
    for f_kind, f_start, f_end in sorted(findings, key=lambda f: f[1]):
        if same_kind and f_kind != kind:
            continue
        if f_start <= position < f_end:
            position = f_end
    return position >= end


def _measure(cases: list[Case], lookalikes: list[Case], show: int) -> dict[str, object]:
    from kefu.guard.secrets import scan

    per_kind: Counter[str] = Counter()
    hidden: Counter[str] = Counter()
    exact: Counter[str] = Counter()
    misses: list[tuple[str, str, str]] = []
    for case in cases:
        result = scan(case.text)
        found = [(f.kind, f.start, f.end) for f in result.findings]
        kind = case.secrets[0][0]
        per_kind[kind] += 1
        hidden[kind] += covered(case.secrets[0], found, same_kind=False)
        ok = covered(case.secrets[0], found, same_kind=True)
        exact[kind] += ok
        if not ok and len(misses) < show * 10:
            misses.append((case.form, case.text, result.masked))
    flagged = [(c.text, scan(c.text).masked) for c in lookalikes if not scan(c.text).clean]
    for form, text, masked in misses[:show * 10]:
        sys.stderr.write(f"MISS {form}: {text!r}\n  -> {masked!r}\n")
    for text, masked in flagged[:show]:
        sys.stderr.write(f"FP lookalike: {text!r}\n  -> {masked!r}\n")
    return {
        "recall": {k: round(exact[k] / per_kind[k], 4) for k in per_kind},
        "hidden": {k: round(hidden[k] / per_kind[k], 4) for k in per_kind},
        "recall_all": round(sum(exact.values()) / len(cases), 4),
        "lookalikes": len(lookalikes), "lookalikes_flagged": len(flagged),
    }


def _measure_real(root: Path, show: int) -> dict[str, object]:
    from kefu.guard.secrets import scan
    from tests.guard.corpus_real import real_messages

    scanned: Counter[str] = Counter()
    flagged: Counter[str] = Counter()
    examples = []
    for source, text in real_messages(root):
        scanned[source] += 1
        result = scan(text)
        if not result.clean:
            flagged[source] += 1
            examples.append((source, text, result.masked))
    for source, text, masked in examples[:show]:
        sys.stderr.write(f"FP real {source}: {text!r}\n  -> {masked!r}\n")
    total = sum(scanned.values())
    return {"real_messages": total, "real_flagged": sum(flagged.values()),
            "real_fp_rate": round(sum(flagged.values()) / max(total, 1), 6),
            "real_by_source": {s: [scanned[s], flagged[s]] for s in scanned}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--show", type=int, default=5, help="examples of misses/FPs to print")
    parser.add_argument("--data", type=Path,
                        default=Path(__file__).resolve().parents[3] / "shared" / "data")
    args = parser.parse_args()
    started = time.perf_counter()
    report = _measure(secret_cases(args.cases, args.seed), lookalike_cases(args.cases, args.seed),
                      args.show)
    if args.data.is_dir():
        report.update(_measure_real(args.data, args.show))
    report["seconds"] = round(time.perf_counter() - started, 1)
    sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
