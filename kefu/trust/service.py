"""What other domains call: the trust domain's public functions in one place.

- The send path (``tickets``, ``realtime``, the assistant): ``anti_phishing_code`` + ``stamp``
  on every outbound email and agent/assistant message; ``compliance_state`` + ``tipoff_check``
  (or ``ensure_no_tipoff``) before a macro or an assistant answer reaches a held customer;
  ``official_domains`` as the allow-list of ``guard.outbound.check_outbound``.
- The write path: ``record_flag`` for abuse, scam, secret and phishing-override signals;
  ``ensure_not_cooling_down`` / ``cooldown_for`` before accepting a customer's message, and
  ``cooldowns_in_force`` for many senders at once (the chat's batches).
- Agents and the assistant: ``create_step_up_link`` (and ``link_text``) for 2FA resets,
  unfreezes and appeals.
- Routes: ``rate_limit(...)`` as a FastAPI dependency.
"""

from kefu.trust.antiphishing import anti_phishing_code, stamp
from kefu.trust.compliance import (
    ComplianceState,
    compliance_state,
    ensure_no_tipoff,
    refresh_compliance,
    tipoff_check,
)
from kefu.trust.ratelimit import rate_limit
from kefu.trust.review import (
    cooldown_for,
    cooldowns_in_force,
    ensure_not_cooling_down,
    flagged_codes,
    record_flag,
)
from kefu.trust.stepup import StepUpLink, create_step_up_link, link_text
from kefu.trust.verify import agent_public_id, official_domains, verify_value

__all__ = ["ComplianceState", "StepUpLink", "agent_public_id", "anti_phishing_code",
           "compliance_state", "cooldown_for", "cooldowns_in_force", "create_step_up_link",
           "ensure_no_tipoff", "ensure_not_cooling_down", "flagged_codes", "link_text",
           "official_domains", "rate_limit", "record_flag", "refresh_compliance", "stamp",
           "tipoff_check", "verify_value"]
