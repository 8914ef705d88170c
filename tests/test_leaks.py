"""Small leaks closed: another writer's draft tags, notices anyone could write, recovery
codes without the password, and post HTML that makes its readers' browsers ask this site
for something."""

from __future__ import annotations

from typing import Any

import pyotp
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from components import two_factor
from components.markdown import render
from components.models import PostStatus, RecoveryCode, Role, User
from tests.conftest import TEST_PASSWORD, make_user, post_form, sign_in, write_post

NOTICE = '<p class="notice" role="status">'


async def suggestions(client: Any, typed: str) -> str:
    response = await client.get("/admin/tags/suggest", query_string={"tags": typed})
    assert response.status_code == 200
    return await response.get_data(as_text=True)


async def test_tag_suggestions_leave_out_tags_only_on_someone_elses_drafts(
    client: Any, db: AsyncSession, author: User
) -> None:
    bob = await make_user(db, "bob@example.com", "Bob Writer")
    await write_post(db, title="Secret", body="x", tags=["project-falcon"], author=bob)
    await write_post(db, title="Mine", body="x", tags=["project-mine"], author=author)
    await write_post(
        db, title="Out", body="x", tags=["project-public"], author=bob, status=PostStatus.PUBLISHED
    )
    await db.commit()
    await sign_in(client, author.email)
    html = await suggestions(client, "proj")
    assert "project-mine" in html and "project-public" in html
    assert "project-falcon" not in html


async def test_an_admin_is_offered_every_tag_in_use(client: Any, db: AsyncSession) -> None:
    admin = await make_user(db, "root@example.com", "Root", Role.ADMIN)
    bob = await make_user(db, "bob@example.com", "Bob Writer")
    await write_post(db, title="Secret", body="x", tags=["project-falcon"], author=bob)
    await db.commit()
    await sign_in(client, admin.email)
    assert "project-falcon" in await suggestions(client, "proj")


async def test_a_notice_someone_else_wrote_into_the_address_is_not_shown(
    client: Any, db: AsyncSession, admin: User
) -> None:
    await sign_in(client, admin.email)
    forged = "Your account is locked: call +1 555 0100 now."
    for page in ("/admin/", "/admin/comments/", "/admin/media", "/admin/users/"):
        response = await client.get(page, query_string={"notice": forged})
        assert response.status_code == 200, page
        assert forged not in await response.get_data(as_text=True), page


async def test_the_sites_own_notice_survives_its_redirect(
    client: Any, db: AsyncSession, admin: User
) -> None:
    post = await write_post(db, title="Ready", body="x", author=admin)
    await db.commit()
    await sign_in(client, admin.email)
    published = await post_form(client, f"/admin/posts/{post.id}/publish")
    assert published.status_code == 303
    page = await client.get(published.headers["Location"])
    assert f"{NOTICE}Published “Ready”.</p>" in await page.get_data(as_text=True)
    # Changed by a hand on the way, it is not shown at all.
    tampered = published.headers["Location"].replace("notice=", "notice=x")
    page = await client.get(tampered)
    assert NOTICE not in await page.get_data(as_text=True)


async def test_new_recovery_codes_take_the_password(
    client: Any, db: AsyncSession, author: User
) -> None:
    secret = pyotp.random_base32()
    stored = await db.get(User, author.id)
    assert stored is not None
    old = await two_factor.enable(db, stored, secret)
    await db.commit()
    await sign_in(client, author.email)
    second_step = await post_form(client, "/login/two-factor", {"code": pyotp.TOTP(secret).now()})
    assert second_step.status_code == 303

    async def digests() -> set[str]:
        rows = await db.scalars(
            select(RecoveryCode.code_hash).execution_options(populate_existing=True)
        )
        return set(rows)

    before = await digests()
    refused = await post_form(client, "/account/two-factor/recovery-codes")
    assert refused.status_code == 422
    assert "The password is not right." in await refused.get_data(as_text=True)
    wrong = await post_form(
        client, "/account/two-factor/recovery-codes", {"password": "not the password"}
    )
    assert wrong.status_code == 422
    assert await digests() == before
    made = await post_form(
        client, "/account/two-factor/recovery-codes", {"password": TEST_PASSWORD}
    )
    assert made.status_code == 200
    assert await digests() != before
    shown = await made.get_data(as_text=True)
    assert not any(code in shown for code in old)


def test_post_images_may_not_make_browsers_ask_this_site_for_anything_else() -> None:
    kept = {
        "![a](/media/0a1b.webp)": 'src="/media/0a1b.webp"',
        "![a](https://example.org/x.png)": 'src="https://example.org/x.png"',
    }
    for markdown, src in kept.items():
        assert src in render(markdown, {}).html
    for dropped in (
        "<img src=x>",
        '<img src="/logout">',
        "![a](../../admin/users/)",
        "![a](/media/../admin)",
        "![a](/account/sessions/end-others)",
    ):
        assert "src=" not in render(dropped, {}).html, dropped
