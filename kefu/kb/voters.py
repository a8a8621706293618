"""Who casts a "was this helpful?" vote, so that each voter counts once per article.

Signed-in people are themselves (agent, customer, visitor id). Anonymous readers get a random
id in an HttpOnly cookie on their first vote; clearing it lets them vote again, which is the
price of not requiring a sign-in (the rate limit per address caps the damage)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request, Response

from kefu.accounts.actor import Actor
from kefu.core.ids import new_token
from kefu.kb.deflection import KEY_PATTERN
from kefu.kb.service import voter_of

VOTER_COOKIE = "kefu_voter"
VOTER_COOKIE_MAX_AGE = 365 * 24 * 3600


@dataclass(frozen=True)
class Voter:
    key: str
    new_cookie: str | None  # set it on the response when not None

    def remember(self, request: Request, response: Response) -> None:
        if self.new_cookie is not None:
            response.set_cookie(VOTER_COOKIE, self.new_cookie, max_age=VOTER_COOKIE_MAX_AGE,
                                httponly=True, samesite="lax", path="/",
                                secure=request.app.state.settings.session_cookie_secure)


def known_voter(request: Request, actor: Actor) -> str | None:
    """The voter key of a reader who may have voted before (signed in, or with the cookie)."""
    cookie = request.cookies.get(VOTER_COOKIE)
    return voter_of(actor, cookie if cookie and KEY_PATTERN.match(cookie) else None)


def voter_for(request: Request, actor: Actor) -> Voter:
    cookie = request.cookies.get(VOTER_COOKIE)
    known = cookie if cookie and KEY_PATTERN.match(cookie) else None
    key = voter_of(actor, known)
    if key is not None:
        return Voter(key, None)
    fresh = new_token(18)
    return Voter(f"anon:{fresh}", fresh)
