"""The JSON API: what it lists, what it hides, how it pages, caches and refuses, what each
answer costs in SQL, and (by Schemathesis) that every answer is what its OpenAPI document says."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import schemathesis
from hypothesis import given, settings
from quart import Quart
from schemathesis import GenerationMode
from schemathesis.python import asgi
from sqlalchemy.ext.asyncio import AsyncSession

from components import posts
from components.models import Comment, CommentStatus, PostStatus, utcnow

from .conftest import post_address
from .test_pages import publish

SUMMARY_KEYS = {
    "id",
    "author",
    "series",
    "slug",
    "title",
    "description",
    "excerpt",
    "url",
    "published_at",
    "updated_at",
    "tags",
    "reading_minutes",
    "comment_count",
}
DETAIL_KEYS = SUMMARY_KEYS | {"body", "body_html", "toc", "comments_enabled"}


def local(url: str) -> str:
    """An absolute address of the app, as the test client asks for it."""
    parts = urlsplit(url)
    assert parts.scheme == "http" and parts.netloc == "localhost", url
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


async def comment(db: AsyncSession, post: posts.Post, status: CommentStatus) -> None:
    db.add(Comment(post_id=post.id, author_name="A", body="x", body_html="x", status=status))
    await db.commit()


async def hidden_posts(db: AsyncSession) -> None:
    """A draft and a post scheduled for tomorrow, both tagged: the API must never show them."""
    await publish(
        db, "Secret draft", status=PostStatus.DRAFT, published_at=None, tags=["Python", "Hidden"]
    )
    await publish(
        db,
        "Not yet",
        status=PostStatus.SCHEDULED,
        published_at=utcnow() + timedelta(days=1),
        tags=["Python", "Later"],
    )


async def error_of(response: Any, status: int) -> str:
    """The message of an API error, after checking its status, shape and headers."""
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = await response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"status", "message"}
    assert body["error"]["status"] == status
    assert body["error"]["message"]
    return body["error"]["message"]


# --- listing and paging ------------------------------------------------------


async def test_posts_page_through_every_visible_post_once(client, db) -> None:
    moment = utcnow() - timedelta(days=1)
    # Pairs share a publication time: the id breaks the tie, so none is lost or repeated.
    for number in range(7):
        await publish(db, f"Post {number}", published_at=moment - timedelta(hours=number // 2 * 2))
    await hidden_posts(db)
    seen: list[dict[str, Any]] = []
    url: str | None = "/api/posts?limit=3"
    pages = 0
    while url:
        response = await client.get(url)
        assert response.status_code == 200
        page = await response.get_json()
        assert set(page) == {"posts", "next", "next_url"}
        seen.extend(page["posts"])
        pages += 1
        if page["next"] is None:
            assert page["next_url"] is None
            url = None
        else:
            url = local(page["next_url"])
            assert url == f"/api/posts?before={page['next']}&limit=3"
    assert pages == 3
    titles = [post["title"] for post in seen]
    assert sorted(titles) == [f"Post {n}" for n in range(7)]
    assert len(titles) == len(set(titles))
    moments = [(post["published_at"], post["id"]) for post in seen]
    assert moments == sorted(moments, reverse=True), "newest first"


async def test_page_size_defaults_to_the_blogs_and_stops_at_fifty(app, client, db) -> None:
    app.config["POSTS_PER_PAGE"] = 2
    for number in range(3):
        await publish(db, f"Post {number}", days_ago=number + 1)
    page = await (await client.get("/api/posts")).get_json()
    assert [post["title"] for post in page["posts"]] == ["Post 0", "Post 1"]
    assert local(page["next_url"]) == f"/api/posts?before={page['next']}"
    app.config["POSTS_PER_PAGE"] = 100
    assert len((await (await client.get("/api/posts")).get_json())["posts"]) == 3
    page = await (await client.get("/api/posts?limit=50")).get_json()
    assert len(page["posts"]) == 3 and page["next"] is None


async def test_a_listed_post_has_every_field(client, db) -> None:
    post = await publish(
        db, "Talked about", tags=["SQL", "Python"], body="word " * 700, description="About it"
    )
    for status in (CommentStatus.APPROVED, CommentStatus.APPROVED, CommentStatus.SPAM):
        await comment(db, post, status)
    await comment(db, post, CommentStatus.PENDING)
    [listed] = (await (await client.get("/api/posts")).get_json())["posts"]
    assert set(listed) == SUMMARY_KEYS
    assert listed["id"] == post.id and listed["slug"] == "talked-about"
    assert listed["title"] == "Talked about" and listed["description"] == "About it"
    assert listed["excerpt"].startswith("word word")
    assert listed["url"] == f"http://localhost{post_address(post)}"
    assert listed["published_at"] == post.published_at.isoformat().replace("+00:00", "Z")
    assert listed["updated_at"].endswith("Z")
    assert listed["tags"] == [{"name": "Python", "slug": "python"}, {"name": "SQL", "slug": "sql"}]
    assert listed["reading_minutes"] == 4
    assert listed["comment_count"] == 2, "spam and held comments are not counted"


async def test_tag_filter(client, db) -> None:
    for number in range(3):
        await publish(db, f"Py {number}", days_ago=number + 1, tags=["Python"])
    await publish(db, "Other", tags=["Rust"])
    await hidden_posts(db)
    page = await (await client.get("/api/posts?tag=python&limit=2")).get_json()
    assert [post["title"] for post in page["posts"]] == ["Py 0", "Py 1"]
    rest = await (await client.get(local(page["next_url"]))).get_json()
    assert local(page["next_url"]) == f"/api/posts?before={page['next']}&limit=2&tag=python"
    assert [post["title"] for post in rest["posts"]] == ["Py 2"] and rest["next"] is None
    assert "tag 'nothing'" in await error_of(await client.get("/api/posts?tag=nothing"), 404)
    # A tag whose posts are all drafts or scheduled for later is not public yet.
    for tag in ("hidden", "later"):
        assert tag in await error_of(await client.get(f"/api/posts?tag={tag}"), 404)
        # Nor on a later page: a cursor must not tell such a tag from no tag at all.
        later_page = f"/api/posts?tag={tag}&before={page['next']}"
        assert tag in await error_of(await client.get(later_page), 404)


# --- one post, and the tags --------------------------------------------------


async def test_one_post_in_full(client, db) -> None:
    body = "Intro.\n\n## First part\n\nText.\n\n### A detail\n\nMore.\n\n## Second part\n\nEnd."
    post = await publish(db, "Full post", body=body, tags=["Python"], comments_enabled=True)
    await comment(db, post, CommentStatus.APPROVED)
    response = await client.get("/api/posts/full-post")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    found = await response.get_json()
    assert set(found) == DETAIL_KEYS
    assert found["body"] == body
    assert found["body_html"] == post.body_html and "<h2" in found["body_html"]
    assert found["toc"] == [
        {"level": 2, "id": "first-part", "text": "First part"},
        {"level": 3, "id": "a-detail", "text": "A detail"},
        {"level": 2, "id": "second-part", "text": "Second part"},
    ]
    assert found["comments_enabled"] is True and found["comment_count"] == 1
    assert found["url"] == f"http://localhost{post_address(post)}"
    assert found["tags"] == [{"name": "Python", "slug": "python"}]
    listed = (await (await client.get("/api/posts")).get_json())["posts"][0]
    assert {key: found[key] for key in SUMMARY_KEYS} == listed


async def test_tags_with_their_visible_posts(client, db) -> None:
    await publish(db, "One", tags=["Python", "SQL"])
    await publish(db, "Two", tags=["python"], days_ago=2)
    await hidden_posts(db)
    response = await client.get("/api/tags")
    assert response.status_code == 200
    assert (await response.get_json())["tags"] == [
        {
            "name": "Python",
            "slug": "python",
            "post_count": 2,
            "posts_url": "http://localhost/api/posts?tag=python",
        },
        {
            "name": "SQL",
            "slug": "sql",
            "post_count": 1,
            "posts_url": "http://localhost/api/posts?tag=sql",
        },
    ]


async def test_drafts_and_future_posts_never_appear(client, db) -> None:
    await publish(db, "Public", tags=["Python"])
    await hidden_posts(db)
    # Scheduled for a moment that has passed: public without any write.
    await publish(
        db, "Went live", status=PostStatus.SCHEDULED, published_at=utcnow() - timedelta(minutes=1)
    )
    listed = (await (await client.get("/api/posts?limit=50")).get_json())["posts"]
    assert [post["title"] for post in listed] == ["Went live", "Public"]
    assert (await client.get("/api/posts/went-live")).status_code == 200
    refusals = {
        await error_of(await client.get(f"/api/posts/{slug}"), 404)
        for slug in ("secret-draft", "not-yet", "never-written")
    }
    assert len(refusals) == 1, "a draft is refused exactly like a slug never used"
    tags = (await (await client.get("/api/tags")).get_json())["tags"]
    assert [(tag["slug"], tag["post_count"]) for tag in tags] == [("python", 1)]
    seen = ""
    for path in ("/api/posts", "/api/posts?tag=python", "/api/tags"):
        seen += (await (await client.get(path)).get_data(as_text=True)).lower()
    for secret in ("secret", "not yet", "hidden", "later"):
        assert secret not in seen


# --- caching -----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/posts", "/api/posts/cached", "/api/tags"])
async def test_answers_revalidate_like_the_pages(client, db, path) -> None:
    post = await publish(db, "Cached", tags=["Python"])
    first = await client.get(path)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "public, max-age=0, s-maxage=60"
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    same = await client.get(path, headers={"If-None-Match": etag})
    assert same.status_code == 304 and await same.get_data() == b""
    assert same.headers["ETag"] == etag
    assert (await client.get(path, headers={"If-Modified-Since": modified})).status_code == 304
    # A new post (in the list, in the tag's count) and an edit (in the post): the old copy
    # is stale, and its ETag no longer matches.
    await publish(db, "Newer", tags=["Python"], days_ago=0.5)
    post.description = "Edited"
    await db.commit()
    changed = await client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


async def test_the_openapi_document_is_cached_by_its_code(client) -> None:
    first = await client.get("/api/openapi.json")
    assert first.status_code == 200
    assert first.headers["Content-Type"] == "application/json"
    assert first.headers["Cache-Control"] == "public, max-age=0, s-maxage=60"
    again = await client.get("/api/openapi.json", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


# --- refusals ----------------------------------------------------------------

REFUSALS = [
    ("GET", "/api/posts?page=2", 400, "unknown query parameter 'page'"),
    ("GET", "/api/posts?limit=0", 400, "'limit' input should be greater than or equal to 1"),
    ("GET", "/api/posts?limit=51", 400, "'limit' input should be less than or equal to 50"),
    ("GET", "/api/posts?limit=ten", 400, "'limit' input should be a valid integer"),
    ("GET", "/api/posts?limit=", 400, "'limit' input should be a valid integer"),
    ("GET", "/api/posts?limit=2&limit=3", 400, "'limit' is given more than once"),
    ("GET", "/api/posts?before=yesterday", 400, "'before' should be the `next` of an earlier page"),
    ("GET", "/api/posts?before=20261399T000000.000000Z-1", 400, "'before' should be the `next`"),
    ("GET", "/api/posts?tag=Not%20a%20slug", 400, "'tag' string should match pattern"),
    ("GET", "/api/posts?tag=" + "a" * 81, 400, "'tag' string should have at most 80 characters"),
    ("GET", "/api/posts?limit=0&x=1", 400, "'limit' input should be greater than or equal to 1; "),
    ("GET", "/api/posts?tag=nothing", 404, "There is no tag 'nothing'."),
    ("GET", "/api/posts/nothing", 404, "No published post has this slug."),
    ("GET", "/api/posts/nothing?x=1", 400, "unknown query parameter 'x'"),
    ("GET", "/api/tags?sort=name", 400, "unknown query parameter 'sort'"),
    ("GET", "/api/openapi.json?v=1", 400, "unknown query parameter 'v'"),
    ("GET", "/api/nothing", 404, "the API's addresses are listed in /api/openapi.json"),
    ("GET", "/api", 404, "the API's addresses are listed in /api/openapi.json"),
    ("GET", "/api/posts/", 404, "the API's addresses are listed in /api/openapi.json"),
    ("GET", "/api/posts/a/b", 404, "the API's addresses are listed in /api/openapi.json"),
    ("HEAD", "/api/nothing", 404, None),
    ("POST", "/api/posts", 405, "This address answers GET, HEAD, OPTIONS only"),
    ("DELETE", "/api/posts/first", 405, "the API is read-only"),
    ("PUT", "/api/tags", 405, "the API is read-only"),
    ("PATCH", "/api/nothing", 404, "the API's addresses are listed"),
]


@pytest.mark.parametrize(("method", "path", "status", "words"), REFUSALS)
async def test_refusals_are_json_and_say_why(client, db, method, path, status, words) -> None:
    await publish(db, "First", tags=["Python"])
    response = await client.open(path, method=method)
    if method == "HEAD":
        assert response.status_code == status
        assert response.headers["Content-Type"] == "application/json"
        return
    message = await error_of(response, status)
    assert words in message
    if status == 405:
        assert "GET" in response.headers["Allow"]


async def test_the_rest_of_the_site_keeps_its_html_errors(client) -> None:
    for path in ("/nothing", "/apis", "/openapi.json", "/docs", "/redocs", "/scalar"):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.headers["Content-Type"].startswith("text/html"), path


# --- cost --------------------------------------------------------------------


@pytest.mark.parametrize("number", [4, 60])
async def test_each_endpoint_costs_a_fixed_number_of_statements(client, db, sql, number) -> None:
    for n in range(number):
        await publish(db, f"Post {n}", days_ago=n + 1, tags=[f"t{n % 7}", "all"])
    first = await (await client.get("/api/posts?limit=3")).get_json()
    # Each answer's own queries, plus one read of the content clock for Last-Modified.
    costs = {
        "/api/posts": 3,
        "/api/posts?limit=50": 3,
        local(first["next_url"]): 3,
        "/api/posts?tag=all": 4,
        "/api/posts/post-2": 3,
        "/api/tags": 2,
        # Only the content clock, which every request but a static file's reads.
        "/api/openapi.json": 1,
    }
    for path, expected in costs.items():
        sql.clear()
        response = await client.get(path)
        assert response.status_code == 200, path
        assert sql.count == expected, (path, sql.statements)
    # The content clock (shared by the requests that wait for it), then what is looked for.
    refusals = {
        "/api/posts?limit=0": 1,
        "/api/nothing": 1,
        "/api/posts/nothing": 2,
        "/api/posts?tag=nothing": 2,
    }
    for path, expected in refusals.items():
        sql.clear()
        assert (await client.get(path)).status_code >= 400
        assert sql.count == expected, (path, sql.statements)


# --- the OpenAPI document ----------------------------------------------------


async def test_the_openapi_document_describes_the_api_alone(client) -> None:
    document = await (await client.get("/api/openapi.json")).get_json()
    assert document["openapi"].startswith("3.1")
    assert document["info"]["title"] == "Quire API"
    assert set(document["paths"]) == {"/api/posts", "/api/posts/{slug}", "/api/tags"}
    operations = {path: item["get"] for path, item in document["paths"].items()}
    assert all(set(item) == {"get"} for item in document["paths"].values())
    assert set(operations["/api/posts"]["responses"]) == {"200", "400", "404"}
    assert set(operations["/api/posts/{slug}"]["responses"]) == {"200", "400", "404"}
    assert set(operations["/api/tags"]["responses"]) == {"200", "400"}
    for operation in operations.values():
        for status, answer in operation["responses"].items():
            schema = answer["content"]["application/json"]["schema"]
            if status != "200":
                assert schema["title"] == "ApiError"
                assert schema["properties"]["error"] == {"$ref": "#/components/schemas/ErrorDetail"}
    parameters = {p["name"]: p for p in operations["/api/posts"]["parameters"]}
    assert set(parameters) == {"before", "limit", "tag", "series"}
    limit = parameters["limit"]["schema"]
    assert (limit["type"], limit["minimum"], limit["maximum"]) == ("integer", 1, 50)
    assert "default" not in limit, "an absent limit is not a null one"
    assert not any(p.get("required") for p in parameters.values())


# --- Schemathesis: every answer against the document -------------------------

# Examples per operation and mode: enough to try each parameter's edges, a few seconds in all.
EXAMPLES = 100


@pytest.fixture
async def blog(db: AsyncSession) -> dict[str, posts.Post]:
    """A few posts of every kind, so that generated requests also find some."""
    found = {}
    for number in range(5):
        found[f"post-{number}"] = await publish(
            db, f"Post {number}", days_ago=number + 1, tags=["Python", f"Topic {number % 2}"]
        )
    await comment(db, found["post-0"], CommentStatus.APPROVED)
    await hidden_posts(db)
    return found


@pytest.fixture
def api_schema(app: Quart, blog: dict[str, posts.Post]) -> Iterator[Any]:
    """The API's document as Schemathesis loads it from the app, served in-process (ASGI)."""
    try:
        yield schemathesis.openapi.from_asgi("/api/openapi.json", app)
    finally:
        asgi.shutdown_lifespans()  # the app's engine is closed with its ASGI lifespan


def a_real_date(case: schemathesis.Case) -> bool:
    """Whether the case's cursor, if any, names a moment that exists. JSON Schema cannot say
    "a date in the calendar", so the document's pattern also matches 31 November, which the
    API rightly refuses (400): such valid-looking cursors are left out of the valid cases."""
    before = (case.query or {}).get("before")
    return not isinstance(before, str) or posts.Cursor.parse(before) is not None


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_answer_conforms_to_the_openapi_document(
    api_schema: Any, mode: GenerationMode
) -> None:
    """Property-based, in-process: requests made from the document (valid ones, then invalid
    ones) get no 5xx and only what the document promises. All of Schemathesis's default
    checks run: documented statuses, content types, headers and bodies; invalid input
    refused with a 4xx; valid input never refused with a 400."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 3
    if mode is GenerationMode.NEGATIVE:
        # Only the list has parameters a request can get wrong; a slug is any string.
        operations = [operation for operation in operations if operation.path == "/api/posts"]
    for operation in operations:
        strategy = operation.as_strategy(generation_mode=mode)
        if mode is GenerationMode.POSITIVE:
            strategy = strategy.filter(a_real_date)

        @given(case=strategy)
        @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None)
        def answers_as_documented(case: schemathesis.Case) -> None:
            case.call_and_validate()

        answers_as_documented()


def test_real_answers_conform_to_the_openapi_document(
    api_schema: Any, blog: dict[str, posts.Post]
) -> None:
    """Generated slugs, tags and cursors rarely exist, and the edges of `limit` may be
    missed: ask for those explicitly, through the same checks."""
    second = blog["post-1"]
    cursor = str(posts.Cursor(second.published_at, second.id))
    requests = [
        ("/api/posts", {}, {"limit": 1}, 200),
        ("/api/posts", {}, {"limit": 50}, 200),
        ("/api/posts", {}, {"before": cursor, "limit": 2}, 200),
        ("/api/posts", {}, {"tag": "topic-1", "limit": 1}, 200),
        ("/api/posts", {}, {"tag": "hidden"}, 404),
        ("/api/posts/{slug}", {"slug": "post-0"}, {}, 200),
        ("/api/posts/{slug}", {"slug": "secret-draft"}, {}, 404),
        ("/api/tags", {}, {}, 200),
    ]
    for path, path_parameters, query, status in requests:
        case = api_schema[path]["GET"].Case(path_parameters=path_parameters, query=query)
        assert case.call_and_validate().status_code == status, (path, path_parameters, query)
