"""The public JSON API: read-only, for programs that want the posts without the pages.

`GET /api/posts` (a page of posts, newest first, of a tag or a series if asked),
`GET /api/posts/<slug>` (one post in full), `GET /api/tags` (the tags in use) and
`GET /api/openapi.json`, the OpenAPI 3.1 document that quart-schema builds from the
pydantic models in web/views/api_schemas.py.
It shows the same posts the pages show, and nothing else: drafts and posts scheduled for
later are absent from every answer. Answers are cached like the pages (web/pages/); errors
are `{"error": {"status": ..., "message": ...}}` and never stored.

Errors are JSON in two steps. A view's own error (a bad query string, an unknown slug)
is answered by this blueprint's handler. A routing error (no such address under /api/,
a method other than GET) happens before any endpoint is matched, so Quart knows no
blueprint to ask and calls the app's handler, web/errors.page_for, as it does for the
500 of an unexpected exception; page_for hands every path under /api/ back to
`error_response` (see `serves`). `bp.app_errorhandler` would not do: it replaces the
HTML error pages of the whole site.

Every view here runs as one database transaction, committed before it answers and run
again from the start when it loses a race for the database (web/database.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ValidationError
from quart import Blueprint, Quart, Response, abort, current_app, url_for
from quart_schema import (
    Info,
    OpenAPIProvider,
    QuartSchema,
    RequestSchemaValidationError,
    document_response,
    hide,
    validate_querystring,
)
from sqlalchemy.ext.asyncio import AsyncSession
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Rule

from components import posts, series
from components.models import Post, Tag, utcnow
from web import site
from web.database import get_db
from web.pages.respond import respond
from web.urls import post_url
from web.views.api_schemas import (
    MAX_LIMIT,
    ApiError,
    AuthorRef,
    ErrorDetail,
    ListQuery,
    NoQuery,
    PostDetail,
    PostList,
    PostSummary,
    SeriesRef,
    TagCount,
    TagList,
    TagRef,
)

bp = Blueprint("api", __name__, url_prefix="/api")

# When this app was built: the OpenAPI document changes with the code, never with the posts.
BUILT = "quire.api.built"
MESSAGES = {
    404: "There is nothing at this address; the API's addresses are listed in {openapi}.",
    500: "Something went wrong on our side. Please try again later.",
}


def init_app(app: Quart) -> None:
    """Set up quart-schema for the API's document alone, and register the API.

    quart-schema's own routes (/openapi.json, /docs, /redocs, /scalar) stay off: the
    document is served under /api/ like the rest, and the documentation pages load
    their JavaScript from a CDN, which the CSP forbids. QuartSchema also installs an
    app-wide JSON provider that falls back on pydantic, and wraps `make_response` so
    that views may return models; both leave every other answer as it was.
    """
    QuartSchema(
        app,
        openapi_path=None,
        redoc_ui_path=None,
        scalar_ui_path=None,
        swagger_ui_path=None,
        info=Info(
            title=f"{app.config['SITE_FIXED'].get('title', 'Quire')} API",
            version="1",
            description="The published posts and tags of this blog, read-only.",
        ),
        openapi_provider_class=_ApiDocument,
    )
    app.extensions[BUILT] = utcnow()
    app.register_blueprint(bp)


class _ApiDocument(OpenAPIProvider):
    """The OpenAPI document of the API's own endpoints, not of the site's pages."""

    def generate_rules(self) -> Iterable[Rule]:
        prefix = f"{bp.name}."
        return (rule for rule in super().generate_rules() if rule.endpoint.startswith(prefix))


# --- the endpoints -----------------------------------------------------------


@bp.get("/posts")
@document_response(PostList)
@document_response(ApiError, 400)
@document_response(ApiError, 404)
@validate_querystring(ListQuery)
async def post_list(query_args: ListQuery) -> Response:
    """The published posts, newest first, a page at a time.

    Each page's `next` (or `next_url`) leads to the next one, by keyset: posts
    published meanwhile never shift a page. An unknown tag or series is a 404.
    """
    db = get_db()
    tag = await _public_tag(db, query_args.tag) if query_args.tag else None
    where = None
    if query_args.series:
        where = series.is_part_of(await _public_series(db, query_args.series))
    limit = query_args.limit or min(current_app.config["POSTS_PER_PAGE"], MAX_LIMIT)
    found = await posts.page(db, limit=limit, before=query_args.before, tag=tag, where=where)
    after = str(found.next) if found.next else None
    listed = [PostSummary(**_summary(post, found.comment_counts[post.id])) for post in found.posts]
    more = _api_url(
        "api.post_list",
        before=after,
        limit=query_args.limit,
        tag=query_args.tag,
        series=query_args.series,
    )
    return await _json(PostList(posts=listed, next=after, next_url=more if after else None))


@bp.get("/posts/<slug>")
@document_response(PostDetail)
@document_response(ApiError, 400)
@document_response(ApiError, 404)
@validate_querystring(NoQuery)
async def post_detail(slug: str, query_args: NoQuery) -> Response:
    """One published post in full: its Markdown, its HTML and its table of contents.

    Drafts and posts scheduled for later are 404, as if they did not exist.
    """
    found = await posts.for_api(get_db(), slug)
    if found is None:
        abort(404, "No published post has this slug.")
    post, comment_count = found
    return await _json(
        PostDetail(
            **_summary(post, comment_count),
            body=post.body,
            body_html=post.body_html,
            toc=post.toc,
            comments_enabled=post.comments_enabled,
        )
    )


@bp.get("/tags")
@document_response(TagList)
@document_response(ApiError, 400)
@validate_querystring(NoQuery)
async def tag_list(query_args: NoQuery) -> Response:
    """Every tag with at least one published post, and how many, by name."""
    in_use = await posts.tags_in_use(get_db())
    return await _json(
        TagList(
            tags=[
                TagCount(
                    name=tag.name,
                    slug=tag.slug,
                    post_count=count,
                    posts_url=_api_url("api.post_list", tag=tag.slug),
                )
                for tag, count in in_use
            ]
        )
    )


@bp.get("/openapi.json")
@hide
@validate_querystring(NoQuery)
async def openapi(query_args: NoQuery) -> Response:
    """The OpenAPI document of this API; cached like the pages, but dated by the code."""
    document = current_app.extensions["QUART_SCHEMA"].openapi_provider.schema()
    response = Response(current_app.json.dumps(document), mimetype="application/json")
    return await respond(response, current_app.extensions[BUILT])


# --- errors ------------------------------------------------------------------


def serves(path: str) -> bool:
    """Whether `path` is the API's, so that an error there is answered in JSON."""
    prefix = bp.url_prefix or ""
    return path == prefix or path.startswith(f"{prefix}/")


@bp.errorhandler(HTTPException)
async def error_response(error: HTTPException) -> Response:
    """`{"error": {"status", "message"}}` for an HTTP error, never cached; the headers
    the error carries (Allow on a 405) are kept."""
    status = error.code or 500
    body = ApiError(error=ErrorDetail(status=status, message=_message(error, status)))
    response = current_app.response_class(
        body.model_dump_json(), status=status, mimetype="application/json"
    )
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    response.cache_control.no_store = True
    return response


def _message(error: HTTPException, status: int) -> str:
    if isinstance(error, RequestSchemaValidationError):
        return _query_problems(error.validation_error)
    if isinstance(error, MethodNotAllowed):
        allowed = ", ".join(sorted(error.valid_methods or ()))
        return f"This address answers {allowed} only: the API is read-only."
    if error.description and error.description != type(error).description:
        return error.description  # what the view said when it aborted
    if status in MESSAGES:
        return MESSAGES[status].format(openapi=url_for("api.openapi"))
    return error.description or error.name


def _query_problems(error: Exception) -> str:
    """What is wrong with the query string, one clause per parameter."""
    if not isinstance(error, ValidationError):
        return f"The query string is not valid: {error}."
    problems: list[str] = []
    for item in error.errors():
        if item["type"] == "none_required":
            continue  # the `None` half of an optional parameter: never the point
        name = str(item["loc"][0]) if item["loc"] else "query"
        if item["type"] == "extra_forbidden":
            problems.append(f"unknown query parameter '{name}'")
        elif isinstance(item["input"], list):
            problems.append(f"'{name}' is given more than once")
        else:
            problems.append(f"'{name}' {_lower_first(item['msg'])}")
    return f"Bad query string: {'; '.join(dict.fromkeys(problems))}."


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


# --- helpers -----------------------------------------------------------------


async def _public_tag(db: AsyncSession, slug: str) -> Tag:
    tag = await posts.public_tag(db, slug)
    if tag is None:
        abort(404, f"There is no tag '{slug}'.")  # nor one on drafts only
    return tag


async def _public_series(db: AsyncSession, slug: str) -> series.Series:
    found = await series.public(db, slug)
    if found is None:
        abort(404, f"There is no series '{slug}'.")  # nor one of drafts only
    return found


def _series(post: Post) -> SeriesRef | None:
    if post.series is None:
        return None
    return SeriesRef(
        name=post.series.name,
        slug=post.series.slug,
        url=url_for("blog.series", slug=post.series.slug, _external=True),
        posts_url=_api_url("api.post_list", series=post.series.slug),
    )


def _summary(post: Post, comment_count: int) -> dict[str, Any]:
    """The fields of a `PostSummary`, which a `PostDetail` has too."""
    assert post.published_at is not None, "visible posts have a publication time"
    return {
        "id": post.id,
        "slug": post.slug,
        "title": post.title,
        "description": post.description,
        "excerpt": post.excerpt,
        "url": post_url(post, _external=True),
        "published_at": post.published_at,
        "updated_at": post.updated_at,
        "tags": [TagRef(name=tag.name, slug=tag.slug) for tag in post.tags],
        "author": _author(post),
        "series": _series(post),
        "reading_minutes": post.reading_minutes,
        "comment_count": comment_count,
    }


def _author(post: Post) -> AuthorRef | None:
    by = post.author or site.default_author()
    if by is None:
        return None
    return AuthorRef(name=by.name, url=url_for("blog.author", slug=by.slug, _external=True))


def _api_url(endpoint: str, **values: Any) -> str:
    """An absolute address in the API; parameters that are None are left out."""
    given = {name: value for name, value in values.items() if value is not None}
    return url_for(endpoint, _external=True, **given)


async def _json(body: BaseModel) -> Response:
    """`body` as JSON, with the ETag, Last-Modified and Cache-Control of every public page."""
    response = current_app.response_class(body.model_dump_json(), mimetype="application/json")
    return await respond(response)
