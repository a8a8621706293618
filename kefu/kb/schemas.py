"""Knowledge base and status page: what the API accepts and returns."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from kefu.core import clock
from kefu.kb.languages import LANGUAGE_TAG_PATTERN, canonical_language

PublicationStatus = Literal["draft", "published"]
StatusKind = Literal["maintenance", "incident", "network"]
StatusDirection = Literal["deposit", "withdrawal"]
StatusState = Literal["operational", "degraded", "delayed", "suspended"]
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
TAG_PATTERN = r"^[a-z0-9][a-z0-9:_-]{0,63}$"
MAX_BODY = 100_000


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _unix_lines(value: str) -> str:
    """Browsers send a textarea's lines as CRLF: the same words are the same body."""
    return value.replace("\r\n", "\n").replace("\r", "\n")


def _required_text(value: str) -> str:
    value = _no_nul(value).strip()
    if not value:
        raise ValueError("must not be empty")
    return value


LanguageTag = Annotated[str, StringConstraints(min_length=2, max_length=16,
                                               pattern=LANGUAGE_TAG_PATTERN),
                        AfterValidator(canonical_language)]
Slug = Annotated[str, StringConstraints(min_length=1, max_length=120, pattern=SLUG_PATTERN)]
ShortSlug = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=SLUG_PATTERN)]
ArticleTag = Annotated[str, StringConstraints(pattern=TAG_PATTERN)]
Title = Annotated[str, StringConstraints(min_length=1, max_length=200),
                  AfterValidator(_required_text)]
Summary = Annotated[str, StringConstraints(max_length=500), AfterValidator(_no_nul)]
Body = Annotated[str, StringConstraints(min_length=1, max_length=MAX_BODY),
                 AfterValidator(_required_text), AfterValidator(_unix_lines)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=100),
                 AfterValidator(_required_text)]
Description = Annotated[str, StringConstraints(max_length=500), AfterValidator(_no_nul)]
Comment = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_no_nul)]
# A time without a zone is read as UTC, as the status editor's form reads it.
UtcTime = Annotated[datetime, AfterValidator(clock.ensure_utc)]
Query = Annotated[str, StringConstraints(max_length=1000), AfterValidator(_no_nul)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- categories


class SectionWrite(_Strict):
    slug: ShortSlug
    names: dict[LanguageTag, Name] = Field(min_length=1, max_length=50)
    position: int = Field(default=0, ge=0, le=100_000)


class CategoryWrite(_Strict):
    """Create or replace a category and its sections (sections not listed are removed; their
    articles keep the category and lose the section)."""

    names: dict[LanguageTag, Name] = Field(min_length=1, max_length=50)
    descriptions: dict[LanguageTag, Description] = Field(default_factory=dict, max_length=50)
    position: int = Field(default=0, ge=0, le=100_000)
    ticket_category: str = Field(default="", max_length=32, pattern=r"^[a-z0-9_-]*$")
    sections: list[SectionWrite] = Field(default_factory=list, max_length=100)


class SectionRead(BaseModel):
    slug: str
    names: dict[str, str]
    position: int


class CategoryRead(BaseModel):
    slug: str
    names: dict[str, str]
    descriptions: dict[str, str]
    position: int
    ticket_category: str
    sections: list[SectionRead]


class CategoryList(BaseModel):
    items: list[CategoryRead]


# ---------------------------------------------------------------- articles


class TranslationWrite(_Strict):
    """``base_version``: the version the editor started from (0: none, a new translation). When
    given and another version was saved since, the save is refused (409 ``edit_conflict``)
    unless it changes nothing; left out, the save replaces whatever is there."""

    title: Title
    summary: Summary = ""
    body_md: Body
    base_version: int | None = Field(default=None, ge=0)


class ArticleCreate(_Strict):
    slug: Slug
    category: ShortSlug
    section: ShortSlug | None = None
    tags: list[ArticleTag] = Field(default_factory=list, max_length=30)
    position: int = Field(default=100, ge=0, le=100_000)
    lang: LanguageTag
    title: Title
    summary: Summary = ""
    body_md: Body


class ArticleUpdate(_Strict):
    """Fields left out stay as they are; ``section: null`` takes the article out of its
    section.

    ``base_metadata_etag``: the article's ``metadata_etag`` as the editor loaded it. When given
    and the category, section, tags or position changed since, the save is refused (409
    ``edit_conflict``) unless it leaves them as they now are; left out, the save replaces
    whatever is there."""

    category: ShortSlug | None = None
    section: ShortSlug | None = None
    tags: list[ArticleTag] | None = Field(default=None, max_length=30)
    position: int | None = Field(default=None, ge=0, le=100_000)
    base_metadata_etag: str | None = Field(default=None, min_length=1, max_length=64,
                                           pattern=r"^[0-9a-f]+$")


class PublishRequest(_Strict):
    lang: LanguageTag | None = Field(
        default=None, description="One translation (publishing it publishes the article too); "
        "leave out for the article alone: its translations keep their states, so publishing "
        "shows again the ones that were published and unpublishing hides them all.")
    version: int | None = Field(
        default=None, ge=1, description="With `lang`: the version of the translation that was "
        "reviewed (`GET …/translations/{lang}/versions`). When a colleague saved a newer one "
        "since, nothing is published: 409 `edit_conflict`.")


class TranslationRead(BaseModel):
    lang: str
    title: str
    summary: str
    body_md: str
    body_html: str
    status: PublicationStatus
    url: str
    updated_at: datetime
    published_at: datetime | None
    updated_by: str | None = Field(description="Agent name; null for imported content.")
    http_images: list[str] = Field(
        default_factory=list,
        description="Images in `body_md` on plain `http://`: the help pages cannot load them "
                    "(their CSP allows https only) and show a link instead; use https.")


class ArticleRead(BaseModel):
    slug: str
    category: str
    section: str | None
    tags: list[str]
    status: PublicationStatus
    position: int
    views: int
    helpful_count: int
    unhelpful_count: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    metadata_etag: str = Field(description="Changes whenever the category, section, tags or "
                               "position change (not with translations or publishing): send "
                               "it back as `base_metadata_etag` to `PATCH` the article "
                               "without overwriting someone else's change.")
    translations: list[TranslationRead]


class ArticleSummary(BaseModel):
    slug: str
    category: str
    section: str | None
    tags: list[str]
    status: PublicationStatus
    title: str
    lang: str = Field(description="Language of `title`.")
    languages: dict[str, PublicationStatus]
    views: int
    helpful_count: int
    unhelpful_count: int
    updated_at: datetime


class ArticleList(BaseModel):
    items: list[ArticleSummary]
    next_cursor: str | None


class VersionRead(BaseModel):
    number: int
    title: str
    summary: str
    author: str | None
    created_at: datetime


class VersionList(BaseModel):
    items: list[VersionRead]


class VersionDetail(VersionRead):
    body_md: str
    diff: str = Field(description="Unified diff from the previous version (empty for the "
                      "first).")


# ---------------------------------------------------------------- votes and feedback


class VoteCreate(_Strict):
    lang: LanguageTag
    helpful: bool
    comment: Comment = ""


class VoteResult(BaseModel):
    slug: str
    helpful: bool
    helpful_count: int
    unhelpful_count: int
    changed: bool = Field(description="False on a first vote; true when it replaced one.")


class FeedbackItem(BaseModel):
    slug: str
    title: str
    lang: str
    helpful: bool
    comment: str
    voter_kind: str
    at: datetime


class FeedbackList(BaseModel):
    items: list[FeedbackItem]


# ---------------------------------------------------------------- search and deflection


class SearchHitRead(BaseModel):
    slug: str
    lang: str
    title: str
    url: str
    score: float
    snippet: str
    section: str | None = Field(description="Heading of the best matching section.")


class SearchResults(BaseModel):
    query: str
    lang: str
    items: list[SearchHitRead]


class SuggestionRequest(_Strict):
    q: Query
    lang: LanguageTag = "en"
    key: str | None = Field(default=None, min_length=16, max_length=64,
                            pattern=r"^[A-Za-z0-9_-]+$",
                            description="Returned by the first call; send it again while the "
                            "same message is being written.")


class SuggestionList(BaseModel):
    key: str
    items: list[SearchHitRead]


class DeflectionSubmit(_Strict):
    ticket: str = Field(min_length=6, max_length=16, description="The ticket's number.")


class DeflectionRead(BaseModel):
    key: str
    outcome: Literal["pending", "deflected", "submitted"]
    shown: list[str]
    read: str | None


# ---------------------------------------------------------------- content gaps


class QueryGap(BaseModel):
    query: str
    searches: int
    zero_results: int
    best_score: float | None


class ArticleGap(BaseModel):
    slug: str
    title: str
    unhelpful: int
    helpful: int
    comments: list[str]


class TopicGap(BaseModel):
    topic: str
    tickets: int
    articles: int


class GapReport(BaseModel):
    since: datetime
    until: datetime
    searches: list[QueryGap]
    articles: list[ArticleGap]
    topics: list[TopicGap]


# ---------------------------------------------------------------- status page


class StatusEntryCreate(_Strict):
    kind: StatusKind
    state: StatusState
    coin: str = Field(default="", max_length=16, pattern=r"^[A-Za-z0-9]*$")
    network: str = Field(default="", max_length=32, pattern=r"^[A-Za-z0-9 ()._-]*$")
    direction: StatusDirection | None = None
    titles: dict[LanguageTag, Title] = Field(min_length=1, max_length=50)
    bodies: dict[LanguageTag, Comment] = Field(default_factory=dict, max_length=50)
    starts_at: UtcTime | None = Field(default=None, description="Default: now. UTC if no zone.")
    ends_at: UtcTime | None = Field(default=None, description="UTC if no zone.")


class StatusEntryUpdate(_Strict):
    state: StatusState | None = None
    titles: dict[LanguageTag, Title] | None = Field(default=None, min_length=1, max_length=50)
    bodies: dict[LanguageTag, Comment] | None = Field(default=None, max_length=50)
    starts_at: UtcTime | None = Field(default=None, description="UTC if no zone.")
    ends_at: UtcTime | None = Field(default=None, description="UTC if no zone.")
    end_now: bool = Field(default=False, description="Set `ends_at` to now (resolved).")


class StatusEntryRead(BaseModel):
    id: uuid.UUID
    kind: StatusKind
    state: StatusState
    coin: str
    network: str
    direction: StatusDirection | None
    title: str = Field(description="In the requested language, else another one.")
    body: str
    titles: dict[str, str]
    bodies: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None
    current: bool
    updated_at: datetime


class StatusList(BaseModel):
    lang: str
    items: list[StatusEntryRead]
