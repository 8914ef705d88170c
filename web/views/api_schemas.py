"""What the JSON API takes and answers: the pydantic models its OpenAPI document is
built from (web/views/api.py serves them)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PlainValidator
from pydantic.json_schema import SkipJsonSchema, WithJsonSchema
from pydantic_core import PydanticCustomError

from components import posts
from components.text import MAX_SLUG_LENGTH

MAX_LIMIT = 50
TAG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
# What `posts.Cursor` writes, for clients to read; a date that does not exist (30 February),
# or an id past 2,147,483,647, matches but is refused all the same.
CURSOR_PATTERN = (
    r"^[1-9][0-9]{3}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])"
    r"T([01][0-9]|2[0-3])[0-5][0-9][0-5][0-9]\.[0-9]{6}Z-[0-9]{1,10}$"
)

# --- what the API takes ------------------------------------------------------


def _parse_cursor(value: object) -> posts.Cursor:
    cursor = posts.Cursor.parse(value) if isinstance(value, str) else None
    if cursor is None:
        raise PydanticCustomError("cursor", "should be the `next` of an earlier page")
    return cursor


def _no_default(schema: dict[str, Any]) -> None:
    # An absent parameter is not a null one: the document lists no default for it.
    schema.pop("default", None)


CursorParameter = Annotated[
    posts.Cursor,
    PlainValidator(_parse_cursor),
    WithJsonSchema({"type": "string", "pattern": CURSOR_PATTERN}),
]


class NoQuery(BaseModel):
    """No query parameters at all: an unknown one is a mistake worth reporting."""

    model_config = ConfigDict(extra="forbid")


class ListQuery(NoQuery):
    before: CursorParameter | SkipJsonSchema[None] = Field(
        None,
        description="Go on after this post: the `next` of the previous page.",
        json_schema_extra=_no_default,
    )
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] | SkipJsonSchema[None] = Field(
        None,
        description="Posts per page (default: the blog's posts per page, at most 50).",
        json_schema_extra=_no_default,
    )
    tag: (
        Annotated[str, Field(pattern=TAG_PATTERN, max_length=MAX_SLUG_LENGTH)]
        | SkipJsonSchema[None]
    ) = Field(
        None, description="Only posts with this tag (its slug).", json_schema_extra=_no_default
    )
    series: (
        Annotated[str, Field(pattern=TAG_PATTERN, max_length=MAX_SLUG_LENGTH)]
        | SkipJsonSchema[None]
    ) = Field(
        None,
        description="Only the parts of this series (its slug).",
        json_schema_extra=_no_default,
    )


# --- what the API answers ----------------------------------------------------


class _Answer(BaseModel):
    # Every field is documented: a client may rely on there being nothing else.
    model_config = ConfigDict(extra="forbid")


class TagRef(_Answer):
    """A tag of a post."""

    name: str
    slug: str


class AuthorRef(_Answer):
    """Who a post is by."""

    name: str
    url: str = Field(description="The author's page: their bio, links and posts.")


class SeriesRef(_Answer):
    """The series a post is a part of."""

    name: str
    slug: str
    url: str = Field(description="The series' page: every part, in reading order.")
    posts_url: str = Field(description="The address of the series' posts in this API.")


class PostSummary(_Answer):
    """A post as a list shows it."""

    id: int
    slug: str
    title: str
    description: str
    excerpt: str
    url: str = Field(description="The post's page: its canonical, absolute address.")
    published_at: AwareDatetime
    updated_at: AwareDatetime
    tags: list[TagRef]
    author: AuthorRef | None = Field(
        description="The post's author, else the site's default author; null on a site "
        "with neither."
    )
    series: SeriesRef | None = Field(description="The series the post is a part of, if any.")
    reading_minutes: int
    comment_count: int = Field(description="Approved comments.")


class TocEntry(_Answer):
    """A heading of the post (h2 or h3) and its anchor on the post's page."""

    level: int
    id: str
    text: str


class PostDetail(PostSummary):
    """One post in full."""

    body: str = Field(description="The Markdown source.")
    body_html: str
    toc: list[TocEntry]
    comments_enabled: bool


class PostList(_Answer):
    """A page of posts, newest first."""

    posts: list[PostSummary]
    next: str | None = Field(description="Pass as `before` for the next page; null on the last.")
    next_url: str | None = Field(description="The next page's address; null on the last.")


class TagCount(_Answer):
    """A tag with at least one visible post."""

    name: str
    slug: str
    post_count: int
    posts_url: str = Field(description="The address of the tag's posts in this API.")


class TagList(_Answer):
    """Every tag in use, by name."""

    tags: list[TagCount]


class ErrorDetail(_Answer):
    status: int
    message: str = Field(description="What is wrong, in words.")


class ApiError(_Answer):
    """The request was refused: the message says why."""

    error: ErrorDetail
