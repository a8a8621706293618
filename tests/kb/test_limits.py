"""What anyone may do without signing in is rate limited per address by the application's one
limiter (``kefu.trust.ratelimit``): votes (30 per 10 minutes, the API and the help center's form
together) and suggestions (120 per 10 minutes), refused with 429 and ``Retry-After``."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from kefu.trust.ratelimit import Rate, limiter_of
from tests.factories import make_agent
from tests.kb.support import make_article, make_category

VOTES = "/api/v1/kb/articles/deposit-not-credited/votes"


async def test_votes_share_one_budget_per_address(app: FastAPI, client: httpx.AsyncClient
                                                  ) -> None:
    admin = await make_agent(app, "admin@kefu.test", role="admin")
    await make_category(app, admin)
    await make_article(app, admin)
    for _ in range(30):
        assert (await client.post(VOTES, json={"lang": "en", "helpful": True})).status_code \
            in (200, 201)
    refused = await client.post(VOTES, json={"lang": "en", "helpful": True})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 20  # one vote back every 20 s
    form = await client.post("/help/en/articles/deposit-not-credited/vote",
                             data={"helpful": "yes"})
    assert form.status_code == 429  # the form draws on the same budget

    elsewhere = httpx.ASGITransport(app=app, client=("203.0.113.7", 4242))
    async with httpx.AsyncClient(transport=elsewhere, base_url="http://kefu.test") as other:
        assert (await other.post(VOTES, json={"lang": "en", "helpful": True})).status_code \
            == 201


async def test_suggestions_are_limited_per_address(app: FastAPI, client: httpx.AsyncClient
                                                   ) -> None:
    limiter = limiter_of(app)
    for _ in range(120):  # as if this address had asked 120 times
        assert await limiter.hit("kb_suggestions:ip:127.0.0.1", Rate(120, 600)) is None
    refused = await client.post("/api/v1/kb/suggestions",
                                json={"q": "deposit not credited", "lang": "en"})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
