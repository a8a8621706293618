"""The exchange adapter over HTTP: calls the back-office API documented in docs/exchange-api.yaml.

Every failure reaches callers as ``CustomerNotFound`` or ``ExchangeUnavailable``, never as an
httpx or pydantic exception, so the agent console can always say "context unavailable" and carry
on. Responses are validated against the schemas, and a context for another customer than the one
asked for is refused, so a confused back office cannot show an agent the wrong person's money.
The API key is sent as a bearer token and never logged or put in an error message.

A ``CircuitBreaker`` (``kefu.exchange.breaker``) stands in front of the requests: after a few
outages in a row the adapter fails fast, without a request, until a cool-off has passed. Only
outages count (timeout, unreachable, 5xx, 429, a body that is not JSON); an answer about the
customer (404 ``customer_not_found``, another 4xx, a context that does not match the schema)
means the back office is up.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from kefu.core.errors import KefuError
from kefu.exchange.base import CustomerNotFound, ExchangeUnavailable, normalize_txid
from kefu.exchange.breaker import CircuitBreaker
from kefu.exchange.schemas import (
    CustomerContext,
    Deposit,
    DepositList,
    IdentityCheckRequest,
    IdentityCheckStarted,
    KycReview,
)

logger = logging.getLogger(__name__)

_M = TypeVar("_M", bound=BaseModel)
_MAX_ERRORS_REPORTED = 3


class HttpExchangeAdapter:
    """An ``ExchangeAdapter`` backed by one pooled ``httpx.AsyncClient``; create it once in the
    application's lifespan and ``aclose()`` it there."""

    def __init__(
        self,
        base_url: str,
        api_key: str | SecretStr | None,
        timeout_s: float,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("exchange base URL must start with http:// or https://")
        key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        headers = {"Accept": "application/json", "User-Agent": "kefu-exchange-adapter/1"}
        if key:
            headers["Authorization"] = f"Bearer {key}"  # httpx masks it in reprs
        self._base_url = base_url.rstrip("/")
        self._timeout_s = timeout_s
        self.breaker = breaker or CircuitBreaker()
        self._client = httpx.AsyncClient(
            base_url=self._base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout_s),
            transport=transport,
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        return f"HttpExchangeAdapter(base_url={self._base_url!r})"

    async def customer_context(self, external_id: str) -> CustomerContext:
        body = await self._call("GET", external_id, "context", params={})
        context = _parse(CustomerContext, _without_malformed_kyc_review(body), "customer context")
        if context.external_id != external_id:
            raise ExchangeUnavailable(
                "exchange back office answered with the context of another customer; refused"
            )
        return context

    async def find_deposit(self, external_id: str, *, txid: str) -> Deposit | None:
        wanted = normalize_txid(txid)
        if not wanted:
            return None
        body = await self._call("GET", external_id, "deposits", params={"txid": txid.strip()})
        # Filter again here: a back office that ignores ?txid= must not yield someone's
        # unrelated deposit as "the one you asked about".
        for deposit in _parse(DepositList, body, "deposit list").deposits:
            if deposit.txid is not None and normalize_txid(deposit.txid) == wanted:
                return deposit
        return None

    async def start_identity_check(
        self, external_id: str, check: IdentityCheckRequest
    ) -> IdentityCheckStarted:
        body = await self._call("POST", external_id, "identity-checks",
                                json=check.model_dump(mode="json"))
        return _parse(IdentityCheckStarted, body, "identity check answer")

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> HttpExchangeAdapter:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _call(
        self, method: str, external_id: str, resource: str, *,
        params: dict[str, str] | None = None, json: dict[str, Any] | None = None,
    ) -> Any:
        """One request about one customer; the JSON body of a 200 or 201, or the mapped error."""
        if not external_id:
            raise CustomerNotFound(external_id)  # no request: "" would address another route
        path = f"/v1/customers/{_segment(external_id)}/{resource}"
        admission = self.breaker.allow()
        if admission is None:
            raise ExchangeUnavailable(
                f"exchange back office failed {self.breaker.failures} times in a row; Kefu "
                f"waits {self.breaker.cool_off_s:g}s before it tries again (circuit open)",
                outage=True,
            )
        try:
            body = await self._request(method, path, external_id, params=params, json=json)
        except ExchangeUnavailable as exc:
            if exc.outage:
                self.breaker.failed(admission)
            else:
                self.breaker.succeeded(admission)  # it answered, just nothing Kefu can use
            raise
        except KefuError:
            self.breaker.succeeded(admission)  # it answered about the customer
            raise
        except BaseException:
            self.breaker.abandoned(admission)
            raise
        self.breaker.succeeded(admission)
        return body

    async def _request(
        self, method: str, path: str, external_id: str, *,
        params: dict[str, str] | None, json: dict[str, Any] | None,
    ) -> Any:
        """The request itself and the mapping of its failures (``outage=True`` for those that
        say the back office is down rather than that it answered)."""
        try:
            # httpx's timeout bounds each network operation; this bounds the whole call.
            async with asyncio.timeout(self._timeout_s):
                response = await self._client.request(method, path, params=params, json=json)
        except (httpx.TimeoutException, TimeoutError) as exc:
            logger.warning("exchange back office timed out", extra={"path": path})
            raise ExchangeUnavailable(
                f"exchange back office did not answer within {self._timeout_s:g}s", outage=True
            ) from exc
        except httpx.HTTPError as exc:
            logger.warning(
                "exchange back office unreachable",
                extra={"path": path, "error": type(exc).__name__},
            )
            raise ExchangeUnavailable(
                f"could not reach the exchange back office ({type(exc).__name__})", outage=True
            ) from exc
        status = response.status_code
        if status in (200, 201):
            try:
                return response.json()
            except ValueError as exc:
                raise ExchangeUnavailable(
                    "exchange back office sent a malformed response: body is not JSON",
                    outage=True,
                ) from exc
        code = _error_code(response)
        logger.warning(
            "exchange back office refused a request",
            extra={"path": path, "status": status, "code": code},
        )
        if status == 404 and code == "customer_not_found":
            raise CustomerNotFound(external_id)
        if status == 404:
            raise ExchangeUnavailable(
                "exchange back office answered 404 without code customer_not_found; "
                "is KEFU_EXCHANGE_BASE_URL right?"
            )
        if status in (401, 403):
            raise ExchangeUnavailable(
                f"exchange back office rejected Kefu's API key (HTTP {status}); "
                "check KEFU_EXCHANGE_API_KEY"
            )
        if status == 429:
            raise ExchangeUnavailable(
                "exchange back office is rate limiting Kefu (HTTP 429)", outage=True)
        detail = f": {code}" if code else ""
        raise ExchangeUnavailable(f"exchange back office answered HTTP {status}{detail}",
                                  outage=status >= 500)


def _segment(external_id: str) -> str:
    """The id as one URL path segment; ``.`` and ``..`` are encoded so they cannot climb."""
    if external_id in (".", ".."):
        return external_id.replace(".", "%2E")
    return quote(external_id, safe="")


def _error_code(response: httpx.Response) -> str | None:
    """``code`` of a documented ``{"error": {"code", "message"}}`` body, else ``None``.

    The message is not kept: it may quote customer data, and it is the exchange's, not ours.
    """
    try:
        code = response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return None
    return code[:64] if isinstance(code, str) else None


def _parse(model: type[_M], body: Any, what: str) -> _M:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise ExchangeUnavailable(
            f"exchange back office sent a malformed {what}: {_problems(exc)}"
        ) from exc


def _without_malformed_kyc_review(body: Any) -> Any:
    """The context without its ``kyc_review`` when only that is malformed (logged): the latest
    KYC application is an addition to the context, and one the back office got wrong must not
    hide the customer's deposits and withdrawals from the agent. The panel then shows no
    application, as for a back office that sends none."""
    if not isinstance(body, dict) or body.get("kyc_review") is None:
        return body
    try:
        KycReview.model_validate(body["kyc_review"])
    except ValidationError as exc:
        logger.warning("exchange back office sent a malformed kyc_review; left out: %s",
                       _problems(exc))
        return {**body, "kyc_review": None}
    return body


def _problems(exc: ValidationError) -> str:
    """Locations and error types only: the inputs are customer data and stay out of logs."""
    problems = [
        f"{'.'.join(str(part) for part in error['loc']) or '(root)'}: {error['type']}"
        for error in exc.errors(include_input=False, include_url=False)
    ]
    summary = "; ".join(problems[:_MAX_ERRORS_REPORTED])
    if len(problems) > _MAX_ERRORS_REPORTED:
        summary += f"; +{len(problems) - _MAX_ERRORS_REPORTED} more"
    return summary
