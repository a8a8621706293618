"""The secret guard per kind: each secret is found and masked, each look-alike stays readable."""

from __future__ import annotations

import random

import pytest
from mnemonic import Mnemonic

from kefu.guard.bip39 import checksum_ok
from kefu.guard.secret_numbers import card_brand_ok, cn_id_ok, luhn_ok
from kefu.guard.secret_stated import (
    API_LABELS,
    OTP_LABELS,
    PASSWORD_LABELS,
    PIN_LABELS,
    TRIGGERS,
)
from kefu.guard.secrets import KINDS, Finding, GuardResult, customer_notice, scan
from tests.guard.corpus import (
    api_secret,
    btc_address,
    card_number,
    cn_national_id,
    evm_address,
    format_phrase,
    seed_phrase,
    sol_signature,
    tron_address,
    txid,
    wif,
    xprv,
)

RNG_SEED = 20240601


def kinds(text: str) -> list[str]:
    return [f.kind for f in scan(text).findings]


def hidden(text: str, secret: str, kind: str) -> None:
    """The secret is gone from the masked text and reported, once, as ``kind``."""
    result = scan(text)
    assert secret not in result.masked, result.masked
    assert f"[REDACTED {kind}]" in result.masked
    start = text.index(secret)
    assert any(f.kind == kind and f.start <= start and f.end >= start + len(secret)
               for f in result.findings), result.findings


def clean(text: str) -> None:
    result = scan(text)
    assert result.clean, (text, result.findings)
    assert result.masked == text


# ---------------------------------------------------------------- seed phrases

@pytest.mark.parametrize("words", [12, 15, 18, 21, 24])
@pytest.mark.parametrize("lang", ["english", "chinese_simplified", "chinese_traditional"])
def test_valid_phrase_of_every_length_and_list_is_hidden(lang: str, words: int) -> None:
    phrase = seed_phrase(random.Random(RNG_SEED + words), lang, words)
    hidden(f"hi, please check {phrase} thanks", phrase, "seed_phrase")


@pytest.mark.parametrize("form", ["commas", "numbered", "numbered_lines", "lines", "upper"])
def test_english_phrase_layouts_are_hidden(form: str) -> None:
    phrase = format_phrase(seed_phrase(random.Random(RNG_SEED), "english"), form)
    hidden(f"my wallet words:\n{phrase}\nwhat now?", phrase, "seed_phrase")


@pytest.mark.parametrize("form", ["unspaced", "zh_commas", "numbered", "spaces"])
def test_chinese_phrase_layouts_are_hidden(form: str) -> None:
    phrase = format_phrase(seed_phrase(random.Random(RNG_SEED), "chinese_simplified"), form)
    hidden(f"你好，我的助记词是{phrase}，帮我看看", phrase, "seed_phrase")


@pytest.mark.parametrize("form", ["spaces", "zh_commas"])
def test_chinese_phrase_between_label_and_sentence_hides_only_the_phrase(form: str) -> None:
    """The label's last character and the next sentence's first one touch the phrase's
    separated words; they stay readable, valid phrase or typo'd."""
    words = seed_phrase(random.Random(RNG_SEED), "chinese_simplified").split()
    typo = [*words[:3], "的" if words[3] != "的" else "一", *words[4:]]
    for phrase_words in (words, typo):
        phrase = format_phrase(" ".join(phrase_words), form)
        for before, after in (("助记词 ", " 请帮我找回"), ("钱包助记词是 ", "。谢谢")):
            masked = scan(f"{before}{phrase}{after}").masked
            assert masked == f"{before}[REDACTED seed_phrase]{after}"


def test_unspaced_chinese_phrase_standing_alone_is_hidden() -> None:
    phrase = format_phrase(seed_phrase(random.Random(RNG_SEED + 1), "chinese_simplified"),
                           "unspaced")
    hidden(f"急！{phrase}，谢谢", phrase, "seed_phrase")


def test_a_phrase_of_common_characters_is_hidden_where_the_message_talks_of_seeds() -> None:
    """One random phrase in 10,000 is as common as ordinary text, which alone is no phrase; in
    a message about seed phrases it is one (the all-zero phrase is what property tests find)."""
    zero = Mnemonic("chinese_simplified").to_mnemonic(bytes(16)).replace(" ", "")
    assert zero == "的的的的的的的的的的的在"
    for text in (f"my seed phrase is {zero}", f"我的助记词是{zero}请帮我看看",
                 f"我把助记词{zero}导入了imToken", f"is this a valid phrase? {zero}"):
        hidden(text, zero, "seed_phrase")
    assert "seed_phrase" not in kinds(f"hello {zero}")


def test_numbered_phrase_hides_its_first_number() -> None:
    phrase = format_phrase(seed_phrase(random.Random(RNG_SEED), "english"), "numbered")
    result = scan(f"words: {phrase}")
    assert result.masked == "words: [REDACTED seed_phrase]"


def test_typo_phrase_is_hidden_in_seed_context_only() -> None:
    words = seed_phrase(random.Random(RNG_SEED), "english").split()
    words[3] = "zoo" if words[3] != "zoo" else "abandon"
    broken = " ".join(words)
    assert not checksum_ok(tuple(Mnemonic("english").wordlist.index(w) for w in words))
    hidden(f"my seed phrase is {broken}", broken, "seed_phrase")
    assert "seed_phrase" not in kinds(f"hello {broken}")


def test_abbreviated_words_count_in_seed_context() -> None:
    words = seed_phrase(random.Random(RNG_SEED), "english").split()
    abbreviated = " ".join(w[:4] if len(w) > 4 else w for w in words)
    hidden(f"recovery phrase: {abbreviated}", abbreviated, "seed_phrase")


def test_checksum_matches_the_reference_implementation() -> None:
    rng = random.Random(RNG_SEED)
    english = Mnemonic("english")
    for _ in range(200):
        words = [rng.choice(english.wordlist) for _ in range(12)]
        indices = tuple(english.wordlist.index(w) for w in words)
        assert checksum_ok(indices) == english.check(" ".join(words))


def test_windows_rolled_along_a_run_are_the_windows_whose_checksum_holds() -> None:
    from kefu.guard.bip39 import PHRASE_LENGTHS, _valid_windows

    rng = random.Random(RNG_SEED)
    for size in (0, 11, 12, 13, 30, 80):
        indices = [rng.randrange(2048) for _ in range(size)]
        assert _valid_windows(indices) == [
            (i, i + length) for length in PHRASE_LENGTHS for i in range(size - length + 1)
            if checksum_ok(tuple(indices[i:i + length]))]
    phrase = [Mnemonic("english").wordlist.index(w)
              for w in seed_phrase(random.Random(RNG_SEED), "english").split()]
    assert (3, 3 + len(phrase)) in _valid_windows([7, 8, 9, *phrase, 10])


def test_ordinary_english_and_chinese_text_is_not_a_phrase() -> None:
    clean("I lost access to my wallet after the update, can you help me find my account "
          "balance and history please, thank you very much for your time")
    clean("我的助记词丢了怎么办，你们能不能帮我找回来，钱包里还有很多币")
    clean("帮我看看这个助记词对不对，导入以后余额为零是什么原因呢")


# ---------------------------------------------------------------- keys

def test_hex_private_key_after_key_label_is_hidden() -> None:
    key = random.Random(RNG_SEED).randbytes(32).hex()
    hidden(f"my private key is 0x{key}", f"0x{key}", "private_key")
    hidden(f"私钥：{key}", key, "private_key")
    hidden(f"priv: {key.upper()}", key.upper(), "private_key")


@pytest.mark.parametrize("template", [
    "txid {h}", "TXID: {h}", "交易哈希 {h}", "hash {h}", "{h}", "withdrawal stuck, tx {h}",
    "I never shared my private key! but tx {h} drained me",
    "public key: {h}",
])
def test_hex_transaction_ids_stay_readable(template: str) -> None:
    clean(template.format(h=txid(random.Random(RNG_SEED))))


def test_each_hex_string_is_judged_by_its_own_label() -> None:
    rng = random.Random(RNG_SEED)
    tx, key = rng.randbytes(32).hex(), rng.randbytes(32).hex()
    result = scan(f"tx hash {tx} and my private key is {key}")
    assert [f.kind for f in result.findings] == ["private_key"]
    assert tx in result.masked
    assert key not in result.masked


def test_wif_and_extended_private_keys_are_hidden_without_context() -> None:
    rng = random.Random(RNG_SEED)
    for _ in range(5):
        value = wif(rng)
        hidden(f"can I import {value}?", value, "wif")
        value = xprv(rng)
        hidden(f"{value} is from electrum", value, "extended_private_key")
    hidden("5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ",
           "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ", "wif")


def test_base58_lookalikes_with_bad_checksums_stay_readable() -> None:
    value = wif(random.Random(RNG_SEED))
    tampered = value[:-1] + ("a" if value[-1] != "a" else "b")
    clean(f"can I import {tampered}?")


def test_addresses_and_signatures_stay_readable() -> None:
    rng = random.Random(RNG_SEED)
    for _ in range(20):
        clean(f"sent to {evm_address(rng)} and {btc_address(rng)} and {tron_address(rng)}")
        clean(f"SOL withdrawal signature {sol_signature(rng)}")


def test_solana_keypair_after_key_label_is_hidden() -> None:
    value = sol_signature(random.Random(RNG_SEED))
    hidden(f"phantom private key: {value}", value, "private_key")


# ---------------------------------------------------------------- stated secrets

@pytest.mark.parametrize(("text", "secret"), [
    ("my password is Hunter2!", "Hunter2!"),
    ("Password: s3cr3t-Pass", "s3cr3t-Pass"),
    ("pwd: abc12345.", "abc12345"),
    ("I changed my password to Tiger_723 yesterday", "Tiger_723"),
    ("my password for binance is sunshine", "sunshine"),
    ("password is 'open sesame 9'", "open sesame 9"),
    ("我的密码是abc123456，谢谢", "abc123456"),
    ("登录密码：Aa123456", "Aa123456"),
    ("密码改成了qwe@2024还是登不上", "qwe@2024"),
])
def test_stated_passwords_hide_the_value_only(text: str, secret: str) -> None:
    hidden(text, secret, "password")
    assert scan(text).masked == text.replace(secret, "[REDACTED password]", 1)


@pytest.mark.parametrize("text", [
    "I forgot my password", "my password is wrong", "My password doesn't work.",
    "password reset link not working", "my password is over 20 characters",
    "Password must be 8-20 characters", "密码忘记了怎么办", "密码是多少位的？",
    "交易密码错误5次被锁了", "please change my passport photo", "I need to pass KYC level 2",
])
def test_sentences_about_passwords_stay_readable(text: str) -> None:
    clean(text)


@pytest.mark.parametrize(("text", "secret"), [
    ("my PIN is 4821", "4821"), ("card pin 0000", "0000"), ("PIN码是123456", "123456"),
    ("the pin code: 9876", "9876"),
])
def test_stated_pins_are_hidden(text: str, secret: str) -> None:
    hidden(text, secret, "pin")


@pytest.mark.parametrize(("text", "secret"), [
    ("my 2FA code is 123456", "123456"), ("Google Authenticator code: 654321", "654321"),
    ("sms code 482 913", "482 913"), ("验证码是 482913", "482913"),
    ("谷歌验证码：778899", "778899"),
    ("123456 is my 2fa code", "123456"), ("the code is 135790", "135790"),
    ("验证码是4821", "4821"),
])
def test_one_time_codes_are_hidden(text: str, secret: str) -> None:
    hidden(text, secret, "otp_code")


@pytest.mark.parametrize("text", [
    "my 2FA code isn't working", "verification code sent to 13800138000 never arrived",
    "验证码发到13800138000了吗", "order 123456 not arrived", "referral code 123456",
    "error code 100001", "google authenticator 2024 update", "验证码 60 秒后重发",
    "my 2fa code is 2024", "UID 123456 can't receive the SMS",
])
def test_numbers_near_code_words_stay_readable(text: str) -> None:
    clean(text)


@pytest.mark.parametrize("template", [
    "API Secret: {s}", "my api secret key is {s}", "secretKey={s}", "API密钥：{s}",
    '{{"secretKey": "{s}"}}', "secret: {s}",
])
def test_api_secrets_are_hidden(template: str) -> None:
    value = api_secret(random.Random(RNG_SEED))
    hidden(template.format(s=value), value, "api_secret")


def test_hex_secret_claimed_by_two_detectors_is_one_finding_of_the_first_kind() -> None:
    key = random.Random(RNG_SEED).randbytes(32).hex()
    result = scan(f"secret key: {key}")  # an API secret label, and "key" before 64 hex
    assert result.findings == (Finding("api_secret", 12, 12 + len(key)),)


def test_every_stated_label_passes_the_trigger_prefilter() -> None:
    for labels in (PASSWORD_LABELS, PIN_LABELS, OTP_LABELS, API_LABELS):
        for label in labels.labels:
            assert any(stem in label.text for stem in TRIGGERS), label.text


def test_api_words_without_a_token_stay_readable() -> None:
    clean("How do I create an API key with trading permission?")
    clean("the secret to good trading is patience")


# ---------------------------------------------------------------- numbers

def test_generated_cards_pass_luhn_and_brand() -> None:
    rng = random.Random(RNG_SEED)
    for _ in range(100):
        digits = card_number(rng).replace(" ", "").replace("-", "")
        assert luhn_ok(digits)
        assert card_brand_ok(digits)


@pytest.mark.parametrize("card", [
    "4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005", "3782 822463 10005",
    "6222021234567890128", "4012888888881881",
])
def test_card_numbers_are_hidden(card: str) -> None:
    assert luhn_ok(card.replace(" ", "").replace("-", ""))
    hidden(f"my card {card} was charged twice", card, "card_number")
    hidden(f"卡号{card}", card, "card_number")


def test_cvv_is_hidden_with_its_card() -> None:
    result = scan("visa 4111111111111111 exp 12/26 cvv 123")
    assert result.masked == "visa [REDACTED card_number] exp 12/26 cvv [REDACTED card_number]"


@pytest.mark.parametrize("text", [
    "order id 4111111111111111 not shipped", "订单号4111111111111111", "UID 4111111111111111",
    "phone +8613800138000", "手机 138 0013 8000", "transfer 4111111111111112 failed",
    "1234567812345678 is not luhn valid", "amount 1,234,567.89 USDT",
    "tracking 4111111111111111", "timestamp 1710489600000",
])
def test_card_lookalikes_stay_readable(text: str) -> None:
    clean(text)


def test_chinese_ids_are_hidden_with_their_check_character() -> None:
    rng = random.Random(RNG_SEED)
    for _ in range(30):
        value = cn_national_id(rng)
        assert cn_id_ok(value)
        hidden(f"实名认证 {value} 失败", value, "national_id")
    hidden("身份证号 11010519491231002X", "11010519491231002X", "national_id")


def test_id_shaped_numbers_need_checksum_or_label() -> None:
    clean("订单 110105194912310021")  # wrong check character
    clean("order 202403151234567890")  # no such region or date
    hidden("身份证号码：110105194912310021", "110105194912310021", "national_id")
    hidden("my SSN is 123-45-6789", "123-45-6789", "national_id")
    hidden("passport number: E12345678", "E12345678", "national_id")


def test_full_width_input_is_read_as_ascii_and_masked_in_place() -> None:
    result = scan("验证码：１２３４５６，卡号４１１１　１１１１　１１１１　１１１１")
    assert result.masked == "验证码：[REDACTED otp_code]，卡号[REDACTED card_number]"
    hidden("我的ｐａｓｓｗｏｒｄ是Ａｂｃ１２３４５", "Ａｂｃ１２３４５", "password")


# ---------------------------------------------------------------- labels and markers

def test_words_inside_a_phrase_do_not_label_the_values_around_it() -> None:
    phrase = " ".join(["abandon"] * 9 + ["amount", "abandon", "abstract"])  # valid, has "amount"
    result = scan(f"{phrase} 4000000000000002")
    assert [f.kind for f in result.findings] == ["seed_phrase", "card_number"]


def test_markers_do_not_act_as_labels() -> None:
    tx = txid(random.Random(RNG_SEED))
    clean(f"[REDACTED seed_phrase] {tx}")
    clean("my password is [REDACTED password]")
    clean(f"[REDACTED private_key] {tx}")
    clean(f"[REDACTED api_secret] {tx}")


# ---------------------------------------------------------------- API

def test_result_api() -> None:
    result = scan("my PIN is 4821 and seed phrase " + seed_phrase(random.Random(RNG_SEED)))
    assert isinstance(result, GuardResult)
    assert not result.clean
    assert result.security_flag
    assert result.kinds == ("seed_phrase", "pin")
    assert result.findings[0] == Finding("pin", 10, 14)
    assert all(a.end <= b.start for a, b in zip(result.findings, result.findings[1:], strict=False))
    assert set(KINDS) == {"seed_phrase", "private_key", "extended_private_key", "wif",
                          "api_secret", "password", "pin", "otp_code", "card_number",
                          "national_id"}


def test_non_wallet_secrets_do_not_flag_security() -> None:
    result = scan("my password is Hunter2!")
    assert not result.security_flag
    assert not scan("hello").security_flag


def test_non_text_is_refused() -> None:
    with pytest.raises(ValueError, match="needs a str"):
        scan(b"bytes")  # type: ignore[arg-type]


def test_customer_notice_names_what_was_hidden() -> None:
    leaked = scan("seed phrase " + seed_phrase(random.Random(RNG_SEED)))
    en = customer_notice(leaked, "en")
    zh = customer_notice(leaked, "zh-CN")
    assert en is not None
    assert "seed phrase" in en
    assert "new wallet" in en
    assert zh is not None
    assert "助记词" in zh
    assert "新的钱包" in zh
    password = customer_notice(scan("my password is Hunter2!"), "zh")
    assert password is not None
    assert "密码" in password
    assert "钱包" not in password
    both = customer_notice(scan("API Secret: aB3dE5fG7hI9jK1lM3nO5pQ7 and pin 4821"), "en")
    assert both is not None
    assert "an API secret and a PIN" in both
    assert customer_notice(scan("hello"), "en") is None


def test_quoted_menu_names_around_the_word_password_are_not_a_password() -> None:
    # Help texts name buttons in quotes; what lies between two of them is not a value.
    clean("Look for the 'Forgot Password' or 'Reset Password' option on the login page.")
    hidden("my password is 'Hunter 2024!'", "Hunter 2024!", "password")
