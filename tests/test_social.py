"""Social cards' images (og:image in the size cards are drawn at) and the site's own logo
and icon, uploaded on the settings page."""

from __future__ import annotations

import io
import re
from typing import Any

from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from werkzeug.datastructures import FileStorage

from components import social
from components.models import Post, PostStatus, SiteSettings, User
from tests.conftest import csrf_token, post_address, post_form, sign_in, write_post
from tests.test_site_web import text

JSON = {"Accept": "application/json"}


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", (width, height), (200, 220, 240))
    image.paste((200, 40, 40), (width // 3, height // 3, 2 * width // 3, 2 * height // 3))
    image.save(out, "PNG")
    return out.getvalue()


def upload_of(data: bytes, filename: str = "picture.png") -> FileStorage:
    return FileStorage(io.BytesIO(data), filename=filename, content_type="image/png")


async def uploaded(client: Any, data: bytes, alt: str = "A red square") -> dict[str, Any]:
    answer = await client.post(
        "/admin/media",
        form={"csrf_token": await csrf_token(client), "alt_text": alt},
        files={"file": upload_of(data)},
        headers=JSON,
    )
    assert answer.status_code == 201, await text(answer)
    return await answer.get_json()


async def publish_through_editor(client: Any, db: AsyncSession, title: str, body: str) -> Post:
    saved = await post_form(
        client, "/admin/posts/save", {"title": title, "body": body, "action": "publish"}
    )
    assert saved.status_code == 303, await text(saved)
    return await db.scalar(select(Post).where(Post.title == title))


def meta(page: str, key: str) -> str | None:
    found = re.search(rf'<meta (?:property|name)="{re.escape(key)}" content="([^"]*)">', page)
    return found[1] if found else None


# --- choosing the picture -------------------------------------------------------


def test_the_card_takes_the_1200_pixel_size_else_the_nearest() -> None:
    srcset = "/a-480.webp 480w, /a-960.webp 960w, /a-1200.webp 1200w, /a.png 2400w"
    assert social.sized("/a.png", "A", srcset, 2400, 1200) == social.CardImage(
        "/a-1200.webp", "A", 1200, 600
    )
    no_1200 = "/b-480.webp 480w, /b-1600.webp 1600w, /b.png 2000w"
    assert social.sized("/b.png", "", no_1200, 2000, 1000).url == "/b-1600.webp"
    small = "/c-480.webp 480w, /c.png 800w"
    assert social.sized("/c.png", "", small, 800, 400) == social.CardImage("/c.png", "", 800, 400)
    assert social.sized("/d.png", "", "", 0, 0) == social.CardImage("/d.png")


def test_the_cover_wins_over_the_first_image_of_the_body() -> None:
    body = '<p><img src="/first.png" alt="First"></p><p><img src="/second.png" alt=""></p>'
    post = Post(body_html=body, front_matter={})
    assert social.card_image(post) == social.CardImage("/first.png", "First")
    post = Post(body_html=body, front_matter={"Image": "https://cdn.example/cover.jpg"})
    assert social.card_image(post) == social.CardImage("https://cdn.example/cover.jpg")
    assert social.card_image(Post(body_html="<p>Words.</p>", front_matter={})) is None


# --- on the post page ------------------------------------------------------------


async def test_a_post_with_an_image_gets_a_large_card(client, db, admin: User) -> None:
    await sign_in(client, admin.email)
    image = await uploaded(client, png(2400, 1200))
    post = await publish_through_editor(client, db, "Pictured", f"Intro.\n\n{image['markdown']}")
    assert " 1200w" in post.body_html  # the media pipeline made the card's size
    page = await text(await client.get(post_address(post)))
    og_image = meta(page, "og:image")
    assert (
        og_image and og_image.startswith("http://localhost/media/") and og_image.endswith(".webp")
    )
    assert og_image.removeprefix("http://localhost") in post.body_html.split(" 1200w")[0]
    assert meta(page, "og:image:width") == "1200"
    assert meta(page, "og:image:height") == "600"
    assert meta(page, "og:image:alt") == "A red square"
    assert meta(page, "twitter:card") == "summary_large_image"
    assert meta(page, "twitter:image") == og_image
    served = await client.get(og_image.removeprefix("http://localhost"))
    assert served.status_code == 200
    assert Image.open(io.BytesIO(await served.get_data())).size == (1200, 600)


async def test_a_library_cover_the_body_does_not_show_gets_its_card_size(
    client, db, admin: User
) -> None:
    await sign_in(client, admin.email)
    image = await uploaded(client, png(1800, 900))
    post = await write_post(
        db, title="Covered", body="No picture here.", status=PostStatus.PUBLISHED
    )
    post.front_matter = {"image": image["url"]}
    await db.commit()
    page = await text(await client.get(post_address(post)))
    assert meta(page, "og:image:width") == "1200"
    assert meta(page, "og:image") != "http://localhost" + image["url"]


async def test_a_post_without_images_keeps_the_small_card(client, db) -> None:
    post = await write_post(db, title="Plain", body="Words only.", status=PostStatus.PUBLISHED)
    await db.commit()
    page = await text(await client.get(post_address(post)))
    assert meta(page, "og:image") is None
    assert meta(page, "twitter:card") == "summary"


# --- the logo and the icon -----------------------------------------------------------


async def save_images(client: Any, **files: FileStorage | str) -> Any:
    form = {"csrf_token": await csrf_token(client)}
    uploads = {}
    for name, value in files.items():
        if isinstance(value, str):
            form[name] = value
        else:
            uploads[name] = value
    return await client.post("/admin/settings/images", form=form, files=uploads)


async def test_an_admin_uploads_a_logo_and_an_icon_every_page_shows(
    client, db: AsyncSession, admin: User
) -> None:
    await sign_in(client, admin.email)
    saved = await save_images(
        client, logo=upload_of(png(300, 100), "logo.png"), favicon=upload_of(png(180, 180))
    )
    assert saved.status_code == 303, await text(saved)
    home = await text(await client.get("/"))
    logo = re.search(r'<img class="site-logo" src="(/media/[0-9a-f]{64}\.png)" alt=""', home)
    assert logo, home
    assert 'width="300" height="100"' in home
    icon = re.search(r'<link rel="icon" href="(/media/[0-9a-f]{64}\.png)" type="image/png">', home)
    assert icon and "favicon.svg" not in home
    served = await client.get(icon[1])
    assert served.status_code == 200
    assert "immutable" in served.headers["Cache-Control"]

    # Removing one keeps the other.
    assert (await save_images(client, remove_logo="on")).status_code == 303
    home = await text(await client.get("/"))
    assert 'class="site-logo"' not in home and icon[1] in home


async def test_a_logo_that_is_not_an_image_changes_nothing(
    client, db: AsyncSession, admin: User
) -> None:
    await sign_in(client, admin.email)
    assert (await save_images(client, favicon=upload_of(png(64, 64)))).status_code == 303
    refused = await save_images(
        client,
        logo=upload_of(b"<svg onload=alert(1)></svg>", "logo.png"),
        remove_favicon="on",
    )
    assert refused.status_code in (413, 422)
    assert 'id="logo-error"' in await text(refused)
    db.expire_all()
    row = await db.scalar(select(SiteSettings))
    assert row.logo_id is None and row.favicon_id is not None


async def test_only_admins_change_the_logo(client, author: User) -> None:
    await sign_in(client, author.email)
    assert (await save_images(client, remove_logo="on")).status_code == 403
