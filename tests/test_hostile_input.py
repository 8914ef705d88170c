"""Every address and every form field, swept with what no database stores (NUL), control
characters, numbers past any id and overlong values: never a 500, never a traceback.

The addresses come from the app's own routes and the forms from its own pages, so a new
route or field is swept without this file knowing of it.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from bs4 import BeautifulSoup
from quart import Quart
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from components.comments.stamps import issue_stamp
from components.models import AuthSession, Comment, CommentStatus, Post, PostStatus, User
from components.text import MAX_ID, parse_id
from tests.conftest import (
    TEST_PASSWORD,
    TEST_SECRET,
    csrf_token,
    post_address,
    post_form,
    sign_in,
    write_post,
)
from web.auth import safe_next

NUL = "a\x00b"
CONTROL = "a\x1b[31mb"
HUGE = "99999999999999999999"
OVERLONG = "x" * 200_000
# Answers that hold open (event streams) or serve files are not pages to sweep.
NOT_SWEPT = {"static", "comments.stream", "moderation.stream"}
# Signing out ends the sweep's own session; it is swept alone, below.
SIGN_OUT = "/logout"
WEB = Path(__file__).resolve().parent.parent / "web"


def stamp() -> str:
    """A comment form's timestamp, as if the form had been shown a minute ago."""
    return issue_stamp(TEST_SECRET, time.time() - 60)


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    multipart: bool = False


@pytest.fixture
def tracebacks(caplog: pytest.LogCaptureFixture) -> Iterator[list[logging.LogRecord]]:
    """Log records that carry a traceback: an error no one meant."""
    with caplog.at_level(logging.ERROR):
        yield caplog.records


def with_tracebacks(records: list[logging.LogRecord]) -> list[str]:
    return [record.getMessage() for record in records if record.exc_info]


@pytest.fixture
async def site(db: AsyncSession, admin: User) -> Post:
    """A post open to comments with one approved comment, a draft and a page."""
    post = await write_post(
        db,
        title="Welcome",
        body="Hello.",
        tags=["python"],
        status=PostStatus.PUBLISHED,
        comments_enabled=True,
        author=admin,
    )
    await write_post(db, title="Unfinished", body="Draft.", author=admin)
    db.add(
        Comment(
            post_id=post.id,
            author_name="Rita",
            body="Nice.",
            body_html="<p>Nice.</p>",
            status=CommentStatus.APPROVED,
            ip="203.0.113.9",
        )
    )
    await db.commit()
    return post


def query_names() -> list[str]:
    """Every query parameter a view reads, from the views' own source."""
    names: set[str] = set()
    for module in WEB.rglob("*.py"):
        names.update(re.findall(r"request\.args(?:\.get\(|\[)\"(\w+)\"", module.read_text()))
    return sorted(names)


def addresses(app: Quart, post: Post, poison: str, number: str) -> Iterator[tuple[str, str]]:
    """(method, address) for every route, each of its parts in turn set to `poison` (or,
    for a number, to `number`), the others to what exists."""
    assert post.published_at is not None
    real = {
        "year": f"{post.published_at:%Y}",
        "month": f"{post.published_at:%m}",
        "day": f"{post.published_at:%d}",
        "slug": post.slug,
    }
    for rule in app.url_map.iter_rules():
        if rule.endpoint in NOT_SWEPT or not rule.arguments:
            continue
        method = "GET" if "GET" in (rule.methods or ()) else "POST"
        for poisoned in sorted(rule.arguments):
            values = {}
            for name in rule.arguments:
                is_number = re.search(rf"<int[^:>]*:{name}>", rule.rule) is not None
                if name == poisoned:
                    values[name] = number if is_number else poison
                else:
                    values[name] = real.get(name, "1")
            path = rule.rule
            for name, value in values.items():
                path = re.sub(rf"<[^>]*\b{name}>", value.replace("\\", r"\\"), path)
            yield method, path


async def sweep_addresses(client: Any, app: Quart, post: Post) -> list[str]:
    wrong = []
    # Past ten digits, and within ten digits but past PostgreSQL's integer.
    for poison, number in ((NUL, HUGE), (CONTROL, str(MAX_ID + 1)), (OVERLONG[:5000], HUGE)):
        for method, path in addresses(app, post, poison, number):
            if method == "GET":
                response = await client.get(path)
            else:
                response = await post_form(client, path)
            if response.status_code != 404:
                wrong.append(f"{method} {path[:80]!r}: {response.status_code}")
    return wrong


def forms_in(html: str, page: str) -> list[Form]:
    found = []
    for element in BeautifulSoup(html, "html.parser").find_all("form"):
        form = Form(
            action=urljoin(page, str(element.get("action") or page)),
            method=str(element.get("method") or "get").upper(),
            multipart=element.get("enctype") == "multipart/form-data",
        )
        for control in element.find_all(["input", "textarea", "select"]):
            name = control.get("name")
            kind = control.get("type", "text")
            if not name or kind in {"submit", "button", "file", "image", "reset"}:
                continue
            if kind in {"checkbox", "radio"} and not control.has_attr("checked"):
                form.fields.setdefault(str(name), "")
                continue
            if control.name == "textarea":
                value = control.get_text()
            elif control.name == "select":
                chosen = control.find("option", selected=True) or control.find("option")
                value = str(chosen.get("value", chosen.get_text())) if chosen else ""
            else:
                value = str(control.get("value", ""))
            form.fields[str(name)] = value
        found.append(form)
    return found


async def crawl(client: Any, start: list[str], within: tuple[str, ...]) -> list[Form]:
    """The forms on every page reachable by links from `start` under `within`."""
    seen: set[str] = set()
    queue = list(start)
    forms: dict[tuple[str, str, tuple[str, ...]], Form] = {}
    while queue and len(seen) < 60:
        page = queue.pop(0)
        if page in seen:
            continue
        seen.add(page)
        response = await client.get(page)
        if response.status_code != 200 or "html" not in response.content_type:
            continue
        html = await response.get_data(as_text=True)
        for form in forms_in(html, page):
            forms.setdefault((form.method, form.action, tuple(sorted(form.fields))), form)
        for link in BeautifulSoup(html, "html.parser").find_all("a", href=True):
            target = urljoin(page, str(link["href"]))
            parts = urlsplit(target)
            if not parts.netloc and parts.path.startswith(within) and "stream" not in parts.path:
                queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return list(forms.values())


async def send(client: Any, form: Form, fields: dict[str, str]) -> Any:
    if form.method == "GET":
        return await client.get(f"{urlsplit(form.action).path}?{urlencode(fields)}")
    return await client.post(form.action, form=fields)


async def sweep_forms(client: Any, forms: list[Form], relogin: bool) -> list[str]:
    wrong = []
    for form in forms:
        if urlsplit(form.action).path == SIGN_OUT:
            continue
        for name in form.fields:
            for poison in (NUL, CONTROL, HUGE, OVERLONG):
                response = await send(client, form, {**form.fields, name: poison})
                status = response.status_code
                # NUL is refused in any field; control characters in any form field sent.
                refused = poison == NUL or (poison == CONTROL and form.method != "GET")
                if status >= 500 or (refused and status != 400):
                    wrong.append(f"{form.method} {form.action} {name}={poison[:8]!r}: {status}")
        if relogin and (await client.get("/admin/")).status_code != 200:
            await sign_in(client, "root@example.com")
    return wrong


async def test_every_address_with_a_poisoned_part_is_a_404(
    client: Any, app: Quart, site: Post, admin: User, tracebacks: list[logging.LogRecord]
) -> None:
    await sign_in(client, admin.email)
    assert await sweep_addresses(client, app, site) == []
    assert with_tracebacks(tracebacks) == []


async def test_query_parameters_with_nul_are_400_and_the_rest_never_500(
    client: Any, app: Quart, site: Post, admin: User, tracebacks: list[logging.LogRecord]
) -> None:
    await sign_in(client, admin.email)
    pages = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if not rule.arguments and "GET" in (rule.methods or ()) and rule.endpoint not in NOT_SWEPT
    ] + [post_address(site), f"/tags/{site.tags[0].slug}"]
    names = query_names()
    assert {"q", "next", "notice", "before", "page"} <= set(names)
    wrong = []
    for page in pages:
        for poison in (NUL, CONTROL, HUGE, "²", OVERLONG[:4000]):
            response = await client.get(f"{page}?{urlencode(dict.fromkeys(names, poison))}")
            if response.status_code >= 500 or (poison == NUL and response.status_code != 400):
                wrong.append(f"{page} {poison[:8]!r}: {response.status_code}")
    assert wrong == []
    assert with_tracebacks(tracebacks) == []


async def test_every_admin_form_field_poisoned_is_refused_or_answered_never_500(
    client: Any, db: AsyncSession, site: Post, admin: User, tracebacks: list[logging.LogRecord]
) -> None:
    await sign_in(client, admin.email)
    forms = await crawl(
        client, ["/admin/", "/account", "/account/profile/"], ("/admin", "/account")
    )
    actions = {urlsplit(form.action).path for form in forms}
    # The crawl found the forms that matter (so the sweep below is not of nothing).
    assert {
        "/admin/posts/save",
        "/admin/settings/",
        "/account/profile/",
        "/admin/users/",
    } <= actions
    assert await sweep_forms(client, forms, relogin=True) == []
    assert with_tracebacks(tracebacks) == []
    # Nothing with a NUL got in.
    titles = await db.scalars(select(Post.title).execution_options(populate_existing=True))
    assert not any("\x00" in title for title in titles)


async def test_every_public_form_field_poisoned_is_refused_or_answered_never_500(
    open_client: Any, db: AsyncSession, site: Post, tracebacks: list[logging.LogRecord]
) -> None:
    forms = await crawl(open_client, ["/", post_address(site), "/login"], ("/login", "/search"))
    forms += await crawl(open_client, [post_address(site)], ("/never",))
    actions = {urlsplit(form.action).path for form in forms}
    assert {"/login", f"{post_address(site)}/comments", "/search"} <= actions
    assert await sweep_forms(open_client, forms, relogin=False) == []
    assert with_tracebacks(tracebacks) == []
    bodies = await db.scalars(select(Comment.body))
    assert not any("\x00" in body for body in bodies)


async def test_a_huge_or_odd_parent_id_is_a_reply_to_nothing_422(
    open_client: Any, db: AsyncSession, site: Post
) -> None:
    for parent in (HUGE, "99999999999", "²", "-1"):
        response = await post_form(
            open_client,
            f"{post_address(site)}/comments",
            {"name": "Rita", "body": "Hello", "parent_id": parent, "stamp": stamp()},
        )
        assert response.status_code == 422, parent
        assert "no longer there" in await response.get_data(as_text=True)


@pytest.mark.parametrize("target", ["/%0b/x", "/%00", "/caf%C3%A9", "/a%7f", "/%09tab"])
async def test_sign_in_with_an_odd_next_goes_to_the_admin(
    client: Any, db: AsyncSession, admin: User, target: str
) -> None:
    response = await client.post(
        f"/login?next={target}",
        form={
            "csrf_token": await csrf_token(client),
            "email": admin.email,
            "password": TEST_PASSWORD,
        },
    )
    if "%00" in target:
        # NUL is refused before anything is read: no session is made.
        assert response.status_code == 400
        assert await db.scalar(select(func.count()).select_from(AuthSession)) == 0
    else:
        assert response.status_code == 303
        assert response.headers["Location"] == "/admin/"


def test_a_sign_in_page_asks_for_a_next_it_can_keep() -> None:
    """`next` is built by login_required from the path asked for: plain ASCII survives."""
    assert safe_next("/admin/posts/3/edit?x=1", "/d") == "/admin/posts/3/edit?x=1"
    for bad in ("/\x0b/x", "/é", "//evil.example", "/\\evil", "https://evil.example/", "/a\x7f"):
        assert safe_next(bad, "/d") == "/d"


def test_parse_id_takes_only_what_a_row_can_have() -> None:
    assert parse_id("12") == 12
    assert parse_id(" 7 ") == 7
    assert parse_id(str(MAX_ID)) == MAX_ID
    for bad in ("", None, "0", "-1", "1.5", "²", "١٢", str(MAX_ID + 1), HUGE, "abc"):
        assert parse_id(bad) is None
