"""The scripted conversations behind ``kefu demo``: what customers of an exchange write, how good
agents answer, and the notes agents leave for each other; and, at the end, the vocabulary the
seeder draws from (customers' names, P2P currencies and payment methods, cities, API details).

A :class:`Script` is one kind of contact (a deposit stuck for confirmations, a lost authenticator,
a P2P seller who does not release) in one language. Its texts are ``str.format`` templates; the
seeder fills the placeholders below from its seeded RNG (and from the demo exchange adapter, so a
TxID in a ticket is one the customer context panel knows), so no two tickets read the same.

Placeholders: ``first`` (customer's first name), ``agent`` (agent's name), ``number`` (ticket
number; not in openings), ``coin``, ``network``, ``wrong_network``, ``amount``, ``txid``,
``address``, ``memo``, ``conf``, ``req``, ``fee``, ``order_id``, ``p2p_order``, ``fiat_amount``,
``fiat``, ``pay_method``, ``symbol``, ``side``, ``leverage``, ``liq_price``, ``mark_price``,
``loss``, ``hours``, ``days``, ``date``, ``time``, ``city``, ``endpoint``, ``sdk``.

Agents in these scripts never ask for a password, a 2FA/SMS code, a seed phrase or a private key:
identity checks go through the verification link of the exchange's own login (SPEC §H), and the
test suite checks every agent line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

StepKind = Literal["customer", "agent", "note"]

# The agent skill that fits each topic (routing and the seeder prefer agents who have it).
TOPIC_SKILLS: dict[str, str | None] = {
    "deposits": "deposits_withdrawals",
    "withdrawals": "deposits_withdrawals",
    "security": "security",
    "account": "security",
    "phishing": "security",
    "kyc": "kyc",
    "api": "api",
    "derivatives": "derivatives",
    "p2p": "p2p",
    "fees": None,
    "trading": None,
}

# How often each topic reaches support, relative to the others.
TOPIC_WEIGHTS: dict[str, int] = {
    "deposits": 26, "withdrawals": 16, "security": 12, "account": 7, "phishing": 4, "kyc": 10,
    "api": 5, "derivatives": 8, "p2p": 8, "fees": 4, "trading": 5,
}


@dataclass(frozen=True)
class Step:
    kind: StepKind
    text: str


def cust(text: str) -> Step:
    """A public message from the customer."""
    return Step("customer", text)


def agent(text: str) -> Step:
    """A public reply from the agent."""
    return Step("agent", text)


def note(text: str) -> Step:
    """An internal note: agents and supervisors only."""
    return Step("note", text)


@dataclass(frozen=True)
class Script:
    key: str
    language: str
    topic: str
    subject: str
    opening: str
    steps: tuple[Step, ...]
    tags: tuple[str, ...] = ()
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    escalation: str = ""
    # Placeholder -> allowed values (e.g. {"coin": ("XRP",)}); the rest use the defaults.
    pick: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Deposit statuses (demo adapter) that fit this story; the seeder reuses such a deposit.
    deposit_statuses: tuple[str, ...] = ()


@dataclass(frozen=True)
class CommonLines:
    """Lines every language needs, whatever the script."""

    nudge: tuple[str, ...]  # a customer chasing an unanswered ticket
    ask_escalation: str  # a customer asking for a supervisor (quotes {number})
    escalation: str  # the generic escalation reason
    waiting_note: str  # an agent's note when waiting on another team
    duplicate_subject: str
    duplicate: str  # a customer opening a second ticket for the same problem
    reopen: str  # a customer reopening a resolved ticket
    thanks: tuple[str, ...]  # a customer closing the loop


# ================================================================ English

EN: tuple[Script, ...] = (
    Script(
        "deposit_confirmations", "en", "deposits",
        subject="{coin} deposit not credited yet",
        opening=("Hi, I sent {amount} {coin} to my deposit address on {network} about an hour ago "
                 "and it still isn't in my balance. TxID: {txid}"),
        steps=(
            agent("Hi {first}, thanks for including the TxID. The transfer is on chain and has "
                  "{conf} of the {req} network confirmations we need on {network}. It is credited "
                  "automatically when it reaches {req}; nothing else is needed from you."),
            cust("ok but why so slow? other exchanges credit in 5 minutes"),
            agent("I understand the wait is frustrating. Each network confirms at its own pace, "
                  "and when it is congested (as it is today) blocks fill up. The required count "
                  "protects your deposit against chain reorganisations. I'll keep the ticket open "
                  "and check it again within the hour."),
            cust("It just arrived. Thanks"),
        ),
        tags=("deposit", "confirmations"),
        pick={"coin": ("BTC", "ETH", "USDT", "SOL")},
        deposit_statuses=("pending", "confirming"),
    ),
    Script(
        "deposit_wrong_network", "en", "deposits",
        subject="Sent {coin} on {wrong_network} instead of {network}",
        opening=("I made a mistake. I withdrew {amount} {coin} from another platform to my "
                 "{network} deposit address but selected {wrong_network} as the network. The "
                 "transaction shows success: {txid}. Is my money lost??"),
        steps=(
            agent("Hi {first}, please don't worry yet. {wrong_network} and {network} use the same "
                  "address format, so the funds arrived at an address our wallet team controls. "
                  "Recovery is possible but manual. I've opened a recovery request with the TxID "
                  "you sent."),
            note("Address {address} is ours on both chains. Recovery request filed with the "
                 "wallet team; fee policy: 20 USDT-equivalent, amounts from 50 USDT."),
            cust("How long will it take? Is there a fee?"),
            agent("Recoveries take 5 to 10 business days. A fee of 20 USDT-equivalent is "
                  "deducted from the recovered funds. I'll update you here as soon as the wallet "
                  "team has credited it."),
            agent("Good news: the wallet team has recovered the deposit and credited {amount} "
                  "{coin}, less the recovery fee, to your spot account. For next time: the "
                  "network you pick on the sending side must match the one shown on your deposit "
                  "page."),
        ),
        tags=("deposit", "wrong-network", "recovery"),
        priority="high",
        escalation="Cross-chain recovery needed; wallet team must approve the manual credit.",
        pick={"coin": ("USDT",), "network": ("ERC20",),
              "wrong_network": ("Arbitrum One", "Polygon")},
    ),
    Script(
        "deposit_missing_tag", "en", "deposits",
        subject="XRP deposit without destination tag",
        opening=("I deposited {amount} XRP but forgot to enter the destination tag. The exchange "
                 "I withdrew from said it was optional. TxID {txid}"),
        steps=(
            agent("Hi {first}, thanks for reaching out. XRP deposits to us need the destination "
                  "tag because many customers share one address; the tag tells us whose deposit "
                  "it is. I can see your transfer without a tag and it is on hold, safe."),
            agent("To credit it to you I need proof that it's your transfer: please upload a "
                  "screenshot of the withdrawal record on the sending platform showing the amount, "
                  "the destination address and the TxID. You can attach it to this ticket. "
                  "The wallet team credits it within 3 business days, less a 5 USDT-equivalent "
                  "fee."),
            cust("uploaded the screenshot just now"),
            note("Screenshot matches amount and TxID. Sent to wallet team for manual credit."),
            agent("Thank you, the screenshot matches. The {amount} XRP, less the 5 "
                  "USDT-equivalent fee, has been credited to your account. Your personal tag is "
                  "always shown next to the address on the deposit page."),
        ),
        tags=("deposit", "missing-memo", "xrp"),
        pick={"coin": ("XRP",)},
        deposit_statuses=("on_hold",),
    ),
    Script(
        "deposit_missing_memo_ton", "en", "deposits",
        subject="TON deposit missing memo",
        opening=("Hello, I sent {amount} {coin} on the TON network from my Telegram wallet and "
                 "didn't put the memo/comment. Please help, it's a lot of money for me. "
                 "Hash: {txid}"),
        steps=(
            agent("Hi {first}, I understand this is stressful. Deposits on TON without the memo "
                  "aren't lost: they are held at our shared address until we can match them. I "
                  "found your transfer and it is on hold."),
            agent("Please attach a screenshot from your wallet's transaction history showing the "
                  "amount, date and hash. No other details are needed. Once the wallet team "
                  "verifies it, the deposit is credited within 3 business days, less a 5 "
                  "USDT-equivalent fee."),
            cust("done, attached"),
            agent("Verified and credited, less the 5 USDT-equivalent fee. Next time, copy the "
                  "memo from the deposit page into the comment field of your wallet before "
                  "sending."),
        ),
        tags=("deposit", "missing-memo", "ton"),
        pick={"coin": ("TON", "USDT"), "network": ("TON",)},
        deposit_statuses=("on_hold",),
    ),
    Script(
        "deposit_btc_mempool", "en", "deposits",
        subject="BTC deposit stuck for hours",
        opening=("My BTC deposit of {amount} BTC has been pending for {hours} hours. The wallet "
                 "shows it as sent. TxID {txid}. What is going on?"),
        steps=(
            agent("Hi {first}, I looked the transaction up. It is still unconfirmed in the "
                  "Bitcoin mempool: it was sent with a low fee rate, so miners are picking "
                  "higher-fee transactions first. It has not reached our wallet yet, so there is "
                  "nothing we can speed up on our side."),
            cust("Can't you just credit it? I need to trade now"),
            agent("I'm sorry, we can only credit a deposit after it is confirmed on chain. If "
                  "your wallet supports Replace-By-Fee (RBF) or you can use CPFP, bumping the fee "
                  "usually gets it confirmed within an hour. Otherwise it will confirm once "
                  "network fees drop."),
            cust("used RBF in my wallet, it confirmed. thanks for explaining"),
        ),
        tags=("deposit", "btc", "mempool"),
        pick={"coin": ("BTC",)},
        deposit_statuses=("pending",),
    ),
    Script(
        "deposit_unsupported_token", "en", "deposits",
        subject="Deposited a token that doesn't show up",
        opening=("I sent some tokens to my ERC20 deposit address and they don't show up in my "
                 "balance. Contract is not listed on your exchange I think. TxID {txid}"),
        steps=(
            agent("Hi {first}, thanks for the TxID. The token you sent isn't listed with us, so "
                  "our system doesn't credit it automatically. Recovering unlisted tokens needs "
                  "the wallet team to sign a manual transaction, which I've requested."),
            note("Unlisted ERC20 contract. Needs wallet-team approval and gas; token must be "
                 "worth 100 USDT or more, fee 50 USDT-equivalent per policy. Told customer it's "
                 "not guaranteed."),
            cust("how long and is it guaranteed?"),
            agent("It isn't guaranteed: some tokens block transfers. The wallet team assesses it "
                  "within 5 business days. If it is recoverable, a fee of 50 USDT-equivalent is "
                  "charged and the token is returned to an address you give us on the same "
                  "network. I'll update this ticket when the wallet team answers."),
        ),
        tags=("deposit", "unlisted-token", "recovery"),
        escalation="Unlisted token recovery: needs wallet-team sign-off.",
        pick={"coin": ("ETH",), "network": ("ERC20",)},
    ),
    Script(
        "withdrawal_review", "en", "withdrawals",
        subject="Withdrawal pending review for {hours} hours",
        opening=("My withdrawal of {amount} {coin} ({network}) has said 'pending review' for "
                 "{hours} hours. I've never had this before. Why is my money being held?"),
        steps=(
            agent("Hi {first}, I can see the withdrawal. It was selected for a routine security "
                  "review because it goes to an address you haven't used before and came shortly "
                  "after a new-device login. This protects you if someone else got into your "
                  "account."),
            cust("It was me, I have a new phone. Please release it asap"),
            note("Risk team: new device + new address. Customer confirms. Asked risk to expedite "
                 "after identity check via verification link."),
            agent("Thank you for confirming. To release it we need a quick identity check: I've "
                  "sent a verification link to your registered email. It opens our normal login "
                  "page and asks for a selfie; it takes about two minutes. Nobody from support "
                  "will ask for your password or codes in this chat."),
            agent("The review is complete and your withdrawal was broadcast. You can follow it "
                  "with the TxID shown in your withdrawal history."),
        ),
        tags=("withdrawal", "risk-review"),
        priority="high",
        escalation="Withdrawal held >24h by risk review; customer verified, needs risk sign-off.",
        pick={"coin": ("USDT", "BTC", "ETH")},
    ),
    Script(
        "withdrawal_not_received", "en", "withdrawals",
        subject="Withdrawal completed but not received",
        opening=("Your site says my withdrawal of {amount} {coin} is completed but it hasn't "
                 "arrived on the other exchange. Network {network}."),
        steps=(
            agent("Hi {first}, I checked: the withdrawal was broadcast and confirmed on {network}. "
                  "TxID: {txid}. You can open it in any {network} block explorer and see it "
                  "arrive at the destination address."),
            cust("the other exchange says they don't see it"),
            agent("If the explorer shows it at their address, the receiving platform has it and "
                  "needs to credit it. Please send them the TxID above; if their deposit address "
                  "needed a memo or tag, mention that as well. I'll leave this ticket open in "
                  "case you need anything else from us."),
            cust("They found it, it was a problem on their side. Thanks"),
        ),
        tags=("withdrawal", "not-received"),
    ),
    Script(
        "withdrawal_wrong_address", "en", "withdrawals",
        subject="Sent withdrawal to wrong address",
        opening=("I withdrew {amount} {coin} and pasted the wrong address!!! It's an old "
                 "address of mine from a wallet I no longer have. Can you cancel it?"),
        steps=(
            agent("Hi {first}, I'm sorry this happened. The withdrawal was already broadcast and "
                  "confirmed, so it can't be reversed: blockchain transfers are final once "
                  "confirmed. If you still have that old wallet's backup, you can restore it in "
                  "a wallet app yourself; never share that backup with anyone, including us."),
            cust("I don't have it. So it's gone?"),
            agent("If the address belongs to another exchange, contact their support with the "
                  "TxID {txid}; some platforms can return funds. For a personal wallet without a "
                  "backup, unfortunately nobody can move them. I'm sorry I don't have better "
                  "news. You can enable the withdrawal address whitelist in Security settings to "
                  "prevent this in the future."),
        ),
        tags=("withdrawal", "wrong-address"),
    ),
    Script(
        "withdrawal_limit", "en", "withdrawals",
        subject="Withdrawal limit too low",
        opening=("I'm trying to withdraw {amount} {coin} but it says I exceeded my 24h limit. "
                 "How do I increase it?"),
        steps=(
            agent("Hi {first}, your account is at identity verification level 1, which allows "
                  "withdrawals up to 20,000 USDT in a rolling 24 hours, all coins together. "
                  "Completing level 2 (proof of address and a face check) raises it to "
                  "2,000,000 USDT. You can start it under Account > Verification."),
            cust("How long does level 2 take?"),
            agent("Most applications are approved in about 10 minutes, and every one is decided "
                  "within 48 hours. Please upload a utility bill or bank statement from the last "
                  "3 months showing your name and address."),
        ),
        tags=("withdrawal", "limits", "kyc"),
        priority="low",
    ),
    Script(
        "twofa_lost_phone", "en", "security",
        subject="Lost phone with Google Authenticator",
        opening=("My phone was stolen and my Google Authenticator was on it. Now I can't log in "
                 "or withdraw. Please reset my 2FA."),
        steps=(
            agent("Hi {first}, I'm sorry about your phone. A 2FA reset is done through a "
                  "verification link, not in this chat: I've sent it to your registered email. "
                  "It opens our login page and guides you through a selfie and ID check. Our "
                  "staff will never ask for your password or any codes, here or anywhere else."),
            cust("I clicked the link but it says the selfie failed"),
            agent("That usually happens with low light or glasses. Please try again facing a "
                  "window, without glasses, holding the phone at eye level. You have 3 attempts "
                  "per day."),
            agent("The reset is approved. You can bind a new authenticator now. For your "
                  "security, withdrawals are paused for 24 hours after a 2FA reset."),
        ),
        tags=("2fa", "account-recovery"),
        priority="high",
        escalation="2FA reset: selfie check failed 3 times; manual identity review needed.",
    ),
    Script(
        "twofa_sms_missing", "en", "security",
        subject="Not receiving SMS verification code",
        opening="I don't get the SMS code when I try to withdraw. Tried 5 times today.",
        steps=(
            agent("Hi {first}, thanks for letting us know. SMS delivery to some carriers is "
                  "delayed today. Please check that the phone number in Security settings is "
                  "current and that your phone doesn't block short-code messages. You can also "
                  "choose 'voice call' on the code screen."),
            cust("voice call worked. but can i switch to authenticator app?"),
            agent("Yes, an authenticator app is more reliable and more secure than SMS. Go to "
                  "Security > Two-factor authentication > Authenticator app and follow the steps. "
                  "Keep the backup key somewhere offline and private."),
        ),
        tags=("2fa", "sms"),
    ),
    Script(
        "account_frozen", "en", "account",
        subject="Account frozen - cannot trade or withdraw",
        opening=("Why is my account frozen? I can't trade or withdraw anything. I need access "
                 "to my funds immediately."),
        steps=(
            agent("Hi {first}, I understand how worrying this is. Your account was restricted "
                  "automatically after a password change and a login from {city} within a short "
                  "time. This is a protective measure; your funds are safe."),
            cust("Yes I was travelling. I changed my password at the airport."),
            note("Login from {city} matches customer's travel claim; device fingerprint new. "
                 "Unfreeze after step-up verification."),
            agent("Thanks for explaining. I've sent a verification link to your registered email. "
                  "Once you complete it, the restriction is lifted automatically. Please also "
                  "review your active sessions under Security and log out any you don't "
                  "recognise."),
            cust("Done, it works again. Thank you"),
        ),
        tags=("account-frozen", "security"),
        priority="high",
        escalation="Frozen account: customer disputes the freeze; needs risk review.",
    ),
    Script(
        "account_takeover", "en", "security",
        subject="Unauthorized withdrawal from my account",
        opening=("Someone logged into my account and withdrew my {coin}!!! I did NOT make this "
                 "withdrawal. Please freeze everything NOW."),
        steps=(
            agent("Hi {first}, I've locked your account right now, so no further logins, trades "
                  "or withdrawals are possible. Next, please change the password of the email "
                  "account linked to us, since that is the usual way in."),
            note("Account locked at customer request. Withdrawal {amount} {coin} on {network}, "
                 "TxID {txid}, to an address never used before. Login from {city} 20 min "
                 "earlier. Escalating to security team."),
            cust("I changed my email password. Can you get my money back?"),
            agent("Our security team is tracing the destination address and will contact the "
                  "receiving platform if it's an exchange. I can't promise recovery, but the "
                  "faster we act, the better the odds. The security team will reply here within "
                  "24 hours."),
        ),
        tags=("account-takeover", "security", "unauthorized-withdrawal"),
        priority="urgent",
        escalation="Suspected account takeover with unauthorized withdrawal; security team.",
    ),
    Script(
        "phishing_telegram", "en", "phishing",
        subject="Fake support account on Telegram",
        opening=("Someone on Telegram claiming to be your support messaged me and asked me to "
                 "'verify my wallet' on a website. Is this real? The account is "
                 "@kefu_support_help"),
        steps=(
            agent("Hi {first}, thank you for checking with us first: that account is NOT ours. "
                  "Our support never contacts you first on Telegram and never asks you to "
                  "'verify' a wallet on another site. You can check any account or link on our "
                  "verification page, demoex.example/verify."),
            cust("I didn't enter anything. Should I do something?"),
            agent("Great, then your account is safe. Please block and report that account in "
                  "Telegram. We've reported it too. If you ever entered anything on such a site, "
                  "change your password and contact us right away."),
            note("Reported @kefu_support_help to Telegram abuse and added to the phishing list."),
        ),
        tags=("phishing", "telegram"),
        priority="high",
    ),
    Script(
        "phishing_email", "en", "phishing",
        subject="Is this email from you?",
        opening=("I got an email saying my account will be suspended unless I confirm my "
                 "withdrawal address within 24 hours. The link looks strange. Is this from you?"),
        steps=(
            agent("Hi {first}, thanks for asking. That email is not from us. Our emails always "
                  "carry the anti-phishing code you set in Security settings, and we never "
                  "threaten suspension to make you click a link. Please don't open it."),
            cust("I don't have an anti-phishing code set"),
            agent("You can set one under Security > Anti-phishing code. Every genuine email "
                  "from us will then show it, so fakes are easy to spot. Could you forward the "
                  "fake email to support@demoex.example so we can get the site taken down?"),
            cust("forwarded, and I set the code. Thanks!"),
        ),
        tags=("phishing", "email"),
    ),
    Script(
        "kyc_blurry", "en", "kyc",
        subject="KYC rejected: document unclear",
        opening=("My identity verification got rejected with 'document image unclear'. I took "
                 "the photo twice already. What am I doing wrong?"),
        steps=(
            agent("Hi {first}, sorry for the trouble. The rejection note says the ID photo had "
                  "glare on the lower half, so the document number couldn't be read. Tips: "
                  "place the ID on a dark flat surface, turn off the flash, make sure all four "
                  "corners are visible and nothing covers the text."),
            cust("Resubmitted with a new photo"),
            agent("Thanks! Your new submission is in the queue. Most are approved in about 10 "
                  "minutes, and every one is decided within 48 hours. You'll get an email once "
                  "it's approved."),
            agent("Your verification has been approved. You now have full access to deposits, "
                  "withdrawals and trading."),
        ),
        tags=("kyc", "document-quality"),
        priority="low",
    ),
    Script(
        "kyc_name_mismatch", "en", "kyc",
        subject="KYC rejected - name mismatch",
        opening=("KYC rejected because 'name does not match'. My passport says Mohammed but "
                 "I registered as Mohamed. It's the same person!"),
        steps=(
            agent("Hi {first}, thanks for explaining. The name on the account must match the "
                  "document exactly, including spelling. Please correct it under Account > "
                  "Verification > Update information with a photo of your passport; a "
                  "compliance officer reviews the change, usually within 48 hours."),
            cust("Submitted the correction"),
            note("Name correction submitted; spelling variant only, same DOB. Approved by KYC "
                 "lead."),
            agent("Done: the correction is approved and the account name now matches your "
                  "passport. Please resubmit the verification from Account > Verification; it "
                  "should go through quickly."),
        ),
        tags=("kyc", "name-mismatch"),
    ),
    Script(
        "kyc_pending_long", "en", "kyc",
        subject="Verification pending for {days} days",
        opening=("I submitted my documents {days} days ago and it still says 'under review'. "
                 "I can't deposit fiat until it's done."),
        steps=(
            agent("Hi {first}, I'm sorry for the wait. Your application needed an extra check "
                  "because of the issuing country of your document. I've asked the compliance "
                  "team for an update."),
            note("Compliance queue backlog for this country; past the 48-hour limit. Pinged KYC "
                 "lead."),
            agent("Your verification is approved. Thank you for your patience."),
        ),
        tags=("kyc", "delay"),
        escalation="KYC review past SLA; compliance team needs to pick it up.",
    ),
    Script(
        "api_invalid_signature", "en", "api",
        subject="API error 10001 invalid signature",
        opening=("My bot gets {{\"code\":10001,\"msg\":\"Invalid signature\"}} on every "
                 "POST to {endpoint}. GET requests work fine. Using {sdk}."),
        steps=(
            agent("Hi {first}, 10001 means the signature we compute differs from yours. When GET "
                  "works and POST fails, the cause is almost always the body: the string you "
                  "sign must be timestamp + method + path (with the query string) + the exact "
                  "JSON body you send, byte for byte."),
            cust("I sign json.dumps(body) and send body=json.dumps(body) too"),
            agent("Check that you don't let the HTTP library re-serialize it (for example "
                  "passing json=body instead of the string). Also the method must be uppercase "
                  "and the path must include the query string if there is one. We never need "
                  "your secret key: a request id or timestamp is enough for us to look at our "
                  "logs."),
            cust("found it, my lib added spaces after the colons. works now"),
        ),
        tags=("api", "10001", "signature"),
        priority="low",
    ),
    Script(
        "api_rate_limit", "en", "api",
        subject="Getting 429 Too Many Requests",
        opening=("Since this morning my market maker is getting HTTP 429 from {endpoint}. We "
                 "send about 30 requests per second. What is the limit?"),
        steps=(
            agent("Hi {first}, the API allows 1,200 request weight per minute per IP address "
                  "(most endpoints weigh 1, heavier ones more) and 100 orders per 10 seconds per "
                  "account. The response headers X-DMX-USED-WEIGHT-1M and X-DMX-ORDER-COUNT-10S "
                  "show your usage, and a 429 carries Retry-After. For order placement, the "
                  "batch endpoint takes up to 20 orders per request."),
            cust("Can we get a higher limit? We're VIP"),
            note("VIP market-maker program: forward to institutional desk for rate-limit uplift."),
            agent("Market makers at VIP 5 and above can apply for higher limits. I've forwarded "
                  "your request to our institutional team; they'll contact you by email within "
                  "two business days."),
        ),
        tags=("api", "rate-limit"),
    ),
    Script(
        "api_ip_whitelist", "en", "api",
        subject="API key stopped working after server move",
        opening=("We moved our bot to a new server and now every request returns 10003 'IP "
                 "not whitelisted'. Nothing else changed."),
        steps=(
            agent("Hi {first}, your API key is restricted to a list of IP addresses, and the new "
                  "server's address isn't on it. You can edit the list under API Management > "
                  "Edit restrictions. For security, editing needs your 2FA confirmation on the "
                  "website itself."),
            cust("Added the new IP, works now. thank you"),
        ),
        tags=("api", "ip-whitelist"),
        priority="low",
    ),
    Script(
        "futures_liquidation", "en", "derivatives",
        subject="Unfair liquidation on {symbol}",
        opening=("My {side} on {symbol} at {leverage}x was liquidated at {liq_price} but the "
                 "price on every other exchange never went there! I lost {loss} USDT. This is "
                 "manipulation, I want a refund."),
        steps=(
            agent("Hi {first}, I'm sorry about the loss and I understand why you're upset. "
                  "Liquidations use the mark price, not the last traded price, precisely to "
                  "avoid wicks on one exchange. I'm pulling the mark price and index data for "
                  "the minute of your liquidation."),
            note("Mark price at liquidation {mark_price}; index components normal. Position "
                 "margin ratio hit 100% at 03:12 UTC. Sending to risk for review anyway."),
            cust("Then why did the chart show {liq_price}?"),
            agent("The chart shows last traded prices. The mark price, built from the index of "
                  "several exchanges, reached your liquidation level at {mark_price}. I've asked "
                  "our risk team to review the case; they'll reply here with their findings "
                  "within 2 business days."),
            agent("The risk team confirmed the liquidation followed the mark price correctly, so "
                  "we can't refund it. I know this isn't the answer you hoped for. Using a stop "
                  "loss or lower leverage gives more room in fast markets."),
        ),
        tags=("futures", "liquidation", "dispute"),
        priority="high",
        escalation="Liquidation dispute; customer claims price manipulation. Risk team review.",
    ),
    Script(
        "futures_funding_fee", "en", "derivatives",
        subject="Why was I charged a funding fee?",
        opening=("I see a funding fee deducted from my {symbol} position every 8 hours. I "
                 "never agreed to any fee. What is this?"),
        steps=(
            agent("Hi {first}, good question. Perpetual futures have no expiry, so a funding "
                  "payment every 8 hours keeps their price close to spot. It isn't a fee we "
                  "keep: longs pay shorts when funding is positive and shorts pay longs when "
                  "it's negative. Your {side} position paid because funding was positive."),
            cust("ok so I can receive it too?"),
            agent("Exactly: when funding is negative, longs receive it. You can see the "
                  "current rate and the countdown on the trading page."),
        ),
        tags=("futures", "funding"),
        priority="low",
    ),
    Script(
        "futures_stop_loss", "en", "derivatives",
        subject="Stop loss did not trigger",
        opening=("I had a stop loss on {symbol} but it didn't execute and my position kept "
                 "losing. Order id {order_id}."),
        steps=(
            agent("Hi {first}, I checked order {order_id}. The stop was set to trigger on the "
                  "mark price, and the mark price didn't reach your trigger; the last price did, "
                  "briefly. You can choose 'last price' as the trigger when setting the stop."),
            cust("That's not clear in the app at all"),
            agent("That's fair feedback and I've passed it to the product team. The trigger type "
                  "is under 'Advanced' when placing TP/SL."),
            note("UX feedback: trigger type hidden under Advanced. Filed with product."),
        ),
        tags=("futures", "tp-sl"),
    ),
    Script(
        "p2p_seller_not_release", "en", "p2p",
        subject="P2P seller not releasing crypto",
        opening=("I paid {fiat_amount} {fiat} via {pay_method} for P2P order {p2p_order} over "
                 "an hour ago. The seller isn't responding and hasn't released the USDT. "
                 "Please help!"),
        steps=(
            agent("Hi {first}, I'm sorry for the stress. The USDT for order {p2p_order} is held "
                  "in escrow, so the seller can't take it back. I've opened a dispute and "
                  "messaged the seller; they have 30 minutes to respond."),
            agent("Please upload your proof of payment: a screenshot of the {pay_method} "
                  "transfer showing the amount, time and the recipient's name. Please don't "
                  "cancel the order, as that would release the escrow back to the seller."),
            cust("uploaded the receipt"),
            note("Payment proof matches the seller's payment details. Seller silent 45 min. "
                 "Releasing to buyer per dispute policy."),
            agent("Thank you. The payment proof is valid and the seller didn't respond, so we "
                  "released the escrow to you. The USDT is in your funding account now."),
        ),
        tags=("p2p", "dispute", "appeal"),
        priority="urgent",
        escalation="P2P dispute: buyer paid, seller unresponsive >30 min; needs arbitration.",
    ),
    Script(
        "p2p_buyer_marked_paid", "en", "p2p",
        subject="Buyer marked paid but I didn't receive money",
        opening=("The buyer in order {p2p_order} clicked 'paid' but I haven't received "
                 "{fiat_amount} {fiat} in my account. Do NOT release, right?"),
        steps=(
            agent("Hi {first}, that's right: don't release until the money is in your account "
                  "and you've checked it in your banking app, not from a screenshot. I've "
                  "opened an appeal so the order can't time out."),
            cust("He sent me a screenshot of a transfer"),
            agent("Screenshots can be edited. Please check your actual bank statement. Support "
                  "decides the appeal within 24 hours; if no payment arrives, we cancel the order "
                  "and the USDT returns to your available balance."),
            note("Buyer's screenshot shows a different bank's UI; possible fake receipt. "
                 "Flagged buyer for review."),
        ),
        tags=("p2p", "dispute", "fake-receipt"),
        priority="high",
        escalation="P2P seller reports fake payment receipt; buyer flagged for fraud review.",
    ),
    Script(
        "p2p_bank_frozen", "en", "p2p",
        subject="Bank account frozen after P2P trade",
        opening=("After selling USDT on P2P my bank froze my account because the money I "
                 "received is 'suspicious'. What do I do?"),
        steps=(
            agent("Hi {first}, I'm sorry, that's a difficult situation. Please ask your bank "
                  "for the written reason for the freeze. We can give you the P2P order record "
                  "({p2p_order}) with the buyer's verified name and payment details to show "
                  "your bank."),
            cust("yes please send me the record"),
            agent("I've requested the order statement; it reaches your registered email within 2 "
                  "business days. We've also restricted the buyer's account while we "
                  "investigate."),
            note("Buyer restricted pending investigation; possible third-party payment."),
        ),
        tags=("p2p", "bank-freeze"),
        priority="high",
    ),
    Script(
        "fees_trading", "en", "fees",
        subject="Trading fee question",
        opening=("What are the maker and taker fees for my VIP level? I thought I was paying "
                 "too much on my last orders."),
        steps=(
            agent("Hi {first}, your fee level is based on your 30-day trading volume and "
                  "balance. You can see your current maker and taker rates under Account > Fee "
                  "rate. Paying fees with our token gives a 20% discount if you enable it."),
            cust("Enabled it, thanks"),
        ),
        tags=("fees",),
        priority="low",
    ),
    Script(
        "fees_withdrawal", "en", "fees",
        subject="Withdrawal fee too high",
        opening=("Why is the {coin} withdrawal fee on {network} {fee} {coin}? That's way too "
                 "much for a small withdrawal."),
        steps=(
            agent("Hi {first}, the withdrawal fee covers the network fee we pay. On {network} it "
                  "follows Ethereum gas prices, typically 3 to 10 USDT, so it rises when the "
                  "network is busy. The fee is per withdrawal, not a percentage. For small "
                  "amounts a cheaper network costs much less: 1 USDT on TRC20, 0.3 USDT on "
                  "BEP20. Just make sure the receiving side supports the same network."),
            cust("ok I'll use TRC20 then"),
        ),
        tags=("fees", "withdrawal"),
        priority="low",
        pick={"coin": ("USDT",), "network": ("ERC20",)},
    ),
    Script(
        "spot_order_not_filled", "en", "trading",
        subject="Limit order not filled even though price reached it",
        opening=("My limit buy for {coin} didn't fill even though the chart touched my price. "
                 "Order {order_id}."),
        steps=(
            agent("Hi {first}, the chart touching your price means a trade happened there, but "
                  "other orders at that same price were ahead of yours in the queue (price-time "
                  "priority). Only part of the volume traded at that level, so your order "
                  "stayed open."),
            cust("ah ok that makes sense"),
        ),
        tags=("spot", "orders"),
        priority="low",
        pick={"coin": ("BTC", "ETH", "SOL", "XRP", "TON")},
    ),
    Script(
        "staking_rewards", "en", "trading",
        subject="Missing staking rewards",
        opening=("I have {coin} in flexible savings but I haven't received rewards for the last "
                 "{days} days."),
        steps=(
            agent("Hi {first}, thanks for reporting. Rewards for that product were delayed "
                  "because of a distribution job failure on our side. They'll be paid "
                  "retroactively, in full, within 24 hours."),
            note("Known incident: staking distribution job failed on {date}. Engineering fix "
                 "deployed; backfill scheduled."),
            agent("The missing rewards have been paid. Sorry for the delay."),
        ),
        tags=("earn", "rewards"),
        pick={"coin": ("USDT", "SOL", "TON")},
    ),
    Script(
        "deposit_below_minimum", "en", "deposits",
        subject="Small deposit never arrived",
        opening=("I sent 1.5 {coin} from another exchange as a test before sending the rest, "
                 "and it never arrived. TxID {txid}. Should I send the big amount?"),
        steps=(
            agent("Hi {first}, thanks for testing first, that's a good habit. The sending "
                  "exchange took its 1 {coin} fee, so 0.5 {coin} arrived: below our minimum "
                  "deposit of 1 {coin} on {network}. It is recorded on your account but not "
                  "credited automatically, and it isn't lost."),
            cust("so if I send the rest now I get both?"),
            agent("The rest is above the minimum, so it is credited normally after {req} "
                  "confirmations; it doesn't count toward the small one. Once your "
                  "below-minimum deposits add up to 1 {coin}, open a ticket listing their "
                  "TxIDs and we credit the total, less a 1 USDT-equivalent fee, within 3 "
                  "business days. The minimum for each coin and network is shown on the deposit "
                  "page."),
            cust("the big one arrived, thank you"),
        ),
        tags=("deposit", "below-minimum"),
        priority="low",
        pick={"coin": ("USDT",)},
    ),
    Script(
        "account_close", "en", "account",
        subject="Close my account",
        opening="I'd like to close my account and have my personal data deleted. How do I do that?",
        steps=(
            agent("Hi {first}, sorry to see you go. Before closing, please withdraw your remaining "
                  "balance and cancel any open orders, since a closed account can't be reopened. "
                  "Then go to Account > Security > Close account. We keep the records the law "
                  "requires us to keep (usually 5 years) and delete the rest."),
            cust("Withdrew everything. Closing now"),
            agent("Your account has been closed. Thank you for having been with us."),
        ),
        tags=("account", "closure"),
        priority="low",
    ),
    Script(
        "login_email_code", "en", "account",
        subject="Not receiving email verification code",
        opening=("I can't log in because the email verification code never arrives. I checked "
                 "spam too."),
        steps=(
            agent("Hi {first}, sorry about that. Some email providers delay our messages. "
                  "Please wait 60 seconds between requests (only the latest code is valid, for "
                  "10 minutes) and add demoex.example to your contacts. Do you see anything from "
                  "us in the Promotions or Updates tabs?"),
            cust("found it in Updates. logged in now, thanks"),
        ),
        tags=("login", "email"),
        priority="low",
    ),
)

# ================================================================ 中文

ZH: tuple[Script, ...] = (
    Script(
        "deposit_confirmations", "zh", "deposits",
        subject="{coin} 充值未到账",
        opening=("你好，我一个小时前通过 {network} 充值了 {amount} {coin}，到现在还没到账。TxID："
                 "{txid}"),
        steps=(
            agent("您好，感谢您提供交易哈希。我这边查询到这笔充值已经上链，目前 {network} "
                  "网络确认数为 {conf}/{req}，达到 {req} 个确认后系统会自动入账，"
                  "您无需做任何操作。"),
            cust("怎么这么慢，别的平台几分钟就到了"),
            agent("理解您着急的心情。每条链的出块速度不同，今天链上比较拥堵，确认会慢一些。"
                  "要求足够的确认数是为了防止区块回滚，保障您的资产安全。我会继续跟进，"
                  "一小时内再帮您查看一次。"),
            cust("到账了，谢谢"),
        ),
        tags=("deposit", "confirmations"),
        pick={"coin": ("BTC", "ETH", "USDT", "SOL")},
        deposit_statuses=("pending", "confirming"),
    ),
    Script(
        "deposit_wrong_network", "zh", "deposits",
        subject="{coin} 充错网络了（{wrong_network}）",
        opening=("我从别的平台提了 {amount} {coin} 到我的 {network} 充值地址，但是提币时选成了 "
                 "{wrong_network} 网络！对方显示已成功：{txid}。我的钱是不是没了？？"),
        steps=(
            agent("您好，先别着急。{wrong_network} 和 {network} 的地址格式相同，"
                  "这笔资产已经到达我们钱包团队控制的地址，可以人工找回。"
                  "我已经用您提供的哈希提交了找回申请。"),
            note("地址 {address} 在两条链上都属于我方。已提交钱包团队跨链找回；按政策收取等值 "
                 "20 USDT 手续费，金额需不低于 50 USDT。"),
            cust("要多久？要收费吗？"),
            agent("跨链找回需要 5-10 个工作日，会从找回的金额中扣除等值 20 USDT 的手续费。"
                  "有进展我会第一时间在这个工单里通知您。"),
            agent("好消息：钱包团队已完成找回，{amount} {coin}（扣除手续费后）"
                  "已入账到您的现货账户。"
                  "下次提币时请确认发送方选择的网络与充值页面显示的网络一致。"),
        ),
        tags=("deposit", "wrong-network", "recovery"),
        priority="high",
        escalation="跨链充错需人工找回，需钱包团队审批入账。",
        pick={"coin": ("USDT",), "network": ("ERC20",),
              "wrong_network": ("Arbitrum One", "Polygon")},
    ),
    Script(
        "deposit_missing_tag", "zh", "deposits",
        subject="XRP 充值忘记填写标签（Tag）",
        opening=("我充了 {amount} XRP，但是忘记填 Tag 了，发送方平台说是选填的。TxID {txid}，"
                 "怎么办？"),
        steps=(
            agent("您好，XRP 充值到我们平台必须填写 Tag，因为很多用户共用同一个地址，Tag "
                  "用来区分是谁的充值。我查到了您这笔没有 Tag 的充值，目前处于冻结待认领状态，"
                  "资产是安全的。"),
            agent("为了确认是您本人的转账，请在本工单上传发送方平台的提币记录截图，需要能看到金额、"
                  "收款地址和交易哈希。钱包团队会在 3 个工作日内入账，"
                  "并扣除等值 5 USDT 的手续费。"),
            cust("截图已经上传了"),
            note("截图与金额、哈希一致，已提交钱包团队人工入账。"),
            agent("感谢您的配合，截图核实无误，{amount} XRP 已扣除等值 5 USDT 手续费后入账。"
                  "您的专属 Tag 在充值页面地址旁边始终可以看到。"),
        ),
        tags=("deposit", "missing-memo", "xrp"),
        pick={"coin": ("XRP",)},
        deposit_statuses=("on_hold",),
    ),
    Script(
        "deposit_missing_memo_ton", "zh", "deposits",
        subject="TON 充值没填 Memo",
        opening=("用 Telegram 钱包转了 {amount} {coin}（TON 网络），没填备注 Memo，"
                 "这对我来说是很大一笔钱，求帮忙！哈希：{txid}"),
        steps=(
            agent("您好，理解您的担心。TON 网络没填 Memo 的充值不会丢失，会暂存在我们的共用地址，"
                  "等待人工匹配。我已经找到了您这笔转账，目前处于待认领状态。"),
            agent("请上传钱包交易记录的截图，能看到金额、时间和哈希即可，不需要提供其他信息。"
                  "钱包团队核实后 3 个工作日内入账，并扣除等值 5 USDT 的手续费。"),
            cust("已上传"),
            agent("已核实并入账（已扣除等值 5 USDT 手续费）。下次转账前，请把充值页面上的 Memo "
                  "复制到钱包的备注栏里。"),
        ),
        tags=("deposit", "missing-memo", "ton"),
        pick={"coin": ("TON", "USDT"), "network": ("TON",)},
        deposit_statuses=("on_hold",),
    ),
    Script(
        "deposit_btc_mempool", "zh", "deposits",
        subject="BTC 充值卡了好几个小时",
        opening=("我充值的 {amount} BTC 已经 {hours} 个小时了还没到，钱包显示已发送。TxID {txid}，"
                 "什么情况？"),
        steps=(
            agent("您好，我查询了这笔交易，它目前还在比特币内存池里未确认：发送时设置的矿工费偏低，"
                  "矿工会优先打包手续费高的交易。这笔转账还没有到达我们的钱包，"
                  "所以我们这边暂时无法加速。"),
            cust("你们不能先给我入账吗？我急着交易"),
            agent("非常抱歉，链上确认之前我们无法入账。如果您的钱包支持 RBF（替换手续费）或 CPFP，"
                  "提高手续费后通常一小时内就能确认；否则需要等网络手续费回落后自动确认。"),
            cust("用 RBF 加速了，已经到账，谢谢解释"),
        ),
        tags=("deposit", "btc", "mempool"),
        pick={"coin": ("BTC",)},
        deposit_statuses=("pending",),
    ),
    Script(
        "deposit_unsupported_token", "zh", "deposits",
        subject="充值了不支持的代币",
        opening="我往 ERC20 充值地址转了一些代币，余额里看不到，好像你们没有上这个币。TxID {txid}",
        steps=(
            agent("您好，感谢提供哈希。您转入的代币尚未在我们平台上线，系统不会自动入账。"
                  "找回未上线代币需要钱包团队人工签名交易，我已经帮您提交了申请。"),
            note("未上线的 ERC20 合约，需要钱包团队审批及 gas；代币价值需不低于 100 USDT，"
                 "按政策收取等值 50 USDT。已告知客户不保证成功。"),
            cust("要多久？一定能找回吗？"),
            agent("无法保证找回，有些代币会限制转账。钱包团队会在 5 个工作日内评估；如可找回，"
                  "收取等值 50 USDT 的手续费，代币会退回到您提供的同一网络地址。"
                  "钱包团队有答复后我会在这里通知您。"),
        ),
        tags=("deposit", "unlisted-token", "recovery"),
        escalation="未上线代币找回，需钱包团队签批。",
        pick={"coin": ("ETH",), "network": ("ERC20",)},
    ),
    Script(
        "withdrawal_review", "zh", "withdrawals",
        subject="提币审核中已经 {hours} 小时",
        opening=("我提现 {amount} {coin}（{network}）一直显示“审核中”，已经 {hours} 个小时了，"
                 "以前从来没有过。为什么扣着我的钱？"),
        steps=(
            agent("您好，我看到了这笔提币。由于是提往一个您从未使用过的地址，"
                  "且在新设备登录后不久发起，被系统选中进行常规安全审核。"
                  "这是为了在账户被盗时保护您的资产。"),
            cust("是我本人操作的，换了新手机。请尽快放行"),
            note("风控：新设备 + 新地址，客户确认本人操作。"
                 "待客户通过验证链接完成身份核验后申请加急放行。"),
            agent("感谢您的确认。放行前需要完成一次快速身份核验：我已向您的注册邮箱发送了验证链接，"
                  "它会打开我们的官方登录页并引导您完成人脸识别，大约两分钟。"
                  "客服不会在聊天中索要您的密码或任何验证码。"),
            agent("审核已完成，您的提币已广播上链。您可以在提币记录中通过交易哈希查看进度。"),
        ),
        tags=("withdrawal", "risk-review"),
        priority="high",
        escalation="提币被风控审核超过 24 小时，客户已完成核验，需风控签批。",
        pick={"coin": ("USDT", "BTC", "ETH")},
    ),
    Script(
        "withdrawal_not_received", "zh", "withdrawals",
        subject="提币显示完成但对方没收到",
        opening="你们显示我提的 {amount} {coin} 已完成，但是另一个交易所没收到。网络是 {network}。",
        steps=(
            agent("您好，我查询了：这笔提币已在 {network} 上广播并确认，交易哈希：{txid}。"
                  "您可以在任意 {network} 区块浏览器中查看，资产已到达目标地址。"),
            cust("对方平台说查不到"),
            agent("如果浏览器显示已到达对方地址，说明资产已在接收平台，需要由对方入账。"
                  "请把上面的哈希发给对方客服；如果对方的充值地址需要 Memo 或 Tag，也请一并说明。"
                  "这个工单我先保持打开。"),
            cust("对方找到了，是他们那边的问题，谢谢"),
        ),
        tags=("withdrawal", "not-received"),
    ),
    Script(
        "withdrawal_wrong_address", "zh", "withdrawals",
        subject="提币地址填错了",
        opening=("我提了 {amount} {coin}，地址粘贴错了！！！是我以前一个已经不用的钱包地址，"
                 "能撤回吗？"),
        steps=(
            agent("您好，很遗憾发生这种情况。这笔提币已经广播并确认，链上转账一旦确认就无法撤回。"
                  "如果您还保存着那个旧钱包的备份，可以自己在钱包应用中恢复；请注意，"
                  "这个备份不要交给任何人，包括我们。"),
            cust("备份没有了，那是不是就没了？"),
            agent("如果该地址属于其他交易所，请带上哈希 {txid} 联系对方客服，部分平台可以退回。"
                  "如果是没有备份的个人钱包，很遗憾任何人都无法转出。"
                  "建议您在安全设置中开启提币地址白名单，避免再次发生。"),
        ),
        tags=("withdrawal", "wrong-address"),
    ),
    Script(
        "withdrawal_limit", "zh", "withdrawals",
        subject="提币额度不够",
        opening="我想提 {amount} {coin}，提示超过 24 小时限额，怎么提高额度？",
        steps=(
            agent("您好，您的账户目前是 1 级认证，滚动 24 小时内所有币种合计可提 20,000 USDT。"
                  "完成 2 级认证（地址证明和人脸识别）后可提高到 2,000,000 USDT，"
                  "入口在【账户】-【身份认证】。"),
            cust("2 级认证要多久？"),
            agent("大多数申请约 10 分钟即可通过，所有申请都会在 48 小时内给出结果。"
                  "请上传近 3 个月内、带有您姓名和地址的水电费账单或银行对账单。"),
        ),
        tags=("withdrawal", "limits", "kyc"),
        priority="low",
    ),
    Script(
        "twofa_lost_phone", "zh", "security",
        subject="手机丢了，谷歌验证器无法使用",
        opening="手机被偷了，谷歌验证器在上面，现在登录不了也提不了币，请帮我重置二次验证。",
        steps=(
            agent("您好，很抱歉听到您手机丢失。重置谷歌验证需要通过验证链接完成，不在聊天中办理："
                  "我已向您的注册邮箱发送了链接，它会打开我们的官方登录页，"
                  "引导您完成人脸识别和证件核验。我们的工作人员绝不会索要您的密码或任何验证码。"),
            cust("点了链接，提示人脸识别失败"),
            agent("这通常是光线不足或佩戴眼镜导致的。请面向窗户、摘下眼镜、手机与眼睛平齐后重试，"
                  "每天有 3 次机会。"),
            agent("重置已通过，您现在可以绑定新的验证器。为了您的资产安全，重置后 24 "
                  "小时内暂停提币。"),
        ),
        tags=("2fa", "account-recovery"),
        priority="high",
        escalation="重置二次验证：人脸识别连续失败 3 次，需人工审核身份。",
    ),
    Script(
        "twofa_sms_missing", "zh", "security",
        subject="收不到短信验证码",
        opening="提币的时候收不到短信验证码，今天试了 5 次了。",
        steps=(
            agent("您好，感谢反馈。今天部分运营商的短信有延迟。"
                  "请确认安全设置里的手机号是当前在用的，且手机没有拦截短信；"
                  "也可以在验证码页面选择“语音验证”。"),
            cust("语音可以了。能不能换成谷歌验证器？"),
            agent("可以，验证器比短信更稳定也更安全。路径："
                  "【安全中心】-【二次验证】-【谷歌验证器】，按步骤绑定即可。"
                  "备份密钥请离线妥善保存。"),
        ),
        tags=("2fa", "sms"),
    ),
    Script(
        "account_frozen", "zh", "account",
        subject="账户被冻结，无法交易和提币",
        opening="为什么我的账户被冻结了？交易和提币都不行，我现在就要用钱！",
        steps=(
            agent("您好，理解您的着急。系统检测到您在短时间内修改了密码并从{city}登录，"
                  "自动对账户做了保护性限制，您的资产是安全的。"),
            cust("我在出差，在机场改的密码"),
            note("{city}登录与客户出差说法一致，设备指纹为新设备。完成身份核验后解冻。"),
            agent("感谢说明。我已向您的注册邮箱发送了验证链接，完成后限制会自动解除。"
                  "也建议您在安全中心检查登录设备，退出不认识的会话。"),
            cust("好了，能用了，谢谢"),
        ),
        tags=("account-frozen", "security"),
        priority="high",
        escalation="客户对账户冻结有异议，需风控复核。",
    ),
    Script(
        "account_takeover", "zh", "security",
        subject="账户被盗，资产被转走",
        opening="有人登录了我的账户，把我的 {coin} 提走了！！！不是我操作的，马上帮我冻结！",
        steps=(
            agent("您好，我已经立即冻结了您的账户，现在无法登录、交易或提币。"
                  "下一步请先修改绑定邮箱的密码，这通常是被盗的入口。"),
            note("已应客户要求冻结账户。提币 {amount} {coin}（{network}），哈希 {txid}，"
                 "目标为新地址；20 分钟前有来自{city}的登录。升级至安全团队。"),
            cust("邮箱密码改了，钱能追回来吗？"),
            agent("安全团队正在追踪收款地址，如果是交易所地址会联系对方平台协助冻结。"
                  "我无法保证一定追回，但处理得越快机会越大。安全团队会在 24 小时内在此回复您。"),
        ),
        tags=("account-takeover", "security", "unauthorized-withdrawal"),
        priority="urgent",
        escalation="疑似账户被盗并发生未授权提币，转安全团队。",
    ),
    Script(
        "phishing_telegram", "zh", "phishing",
        subject="Telegram 上有人冒充客服",
        opening=("Telegram 上有人自称是你们的客服，让我去一个网站“验证钱包”，这是真的吗？账号是 "
                 "@kefu_kefu_cn"),
        steps=(
            agent("您好，感谢您先来核实：这个账号不是我们的。我们的客服不会在 Telegram "
                  "上主动联系您，也绝不会让您去其他网站“验证钱包”。您可以在官方验证页面 "
                  "demoex.example/verify 查询任何账号或链接是否官方。"),
            cust("我什么都没填，需要做什么吗？"),
            agent("那您的账户是安全的。请在 Telegram 中拉黑并举报该账号，我们也已经举报。"
                  "如果曾在这类网站上填写过任何信息，请立即修改密码并联系我们。"),
            note("已向 Telegram 举报 @kefu_kefu_cn，并加入钓鱼名单。"),
        ),
        tags=("phishing", "telegram"),
        priority="high",
    ),
    Script(
        "phishing_email", "zh", "phishing",
        subject="这封邮件是你们发的吗？",
        opening="收到一封邮件说 24 小时内不确认提币地址就冻结账户，链接看着很奇怪，是你们发的吗？",
        steps=(
            agent("您好，感谢询问，这封邮件不是我们发的。"
                  "我们的官方邮件都会带有您在安全设置中设置的防钓鱼码，"
                  "也不会用冻结账户来威胁您点击链接。请不要打开它。"),
            cust("我没有设置防钓鱼码"),
            agent("可以在【安全中心】-【防钓鱼码】中设置。设置后所有官方邮件都会显示这个码，"
                  "假冒的一眼就能认出来。方便的话请把这封邮件转发到 support@demoex.example，"
                  "我们会处理该钓鱼网站。"),
            cust("已转发，也设置好了，谢谢！"),
        ),
        tags=("phishing", "email"),
    ),
    Script(
        "kyc_blurry", "zh", "kyc",
        subject="实名认证被拒：证件照片不清晰",
        opening="实名认证被拒了，原因是“证件图片不清晰”，我已经拍了两次了，到底哪里不对？",
        steps=(
            agent("您好，给您带来不便很抱歉。审核备注显示证件照片下半部分反光，证件号码无法识别。"
                  "建议：把证件放在深色平整的桌面上，关闭闪光灯，保证四个角完整，文字没有遮挡。"),
            cust("重新提交了"),
            agent("收到，新的资料已进入审核队列。大多数约 10 分钟即可通过，最长 48 小时内给出结果，"
                  "通过后会邮件通知您。"),
            agent("您的实名认证已通过，现在可以正常充值、提币和交易了。"),
        ),
        tags=("kyc", "document-quality"),
        priority="low",
    ),
    Script(
        "kyc_name_mismatch", "zh", "kyc",
        subject="实名认证被拒：姓名不一致",
        opening="实名认证说姓名不一致，我注册时填的是拼音，护照上是中文加拼音，是同一个人啊！",
        steps=(
            agent("您好，感谢说明。账户姓名需要与证件完全一致。请在【账户】-【身份认证】-"
                  "【更新信息】中上传护照照片申请更正，合规人员审核后生效，通常在 48 小时内完成。"),
            cust("已经提交更正了"),
            note("仅为拼写差异，出生日期一致，KYC 组长已批准改名。"),
            agent("更正已通过，账户姓名与护照一致了。请在【账户】-【身份认证】重新提交，"
                  "应该很快就能通过。"),
        ),
        tags=("kyc", "name-mismatch"),
    ),
    Script(
        "kyc_pending_long", "zh", "kyc",
        subject="实名认证审核 {days} 天还没结果",
        opening="我 {days} 天前提交的资料，现在还显示“审核中”，不通过没法入金。",
        steps=(
            agent("您好，抱歉让您久等。由于证件签发国家的原因，您的申请需要额外审核。"
                  "我已经向合规团队催促进度。"),
            note("该国家的合规队列积压，已超过 48 小时时限，已提醒 KYC 组长。"),
            agent("您的实名认证已通过，感谢您的耐心等待。"),
        ),
        tags=("kyc", "delay"),
        escalation="KYC 审核超时，需合规团队处理。",
    ),
    Script(
        "api_invalid_signature", "zh", "api",
        subject="API 报错 10001 签名无效",
        opening=("我的量化程序调用 {endpoint} 的 POST 请求一直返回 "
                 "{{\"code\":10001,\"msg\":\"Invalid signature\"}}，GET 是正常的，用的是 "
                 "{sdk}。"),
        steps=(
            agent("您好，10001 表示我们计算的签名和您的不一致。GET 正常而 POST 失败，"
                  "原因几乎都在请求体：参与签名的字符串必须是 timestamp + method + path"
                  "（含查询参数）+ 实际发送的 JSON 请求体，逐字节一致。"),
            cust("我签名用的是 json.dumps(body)，发送的也是同一个字符串"),
            agent("请确认 HTTP 库没有重新序列化（例如传了 json=body 而不是字符串），method 要大写，"
                  "path 如有查询参数也要包含。我们排查只需要请求 ID 或时间戳，不需要您的 Secret "
                  "Key。"),
            cust("找到了，库在冒号后面加了空格，现在好了"),
        ),
        tags=("api", "10001", "signature"),
        priority="low",
    ),
    Script(
        "api_rate_limit", "zh", "api",
        subject="API 返回 429 请求过多",
        opening=("今天早上开始做市程序调用 {endpoint} 一直返回 HTTP 429，我们大概每秒 30 次请求，"
                 "限频是多少？"),
        steps=(
            agent("您好，API 的限额是每个 IP 每分钟 1,200 请求权重（大多数接口权重为 1，"
                  "较重的接口更高），以及每个账户每 10 秒 100 笔订单。响应头 X-DMX-USED-WEIGHT-1M "
                  "和 X-DMX-ORDER-COUNT-10S 显示当前用量，返回 429 时请按 Retry-After 等待。"
                  "下单可以使用批量接口，每次最多 20 笔。"),
            cust("我们是 VIP，能提高限额吗？"),
            note("VIP 做市商计划：转机构服务部门申请提额。"),
            agent("VIP 5 及以上的做市商可以申请更高限额。我已把您的申请转给机构服务团队，"
                  "两个工作日内会通过邮件联系您。"),
        ),
        tags=("api", "rate-limit"),
    ),
    Script(
        "api_ip_whitelist", "zh", "api",
        subject="换服务器后 API 无法使用",
        opening="我们把程序迁到新服务器后，所有请求都返回 10003“IP not whitelisted”，其他都没改。",
        steps=(
            agent("您好，您的 API Key 绑定了 IP 白名单，新服务器的 IP 不在名单里。可以在【API "
                  "管理】-【编辑】中修改。为了安全，修改时需要在网站上完成二次验证。"),
            cust("加上新 IP 了，可以用了，谢谢"),
        ),
        tags=("api", "ip-whitelist"),
        priority="low",
    ),
    Script(
        "futures_liquidation", "zh", "derivatives",
        subject="{symbol} 合约被强平，价格不合理",
        opening=("我 {leverage} 倍的 {symbol} {side}在 {liq_price} 被强平了，"
                 "其他交易所根本没到这个价！亏了 {loss} USDT，你们插针，我要求赔偿。"),
        steps=(
            agent("您好，非常理解您的心情，对您的损失深表遗憾。"
                  "强平依据的是标记价格而不是最新成交价，正是为了避免单一平台插针造成强平。"
                  "我正在调取您强平那一分钟的标记价格和指数数据。"),
            note("强平时标记价格 {mark_price}，指数成分正常，保证金率 03:12 UTC 达到 100%。"
                 "仍提交风控复核。"),
            cust("那 K 线上为什么显示 {liq_price}？"),
            agent("K 线显示的是最新成交价。标记价格由多家交易所的指数计算，当时达到了您的强平价 "
                  "{mark_price}。我已提交风控团队复核，他们会在 2 个工作日内在这里回复结果。"),
            agent("风控团队确认本次强平按标记价格正常执行，因此无法赔付。知道这不是您希望的结果，"
                  "很抱歉。行情剧烈时，设置止损或降低杠杆可以留出更多空间。"),
        ),
        tags=("futures", "liquidation", "dispute"),
        priority="high",
        escalation="客户质疑强平价格、称平台插针，需风控复核。",
    ),
    Script(
        "futures_funding_fee", "zh", "derivatives",
        subject="为什么扣了资金费用？",
        opening="我的 {symbol} 仓位每 8 小时被扣一次资金费，我没同意过任何费用，这是什么？",
        steps=(
            agent("您好，永续合约没有交割日，每 8 小时结算一次资金费率，让合约价格贴近现货。"
                  "这不是平台收取的费用：资金费率为正时多头付给空头，为负时空头付给多头。"
                  "您的{side}这几次正好是支付方。"),
            cust("那我也能收到？"),
            agent("是的，资金费率为负时多头就会收到。交易页面可以看到当前费率和结算倒计时。"),
        ),
        tags=("futures", "funding"),
        priority="low",
    ),
    Script(
        "futures_stop_loss", "zh", "derivatives",
        subject="止损没有触发",
        opening="我在 {symbol} 设了止损，但是没触发，仓位一直在亏。订单号 {order_id}。",
        steps=(
            agent("您好，我查看了订单 {order_id}。您的止损触发条件选的是标记价格，"
                  "标记价格没有到达触发价，只是最新成交价短暂触及。"
                  "设置止盈止损时可以把触发类型改为“最新价格”。"),
            cust("App 里根本看不出来"),
            agent("您的反馈很中肯，我已经转给产品团队。触发类型在下单时的“高级设置”里。"),
            note("体验反馈：触发类型藏在高级设置里，已提交产品。"),
        ),
        tags=("futures", "tp-sl"),
    ),
    Script(
        "p2p_seller_not_release", "zh", "p2p",
        subject="C2C 卖家不放币",
        opening=("我通过{pay_method}付了 {fiat_amount} {fiat}，C2C 订单 {p2p_order}，"
                 "一个多小时了卖家不回消息也不放币，怎么办！"),
        steps=(
            agent("您好，理解您的着急。订单 {p2p_order} 的 USDT 已由平台托管，卖家无法转走。"
                  "我已为您发起申诉并联系卖家，对方需在 30 分钟内响应。"),
            agent("请上传付款凭证：{pay_method}转账截图，需要显示金额、时间和收款人姓名。"
                  "请不要取消订单，取消后托管的币会退回卖家。"),
            cust("凭证已上传"),
            note("付款凭证与卖家收款信息一致，卖家 45 分钟未响应。按申诉规则放币给买家。"),
            agent("感谢配合。付款凭证有效且卖家未响应，我们已将托管的 USDT 放给您，"
                  "现在在您的资金账户中。"),
        ),
        tags=("p2p", "dispute", "appeal"),
        priority="urgent",
        escalation="C2C 申诉：买家已付款，卖家超过 30 分钟未响应，需仲裁。",
    ),
    Script(
        "p2p_buyer_marked_paid", "zh", "p2p",
        subject="买家点了已付款但我没收到钱",
        opening=("订单 {p2p_order} 买家点了“已付款”，但是我账户里没收到 {fiat_amount} {fiat}，"
                 "我不要放币对吧？"),
        steps=(
            agent("您好，是的：在您本人登录银行或支付软件确认到账之前，请不要放币，"
                  "不要只看对方发来的截图。我已经帮您发起申诉，订单不会超时。"),
            cust("他发了一张转账截图给我"),
            agent("截图是可以伪造的，请以您的实际账户流水为准。客服会在 24 小时内对申诉作出处理；"
                  "如果一直没有到账，我们会取消订单并把 USDT 退回您的可用余额。"),
            note("买家截图界面与所称银行不符，疑似伪造凭证，已标记买家待审查。"),
        ),
        tags=("p2p", "dispute", "fake-receipt"),
        priority="high",
        escalation="C2C 卖家举报伪造付款凭证，买家已标记待反欺诈审查。",
    ),
    Script(
        "p2p_bank_frozen", "zh", "p2p",
        subject="C2C 卖币后银行卡被冻结",
        opening="我在 C2C 卖了 USDT，结果银行卡被冻结了，说收到的钱有问题，怎么办？",
        steps=(
            agent("您好，遇到这种情况确实很麻烦。请先向银行了解冻结的书面原因。"
                  "我们可以为您出具订单 {p2p_order} 的交易记录，包含买家的实名信息和付款信息，"
                  "供您向银行说明。"),
            cust("好的，请发给我"),
            agent("已为您申请订单证明，2 个工作日内会发送到您的注册邮箱。"
                  "我们也已在调查期间限制了该买家的账户。"),
            note("买家账户已限制，疑似第三方代付。"),
        ),
        tags=("p2p", "bank-freeze"),
        priority="high",
    ),
    Script(
        "fees_trading", "zh", "fees",
        subject="交易手续费咨询",
        opening="我这个 VIP 等级的挂单和吃单手续费是多少？感觉最近几单手续费扣多了。",
        steps=(
            agent("您好，手续费等级根据 30 天交易量和资产余额计算，"
                  "当前费率可以在【账户】-【费率】查看。开启平台币抵扣手续费还可以享受 8 折。"),
            cust("已开启，谢谢"),
        ),
        tags=("fees",),
        priority="low",
    ),
    Script(
        "fees_withdrawal", "zh", "fees",
        subject="提币手续费太高",
        opening="为什么 {coin} 走 {network} 提币手续费要 {fee} {coin}？小额提币太不划算了。",
        steps=(
            agent("您好，提币手续费用于支付我们向链上支付的网络费用。{network} 的手续费随以太坊 "
                  "gas 价格浮动，通常为 3 到 10 USDT，网络繁忙时会上涨；手续费按笔收取，不按比例。"
                  "小额提币建议选择费用更低的网络：TRC20 为 1 USDT，BEP20 为 0.3 USDT，"
                  "请确认接收方支持同一网络。"),
            cust("好，那我用 TRC20"),
        ),
        tags=("fees", "withdrawal"),
        priority="low",
        pick={"coin": ("USDT",), "network": ("ERC20",)},
    ),
    Script(
        "spot_order_not_filled", "zh", "trading",
        subject="限价单价格到了却没成交",
        opening="我的 {coin} 限价买单，K 线明明到了我的价格却没成交。订单号 {order_id}。",
        steps=(
            agent("您好，K 线触及您的价格说明该价位有成交，"
                  "但同一价格上排在您前面的订单优先成交（价格优先、时间优先），"
                  "该价位成交量不足以轮到您的订单，所以订单仍在挂单中。"),
            cust("原来是这样，明白了"),
        ),
        tags=("spot", "orders"),
        priority="low",
        pick={"coin": ("BTC", "ETH", "SOL", "XRP", "TON")},
    ),
    Script(
        "staking_rewards", "zh", "trading",
        subject="理财收益没有发放",
        opening="我的 {coin} 放在活期理财，最近 {days} 天都没收到收益。",
        steps=(
            agent("您好，感谢反馈。由于我们这边的收益发放任务故障，该产品的收益出现延迟，会在 24 "
                  "小时内全额补发。"),
            note("已知事件：{date} 理财收益发放任务失败，研发已修复并安排补发。"),
            agent("缺失的收益已补发到账，抱歉给您带来不便。"),
        ),
        tags=("earn", "rewards"),
        pick={"coin": ("USDT", "SOL", "TON")},
    ),
    Script(
        "deposit_below_minimum", "zh", "deposits",
        subject="小额测试充值没到账",
        opening=("我从别的交易所先转了 1.5 {coin} 测试，一直没到账。TxID {txid}。"
                 "剩下的大额还要转吗？"),
        steps=(
            agent("您好，先小额测试是个好习惯。转出平台扣了 1 {coin} 手续费，实际到账 0.5 {coin}，"
                  "低于 {network} 网络 1 {coin} 的最低充值额，所以已被记录但不会自动入账，"
                  "资产不会丢失。"),
            cust("那我现在把剩下的转过来，两笔都能到？"),
            agent("剩下的金额高于最低充值额，{req} 个确认后会正常入账，但不计入小额累计。"
                  "等您的小额充值累计达到 1 {coin} 后，请提交工单并列出所有 TxID，"
                  "我们会在扣除 1 USDT 等值手续费后入账，通常 3 个工作日内完成。"
                  "每个币种和网络的最低充值额都显示在充值页面上。"),
            cust("大额的到了，谢谢"),
        ),
        tags=("deposit", "below-minimum"),
        priority="low",
        pick={"coin": ("USDT",)},
    ),
    Script(
        "account_close", "zh", "account",
        subject="申请注销账户",
        opening="我想注销账户并删除我的个人信息，怎么操作？",
        steps=(
            agent("您好，很遗憾您要离开。注销前请先提走全部余额并撤销挂单，注销后账户无法恢复。"
                  "路径：【账户】-【安全中心】-【注销账户】。我们会依法保留规定期限内的记录（通常 "
                  "5 年），其余数据将被删除。"),
            cust("已经全部提走了，现在注销"),
            agent("您的账户已注销，感谢您一直以来的支持。"),
        ),
        tags=("account", "closure"),
        priority="low",
    ),
    Script(
        "login_email_code", "zh", "account",
        subject="收不到邮箱验证码",
        opening="登录时邮箱验证码一直收不到，垃圾箱也看了。",
        steps=(
            agent("您好，抱歉给您带来不便。部分邮箱服务商会延迟我们的邮件。请每次间隔 60 "
                  "秒再获取（只有最新的验证码有效，有效期 10 分钟），并把 demoex.example "
                  "加入联系人。"
                  "也请看看“订阅邮件”或“广告邮件”分类。"),
            cust("在订阅邮件里找到了，已登录，谢谢"),
        ),
        tags=("login", "email"),
        priority="low",
    ),
    Script(
        "vip_complaint_slow", "zh", "account",
        subject="投诉：客服响应太慢",
        opening="我是 VIP 用户，昨天提交的问题到现在都没人回复，你们的服务太差了，我要投诉。",
        steps=(
            agent("您好，非常抱歉让您久等，这确实不符合我们对 VIP 用户的服务标准。"
                  "我已把您的问题标记为优先处理，并会亲自跟进到解决。"
                  "方便说一下您遇到的具体问题吗？"),
            cust("昨天的 USDT 提币还没到，订单号 {order_id}"),
            agent("查到了，这笔提币因链上拥堵延迟，刚刚已经广播，哈希 {txid}，预计 10 分钟内到账。"
                  "VIP 5 及以上用户也可以随时联系您的专属客户经理。"),
            note("VIP 投诉，已通知客户经理；跟进 SLA 超时原因。"),
        ),
        tags=("vip", "complaint"),
        priority="high",
        escalation="VIP 客户投诉响应超时，需主管跟进。",
    ),
)

# ================================================================ other languages

OTHER: tuple[Script, ...] = (
    # ---------------------------------------------------------------- 日本語
    Script(
        "deposit_confirmations", "ja", "deposits",
        subject="{coin}の入金が反映されません",
        opening=("1時間前に{network}で{amount} {coin}を入金しましたが、"
                 "まだ残高に反映されていません。TxID: {txid}"),
        steps=(
            agent("お問い合わせありがとうございます。お取引はブロックチェーン上で確認でき、"
                  "現在{network}の承認数は{conf}/{req}です。"
                  "{req}承認に達すると自動で反映されますので、追加のお手続きは不要です。"),
            cust("わかりました。待ちます"),
            agent("反映を確認いたしました。ご不便をおかけし申し訳ございませんでした。"),
        ),
        tags=("deposit", "confirmations"),
        pick={"coin": ("BTC", "ETH", "USDT")},
        deposit_statuses=("pending", "confirming"),
    ),
    Script(
        "twofa_lost_phone", "ja", "security",
        subject="機種変更で二段階認証ができません",
        opening="スマホを機種変更したら認証アプリのデータが消えてしまい、ログインできません。",
        steps=(
            agent("ご連絡ありがとうございます。二段階認証のリセットはチャットではなく、"
                  "ご登録のメールアドレスにお送りした本人確認リンクから行います。"
                  "当社の公式ログインページで顔認証を行う流れです。"
                  "当社スタッフがパスワードや認証コードを伺うことは一切ございません。"),
            cust("顔認証が終わりました"),
            agent("リセットが承認されました。新しい認証アプリを登録してください。安全のため、"
                  "リセット後24時間は出金が停止されます。"),
        ),
        tags=("2fa", "account-recovery"),
        priority="high",
        escalation="二段階認証リセット：本人確認の手動審査が必要です。",
    ),
    Script(
        "withdrawal_review", "ja", "withdrawals",
        subject="出金が審査中のままです",
        opening="{amount} {coin}の出金が{hours}時間以上「審査中」のままです。いつ処理されますか？",
        steps=(
            agent("お待たせして申し訳ございません。初めてご利用の出金先アドレスのため、"
                  "通常のセキュリティ審査の対象となりました。担当チームに確認しております。"),
            note("リスク審査キュー滞留。優先処理を依頼済み。"),
            agent("審査が完了し、出金が送信されました。"
                  "出金履歴のTxIDから状況をご確認いただけます。"),
        ),
        tags=("withdrawal", "risk-review"),
        escalation="出金審査が24時間超過。リスクチームの承認が必要です。",
        pick={"coin": ("USDT", "BTC")},
    ),
    # ---------------------------------------------------------------- 한국어
    Script(
        "deposit_confirmations", "ko", "deposits",
        subject="{coin} 입금이 반영되지 않았어요",
        opening=("한 시간 전에 {network} 네트워크로 {amount} {coin}를 입금했는데 아직 잔고에 안 "
                 "보여요. TxID: {txid}"),
        steps=(
            agent("문의 감사합니다. 해당 거래는 블록체인에서 확인되며 현재 {network} 컨펌 수는 "
                  "{conf}/{req}입니다. {req}회에 도달하면 자동으로 반영되니 추가로 하실 일은 "
                  "없습니다."),
            cust("네 확인했습니다"),
            agent("입금이 반영된 것을 확인했습니다. 기다려 주셔서 감사합니다."),
        ),
        tags=("deposit", "confirmations"),
        pick={"coin": ("BTC", "ETH", "USDT")},
        deposit_statuses=("pending", "confirming"),
    ),
    Script(
        "p2p_seller_not_release", "ko", "p2p",
        subject="P2P 판매자가 코인을 보내지 않아요",
        opening=("P2P 주문 {p2p_order}에 {fiat_amount} {fiat}를 {pay_method}로 보냈는데 판매자가 "
                 "30분째 응답이 없어요."),
        steps=(
            agent("걱정 많으셨죠. 주문 {p2p_order}의 USDT는 플랫폼 에스크로에 보관되어 있어 "
                  "판매자가 회수할 수 없습니다. 이의 제기를 열고 판매자에게 연락했습니다. 주문은 "
                  "취소하지 마시고, 송금 내역 캡처(금액, 시간, 받는 사람 이름)를 첨부해 주세요."),
            cust("캡처 올렸어요"),
            agent("확인 감사합니다. 결제 증빙이 유효하고 판매자가 응답하지 않아 에스크로의 USDT를 "
                  "고객님께 지급했습니다."),
        ),
        tags=("p2p", "dispute", "appeal"),
        priority="urgent",
        escalation="P2P 분쟁: 구매자 송금 완료, 판매자 무응답. 중재 필요.",
    ),
    Script(
        "kyc_blurry", "ko", "kyc",
        subject="신원 인증이 거절되었어요",
        opening="신분증 사진이 선명하지 않다고 KYC가 거절됐어요. 두 번이나 찍었는데요.",
        steps=(
            agent("불편을 드려 죄송합니다. 신분증 하단에 빛 반사가 있어 번호를 읽을 수 없었습니다. "
                  "어두운 평평한 곳에 신분증을 두고 플래시를 끈 상태로 네 모서리가 모두 보이게 "
                  "촬영해 주세요."),
            cust("다시 제출했어요"),
            agent("인증이 승인되었습니다. 이제 모든 기능을 이용하실 수 있습니다."),
        ),
        tags=("kyc", "document-quality"),
        priority="low",
    ),
    # ---------------------------------------------------------------- Русский
    Script(
        "deposit_wrong_network", "ru", "deposits",
        subject="Отправил {coin} не в той сети",
        opening=("Отправил {amount} {coin} на свой адрес {network}, но выбрал сеть "
                 "{wrong_network}. "
                 "Транзакция прошла: {txid}. Деньги пропали?"),
        steps=(
            agent("Здравствуйте, {first}! Не волнуйтесь: у {wrong_network} и {network} одинаковый "
                  "формат "
                  "адресов, средства пришли на адрес, который контролирует наша команда кошельков. "
                  "Я "
                  "создал заявку на возврат по вашему TxID."),
            cust("Сколько ждать и есть ли комиссия?"),
            agent("От 5 до 10 рабочих дней; комиссия в размере 20 USDT в эквиваленте удерживается "
                  "из возвращённой суммы. Я сообщу здесь, как только средства будут зачислены."),
        ),
        tags=("deposit", "wrong-network", "recovery"),
        priority="high",
        escalation="Возврат средств из другой сети; нужно одобрение команды кошельков.",
        pick={"coin": ("USDT",), "network": ("ERC20",),
              "wrong_network": ("Arbitrum One", "Polygon")},
    ),
    Script(
        "futures_liquidation", "ru", "derivatives",
        subject="Несправедливая ликвидация {symbol}",
        opening=("Мою позицию {symbol} с плечом {leverage}x ликвидировали по {liq_price}, хотя на "
                 "других биржах цена туда не доходила. Я потерял {loss} USDT!"),
        steps=(
            agent("Здравствуйте, {first}. Понимаю ваше недовольство. Ликвидация происходит по "
                  "маркировочной "
                  "цене, а не по цене последней сделки. Я запросил данные маркировочной цены на "
                  "момент "
                  "ликвидации."),
            note("Маркировочная цена {mark_price}, индекс в норме. Передано в риск-отдел."),
            agent("Риск-отдел подтвердил, что ликвидация прошла по маркировочной цене "
                  "{mark_price}, поэтому "
                  "компенсация невозможна. Советую использовать стоп-лосс и меньшее плечо."),
        ),
        tags=("futures", "liquidation", "dispute"),
        priority="high",
        escalation="Спор о ликвидации; нужна проверка риск-отдела.",
    ),
    Script(
        "twofa_sms_missing", "ru", "security",
        subject="Не приходит SMS-код",
        opening="Не приходит SMS с кодом при выводе средств. Пробовал уже 4 раза.",
        steps=(
            agent("Здравствуйте! Сегодня у некоторых операторов задержки SMS. Проверьте номер "
                  "телефона в "
                  "настройках безопасности или выберите «звонок» на экране ввода кода. Надёжнее "
                  "всего "
                  "подключить приложение-аутентификатор."),
            cust("Звонок сработал, спасибо"),
        ),
        tags=("2fa", "sms"),
    ),
    # ---------------------------------------------------------------- Español
    Script(
        "p2p_seller_not_release", "es", "p2p",
        subject="El vendedor P2P no libera los USDT",
        opening=("Pagué {fiat_amount} {fiat} por {pay_method} en la orden P2P {p2p_order} hace una "
                 "hora y el vendedor no responde ni libera los USDT. ¡Ayuda!"),
        steps=(
            agent("Hola {first}, entiendo tu preocupación. Los USDT de la orden {p2p_order} están "
                  "en "
                  "custodia (escrow), así que el vendedor no puede retirarlos. Abrí una disputa y "
                  "le "
                  "escribí al vendedor; tiene 30 minutos para responder."),
            agent("Por favor adjunta el comprobante de pago de {pay_method} con importe, hora y "
                  "nombre del "
                  "destinatario. No canceles la orden, porque eso devolvería los USDT al "
                  "vendedor."),
            cust("Ya subí el comprobante"),
            agent("Gracias. El comprobante es válido y el vendedor no respondió, así que liberamos "
                  "los USDT "
                  "a tu cuenta de fondos."),
        ),
        tags=("p2p", "dispute", "appeal"),
        priority="urgent",
        escalation="Disputa P2P: comprador pagó, vendedor sin respuesta; requiere arbitraje.",
    ),
    Script(
        "kyc_name_mismatch", "es", "kyc",
        subject="Verificación rechazada por nombre",
        opening=("Me rechazaron la verificación porque el nombre no coincide: en mi DNI aparecen "
                 "mis dos "
                 "apellidos y al registrarme puse solo uno."),
        steps=(
            agent("Hola {first}, gracias por explicarlo. El nombre de la cuenta debe coincidir "
                  "exactamente con el documento. Corrígelo en Cuenta > Verificación > Actualizar "
                  "información con una foto de tu DNI; un responsable de cumplimiento revisa el "
                  "cambio, normalmente en 48 horas."),
            cust("Ya envié la corrección"),
            agent("Listo, la corrección está aprobada y el nombre ya coincide con tu DNI. Vuelve "
                  "a enviar la verificación desde Cuenta > Verificación."),
        ),
        tags=("kyc", "name-mismatch"),
    ),
    Script(
        "withdrawal_not_received", "es", "withdrawals",
        subject="Retiro completado pero no recibido",
        opening=("El retiro de {amount} {coin} figura como completado pero no llegó a mi "
                 "billetera. Red "
                 "{network}."),
        steps=(
            agent("Hola {first}, el retiro se transmitió y confirmó en {network}. TxID: {txid}. "
                  "Puedes "
                  "verlo en cualquier explorador de bloques de {network}."),
            cust("Ya lo vi, había seleccionado otra cuenta en mi billetera. Gracias"),
        ),
        tags=("withdrawal", "not-received"),
        pick={"coin": ("USDT", "SOL")},
    ),
    # ---------------------------------------------------------------- Tiếng Việt
    Script(
        "deposit_missing_memo_ton", "vi", "deposits",
        subject="Nạp {coin} quên nhập memo",
        opening=("Mình chuyển {amount} {coin} qua mạng TON nhưng quên nhập memo. Hash: {txid}. "
                 "Giúp mình với!"),
        steps=(
            agent("Chào {first}, bạn đừng lo. Giao dịch nạp không có memo sẽ được giữ lại an toàn "
                  "để đối "
                  "chiếu thủ công. Bạn vui lòng tải lên ảnh chụp lịch sử giao dịch trong ví, thấy "
                  "rõ số "
                  "tiền, thời gian và mã hash. Sau khi xác minh, khoản nạp được cộng trong vòng 3 "
                  "ngày làm việc, trừ phí tương đương 5 USDT."),
            cust("Mình đã tải ảnh lên rồi"),
            agent("Đã xác minh và cộng {amount} {coin} vào tài khoản của bạn, sau khi trừ phí "
                  "tương đương 5 USDT. Lần sau hãy nhớ sao chép memo từ trang nạp tiền nhé."),
        ),
        tags=("deposit", "missing-memo", "ton"),
        pick={"coin": ("TON", "USDT"), "network": ("TON",)},
        deposit_statuses=("on_hold",),
    ),
    Script(
        "p2p_buyer_marked_paid", "vi", "p2p",
        subject="Người mua bấm đã thanh toán nhưng mình chưa nhận tiền",
        opening=("Đơn P2P {p2p_order}: người mua bấm 'đã thanh toán' nhưng tài khoản {pay_method} "
                 "của "
                 "mình chưa nhận được {fiat_amount} {fiat}."),
        steps=(
            agent("Chào {first}, bạn làm đúng rồi: đừng giải phóng coin cho đến khi chính bạn kiểm "
                  "tra "
                  "thấy tiền trong ứng dụng ngân hàng. Mình đã mở khiếu nại để đơn không bị hết "
                  "hạn."),
            note("Người mua gửi ảnh chụp có dấu hiệu chỉnh sửa. Đã gắn cờ kiểm tra gian lận."),
        ),
        tags=("p2p", "dispute", "fake-receipt"),
        priority="high",
        escalation="P2P: người bán báo biên lai giả; cần bộ phận chống gian lận.",
    ),
    Script(
        "withdrawal_review", "vi", "withdrawals",
        subject="Lệnh rút đang chờ xét duyệt",
        opening=("Lệnh rút {amount} {coin} của mình bị 'đang xét duyệt' hơn {hours} tiếng rồi. Sao "
                 "vậy?"),
        steps=(
            agent("Chào {first}, lệnh rút đến một địa chỉ mới nên được kiểm tra bảo mật định kỳ. "
                  "Mình đã "
                  "gửi liên kết xác minh danh tính đến email đăng ký của bạn; nhân viên hỗ trợ sẽ "
                  "không "
                  "bao giờ hỏi mật khẩu hay mã xác thực của bạn."),
            cust("Mình xác minh xong rồi"),
            agent("Lệnh rút đã được duyệt và gửi đi. Bạn có thể theo dõi bằng TxID trong lịch sử "
                  "rút."),
        ),
        tags=("withdrawal", "risk-review"),
        pick={"coin": ("USDT",)},
    ),
    # ---------------------------------------------------------------- Türkçe
    Script(
        "deposit_confirmations", "tr", "deposits",
        subject="{coin} yatırma işlemi hesaba geçmedi",
        opening=("Bir saat önce {network} ağı üzerinden {amount} {coin} yatırdım ama bakiyemde "
                 "görünmüyor. "
                 "TxID: {txid}"),
        steps=(
            agent("Merhaba {first}, işlem zincirde görünüyor ve şu an {network} üzerinde "
                  "{conf}/{req} onay "
                  "var. {req} onaya ulaşınca otomatik olarak hesabınıza geçecek; başka bir şey "
                  "yapmanıza "
                  "gerek yok."),
            cust("Tamam, geçti. Teşekkürler"),
        ),
        tags=("deposit", "confirmations"),
        pick={"coin": ("BTC", "USDT")},
        deposit_statuses=("pending", "confirming"),
    ),
    Script(
        "api_invalid_signature", "tr", "api",
        subject="API 10001 geçersiz imza hatası",
        opening=("{endpoint} adresine POST isteklerinde {{\"code\":10001,\"msg\":\"Invalid "
                 "signature\"}} alıyorum, GET istekleri çalışıyor. {sdk} kullanıyorum."),
        steps=(
            agent("Merhaba {first}, 10001 imzanın bizim hesapladığımızla eşleşmediği anlamına "
                  "gelir. "
                  "İmzalanan metin timestamp + method + path + gönderdiğiniz JSON gövdesinin "
                  "birebir aynısı "
                  "olmalı. Kütüphanenizin gövdeyi yeniden serileştirmediğinden emin olun. Bize "
                  "gizli "
                  "anahtarınız hiçbir zaman gerekmez; istek kimliği yeterli."),
            cust("Sorun buydu, düzeldi"),
        ),
        tags=("api", "10001", "signature"),
        priority="low",
    ),
    Script(
        "account_frozen", "tr", "account",
        subject="Hesabım donduruldu",
        opening="Hesabım neden donduruldu? İşlem yapamıyorum ve para çekemiyorum.",
        steps=(
            agent("Merhaba {first}, endişenizi anlıyorum. Kısa süre içinde şifre değişikliği ve "
                  "{city} "
                  "konumundan giriş yapıldığı için hesabınız koruma amaçlı kısıtlandı; "
                  "varlıklarınız "
                  "güvende. Kayıtlı e-postanıza bir doğrulama bağlantısı gönderdim."),
            cust("Doğrulamayı tamamladım"),
            agent("Kısıtlama kaldırıldı. Güvenlik ayarlarından tanımadığınız oturumları "
                  "kapatmanızı öneririm."),
        ),
        tags=("account-frozen", "security"),
        priority="high",
        escalation="Dondurulan hesap için risk incelemesi gerekiyor.",
    ),
)

SCRIPTS: tuple[Script, ...] = EN + ZH + OTHER


def scripts_for(language: str) -> tuple[Script, ...]:
    return tuple(script for script in SCRIPTS if script.language == language)


COMMON: dict[str, CommonLines] = {
    "en": CommonLines(
        nudge=("Hello? Is anyone looking at this?", "Any update please? It's been a while.",
               "Still waiting for an answer..."),
        ask_escalation=("This is taking too long. I'd like a supervisor to look at ticket "
                        "{number}, please."),
        escalation="Customer asked for a supervisor.",
        waiting_note="Waiting on the wallet/risk team; follow up in 4h.",
        duplicate_subject="Still no answer about my problem",
        duplicate="I already wrote about this yesterday and nobody answered. Same problem!",
        reopen="Sorry, it happened again. Can you check please?",
        thanks=("Thanks for your help!", "Great, thank you.", "ok thanks"),
    ),
    "zh": CommonLines(
        nudge=("有人在吗？", "请问有进展了吗？等了很久了", "还在等回复……"),
        ask_escalation="处理太慢了，我要求主管处理工单 {number}。",
        escalation="客户要求主管介入。",
        waiting_note="等待钱包/风控团队回复，4 小时后跟进。",
        duplicate_subject="问题还没解决",
        duplicate="我昨天已经提交过这个问题了，一直没人回复，还是同样的问题！",
        reopen="不好意思，又出现同样的问题了，麻烦再看一下。",
        thanks=("谢谢你的帮助！", "好的，谢谢", "解决了，感谢"),
    ),
    "ja": CommonLines(
        nudge=("まだ返信がありません。確認していただけますか？",),
        ask_escalation="対応が遅すぎます。チケット{number}を責任者の方に確認していただきたいです。",
        escalation="お客様が責任者の対応を希望しています。",
        waiting_note="担当チームの回答待ち。4時間後に再確認。",
        duplicate_subject="まだ解決していません",
        duplicate="昨日も同じ件で問い合わせましたが、返信がありません。",
        reopen="すみません、また同じ問題が起きました。",
        thanks=("ありがとうございました。",),
    ),
    "ko": CommonLines(
        nudge=("아직 답변이 없네요. 확인 부탁드려요.",),
        ask_escalation="처리가 너무 늦어요. 티켓 {number}을 책임자분이 확인해 주세요.",
        escalation="고객이 상급자 처리를 요청했습니다.",
        waiting_note="담당 팀 회신 대기 중. 4시간 후 재확인.",
        duplicate_subject="아직 해결되지 않았어요",
        duplicate="어제도 같은 문제로 문의했는데 답이 없어요.",
        reopen="죄송한데 같은 문제가 또 생겼어요.",
        thanks=("감사합니다!",),
    ),
    "ru": CommonLines(
        nudge=("Есть новости? Жду уже долго.",),
        ask_escalation="Слишком долго. Прошу передать обращение {number} руководителю.",
        escalation="Клиент просит подключить руководителя.",
        waiting_note="Ждём ответа профильной команды; проверить через 4 часа.",
        duplicate_subject="Проблема так и не решена",
        duplicate="Я уже писал вчера по этому вопросу, ответа нет.",
        reopen="Извините, проблема повторилась.",
        thanks=("Спасибо за помощь!",),
    ),
    "es": CommonLines(
        nudge=("¿Hola? ¿Alguien está revisando esto?",),
        ask_escalation=("Esto está tardando demasiado. Quiero que un supervisor revise el ticket "
                        "{number}."),
        escalation="El cliente pidió un supervisor.",
        waiting_note="Esperando respuesta del equipo responsable; revisar en 4 h.",
        duplicate_subject="Sigo sin respuesta",
        duplicate="Ya escribí ayer por esto y nadie respondió. ¡El mismo problema!",
        reopen="Perdón, volvió a pasar. ¿Pueden revisarlo?",
        thanks=("¡Gracias por la ayuda!",),
    ),
    "vi": CommonLines(
        nudge=("Có ai xem giúp mình chưa ạ?",),
        ask_escalation="Xử lý lâu quá. Mình muốn quản lý xem phiếu {number}.",
        escalation="Khách hàng yêu cầu quản lý xử lý.",
        waiting_note="Đang chờ đội phụ trách phản hồi; kiểm tra lại sau 4 giờ.",
        duplicate_subject="Vẫn chưa được giải quyết",
        duplicate="Hôm qua mình đã gửi yêu cầu này rồi mà chưa ai trả lời.",
        reopen="Xin lỗi, lại bị lỗi như cũ rồi.",
        thanks=("Cảm ơn bạn nhiều!",),
    ),
    "tr": CommonLines(
        nudge=("Merhaba? Bakan var mı?",),
        ask_escalation=("Çok uzun sürdü. {number} numaralı talebe bir yöneticinin bakmasını "
                        "istiyorum."),
        escalation="Müşteri yönetici talep etti.",
        waiting_note="İlgili ekibin yanıtı bekleniyor; 4 saat sonra kontrol et.",
        duplicate_subject="Sorunum hâlâ çözülmedi",
        duplicate="Dün de bu konuda yazdım, kimse cevap vermedi.",
        reopen="Kusura bakmayın, aynı sorun tekrar oldu.",
        thanks=("Yardımınız için teşekkürler!",),
    ),
}


# ================================================================ the cast


@dataclass(frozen=True)
class TeamSpec:
    name: str
    language: str
    description: str


TEAMS: tuple[TeamSpec, ...] = (
    TeamSpec("中文支持 / Chinese", "zh", "简体与繁体中文客户 · Simplified and Traditional Chinese"),
    TeamSpec("English", "en", "English-speaking customers worldwide; fallback for other languages"),
    TeamSpec("日本語", "ja", "Japanese-speaking customers"),
    TeamSpec("한국어", "ko", "Korean-speaking customers"),
    TeamSpec("Русский", "ru", "Russian-speaking customers"),
    TeamSpec("Español", "es", "Spanish-speaking customers (Spain and Latin America)"),
    TeamSpec("Tiếng Việt", "vi", "Vietnamese-speaking customers"),
    TeamSpec("Türkçe", "tr", "Turkish-speaking customers"),
)


@dataclass(frozen=True)
class AgentSpec:
    email: str
    display_name: str
    role: Literal["agent", "supervisor", "admin"]
    languages: tuple[str, ...]
    skills: tuple[str, ...]
    capacity: int
    status: Literal["online", "away", "offline"]
    teams: tuple[str, ...]  # team languages
    # How the agent signs in each language; the display name otherwise.
    names: Mapping[str, str] = field(default_factory=dict)

    def name_in(self, language: str) -> str:
        return self.names.get(language, self.names.get("en", self.display_name))


AGENTS: tuple[AgentSpec, ...] = (
    AgentSpec("admin@kefu.demo", "Chen Jing 陈静", "admin", ("zh", "en"), ("security", "kyc"),
              4, "online", ("zh", "en"), {"zh": "陈静", "en": "Jing"}),
    AgentSpec("supervisor@kefu.demo", "Olivia Bennett", "supervisor", ("en", "es"),
              ("derivatives", "p2p"), 6, "online", ("en", "es"), {"en": "Olivia"}),
    AgentSpec("agent@kefu.demo", "Wang Lei 王磊", "agent", ("zh", "en"),
              ("deposits_withdrawals", "security"), 8, "online", ("zh", "en"),
              {"zh": "王磊", "en": "Lei"}),
    AgentSpec("li.na@kefu.demo", "Li Na 李娜", "agent", ("zh",), ("kyc", "p2p"), 8, "online",
              ("zh",), {"zh": "李娜"}),
    AgentSpec("zhang.hao@kefu.demo", "Zhang Hao 张昊", "agent", ("zh", "en"),
              ("api", "derivatives"), 6, "away", ("zh", "en"), {"zh": "张昊", "en": "Hao"}),
    AgentSpec("james.miller@kefu.demo", "James Miller", "agent", ("en",),
              ("derivatives", "api", "deposits_withdrawals"), 7, "online", ("en",),
              {"en": "James"}),
    AgentSpec("yuki.tanaka@kefu.demo", "Tanaka Yuki 田中由紀", "agent", ("ja", "en"),
              ("deposits_withdrawals", "kyc"), 5, "offline", ("ja",), {"ja": "田中", "en": "Yuki"}),
    AgentSpec("minji.kim@kefu.demo", "Kim Min-ji 김민지", "agent", ("ko", "en"), ("p2p", "kyc"),
              5, "online", ("ko",), {"ko": "김민지", "en": "Min-ji"}),
    AgentSpec("dmitry.volkov@kefu.demo", "Dmitry Volkov", "agent", ("ru", "en"),
              ("derivatives", "security"), 6, "away", ("ru",), {"ru": "Дмитрий", "en": "Dmitry"}),
    AgentSpec("lucia.fernandez@kefu.demo", "Lucía Fernández", "agent", ("es", "en", "pt"),
              ("p2p", "kyc"), 6, "online", ("es", "en"), {"en": "Lucía"}),
    AgentSpec("lan.nguyen@kefu.demo", "Nguyễn Thị Lan", "agent", ("vi", "en"),
              ("deposits_withdrawals", "p2p"), 6, "offline", ("vi",), {"en": "Lan"}),
    AgentSpec("emre.yilmaz@kefu.demo", "Emre Yılmaz", "agent", ("tr", "en", "de"),
              ("api", "security"), 5, "offline", ("tr",), {"en": "Emre"}),
)


# ================================================================ vocabulary

# Customers' names, as "local-form romanized" (the romanized form makes the email address).
ZH_FAMILY = ("王 wang", "李 li", "张 zhang", "刘 liu", "陈 chen", "杨 yang", "赵 zhao", "黄 huang",
             "周 zhou", "吴 wu", "徐 xu", "孙 sun", "胡 hu", "朱 zhu", "高 gao", "林 lin", "何 he",
             "郭 guo", "马 ma", "罗 luo", "梁 liang", "宋 song", "郑 zheng", "谢 xie")
ZH_GIVEN = ("伟 wei", "芳 fang", "娜 na", "敏 min", "静 jing", "磊 lei", "洋 yang", "艳 yan",
            "勇 yong", "杰 jie", "婷 ting", "浩然 haoran", "子涵 zihan", "欣怡 xinyi",
            "宇轩 yuxuan", "晓东 xiaodong", "雨桐 yutong", "志强 zhiqiang", "梦琪 mengqi",
            "俊杰 junjie", "嘉怡 jiayi", "文博 wenbo", "思远 siyuan", "佳琪 jiaqi")
EN_GIVEN = ("James", "Olivia", "Mohammed", "Aisha", "Carlos", "Sofia", "Lukas", "Emma",
            "Chinedu", "Fatima", "Arjun", "Priya", "Daniel", "Hannah", "Mateo", "Zara", "Kwame",
            "Elena", "Ryan", "Chloe", "Ahmed", "Grace", "Tomasz", "Amara", "Noah", "Isabella",
            "Oluwaseun", "Ravi", "Mei", "David", "Leila", "Jonas", "Nadia", "Ethan", "Yusuf")
EN_FAMILY = ("Smith", "Johnson", "Khan", "Okafor", "Schmidt", "Patel", "Silva", "Rossi",
             "Ibrahim", "Kowalski", "Williams", "Brown", "Garcia", "Adeyemi", "Ali", "Singh",
             "Cohen", "Novak", "Andersson", "O'Brien", "Tan", "Lim", "Hassan", "Mensah",
             "Dubois", "Jansen", "Haddad", "Walker", "Reyes", "Wong")
JA_FAMILY = ("佐藤 sato", "鈴木 suzuki", "高橋 takahashi", "田中 tanaka", "伊藤 ito",
             "渡辺 watanabe", "山本 yamamoto", "中村 nakamura")
JA_GIVEN = ("健太 kenta", "翔 sho", "美咲 misaki", "陽菜 hina", "大輔 daisuke", "結衣 yui",
            "拓海 takumi", "さくら sakura")
KO_FAMILY = ("김 kim", "이 lee", "박 park", "최 choi", "정 jung", "강 kang", "조 cho", "윤 yoon")
KO_GIVEN = ("민준 minjun", "서연 seoyeon", "지훈 jihoon", "하은 haeun", "도윤 doyun",
            "수빈 subin", "예준 yejun", "지우 jiwoo")
RU_GIVEN = ("Алексей aleksey m", "Дмитрий dmitry m", "Сергей sergey m", "Иван ivan m",
            "Анна anna f", "Мария maria f", "Екатерина ekaterina f", "Ольга olga f")
RU_FAMILY = ("Смирнов smirnov", "Иванов ivanov", "Кузнецов kuznetsov", "Попов popov",
             "Соколов sokolov", "Лебедев lebedev", "Морозов morozov", "Волков volkov")
ES_GIVEN = ("Javier", "Lucía", "Carlos", "Valentina", "Diego", "Camila", "Alejandro", "Sofía",
            "Mateo", "Martina")
ES_FAMILY = ("García", "Rodríguez", "Martínez", "López", "Fernández", "Gómez", "Díaz", "Romero",
             "Torres", "Ramírez")
VI_FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Võ", "Đặng", "Bùi")
VI_MIDDLE = ("Văn", "Thị", "Minh", "Thu", "Quang", "Ngọc")
VI_GIVEN = ("Tuấn", "Lan", "Hùng", "Hương", "Dũng", "Linh", "Khoa", "Trang")
TR_GIVEN = ("Emre", "Ayşe", "Mehmet", "Zeynep", "Burak", "Elif", "Can", "Selin")
TR_FAMILY = ("Yılmaz", "Kaya", "Demir", "Şahin", "Çelik", "Aydın", "Öztürk", "Arslan")
EMAIL_DOMAINS = ("example.com", "example.net", "example.org", "mail.example.com")

# P2P currencies per language: (code, units per USDT, payment methods).
FIAT: dict[str, tuple[tuple[str, float, tuple[str, ...]], ...]] = {
    "zh": (("CNY", 7.2, ("支付宝", "微信支付", "银行卡转账")),),
    "en": (("USD", 1.0, ("Zelle", "Wise", "bank transfer")),
           ("EUR", 0.92, ("SEPA transfer", "Revolut")),
           ("NGN", 1_500.0, ("bank transfer", "OPay")),
           ("INR", 83.0, ("UPI", "IMPS")),
           ("GBP", 0.79, ("Faster Payments", "Monzo"))),
    "ja": (("JPY", 150.0, ("銀行振込",)),),
    "ko": (("KRW", 1_350.0, ("계좌이체", "토스")),),
    "ru": (("RUB", 90.0, ("банковский перевод",)),),
    "es": (("EUR", 0.92, ("Bizum", "transferencia SEPA")), ("ARS", 900.0, ("Mercado Pago",)),
           ("MXN", 17.0, ("SPEI",))),
    "vi": (("VND", 25_000.0, ("Vietcombank", "MoMo")),),
    "tr": (("TRY", 32.0, ("Papara", "havale")),),
}
SIDES = {"zh": ("多单", "空单"), "en": ("long", "short")}
CITIES = {"zh": ("胡志明市", "伊斯坦布尔", "迪拜", "曼谷", "拉各斯"),
          "en": ("Lagos", "Jakarta", "Istanbul", "São Paulo", "Manila", "Dubai"),
          "tr": ("Antalya", "Berlin", "Dubai")}
ENDPOINTS = ("/api/v1/spot/orders", "/api/v1/futures/orders", "/api/v1/account/transfer",
             "/api/v1/spot/orders/batch")
SDKS = ("Python requests", "Node.js axios", "Go net/http", "Java OkHttp", "ccxt")
