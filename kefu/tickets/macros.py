"""Macros: canned replies with variables, scoped like tickets (an agent sees the global ones and
their teams'; supervisors and admins see and manage all of those), plus personal macros: an
agent's own, which only that agent sees, uses and edits, whatever their role. An admin may list
and delete another agent's personal macros (off-boarding) but neither uses nor edits them.

A macro's body may use ``{customer.name}``, ``{ticket.number}``, ``{ticket.subject}`` and
``{agent.name}``. Rendering is plain text substitution of those four names and nothing else: no
``str.format``, no attribute access, no ``eval`` — a macro written by a supervisor can never read
anything but the four values. A variable we do not know (``{customer.nme}``, a typo) is refused
when the macro is saved (``UnknownVariables``), so it never reaches a customer as literal braces;
one in a macro stored before that check stays in the text as written and is reported, so the
agent sees it before sending."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from kefu.accounts.actor import Actor
from kefu.accounts.models import Agent, Customer, Team
from kefu.accounts.service import audit
from kefu.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from kefu.tickets.models import Macro, Ticket
from kefu.tickets.schemas import MAX_BODY

VARIABLES = ("customer.name", "ticket.number", "ticket.subject", "agent.name")
VARIABLE_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\}")
# What ``{customer.name}`` becomes for a customer without a name (visitors, some imports).
NAMELESS_CUSTOMER = {"zh": "尊敬的用户", "en": "there"}


class UnknownVariables(InvalidInput):
    """A macro body uses variables Kefu cannot fill; the message names them and the known
    ones, so the author can fix a typo (``{customer.nme}``) before any customer sees it."""

    def __init__(self, names: list[str]) -> None:
        shown = ", ".join("{" + name + "}" for name in names)
        known = ", ".join("{" + name + "}" for name in VARIABLES)
        super().__init__(f"unknown variables {shown}; use {known}", code="unknown_variables")
        self.values = {"names": shown, "known": known}


@dataclass(frozen=True)
class RenderedMacro:
    text: str
    unknown_variables: list[str]


def macro_language(raw: str | None) -> str | None:
    """The base language a macro is filed under (``zh-CN`` → ``zh``, ``EN`` → ``en``)."""
    if not raw:
        return None
    return raw.strip().replace("_", "-").split("-", 1)[0].lower() or None


def variables_in(body: str) -> list[str]:
    """The variable names a body uses, in order of first use."""
    return list(dict.fromkeys(VARIABLE_RE.findall(body)))


def check_variables(body: str) -> None:
    """Refuse a body that uses a variable outside ``VARIABLES``."""
    unknown = [name for name in variables_in(body) if name not in VARIABLES]
    if unknown:
        raise UnknownVariables(unknown)


def substitute(body: str, values: Mapping[str, str]) -> RenderedMacro:
    """Replace ``{name}`` for the names in ``values``; leave and report every other one."""
    unknown: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return values[name]
        if name not in unknown:
            unknown.append(name)
        return match.group(0)

    return RenderedMacro(text=VARIABLE_RE.sub(replace, body), unknown_variables=unknown)


def render_macro(
    macro: Macro, *, ticket: Ticket, customer: Customer | None, agent: Agent | None
) -> RenderedMacro:
    """The macro's text for this ticket, customer and agent (see the module docstring)."""
    language = macro_language(macro.language) or "en"
    name = (customer.display_name.strip() if customer is not None else "") or \
        NAMELESS_CUSTOMER.get(language, NAMELESS_CUSTOMER["en"])
    return substitute(macro.body, {
        "customer.name": name,
        "ticket.number": ticket.number,
        "ticket.subject": ticket.subject,
        "agent.name": agent.display_name if agent is not None else "",
    })


# ---------------------------------------------------------------- scoping and queries

SCOPES = ("global", "team", "personal")


def macro_scope(actor: Actor) -> ColumnElement[bool]:
    """The one rule of who may use which macro: the shared ones (global and their teams'; all
    teams' for supervisors and admins) and their own personal ones. Nobody, an admin included,
    uses another agent's personal macro; customers use none."""
    if actor.agent is None:
        return false()
    own = Macro.owner_agent_id == actor.agent.id
    if actor.is_supervisor:
        return or_(Macro.owner_agent_id.is_(None), own)
    return or_(and_(Macro.owner_agent_id.is_(None),
                    or_(Macro.team_id.is_(None), Macro.team_id.in_(actor.team_ids))), own)


def usable_by(actor: Actor) -> Select[Macro]:
    return select(Macro).where(macro_scope(actor))


async def list_macros(
    session: AsyncSession, actor: Actor, *, language: str | None = None, q: str | None = None,
    scope: str | None = None, owner_agent_id: uuid.UUID | None = None, limit: int = 500,
) -> list[Macro]:
    """Ordered by language, then title. ``language`` matches the base language (``zh-CN`` finds
    ``zh``); ``q`` searches titles; ``scope`` keeps one of ``SCOPES``.

    ``owner_agent_id`` lists that agent's personal macros instead: one's own, or any agent's for
    an admin (to review and delete them when the agent leaves; admins do not edit them)."""
    if owner_agent_id is not None:
        if actor.agent is None or (owner_agent_id != actor.agent.id and not actor.is_admin):
            raise Forbidden("only admins list another agent's personal macros",
                            code="admin_required")
        stmt = select(Macro).where(Macro.owner_agent_id == owner_agent_id)
    else:
        stmt = usable_by(actor)
    if scope == "personal":
        stmt = stmt.where(Macro.owner_agent_id.is_not(None))
    elif scope in ("global", "team"):
        stmt = stmt.where(Macro.owner_agent_id.is_(None), Macro.team_id.is_(None)
                          if scope == "global" else Macro.team_id.is_not(None))
    elif scope is not None:
        raise InvalidInput(f"scope must be one of {', '.join(SCOPES)}", code="invalid_scope")
    base = macro_language(language.replace("\x00", "") if language else None)
    if base:
        stmt = stmt.where(or_(Macro.language == base, Macro.language.like(f"{base}-%")))
    q = q.replace("\x00", "").strip() if q else None
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(Macro.title.ilike(like, escape="\\"))
    rows = await session.scalars(stmt.order_by(Macro.language, Macro.title).limit(limit))
    return list(rows)


async def get_macro(session: AsyncSession, actor: Actor, macro_id: uuid.UUID) -> Macro:
    """404 for a macro the actor may not use, so ids reveal nothing."""
    macro = await session.scalar(usable_by(actor).where(Macro.id == macro_id))
    if macro is None:
        raise NotFound("macro")
    return macro


async def get_macro_to_change(session: AsyncSession, actor: Actor, macro_id: uuid.UUID) -> Macro:
    """The macro ``actor`` means to change or delete: one they may use, or (admins only)
    another agent's personal macro. An agent who is not a supervisor gets 403 for anything but
    their own personal macros, whether the id exists or not, so ids reveal nothing."""
    if actor.agent is None:
        raise NotFound("macro")
    stmt = select(Macro).where(Macro.id == macro_id)
    if not actor.is_admin:
        stmt = stmt.where(macro_scope(actor))
    macro = await session.scalar(stmt)
    if not actor.is_supervisor and (macro is None or macro.owner_agent_id is None):
        _require_manager(actor)
    if macro is None:
        raise NotFound("macro")
    return macro


# ---------------------------------------------------------------- changes


def _require_manager(actor: Actor) -> None:
    if not actor.is_supervisor:
        raise Forbidden("supervisors and admins manage shared macros; agents keep personal ones",
                        code="supervisor_required")


def _require_owner(actor: Actor, macro: Macro) -> None:
    if actor.agent is None or macro.owner_agent_id != actor.agent.id:
        raise Forbidden("only its owner edits a personal macro", code="macro_owner_only")


async def _check_team(session: AsyncSession, team_id: uuid.UUID | None) -> None:
    if team_id is not None and await session.get(Team, team_id) is None:
        raise InvalidInput("unknown team", code="unknown_team")


async def _check_unique(
    session: AsyncSession, title: str, language: str, *, owner_agent_id: uuid.UUID | None,
    other_than: uuid.UUID | None = None,
) -> None:
    """One title per language in each scope: among the shared macros, and among each agent's
    personal ones (the database's unique indexes hold the same rule)."""
    stmt = select(Macro.id).where(Macro.title == title, Macro.language == language,
                                  Macro.owner_agent_id.is_(None) if owner_agent_id is None
                                  else Macro.owner_agent_id == owner_agent_id)
    if other_than is not None:
        stmt = stmt.where(Macro.id != other_than)
    if await session.scalar(stmt) is not None:
        raise Conflict("a macro with this title exists in this language", code="macro_exists")


_LIMITS = {"title": 100, "body": MAX_BODY}  # the API's schema has the same


def _clean(text: str, what: str) -> str:
    value = text.replace("\x00", "").strip()
    if not value or len(value) > _LIMITS[what]:
        raise InvalidInput(f"{what} must be 1 to {_LIMITS[what]} characters",
                           code=f"invalid_{what}")
    return value


def _personal_has_no_team(team_id: uuid.UUID | None) -> None:
    if team_id is not None:
        raise InvalidInput("a personal macro belongs to no team", code="personal_macro_team")


async def create_macro(
    session: AsyncSession, actor: Actor, *, title: str, body: str, language: str,
    team_id: uuid.UUID | None = None, personal: bool = False,
) -> Macro:
    """``personal``: the actor's own macro, which any agent may create; shared (global or
    ``team_id``'s) ones are for supervisors and admins."""
    if personal:
        if actor.agent is None:
            raise Forbidden("agents only", code="agent_required")
        _personal_has_no_team(team_id)
    else:
        _require_manager(actor)
    owner = actor.agent.id if personal and actor.agent else None
    title, body = _clean(title, "title"), _clean(body, "body")
    check_variables(body)
    base = macro_language(language) or "en"
    await _check_team(session, team_id)
    await _check_unique(session, title, base, owner_agent_id=owner)
    macro = Macro(title=title, body=body, language=base, team_id=team_id, owner_agent_id=owner,
                  created_by_agent_id=actor.agent.id if actor.agent else None)
    session.add(macro)
    await session.flush()
    await audit(session, actor, "macro.created", target_type="macro", target_id=str(macro.id),
                details={"title": title, "language": base, "scope": macro.scope})
    return macro


async def update_macro(
    session: AsyncSession, actor: Actor, macro: Macro, changes: Mapping[str, Any]
) -> Macro:
    """``changes`` holds only the fields sent; ``team_id: None`` makes a shared macro global. A
    personal macro is changed by its owner only and stays personal (no team)."""
    if macro.owner_agent_id is not None:
        _require_owner(actor, macro)
        _personal_has_no_team(changes.get("team_id"))
    else:
        _require_manager(actor)
    title = _clean(changes["title"], "title") if changes.get("title") is not None else macro.title
    body = _clean(changes["body"], "body") if changes.get("body") is not None else macro.body
    if body != macro.body:  # a macro stored before the check stays editable in its other fields
        check_variables(body)
    language = (macro_language(changes.get("language")) or macro.language)
    if "team_id" in changes and macro.owner_agent_id is None:
        await _check_team(session, changes["team_id"])
        macro.team_id = changes["team_id"]
    await _check_unique(session, title, language, owner_agent_id=macro.owner_agent_id,
                        other_than=macro.id)
    macro.title, macro.body, macro.language = title, body, language
    await session.flush()
    await audit(session, actor, "macro.updated", target_type="macro", target_id=str(macro.id),
                details={k: str(v) for k, v in changes.items() if k != "body"})
    return macro


async def delete_macro(session: AsyncSession, actor: Actor, macro: Macro) -> None:
    """A personal macro is deleted by its owner or an admin (off-boarding); a shared one by a
    supervisor or an admin."""
    if macro.owner_agent_id is not None:
        if not actor.is_admin:
            _require_owner(actor, macro)
    else:
        _require_manager(actor)
    await audit(session, actor, "macro.deleted", target_type="macro", target_id=str(macro.id),
                details={"title": macro.title, "language": macro.language,
                         "scope": macro.scope, "owner_agent_id": str(macro.owner_agent_id or "")})
    await session.delete(macro)
    await session.flush()


async def render_for_ticket(
    session: AsyncSession, actor: Actor, macro: Macro, ticket: Ticket
) -> RenderedMacro:
    """The caller has read ``ticket`` through ``tickets.service.get_readable``."""
    customer = await session.get(Customer, ticket.customer_id)
    return render_macro(macro, ticket=ticket, customer=customer, agent=actor.agent)


# ---------------------------------------------------------------- default macros


@dataclass(frozen=True)
class DefaultMacro:
    title: str
    language: str
    body: str


DEFAULT_MACROS: tuple[DefaultMacro, ...] = (
    # ------------------------------------------------------------ English
    DefaultMacro("Greeting: ticket received", "en", (
        "Hi {customer.name},\n\n"
        "Thank you for contacting us. I'm {agent.name} and I'll be looking after your request "
        "\"{ticket.subject}\" (ticket {ticket.number}). Please keep this ticket number for "
        "any follow-up.\n\n"
        "For your safety: we will never ask for your password, 2FA codes, seed phrase or "
        "private keys.")),
    DefaultMacro("Deposit not credited: checklist", "en", (
        "Hi {customer.name},\n\n"
        "Sorry your deposit hasn't shown up yet. To trace it quickly, please reply on ticket "
        "{ticket.number} with:\n"
        "1. The coin and the network you sent on (e.g. USDT on TRC20, ETH on ERC20).\n"
        "2. The transaction ID (TxID / hash) from the sending wallet or exchange.\n"
        "3. The amount, and the deposit address you sent to.\n"
        "4. The memo / tag, if the coin needs one (XRP, XLM, EOS, TON, ATOM…).\n"
        "5. A screenshot of the withdrawal record on the sending platform.\n\n"
        "Most delays are waiting for network confirmations, a wrong network, a missing memo or "
        "an amount below the minimum deposit; we'll check each of these for you.\n\n"
        "{agent.name}")),
    DefaultMacro("Withdrawal under review", "en", (
        "Hi {customer.name},\n\n"
        "Your withdrawal is currently under a routine security review. This protects your "
        "funds and usually finishes within a few hours; you don't need to submit it again, "
        "and the amount stays reserved in your account while the review runs.\n\n"
        "If we need anything else from you, we'll ask on this ticket ({ticket.number}) only. "
        "Nobody from our team will ever ask you for your password, 2FA codes or seed phrase.\n\n"
        "{agent.name}")),
    DefaultMacro("2FA reset: verified flow", "en", (
        "Hi {customer.name},\n\n"
        "If you lost access to your authenticator, please reset 2FA yourself through the "
        "verified flow: Log in → Security → Two-factor authentication → \"Lost access to "
        "authenticator?\", then complete the identity check (ID document and a live selfie).\n\n"
        "For your security, withdrawals are paused for 24 hours after a 2FA reset.\n\n"
        "We never need your password, 2FA or SMS codes, or backup keys, and we will never ask "
        "for them, here or anywhere else: please keep them to yourself.\n\n"
        "{agent.name}, ticket {ticket.number}")),
    DefaultMacro("KYC resubmission", "en", (
        "Hi {customer.name},\n\n"
        "Your identity verification could not be approved yet. Please resubmit under "
        "Account → Verification, making sure that:\n"
        "- the document is valid, not expired, and all four corners are visible;\n"
        "- the photo is sharp, without glare, filters or edits;\n"
        "- the name and date of birth match your account details;\n"
        "- the selfie is taken live, in good light, without glasses or a hat.\n\n"
        "Reviews usually take up to 24 hours. Reply on ticket {ticket.number} if you have any "
        "questions.\n\n"
        "{agent.name}")),
    DefaultMacro("API error 50113: invalid signature", "en", (
        "Hi {customer.name},\n\n"
        "Error 50113 means the request signature did not match. Please check that:\n"
        "1. The string you sign is timestamp + HTTP method (upper case) + request path "
        "(including the query string) + body, exactly as sent, with no extra spaces.\n"
        "2. The signature is HMAC-SHA256 with your API secret, Base64 encoded.\n"
        "3. The timestamp is in UTC (ISO 8601 with milliseconds) and your server clock is in "
        "sync — requests more than 30 seconds off are refused.\n"
        "4. The API key, the passphrase and the secret belong to the same key pair.\n\n"
        "Never share your API secret or passphrase with anyone, including us: we can help "
        "with a request's text and the error alone. If you think the secret was exposed, "
        "delete the key and create a new one.\n\n"
        "{agent.name}, ticket {ticket.number}")),
    DefaultMacro("Liquidation explained", "en", (
        "Hi {customer.name},\n\n"
        "I'm sorry about the loss on your position. A position is liquidated when its margin "
        "falls below the maintenance margin. We use the mark price (an index across several "
        "major exchanges), not the last traded price, so a short spike on one venue alone "
        "does not liquidate anyone.\n\n"
        "I've checked the liquidation on ticket {ticket.number} against the mark price at that "
        "moment and will send you the details: entry price, leverage, maintenance margin rate "
        "and the liquidation price. Lower leverage, extra margin or a stop-loss give a "
        "position more room in volatile markets.\n\n"
        "{agent.name}")),
    DefaultMacro("P2P dispute: evidence needed", "en", (
        "Hi {customer.name},\n\n"
        "We've opened a review of your P2P order dispute ({ticket.number}). Please upload here:\n"
        "- proof of payment: the bank or wallet receipt showing amount, time, and the "
        "receiver's name and account;\n"
        "- a screen recording or screenshots of the payment in your banking app;\n"
        "- any chat with the counterparty outside the order chat.\n\n"
        "Please keep all communication in the order chat and do not release or send funds "
        "outside the platform. An arbitrator will review both sides' evidence, usually within "
        "24 hours; the crypto stays in escrow until then.\n\n"
        "{agent.name}")),
    DefaultMacro("Phishing warning", "en", (
        "Hi {customer.name},\n\n"
        "Thank you for reporting this. The message you received is not from us. We will never "
        "ask for your password, 2FA or SMS codes, seed phrase or private keys, never ask you to "
        "move funds to a \"safe\" address, and never contact you from personal accounts.\n\n"
        "Please do not click links in that message. If you entered any details on that site, "
        "change your password right away, reset 2FA through the official app and review your "
        "API keys and withdrawal whitelist. You can check whether a website, email address or "
        "account is official with our verification tool.\n\n"
        "{agent.name}, ticket {ticket.number}")),
    # ------------------------------------------------------------ 中文
    DefaultMacro("问候：已收到工单", "zh", (
        "{customer.name}，您好！\n\n"
        "感谢您联系我们。我是{agent.name}，将为您处理“{ticket.subject}”（工单号 {ticket.number}）。"
        "后续沟通请保留此工单号。\n\n"
        "安全提醒：我们绝不会索要您的密码、两步验证码、助记词或私钥。")),
    DefaultMacro("充值未到账：排查清单", "zh", (
        "{customer.name}，您好！\n\n"
        "很抱歉您的充值尚未到账。为了尽快为您追查，请在工单 {ticket.number} 中回复以下信息：\n"
        "1. 币种和转账网络（例如 USDT-TRC20、ETH-ERC20）；\n"
        "2. 交易哈希（TxID），可在转出钱包或平台的提现记录中找到；\n"
        "3. 充值金额和您转入的充值地址；\n"
        "4. 如该币种需要 Memo/标签（如 XRP、XLM、EOS、TON、ATOM），请提供 Memo；\n"
        "5. 转出平台提现记录的截图。\n\n"
        "常见原因包括：区块确认数不足、选错网络、漏填 Memo、金额低于最小充值额。"
        "我们会逐项为您核实。\n\n"
        "{agent.name}")),
    DefaultMacro("提现审核中", "zh", (
        "{customer.name}，您好！\n\n"
        "您的提现正在进行例行安全审核，这是为了保护您的资产安全，通常会在几小时内完成。"
        "审核期间无需重复提交，相应金额会在账户中冻结保留。\n\n"
        "如需补充材料，我们只会通过本工单（{ticket.number}）联系您。"
        "任何工作人员都不会向您索要密码、两步验证码或助记词。\n\n"
        "{agent.name}")),
    DefaultMacro("重置两步验证：官方验证流程", "zh", (
        "{customer.name}，您好！\n\n"
        "如果您无法使用身份验证器，请通过官方验证流程自助重置两步验证：登录 → 安全中心 → "
        "两步验证 → “无法使用身份验证器？”，然后完成身份核验（证件和实时自拍）。\n\n"
        "为保障资产安全，重置两步验证后 24 小时内将暂停提现。\n\n"
        "我们不需要您的密码、两步验证码、短信验证码或备份密钥，也绝不会在任何渠道索要，"
        "请妥善保管。\n\n"
        "{agent.name}，工单 {ticket.number}")),
    DefaultMacro("KYC 重新提交", "zh", (
        "{customer.name}，您好！\n\n"
        "您的身份认证暂未通过。请在“账户 → 身份认证”中重新提交，并确认：\n"
        "- 证件在有效期内，四角完整可见；\n"
        "- 照片清晰，无反光、无滤镜、未经编辑；\n"
        "- 姓名和出生日期与账户信息一致；\n"
        "- 自拍需实时拍摄，光线充足，不戴眼镜或帽子。\n\n"
        "审核通常在 24 小时内完成。如有疑问，请在工单 {ticket.number} 中回复。\n\n"
        "{agent.name}")),
    DefaultMacro("API 错误 50113：签名无效", "zh", (
        "{customer.name}，您好！\n\n"
        "错误码 50113 表示请求签名校验失败。请检查：\n"
        "1. 待签名字符串为 timestamp + 请求方法（大写）+ 请求路径（含查询参数）+ 请求体，"
        "须与实际发送的内容完全一致，不能有多余空格；\n"
        "2. 签名算法为 HMAC-SHA256（使用 API Secret），结果进行 Base64 编码；\n"
        "3. 时间戳为 UTC 时间（ISO 8601，精确到毫秒），服务器时钟需同步，"
        "偏差超过 30 秒的请求会被拒绝；\n"
        "4. API Key、Passphrase 与 Secret 属于同一组密钥。\n\n"
        "请勿向任何人（包括我们）提供 API Secret 或 Passphrase，"
        "我们只需请求内容和错误信息即可协助排查。"
        "如怀疑密钥已泄露，请立即删除并重新创建。\n\n"
        "{agent.name}，工单 {ticket.number}")),
    DefaultMacro("强平说明", "zh", (
        "{customer.name}，您好！\n\n"
        "对于您仓位的损失我们深表遗憾。当仓位保证金低于维持保证金时会触发强制平仓。"
        "我们使用标记价格（多家主流交易所的指数价格）而非最新成交价判断强平，"
        "因此单一平台的瞬时插针不会导致强平。\n\n"
        "我已根据当时的标记价格核查了工单 {ticket.number} 中的强平记录，稍后会将开仓价、杠杆倍数、"
        "维持保证金率和强平价格等明细发给您。降低杠杆、追加保证金或设置止损，可以让仓位更好地应对剧烈波动。\n\n"
        "{agent.name}")),
    DefaultMacro("P2P 申诉：所需证据", "zh", (
        "{customer.name}，您好！\n\n"
        "我们已受理您的 P2P 订单申诉（{ticket.number}）。请在此上传：\n"
        "- 付款凭证：显示金额、时间、收款人姓名和账号的银行或钱包回单；\n"
        "- 在银行 App 中查看该笔付款的录屏或截图；\n"
        "- 与对方在订单聊天以外的沟通记录（如有）。\n\n"
        "请在订单聊天内沟通，切勿在平台外放币或转账。"
        "仲裁员会审核双方证据，通常在 24 小时内给出结果，"
        "在此之前数字资产由平台托管。\n\n"
        "{agent.name}")),
    DefaultMacro("防钓鱼提醒", "zh", (
        "{customer.name}，您好！\n\n"
        "感谢您的举报。您收到的消息并非来自我们。我们绝不会索要您的密码、两步验证码或短信验证码、"
        "助记词或私钥，绝不会要求您把资产转到所谓的“安全地址”，也不会用私人账号联系您。\n\n"
        "请不要点击该消息中的链接。如果您已在该网站输入过信息，"
        "请立即修改密码、通过官方 App 重置两步验证，"
        "并检查 API 密钥和提现白名单。"
        "您可以使用官方验证工具核实网站、邮箱或账号是否为官方渠道。\n\n"
        "{agent.name}，工单 {ticket.number}")),
)


async def seed_default_macros(session: AsyncSession) -> int:
    """Add the default macros (global, zh and en) that are not there yet; returns how many were
    added. Safe to run again: a title already used in a language is left alone."""
    existing = {(title, language) for title, language in (await session.execute(
        select(Macro.title, Macro.language).where(Macro.owner_agent_id.is_(None)))).all()}
    added = 0
    for default in DEFAULT_MACROS:
        if (default.title, default.language) in existing:
            continue
        session.add(Macro(title=default.title, body=default.body, language=default.language))
        added += 1
    await session.flush()
    return added
