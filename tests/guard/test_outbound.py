"""Outbound anti-phishing: what agents and the assistant send (issue 6, point 2).

The labelled set holds support replies in English and Chinese: those that must pass (advice,
warnings, legitimate requests for a txid, UID or screenshot) and those that must be blocked, with
the codes expected. ``DEVELOPMENT`` was written while building the rules; ``HELD_BACK`` was written
afterwards without looking at the rules' output, as a check on overfitting (first run: precision
1.00, recall 0.95 there; the one miss, "We need the verification code sent to your phone", was
then fixed).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mnemonic import Mnemonic

from kefu.guard.outbound import CODES, check_outbound

ALLOWED = ("demoex.example",)
Labelled = tuple[tuple[str, tuple[str, ...]], ...]

# (reply, codes that must be reported; empty = must pass)
DEVELOPMENT: Labelled = (
    # en
    ('Never share your password or 2FA code with anyone.', ()),
    ('We will never ask for your seed phrase.', ()),
    ('Please reset your password via the official site.', ()),
    ('Enter the code in the app, not here.', ()),
    ('Please send us the txid / screenshot / UID.', ()),
    ('You can withdraw to your own wallet address at any time.', ()),
    ('Please deposit to the address shown on your Deposit page.', ()),
    ('Could you share your UID and the order ID so I can look into it?', ()),
    ('Please upload a selfie with your ID through the verification page.', ()),
    ('DemoEx staff will never ask you to install AnyDesk or TeamViewer.', ()),
    ('If anyone asks for your 2FA code, it is a scam: please report it to us.', ()),
    ('Keep your private key to yourself; nobody at DemoEx needs it.', ()),
    ('We will send a verification code to your registered email.', ()),
    ('You will need your 2FA code to confirm the withdrawal in the app.', ()),
    ('After you change your password, withdrawals are paused for 24 hours.', ()),
    ('Please send us a screenshot of the error you see when you enter your 2FA code.', ()),
    ('Your password reset link has expired, please request a new one in the app.', ()),
    ('If your seed phrase was exposed, move your funds to a new wallet you control.', ()),
    ('Please provide the transaction hash and the amount you sent.', ()),
    ('Do not type your password in this chat.', ()),
    ('Support will never ask for your password, 2FA codes, seed phrase or private keys.', ()),
    ('To unlock your account, reset your 2FA via the security page and verify your identity.', ()),
    ('I have transferred your case to the security team.', ()),
    ('We sent the refund to your account, it should arrive within an hour.', ()),
    ('Please check the official site demoex.example/verify before trusting any account.', ()),
    ('The SMS code is valid for 5 minutes; request a new one if it expired.', ()),
    ('Can you tell me when you last logged in and from which device?', ()),
    ('Make sure the deposit network matches the one shown on your deposit page.', ()),
    ('What is a seed phrase? It is the list of words that backs up a wallet.', ()),
    ('Nobody from support will ever ask you to share your screen.', ()),
    ('Please send the screenshot to us here, but never your password.', ()),
    ('For API issues, create a new API key; never paste the secret key anywhere.', ()),
    # zh
    ('请勿向任何人透露验证码。', ()),
    ('我们不会要求您提供助记词或私钥。', ()),
    ('请通过官网重置您的密码。', ()),
    ('请在App中输入验证码，不要发到这里。', ()),
    ('请提供您的UID和交易哈希，以便我们查询。', ()),
    ('请提现到您自己的钱包地址。', ()),
    ('请充值到您充值页面显示的地址。', ()),
    ('请通过认证页面上传手持证件自拍照。', ()),
    ('客服不会通过远程控制操作您的设备。', ()),
    ('如有人向您索要验证码，请立即举报。', ()),
    ('修改密码后，24小时内无法提现。', ()),
    ('验证码已发送到您的手机，请在App内输入。', ()),
    ('请提供订单号和截图，谢谢。', ()),
    ('我已经把您的问题转到安全团队。', ()),
    ('如果您的助记词泄露，请尽快把资产转移到您自己的新钱包。', ()),
    ('请勿在聊天中发送密码。', ()),
    ('您的验证码收不到的话，请检查短信拦截设置。', ()),
    ('任何人索要您的私钥都是诈骗。', ()),
    # en
    ('Please send me your password so I can check the account.', ('asks_password',)),
    ('What is the 6-digit code you just received?', ('asks_code',)),
    ('Please type the code we sent you here.', ('asks_code',)),
    ('To verify your wallet, reply with your 12-word recovery phrase.', ('asks_seed_phrase',)),
    ('Kindly provide your private key so we can restore the funds.', ('asks_private_key',)),
    ('I need your Google Authenticator code to unlock the withdrawal.', ('asks_code',)),
    ('Can you read me the SMS code?', ('asks_code',)),
    ('Send us your login credentials and we will fix it for you.', ('asks_password',)),
    ('Please download AnyDesk and give me the connection ID.', ('asks_remote_access',)),
    ("Let's do a quick screen share so I can take control of your computer.",
     ('asks_remote_access',)),
    ('Send 500 USDT to the following address for verification.', ('asks_transfer',)),
    ('To unlock your withdrawal, please deposit 0.1 BTC to our secure wallet.', ('asks_transfer',)),
    ('Please transfer your funds to this safe account: 0x3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f',
     ('asks_transfer',)),
    ("Don't worry, just send me the 2FA code and I'll sort it out.", ('asks_code',)),
    ("If you can't log in, send me your password and I'll check.", ('asks_password',)),
    ('Please confirm your seed phrase here so we can verify ownership.', ('asks_seed_phrase',)),
    ('We need your API secret to check the failing orders.', ('asks_private_key',)),
    ('The code we sent you, please send it to me.', ('asks_code',)),
    ('Please log in at https://demoex.example@evil.com/login to fix it.',
     ('link_not_allowed', 'lookalike_domain')),
    ('Verify your account at dеmoex.example now.', ('link_not_allowed', 'lookalike_domain')),
    ('Please use demoex-support.com for faster help.', ('link_not_allowed', 'lookalike_domain')),
    ('Download the new app from https://bit.ly/3xYz', ('link_not_allowed',)),
    ('Your temporary login password: Tr0ub4dor&3xyz', ('shares_secret',)),
    ('Just drop your password in the chat and I will check.', ('asks_password',)),
    ('Please put your password in the app settings.', ()),
    # zh
    ('请把验证码发给我。', ('asks_code',)),
    ('请提供您的助记词以便核实。', ('asks_seed_phrase',)),
    ('您的登录密码是多少？', ('asks_password',)),
    ('请告诉我您的谷歌验证码。', ('asks_code',)),
    ('为了验证身份，请把私钥发过来。', ('asks_private_key',)),
    ('请下载向日葵，我帮您远程操作。', ('asks_remote_access',)),
    ('请转到以下地址完成验证。', ('asks_transfer',)),
    ('您的账户有风险，请把资金转入安全账户。', ('asks_transfer',)),
    ('别担心，把收到的短信码发我一下就可以了。', ('asks_code',)),
    ('请在这里输入您的交易密码。', ('asks_password',)),
    ('请访问demoex-support.com处理。', ('link_not_allowed', 'lookalike_domain')),
    ('请先充值500USDT到这个地址解冻账户。', ('asks_transfer',)),
    ('请下载AnyDesk，我们帮您处理。', ('asks_remote_access',)),
    # a plain "send" + "your" (QA, 2026-11-27: these passed), and "we need your …"
    ('请发送您的登录密码。', ('asks_password',)),
    ('麻烦发一下您的验证码。', ('asks_code',)),
    ('請發送您的密碼。', ('asks_password',)),
    ('请在此输入您的助记词。', ('asks_seed_phrase',)),
    ('我们需要您提供资金密码。', ('asks_password',)),
    ('我这边需要你的谷歌验证码。', ('asks_code',)),
    ('点击发送验证码，然后在App中输入收到的验证码。', ()),
    ('我们将通过短信发送您的验证码，请在App中输入。', ()),
    ('请发送您的UID和充值截图。', ()),
    ('我们需要您在App中重置密码。', ()),
)
HELD_BACK: Labelled = (
    # en
    ('Thanks for waiting! Could you send me the TXID of the deposit?', ()),
    ('For your security, please do not disclose your password to anyone, including us.', ()),
    ('You can find your UID under Profile > Account.', ()),
    ('Your withdrawal is pending because the 2FA check failed; please try again in the app.', ()),
    ("I've escalated this to our wallet team; they will reply by email.", ()),
    ('Please make sure you copy the deposit address from the app and not from a chat.', ()),
    ("Remember: a DemoEx agent will never ask you to transfer funds to a 'safe account'.", ()),
    ('Could you tell us which network you used for the transfer?', ()),
    ('Please enable 2FA in Settings > Security to protect your account.', ()),
    ('Our team cannot see your password and never asks for it.', ()),
    ('Please share a screenshot of the transaction details page.', ()),
    ('Once you have reset your password, please let me know if you can log in.', ()),
    ('Send us the bank statement showing the transfer, please.', ()),
    ("If you forgot your password, tap 'Forgot password' on the login screen.", ()),
    ('The verification code email may be in your spam folder.', ()),
    ('Please do not send your seed phrase to anyone claiming to be support.', ()),
    ('Did you receive the SMS code? If not, try the voice call option.', ()),
    ('Your recovery phrase should be written on paper and kept offline.', ()),
    ('We recommend moving your assets to a hardware wallet that only you control.', ()),
    ('Tell me the date and amount of the deposit and I will trace it.', ()),
    # zh
    ('请您提供一下充值的交易哈希（TXID），谢谢。', ()),
    ('为了您的资金安全，请不要把验证码告诉任何人，包括客服。', ()),
    ('您可以在【我的】-【安全中心】修改登录密码。', ()),
    ('验证码5分钟内有效，过期请重新获取。', ()),
    ('我们的工作人员不会私下联系您，也不会要求您转账。', ()),
    ('请把出错页面的截图发给我，方便排查。', ()),
    ('请问您是通过哪个网络转账的？', ()),
    ('您的提现已到账，请查收。', ()),
    ('忘记资金密码可以在安全中心重置。', ()),
    ('请妥善保管您的助记词，切勿截图或上传到网盘。', ()),
    # en
    ('To speed this up, just paste your seed phrase below.', ('asks_seed_phrase',)),
    ('Please provide your account password and the email code so we can verify you.',
     ('asks_password', 'asks_code')),
    ('We need the verification code sent to your phone to proceed.', ('asks_code',)),
    ('Please install TeamViewer so our engineer can fix the wallet.', ('asks_remote_access',)),
    ('Your account is frozen. Send 200 USDT to TXk4f9LmPq2w8rN3vZc7yH1dJ5sB6gAeUo to release it.',
     ('asks_transfer',)),
    ('Kindly share your keystore file and its password with me.',
     ('asks_private_key', 'asks_password')),
    ('Tell me your 2FA so I can disable it for you.', ('asks_code',)),
    ("Reply with the OTP you received to confirm it's you.", ('asks_code',)),
    ('Please log in through http://demoex.example.login-secure.io to restore access.',
     ('link_not_allowed', 'lookalike_domain')),
    ('Move your coins to our protected wallet address until the investigation ends.',
     ('asks_transfer',)),
    ("What's your PIN?", ('asks_password',)),
    ('Open https://dem0ex.example/verify and enter your details.',
     ('link_not_allowed', 'lookalike_domain')),
    # zh
    ('麻烦把您的资金密码告诉我一下。', ('asks_password',)),
    ('请回复您收到的6位数验证码。', ('asks_code',)),
    ('请把12个助记词按顺序发给我核对。', ('asks_seed_phrase',)),
    ('为了保护您的资产，请将USDT转到我们指定的钱包地址。', ('asks_transfer',)),
    ('请安装ToDesk，我远程帮您看一下。', ('asks_remote_access',)),
    ('您的谷歌验证码是多少？', ('asks_code',)),
    ('请登录 www.demoex-kefu.com 完成验证。', ('link_not_allowed', 'lookalike_domain')),
    ('需要您提供私钥才能找回资产。', ('asks_private_key',)),
)
LABELLED = DEVELOPMENT + HELD_BACK

# The phrases the issue names as never to be blocked, verbatim.
NEVER_BLOCK = (
    "never share your password or 2FA code with anyone",
    "we will never ask for your seed phrase",
    "please reset your password via the official site",
    "enter the code in the app, not here",
    "请勿向任何人透露验证码",
    "please send us the txid / screenshot / UID",
    "withdraw to your own wallet address",
    "deposit to the address shown on your Deposit page",
)


def precision_recall(cases: Labelled) -> tuple[float, float]:
    """Precision and recall over (reply, code) pairs: a reported code counts as a true positive
    only when the case expects it."""
    true_positive = false_positive = false_negative = 0
    for text, expected in cases:
        found = set(check_outbound(text, allowed_domains=ALLOWED).codes)
        true_positive += len(found & set(expected))
        false_positive += len(found - set(expected))
        false_negative += len(set(expected) - found)
    return (true_positive / ((true_positive + false_positive) or 1),
            true_positive / ((true_positive + false_negative) or 1))


def test_labelled_set_is_large_and_balanced() -> None:
    assert len(LABELLED) >= 60
    legitimate = [text for text, codes in LABELLED if not codes]
    phishing = [text for text, codes in LABELLED if codes]
    assert min(len(legitimate), len(phishing)) >= 30
    chinese = [text for text, _ in LABELLED if any("\u4e00" <= c <= "\u9fff" for c in text)]
    assert len(chinese) >= 30


@pytest.mark.parametrize(("text", "expected"), LABELLED)
def test_labelled_reply(text: str, expected: tuple[str, ...]) -> None:
    verdict = check_outbound(text, allowed_domains=ALLOWED)
    assert set(verdict.codes) == set(expected)
    assert verdict.blocked == bool(expected)


@pytest.mark.parametrize("cases", [DEVELOPMENT, HELD_BACK], ids=["development", "held_back"])
def test_precision_and_recall(cases: Labelled) -> None:
    precision, recall = precision_recall(cases)
    assert precision >= 0.95
    assert recall >= 0.95


@pytest.mark.parametrize("text", NEVER_BLOCK)
@pytest.mark.parametrize("lang", [None, "en", "zh-CN"])
def test_never_block_phrases_from_the_issue(text: str, lang: str | None) -> None:
    assert not check_outbound(text, allowed_domains=ALLOWED, lang=lang).blocked


def test_reasons_explain_in_both_languages_and_point_at_the_words() -> None:
    text = "Thanks! Now please send me your password."
    (reason,) = check_outbound(text, allowed_domains=ALLOWED).reasons
    assert reason.code == "asks_password"
    assert text[reason.start:reason.end] == "send me your password"
    assert "password" in reason.message_en
    assert "密码" in reason.message_zh


def test_every_code_has_a_case() -> None:
    covered = {code for _, codes in LABELLED for code in codes}
    assert covered | {"shares_secret"} == set(CODES)


# ---------------------------------------------------------------- links


@pytest.mark.parametrize("text", [
    "See https://demoex.example/help for details.",
    "Open https://support.demoex.example/hc/articles/123 please.",
    "Visit www.demoex.example or api.demoex.example/docs.",
    "请访问demoex.example/verify核实。",
    "请访问ｄｅｍｏｅｘ．ｅｘａｍｐｌｅ核实。",
    "Write to support@demoex.example.",
    "Our app is demoex.example, e.g. the Deposit page; see file.png.",
])
def test_allowed_links_and_subdomains_pass(text: str) -> None:
    assert not check_outbound(text, allowed_domains=ALLOWED).blocked


@pytest.mark.parametrize(("text", "host"), [
    ("Please log in at https://demoex.example@evil.com/login", "evil.com"),
    ("Open https://evil.com\\@demoex.example/", "evil.com"),
    ("Go to xn--dmoex-zwe.example/login", "d\u0435moex.example"),
    ("Go to d\u0435moex.example/login", "d\u0435moex.example"),
    ("Verify at demoex.example.evil.io", "demoex.example.evil.io"),
    ("Check dem0ex.example now", "dem0ex.example"),
    ("请访问ｄｅｍ０ｅｘ．ｅｘａｍｐｌｅ核实。", "dem0ex.example"),
    ("Email your ID to kyc@demoex-verify.com", "demoex-verify.com"),
])
def test_lookalike_links_are_reported_twice(text: str, host: str) -> None:
    reasons = check_outbound(text, allowed_domains=ALLOWED).reasons
    assert [r.code for r in reasons] == ["link_not_allowed", "lookalike_domain"]
    assert all(host in r.message_en for r in reasons)


def test_ordinary_outside_links_are_not_lookalikes() -> None:
    verdict = check_outbound("Track it on https://etherscan.io/tx/0xabc", allowed_domains=ALLOWED)
    assert verdict.codes == ("link_not_allowed",)
    assert check_outbound("Track it on https://etherscan.io/tx/0xabc",
                          allowed_domains=("demoex.example", "etherscan.io")).codes == ()


def test_a_public_suffix_on_the_allow_list_allows_nothing() -> None:
    verdict = check_outbound("See https://evil.github.io/x", allowed_domains=("github.io",))
    assert "link_not_allowed" in verdict.codes


def test_with_an_empty_allow_list_every_link_is_blocked() -> None:
    assert check_outbound("https://demoex.example", allowed_domains=()).blocked


def test_capitalised_words_after_a_missing_space_are_not_links() -> None:
    assert not check_outbound("Thanks.So your deposit arrived.It is done.",
                              allowed_domains=ALLOWED).blocked


# ---------------------------------------------------------------- secrets, language, errors


def test_a_reply_holding_a_seed_phrase_is_blocked_where_the_phrase_is() -> None:
    phrase = Mnemonic("english").to_mnemonic(bytes(range(16)))
    text = f"Your wallet backup is: {phrase}"
    (reason,) = check_outbound(text, allowed_domains=ALLOWED).reasons
    assert reason.code == "shares_secret"
    assert text[reason.start:reason.end] == phrase


def test_lang_limits_the_phrase_rules() -> None:
    text = "请把验证码发给我"
    assert check_outbound(text, allowed_domains=ALLOWED, lang="zh-CN").codes == ("asks_code",)
    assert check_outbound(text, allowed_domains=ALLOWED, lang="ja").codes == ("asks_code",)
    assert not check_outbound(text, allowed_domains=ALLOWED, lang="en").blocked


def test_remote_tools_are_caught_in_any_language_setting() -> None:
    text = "请下载AnyDesk"
    assert check_outbound(text, allowed_domains=ALLOWED, lang="en").codes == (
        "asks_remote_access",)


def test_bad_input_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="needs a str"):
        check_outbound(b"bytes", allowed_domains=ALLOWED)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not one string"):
        check_outbound("hi", allowed_domains="demoex.example")
    with pytest.raises(ValueError, match="allowed_domains"):
        check_outbound("hi", allowed_domains=["https://demoex.example/"])


@given(st.text(max_size=300))
def test_any_text_gets_a_verdict_with_spans_inside_it(text: str) -> None:
    verdict = check_outbound(text, allowed_domains=ALLOWED)
    assert verdict.blocked == bool(verdict.reasons)
    assert all(0 <= r.start < r.end <= len(text) for r in verdict.reasons)


def test_a_transfer_told_about_is_not_a_transfer_asked_for() -> None:
    told = ("您好，我查询了这笔交易，它目前还在比特币内存池里未确认。"
            "这笔转账还没有到达我们的钱包，所以我们这边暂时无法加速。")
    assert not check_outbound(told, allowed_domains=["demoex.example"]).blocked
    asked = "请把 500 USDT 转账到我们的钱包地址完成验证"
    assert check_outbound(asked, allowed_domains=["demoex.example"]).codes == ("asks_transfer",)
