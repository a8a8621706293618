"""What the customer is told, at once, when the guard hid something they sent.

Short and specific: what was hidden, that support never asks for it, and the one thing to do now
— for a seed phrase or private key, move the funds to a new wallet, since anyone who saw it can
take them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kefu.guard.secrets import GuardResult

_NAMES = {
    "en": {
        "seed_phrase": "your seed phrase", "private_key": "a private key",
        "extended_private_key": "an extended private key (xprv)", "wif": "a private key (WIF)",
        "api_secret": "an API secret", "password": "a password", "pin": "a PIN",
        "otp_code": "a verification code", "card_number": "a card number",
        "national_id": "an ID number",
    },
    "zh": {
        "seed_phrase": "助记词", "private_key": "私钥", "extended_private_key": "扩展私钥（xprv）",
        "wif": "私钥（WIF）", "api_secret": "API 密钥", "password": "密码", "pin": "PIN 码",
        "otp_code": "验证码", "card_number": "银行卡号", "national_id": "身份证件号码",
    },
}
_TEXT = {
    "en": {
        "hidden": "For your safety we hid what looked like {what} in your message. We will never "
                  "ask for it: never share it with anyone.",
        "wallet": "Anyone who has seen it can take your funds: move your funds to a new wallet "
                  "now.",
        "api": "Delete that API key on the exchange and create a new one.",
        "password": "Please change it now.",
        "otp": "If you did not start this request yourself, change your password.",
        "join": ", ", "last": " and ",
    },
    "zh": {
        "hidden": "为了您的安全，我们已隐藏您消息中疑似{what}的内容。"
                  "我们绝不会向您索要这些信息，请勿告诉任何人。",
        "wallet": "看到它的人可以转走您的资产：请立即把资金转移到新的钱包。",
        "api": "请立即在交易所删除该 API 密钥并重新创建。",
        "password": "请立即修改。",
        "otp": "如果不是您本人发起的操作，请立即修改密码。",
        "join": "、", "last": "和",
    },
}


def _language(lang: str) -> str:
    """``zh``, ``zh-CN``, ``zh-Hans`` … get Chinese; everything else English."""
    return "zh" if lang.lower().replace("_", "-").startswith("zh") else "en"


def _join(names: list[str], text: dict[str, str]) -> str:
    if len(names) == 1:
        return names[0]
    return text["join"].join(names[:-1]) + text["last"] + names[-1]


def customer_notice(result: GuardResult, lang: str) -> str | None:
    """A short message telling the customer what was hidden and why, or None when clean."""
    if result.clean:
        return None
    language = _language(lang)
    text = _TEXT[language]
    kinds = result.kinds
    names = list(dict.fromkeys(_NAMES[language][kind] for kind in kinds))
    parts = [text["hidden"].format(what=_join(names, text))]
    if result.security_flag:
        parts.append(text["wallet"])
    if "api_secret" in kinds:
        parts.append(text["api"])
    if "password" in kinds or "pin" in kinds:
        parts.append(text["password"])
    elif "otp_code" in kinds:
        parts.append(text["otp"])
    separator = "" if language == "zh" else " "
    return separator.join(parts)
