"""docs/exchange-api.yaml documents the step-up half of the exchange API as the code speaks it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml
from pydantic import BaseModel

from kefu.core import clock
from kefu.exchange.callbacks import SIGNATURE_HEADER
from kefu.exchange.schemas import IdentityCheckRequest, IdentityCheckResult, IdentityCheckStarted

SPEC = Path(__file__).resolve().parents[2] / "docs" / "exchange-api.yaml"
MODELS: dict[str, type[BaseModel]] = {
    "IdentityCheckRequest": IdentityCheckRequest,
    "IdentityCheckStarted": IdentityCheckStarted,
    "IdentityCheckResult": IdentityCheckResult,
}


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SPEC.read_text())
    return loaded


def validator(spec: dict[str, Any], name: str) -> Any:
    return jsonschema_rs.Draft202012Validator(
        {"$ref": f"#/components/schemas/{name}", "components": spec["components"]},
        validate_formats=True)


@pytest.mark.parametrize("name", list(MODELS))
def test_identity_schemas_match_the_models(spec: dict[str, Any], name: str) -> None:
    schema = spec["components"]["schemas"][name]
    fields = MODELS[name].model_fields
    assert set(schema["properties"]) == set(fields)
    assert set(schema["required"]) == {n for n, f in fields.items() if f.is_required()}
    assert all("description" in prop for prop in schema["properties"].values())


def test_what_kefu_sends_and_accepts_is_valid_for_the_spec(spec: dict[str, Any]) -> None:
    request = IdentityCheckRequest(
        reference="3b4e", purpose="2fa_reset", callback_url="https://kefu.example/cb",
        return_url="https://kefu.example/verify/identity/t", expires_at=clock.now()
        + timedelta(minutes=15))
    validator(spec, "IdentityCheckRequest").validate(request.model_dump(mode="json"))
    result = {"reference": "3b4e", "external_id": "u1", "result": "verified",
              "method": "passkey", "authenticated_at": "2026-01-01T00:00:00Z"}
    validator(spec, "IdentityCheckResult").validate(result)
    IdentityCheckResult.model_validate(result)
    assert not validator(spec, "IdentityCheckStarted").is_valid({"redirect_url": "ftp://x"})


def test_route_and_callback_are_documented(spec: dict[str, Any]) -> None:
    post = spec["paths"]["/v1/customers/{external_id}/identity-checks"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/IdentityCheckRequest"}
    assert post["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/IdentityCheckStarted"}
    assert {"401", "404", "5XX"} <= post["responses"].keys()
    callback = spec["webhooks"]["identityCheckResult"]["post"]
    assert [p["name"] for p in callback["parameters"]] == [SIGNATURE_HEADER]
    assert callback["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/IdentityCheckResult"}
    assert {"200", "401", "404", "409", "410"} <= callback["responses"].keys()
