"""What the assistant says about the customer's latest KYC application (the ``kyc_status``
flow in ``kefu.assistant.flows``): its texts, in English and Chinese.

A rejection reason is explained with the help center's own words: each text below is the
matching item of ``kyc-rejected-documents`` (a test keeps them in step with the demo
articles). A reason code Kefu does not know has no text, so the assistant never guesses what it
means: the case goes to an agent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from kefu.assistant.answer import localized

REJECTION_REASONS: Final[dict[str, dict[str, str]]] = {
    "document_blurry": {
        "en": "Image unclear or glare: the text or the document number could not be read. Lay "
              "the document on a dark, flat surface, turn off the flash, avoid lamps directly "
              "above, and hold the phone parallel to the document.",
        "zh": "图片模糊或反光：文字或证件号码无法识别。请把证件平放在深色桌面上，关闭闪光灯，"
              "避开正上方的灯光，手机与证件保持平行。"},
    "document_expired": {
        "en": "Document expired or expiring within 30 days: use a valid document.",
        "zh": "证件已过期或 30 天内即将过期：请使用有效证件。"},
    "name_mismatch": {
        "en": "Name does not match: the name in your profile must match the document exactly, "
              "including middle names, spelling and order. If your profile has a typo, correct "
              "it first.",
        "zh": "姓名不一致：账户资料中的姓名必须与证件完全一致，包括中间名、拼写和顺序。如果资料"
              "里有错别字，请先更正。"},
    "selfie_mismatch": {
        "en": "Face does not match the document: use a document with a recent photo; if your "
              "appearance changed a lot, use your newest document.",
        "zh": "人脸与证件照片不符：请使用照片较新的证件；如果外貌变化较大，请使用您最新的证件。"},
    "unsupported_document": {
        "en": "Document type not accepted: student cards, work badges, bank cards, social "
              "security cards and temporary paper IDs are not accepted. Use a passport, national "
              "ID card or, where listed, a driver's licence.",
        "zh": "证件类型不支持：学生证、工作证、银行卡、社保卡和临时身份证明均不接受。请使用护照、"
              "身份证，或所在国家支持的驾驶证。"},
    "region_restricted": {
        "en": "Country not supported: residents of some countries cannot be verified, and a VPN "
              "does not change this.",
        "zh": "国家/地区不支持：部分国家和地区的居民无法完成认证，使用 VPN 也不会改变这一点。"},
}
"""Reason code → the help center's explanation and steps (kyc-rejected-documents)."""

UNFIXABLE: Final = frozenset({"region_restricted"})
"""Reasons a new submission cannot cure: the assistant does not suggest resubmitting."""

TEXTS: Final[dict[str, dict[str, str]]] = {
    "pending": {
        "en": "Your application for verification Level {level} is under review: you submitted "
              "it {ago}. Most applications are approved in about 10 minutes, and every one is "
              "decided within 48 hours; nothing is needed from you. Please do not submit again: "
              "that moves you to the back of the queue. You receive an email and an in-app "
              "message as soon as it is decided.",
        "zh": "您申请的 Level {level} 身份认证正在审核中，提交于{ago}。大部分申请约 10 分钟"
              "即可通过，所有申请都会在 48 小时内给出结果，您无需任何操作。审核期间请勿"
              "重复提交，否则会重新排到队尾。审核完成后会第一时间通过邮件和站内信通知您。"},
    "pending_overdue": {
        "en": "Your application for verification Level {level} has been under review for "
              "{waited}, longer than our 48-hour limit.",
        "zh": "您申请的 Level {level} 身份认证已审核 {waited}，超过了 48 小时的时限。"},
    "rejected": {
        "en": "Your application for verification Level {level} was rejected {ago}. The review "
              "found:\n{reasons}",
        "zh": "您申请的 Level {level} 身份认证已于{ago}被拒绝。记录的原因：\n{reasons}"},
    "rejected_unexplained": {
        "en": "Your application for verification Level {level} was rejected {ago}.",
        "zh": "您申请的 Level {level} 身份认证已于{ago}被拒绝。"},
    "resubmission_unexplained": {
        "en": "Your application for verification Level {level} needs something more before it "
              "can be decided (Action required, since {ago}).",
        "zh": "您申请的 Level {level} 身份认证需要补充材料后才能完成审核（需补充材料，"
              "自{ago}起）。"},
    "resubmit": {
        "en": "Fix what is listed and resubmit under Account > Verification. You can submit up "
              "to 3 times in 24 hours; after the third rejection, wait 24 hours.",
        "zh": "请改正后在【账户】-【身份认证】中重新提交。24 小时内最多可提交 3 次；第三次被拒后需"
              "等待 24 小时。"},
    "resubmission_required": {
        "en": "Your application for verification Level {level} needs something more before it "
              "can be decided (Action required, since {ago}):\n{reasons}\nUpload only that, "
              "under Account > Verification.",
        "zh": "您申请的 Level {level} 身份认证需要补充材料后才能完成审核（需补充材料，"
              "自{ago}起）：\n{reasons}\n请在【账户】-【身份认证】中只上传所要求的内容。"},
}


def reason_lines(reasons: Sequence[str], lang: str) -> str | None:
    """The reasons as a bulleted list in ``lang``; None when there is none or one Kefu cannot
    explain (then only an agent can)."""
    if not reasons or any(code not in REJECTION_REASONS for code in reasons):
        return None
    return "\n".join(f"- {localized(REJECTION_REASONS[code], lang)}" for code in reasons)


def say(key: str, lang: str, **fields: object) -> str:
    return localized(TEXTS[key], lang, **fields)
