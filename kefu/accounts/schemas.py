from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

Role = Literal["agent", "supervisor", "admin"]
AgentStatus = Literal["online", "away", "offline"]
LanguageCode = str
# Passwords as typed: a space at either end is part of it (the other strings are trimmed).
Password = Annotated[str, StringConstraints(strip_whitespace=False, min_length=10,
                                            max_length=200)]
# What routing matches agents on: language tags ("zh", "pt-BR") and short skill names.
AgentLanguage = Annotated[str, StringConstraints(
    min_length=2, max_length=16, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
Skill = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TeamRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    language: str
    description: str


class TeamCreate(_Strict):
    name: str = Field(min_length=1, max_length=100)
    language: str = Field(default="en", min_length=2, max_length=16)
    description: str = Field(default="", max_length=2000)


class TeamUpdate(_Strict):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    language: str | None = Field(default=None, min_length=2, max_length=16)
    description: str | None = Field(default=None, max_length=2000)


class TeamList(BaseModel):
    items: list[TeamRead]


class AgentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    email: str
    display_name: str
    role: Role
    languages: list[str]
    skills: list[str]
    capacity: int
    status: AgentStatus
    is_active: bool
    totp_enabled: bool
    team_ids: list[uuid.UUID] = []


class AgentCreate(_Strict):
    email: EmailStr
    password: Password
    display_name: str = Field(min_length=1, max_length=100)
    role: Role = "agent"
    languages: list[AgentLanguage] = Field(default_factory=lambda: ["en"], max_length=20)
    skills: list[Skill] = Field(default_factory=list, max_length=50)
    capacity: int = Field(default=5, ge=0, le=100)
    team_ids: list[uuid.UUID] = Field(default_factory=list, max_length=50)


class AgentUpdate(_Strict):
    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    role: Role | None = None
    languages: list[AgentLanguage] | None = Field(default=None, max_length=20)
    skills: list[Skill] | None = Field(default=None, max_length=50)
    capacity: int | None = Field(default=None, ge=0, le=100)
    status: AgentStatus | None = None
    is_active: bool | None = None
    team_ids: list[uuid.UUID] | None = Field(default=None, max_length=50)
    password: Password | None = None
    unlock: bool | None = None


class AgentList(BaseModel):
    items: list[AgentRead]


class CustomerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    external_id: str
    display_name: str
    email: str | None
    language: str
    vip_tier: int
    flags: list[str]
    is_visitor: bool
    created_at: datetime


class CustomerList(BaseModel):
    items: list[CustomerRead]


class LoginRequest(_Strict):
    email: str = Field(min_length=3, max_length=254)
    password: Annotated[str, StringConstraints(strip_whitespace=False, min_length=1,
                                               max_length=200)]


class LoginResponse(BaseModel):
    agent: AgentRead
    mfa_required: bool
    csrf_token: str


class TwoFactorCode(_Strict):
    code: str = Field(min_length=6, max_length=10)


class TwoFactorSetup(BaseModel):
    secret: str
    otpauth_uri: str


class MeRead(BaseModel):
    kind: str
    agent: AgentRead | None = None
    customer: CustomerRead | None = None
    visitor_id: str | None = None
    csrf_token: str | None = None
    must_enroll_2fa: bool = False


class ApiTokenCreate(_Strict):
    name: str = Field(min_length=1, max_length=100)
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class ApiTokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class ApiTokenCreated(ApiTokenRead):
    token: str = Field(description="Shown once; store it now.")


class ApiTokenList(BaseModel):
    items: list[ApiTokenRead]


class SecurityPolicy(_Strict):
    require_agent_2fa: bool


class VisitorRead(BaseModel):
    visitor_id: str
    token: str = Field(description="Send as the X-Kefu-Visitor header.")
