"""Cross-site request forgery: a forged request is refused before it can change anything."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from components.models import AuthSession, Post, User

from .conftest import TEST_PASSWORD, csrf_token, post_form, sign_in

NEW_POST = {"title": "Forged", "body": "Written by someone else", "action": "publish"}


async def post_count(db: AsyncSession) -> int:
    return await db.scalar(select(func.count()).select_from(Post)) or 0


async def test_a_post_without_the_token_is_refused_and_writes_nothing(
    client, db: AsyncSession, author: User
) -> None:
    await sign_in(client, "ada@example.com")
    response = await client.post("/admin/posts/save", form=NEW_POST)
    assert response.status_code == 403
    assert "expired or was sent from another site" in await response.get_data(as_text=True)
    assert await post_count(db) == 0


async def test_a_wrong_token_is_refused(client, db: AsyncSession, author: User) -> None:
    await sign_in(client, "ada@example.com")
    response = await client.post(
        "/admin/posts/save", form={**NEW_POST, "csrf_token": "guessed-token"}
    )
    assert response.status_code == 403
    assert await post_count(db) == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
    ],
)
async def test_a_cross_origin_form_post_is_refused_even_with_the_token(
    client, db: AsyncSession, author: User, headers: dict[str, str]
) -> None:
    await sign_in(client, "ada@example.com")
    response = await post_form(client, "/admin/posts/save", NEW_POST, headers=headers)
    assert response.status_code == 403
    assert "came from another site" in await response.get_data(as_text=True)
    assert await post_count(db) == 0


async def test_a_same_origin_post_with_the_token_goes_through(
    client, db: AsyncSession, author: User
) -> None:
    await sign_in(client, "ada@example.com")
    response = await post_form(
        client,
        "/admin/posts/save",
        NEW_POST,
        headers={"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"},
    )
    assert response.status_code == 303
    assert await post_count(db) == 1


async def test_htmx_sends_the_token_as_a_header(client, db: AsyncSession, author: User) -> None:
    await sign_in(client, "ada@example.com")
    token = await csrf_token(client)
    response = await client.post(
        "/admin/posts/save",
        form=NEW_POST,
        headers={"X-CSRF-Token": token, "HX-Request": "true", "HX-Request-Type": "partial"},
    )
    assert response.status_code == 200
    assert await post_count(db) == 1


async def test_admin_pages_pass_the_token_down_with_explicit_inheritance(
    client, author: User
) -> None:
    await sign_in(client, "ada@example.com")
    page = await (await client.get("/admin/posts/new")).get_data(as_text=True)
    token = await csrf_token(client)
    assert f'data-hx-headers_inherited=\'{{"X-CSRF-Token": "{token}"}}\'' in page
    # Plain data-hx-headers is not inherited in htmx 4 and would silently send nothing.
    assert " data-hx-headers=" not in page


async def test_login_itself_is_protected(client, db: AsyncSession, author: User) -> None:
    """A forged sign-in (login CSRF) would put the victim in the attacker's account."""
    response = await client.post(
        "/login", form={"email": "ada@example.com", "password": TEST_PASSWORD}
    )
    assert response.status_code == 403
    assert await db.scalar(select(func.count()).select_from(AuthSession)) == 0


async def test_public_pages_set_no_cookie(client) -> None:
    """Readers get no session: pages stay cacheable by everyone."""
    response = await client.get("/")
    assert "Set-Cookie" not in response.headers


async def test_every_page_carries_the_htmx_token_once_there_is_a_session(
    client, author: User
) -> None:
    """Boosted links swap what is inside <body>, so a public page reached from the admin
    (or the other way round) must not leave htmx without the header."""
    anonymous = await client.get("/")
    assert "data-hx-headers" not in await anonymous.get_data(as_text=True)
    assert "Cookie" not in anonymous.headers.get("Vary", "")

    await sign_in(client, "ada@example.com")
    token = await csrf_token(client)
    page = await (await client.get("/")).get_data(as_text=True)
    assert f'data-hx-headers_inherited=\'{{"X-CSRF-Token": "{token}"}}\'' in page


async def test_signing_in_with_htmx_reloads_the_whole_document(client, author: User) -> None:
    response = await post_form(
        client,
        "/login",
        {"email": "ada@example.com", "password": TEST_PASSWORD},
        headers={"HX-Request": "true", "HX-Request-Type": "partial"},
    )
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/admin/"
