"""Credentials: argon2 password hashes, opaque tokens stored as SHA-256, customer JWTs, TOTP."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from kefu.core.errors import Unauthorized

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a login takes as long whether or not it exists.
_DUMMY_HASH = _hasher.hash("kefu-timing-equaliser")
MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def token_digest(token: str) -> str:
    """Opaque tokens (session cookies, API tokens) are stored only as this digest."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token_for(secret_key: str, session_token: str) -> str:
    """The CSRF token is bound to the session: an HMAC of the session cookie value."""
    return hmac.new(secret_key.encode(), b"csrf:" + session_token.encode(), "sha256").hexdigest()


def csrf_matches(secret_key: str, session_token: str, presented: str) -> bool:
    return hmac.compare_digest(csrf_token_for(secret_key, session_token), presented)


@dataclass(frozen=True)
class CustomerClaims:
    sub: str
    issued_at: datetime
    expires_at: datetime
    name: str | None = None
    email: str | None = None
    lang: str | None = None
    vip: int | None = None
    jti: str | None = None


def decode_customer_jwt(
    token: str, *, secret: str, max_lifetime_s: int, leeway_s: int, now: datetime
) -> CustomerClaims:
    """Verify a customer token issued by the exchange's backend (HS256, shared secret).

    Requires ``sub``, ``iat`` and ``exp``; refuses tokens whose lifetime exceeds the configured
    maximum or that claim to be issued in the future, so a leaked token is only good briefly."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            options={"require": ["sub", "iat", "exp"]},
            leeway=leeway_s,
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("customer token has expired", code="token_expired") from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("customer token is not valid", code="invalid_token") from exc
    iat, exp = claims["iat"], claims["exp"]
    if not isinstance(iat, int | float) or not isinstance(exp, int | float):
        raise Unauthorized("customer token has invalid times", code="invalid_token")
    if exp - iat > max_lifetime_s:
        raise Unauthorized("customer token lives longer than allowed", code="token_too_long")
    if iat > now.timestamp() + leeway_s:
        raise Unauthorized("customer token is issued in the future", code="invalid_token")
    sub = claims["sub"]
    if not isinstance(sub, str) or not sub.strip() or len(sub) > 128:
        raise Unauthorized("customer token has an invalid subject", code="invalid_token")
    vip = claims.get("vip")
    if vip is not None and (not isinstance(vip, int) or isinstance(vip, bool) or not 0 <= vip <= 9):
        raise Unauthorized("customer token has an invalid vip tier", code="invalid_token")

    def optional_str(key: str, limit: int) -> str | None:
        value = claims.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or len(value) > limit:
            raise Unauthorized(f"customer token has an invalid {key}", code="invalid_token")
        return value

    return CustomerClaims(
        sub=sub,
        issued_at=datetime.fromtimestamp(iat, UTC),
        expires_at=datetime.fromtimestamp(exp, UTC),
        name=optional_str("name", 100),
        email=optional_str("email", 254),
        lang=optional_str("lang", 16),
        vip=vip,
        jti=optional_str("jti", 128),
    )


def issue_customer_jwt(
    *,
    secret: str,
    sub: str,
    now: datetime,
    lifetime_s: int = 900,
    name: str | None = None,
    email: str | None = None,
    lang: str | None = None,
    vip: int | None = None,
    jti: str | None = None,
) -> str:
    """What the exchange's backend does; used by ``kefu token customer`` and the demo pages."""
    claims: dict[str, Any] = {"sub": sub, "iat": int(now.timestamp())}
    claims["exp"] = claims["iat"] + lifetime_s
    for key, value in (("name", name), ("email", email), ("lang", lang), ("vip", vip),
                       ("jti", jti)):
        if value is not None:
            claims[key] = value
    return jwt.encode(claims, secret, algorithm="HS256")


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name="Kefu")


def verify_totp(secret: str, code: str, *, now: datetime, last_counter: int | None) -> int | None:
    """Return the accepted time-step counter, or None. One step of drift is allowed; a code whose
    step was already used is refused (no replay)."""
    code = code.strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // totp.interval
    for counter in (current - 1, current, current + 1):
        if last_counter is not None and counter <= last_counter:
            continue
        if hmac.compare_digest(totp.generate_otp(counter), code):
            return counter
    return None
