"""`quire export` is a backup: comments in their threads, people and settings go out
with the posts, and `quire import` of that folder brings them back, adding none twice
and never overwriting a blog's own settings."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image
from sqlalchemy import select

from components import site
from components.comments import backup
from components.media.library import store
from components.media.names import file_name
from components.models import (
    AuthorProfile,
    Comment,
    CommentStatus,
    Media,
    Post,
    PostStatus,
    Role,
    SiteSettings,
    User,
)

from .conftest import backend_url, make_user, run_async, session_on, write_post
from .media_helpers import LIMIT
from .portability import Blog


@pytest.fixture
def blog(backend: str, postgres_schema: None, tmp_path: Path) -> Blog:
    return Blog.empty(backend_url(backend, tmp_path), tmp_path)


def fill(blog: Blog) -> None:
    async def add() -> None:
        async with session_on(blog.url) as session:
            post = await write_post(
                session,
                title="Talked about",
                body="x",
                status=PostStatus.PUBLISHED,
                published_at=datetime(2024, 1, 2, tzinfo=UTC),
            )
            first = Comment(
                post_id=post.id,
                author_name="Grace",
                author_url="https://grace.example.org",
                body="First, with *emphasis*.",
                body_html="<p>First, with <em>emphasis</em>.</p>",
                status=CommentStatus.APPROVED,
                created_at=datetime(2024, 1, 3, 9, tzinfo=UTC),
                ip="192.0.2.7",
            )
            session.add(first)
            await session.flush()
            reply = Comment(
                post_id=post.id,
                parent_id=first.id,
                author_name="Ada",
                body="A reply.",
                body_html="<p>A reply.</p>",
                status=CommentStatus.APPROVED,
                created_at=datetime(2024, 1, 3, 10, tzinfo=UTC),
            )
            session.add(reply)
            await session.flush()
            session.add_all(
                [
                    Comment(
                        post_id=post.id,
                        parent_id=reply.id,
                        author_name="Linus",
                        body="A reply to the reply, waiting.",
                        body_html="<p>…</p>",
                        status=CommentStatus.PENDING,
                        created_at=datetime(2024, 1, 4, tzinfo=UTC),
                    ),
                    Comment(
                        post_id=post.id,
                        author_name="Pills",
                        body="Spam.",
                        body_html="<p>Spam.</p>",
                        status=CommentStatus.SPAM,
                        created_at=datetime(2024, 1, 5, tzinfo=UTC),
                    ),
                ]
            )
            await session.commit()

    run_async(add())


def threads(blog: Blog) -> list[tuple[str, str | None, str, str, str, datetime]]:
    """Each comment as (name, its parent's name, status, url, body, date)."""

    async def read() -> list[tuple[str, str | None, str, str, str, datetime]]:
        async with session_on(blog.url) as session:
            found = list(await session.scalars(select(Comment).order_by(Comment.created_at)))
            names = {comment.id: comment.author_name for comment in found}
            return [
                (
                    c.author_name,
                    names.get(c.parent_id) if c.parent_id else None,
                    c.status.value,
                    c.author_url,
                    c.body,
                    c.created_at,
                )
                for c in found
            ]

    return run_async(read())


def test_comments_go_out_with_the_posts_and_come_back_in_their_threads(
    blog: Blog, tmp_path: Path
) -> None:
    fill(blog)
    before = threads(blog)
    out = tmp_path / "export"
    result = blog.quire("export", str(out))
    assert result.exit_code == 0, result.output
    assert "and 4 comment(s) to" in result.stdout
    written = (out / backup.COMMENTS_FILE).read_text()
    assert "192.0.2.7" not in written  # readers' addresses stay home

    again = Blog.empty(blog.url, tmp_path / "second")
    dry = again.quire("import", "--dry-run", str(out))
    assert "4 comment(s) would be added" in dry.stdout and threads(again) == []
    restored = again.quire("import", str(out))
    assert restored.exit_code == 0, restored.output
    assert "4 comment(s) added" in restored.stdout
    assert threads(again) == before
    assert again.quire("import", str(out)).exit_code == 0
    assert threads(again) == before


def test_a_bad_comments_file_is_named_and_the_posts_still_come_in(
    blog: Blog, tmp_path: Path
) -> None:
    fill(blog)
    out = tmp_path / "export"
    assert blog.quire("export", str(out)).exit_code == 0
    (out / backup.COMMENTS_FILE).write_text("talked-about:\n  - id: x\n    body: 1\n")
    again = Blog.empty(blog.url, tmp_path / "second")
    result = again.quire("import", str(out))
    assert result.exit_code == 1
    assert "quire_comments.yml: comments not restored: post 'talked-about', comment 1" in (
        result.stderr
    )
    assert set(again.contents()["posts"]) == {"talked-about"}
    assert threads(again) == []


def fill_people_and_settings(blog: Blog) -> None:
    async def add() -> None:
        async with session_on(blog.url) as session:
            ada = await make_user(session, "ada@example.com", "Ada Lovelace", role=Role.ADMIN)
            session.add(AuthorProfile(user_id=ada.id, bio="Writes.", links=["https://ada.example"]))
            await write_post(
                session,
                title="By Ada",
                body="x",
                status=PostStatus.PUBLISHED,
                published_at=datetime(2024, 2, 1, tzinfo=UTC),
                author=ada,
            )
            await site.save(session, {"title": "Ada's notes", "language": "en-GB"})
            await site.save_menu(session, [{"label": "About", "url": "/about"}])
            await site.save_default_author(session, ada.id)
            await session.commit()

    run_async(add())


def restored(blog: Blog) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        async with session_on(blog.url) as session:
            ada = await session.scalar(select(User).where(User.email == "ada@example.com"))
            post = await session.scalar(select(Post).where(Post.slug == "by-ada"))
            profile = await session.scalar(select(AuthorProfile))
            row = await session.get(SiteSettings, 1)
            return {
                "ada": (ada.name, ada.slug, ada.role, ada.disabled_at is not None) if ada else None,
                "author": post.author_id == ada.id if post and ada else None,
                "profile": (profile.bio, profile.links) if profile else None,
                "settings": (row.title, row.language, row.menu, row.default_author_id == ada.id)
                if row and ada
                else None,
            }

    return run_async(read())


def test_people_and_settings_come_back_and_never_overwrite(blog: Blog, tmp_path: Path) -> None:
    fill_people_and_settings(blog)
    out = tmp_path / "export"
    assert blog.quire("export", str(out)).exit_code == 0
    people_file = (out / "_data" / "quire_people.yml").read_text()
    assert "password" not in people_file and "ada@example.com" in people_file

    again = Blog.empty(blog.url, tmp_path / "second")
    result = again.quire("import", str(out))
    assert result.exit_code == 0, result.output
    assert "1 account(s) made, disabled until an admin enables them" in result.stderr
    assert "settings restored" in result.stderr
    assert restored(again) == {
        "ada": ("Ada Lovelace", "ada-lovelace", Role.ADMIN, True),
        "author": True,
        "profile": ("Writes.", ["https://ada.example"]),
        "settings": ("Ada's notes", "en-GB", [{"label": "About", "url": "/about"}], True),
    }
    second = again.quire("import", str(out))
    assert "settings left as they are: this blog has its own" in second.stderr
    assert "0 account(s) made" in second.stderr


def test_a_bad_settings_file_is_named(blog: Blog, tmp_path: Path) -> None:
    fill_people_and_settings(blog)
    out = tmp_path / "export"
    assert blog.quire("export", str(out)).exit_code == 0
    (out / "_data" / "quire_settings.yml").write_text("base_url: javascript:alert(1)\n")
    again = Blog.empty(blog.url, tmp_path / "second")
    result = again.quire("import", str(out))
    assert result.exit_code == 1
    assert "quire_settings.yml: settings not restored: base_url:" in result.stderr
    assert restored(again)["settings"] is None


# --- the logo, the icon, avatars and media no post shows ---------------------------


def png(color: str, size: tuple[int, int] = (24, 16)) -> bytes:
    output = io.BytesIO()
    Image.new("RGB", size, color).save(output, "PNG")
    return output.getvalue()


def fill_site_images(blog: Blog) -> dict[str, Media]:
    """An admin with an avatar, a logo, an icon and an image no post shows, each its own
    file; the library rows by what they are."""

    async def add() -> dict[str, Media]:
        async with session_on(blog.url) as session:
            ada = await make_user(session, "ada@example.com", "Ada Lovelace", role=Role.ADMIN)
            stored = {}
            for what, color in (("logo", "navy"), ("icon", "gold"), ("avatar", "teal")):
                stored[what] = await store(
                    session,
                    png(color),
                    filename=f"{what}.png",
                    owner=ada,
                    max_bytes=LIMIT,
                    folder=blog.media_folder,
                    alt_text=f"The {what}",
                )
            stored["unused"] = await store(
                session,
                png("maroon", (1600, 900)),  # wide enough for smaller copies (variants)
                filename="holiday.png",
                owner=None,
                max_bytes=LIMIT,
                folder=blog.media_folder,
                alt_text="A beach, uploaded and never shown",
            )
            await site.save_images(session, logo=stored["logo"], favicon=stored["icon"])
            session.add(AuthorProfile(user_id=ada.id, avatar_id=stored["avatar"].id))
            await session.commit()
            return stored

    return run_async(add())


def test_the_logo_icon_avatars_and_unused_media_come_back_byte_for_byte(
    blog: Blog, tmp_path: Path
) -> None:
    stored = fill_site_images(blog)
    before = blog.contents()
    out = tmp_path / "export"
    result = blog.quire("export", str(out))
    assert result.exit_code == 0, result.output
    assert "and 4 image(s)" in result.stdout
    for item in stored.values():
        written = out / "assets" / "media" / file_name(item.sha256, item.content_type)
        assert hashlib.sha256(written.read_bytes()).hexdigest() == item.sha256
    manifest = yaml.safe_load((out / "_data" / "quire_media.yml").read_text())
    holiday = next(entry for entry in manifest if entry["filename"] == "holiday.png")
    assert holiday["alt"] == "A beach, uploaded and never shown" and "owner" not in holiday
    assert {entry["owner"] for entry in manifest if "owner" in entry} == {"ada@example.com"}
    settings = yaml.safe_load((out / "_data" / "quire_settings.yml").read_text())
    assert settings["logo"] == file_name(stored["logo"].sha256, "image/png")
    assert settings["favicon"] == file_name(stored["icon"].sha256, "image/png")
    person = yaml.safe_load((out / "_data" / "quire_people.yml").read_text())[0]
    assert person["avatar"] == file_name(stored["avatar"].sha256, "image/png")

    again = Blog.empty(blog.url, tmp_path / "second")
    dry = again.quire("import", "--dry-run", str(out))
    assert dry.exit_code == 0, dry.output
    assert "4 image(s) would be added" in dry.stdout
    assert "quire_media.yml: 4 of 4 file(s) would be added to the library" in dry.stderr
    assert again.contents()["media"] == {}

    restored = again.quire("import", str(out))
    assert restored.exit_code == 0, restored.output
    assert "4 image(s) added" in restored.stdout
    assert "1 avatar(s) given" in restored.stderr
    after = again.contents()
    assert after["media"] == before["media"]  # hashes, names, alt texts, owners, dates
    assert (
        after["site_images"]
        == before["site_images"]
        == (
            stored["logo"].sha256,
            stored["icon"].sha256,
            {"ada@example.com": stored["avatar"].sha256},
        )
    )
    # The served copies are the same bytes, written to the new instance's folder.
    for item in stored.values():
        name = file_name(item.sha256, item.content_type)
        assert (again.media_folder / name).read_bytes() == (
            out / "assets/media" / name
        ).read_bytes()

    second = again.quire("import", str(out))
    assert second.exit_code == 0 and "image(s)" not in second.stdout
    assert "0 of 4 file(s) added to the library" in second.stderr
    assert again.contents() == after


def test_a_bad_file_is_named_and_the_rest_of_the_library_comes_back(
    blog: Blog, tmp_path: Path
) -> None:
    stored = fill_site_images(blog)
    out = tmp_path / "export"
    assert blog.quire("export", str(out)).exit_code == 0
    media = out / "assets" / "media"
    disguised = media / file_name(stored["unused"].sha256, "image/png")
    disguised.write_bytes(b"<html><script>alert(1)</script></html>")
    damaged = media / file_name(stored["icon"].sha256, "image/png")
    damaged.write_bytes(damaged.read_bytes()[:60])  # cut short
    (media / file_name(stored["logo"].sha256, "image/png")).unlink()

    again = Blog.empty(blog.url, tmp_path / "second")
    result = again.quire("import", str(out))
    assert result.exit_code == 1
    assert f"{disguised}: not restored: " in result.stderr
    assert f"{damaged}: not restored: " in result.stderr
    logo = media / file_name(stored["logo"].sha256, "image/png")
    assert f"{logo}: not restored: cannot read it (no such file in the export)" in result.stderr
    after = again.contents()
    # Only the avatar came back; nothing of the others was kept, and the settings that
    # named the logo and the icon are kept without them.
    assert set(after["media"]) == {stored["avatar"].sha256}
    assert after["site_images"] == (None, None, {"ada@example.com": stored["avatar"].sha256})
    assert sorted(path.name for path in again.media_folder.iterdir()) == [
        file_name(stored["avatar"].sha256, "image/png")
    ]


def test_a_manifest_that_leads_out_of_the_export_is_refused(blog: Blog, tmp_path: Path) -> None:
    fill_site_images(blog)
    out = tmp_path / "export"
    assert blog.quire("export", str(out)).exit_code == 0
    (tmp_path / "secret.png").write_bytes(png("red"))
    manifest = out / "_data" / "quire_media.yml"
    manifest.write_text("- file: ../../../secret.png\n")
    again = Blog.empty(blog.url, tmp_path / "second")
    result = again.quire("import", str(out))
    assert result.exit_code == 1
    assert "quire_media.yml: media not restored: entry 1: '../../../secret.png' is not a file" in (
        result.stderr
    )
    # A link in the media folder that leads out of it is as good as missing.
    manifest.write_text(f"- file: {'a' * 64}.png\n")
    (out / "assets" / "media" / f"{'a' * 64}.png").symlink_to(tmp_path / "secret.png")
    result = again.quire("import", str(out))
    assert result.exit_code == 1
    assert "not restored: cannot read it (no such file in the export)" in result.stderr
    assert again.contents()["media"] == {}


def test_a_file_over_the_upload_limit_is_refused_unread(blog: Blog, tmp_path: Path) -> None:
    stored = fill_site_images(blog)
    out = tmp_path / "export"
    assert blog.quire("export", str(out)).exit_code == 0
    huge = out / "assets" / "media" / file_name(stored["unused"].sha256, "image/png")
    with huge.open("r+b") as file:
        file.truncate(LIMIT * 3)  # sparse: no disk spent on it
    again = Blog.empty(blog.url, tmp_path / "second")
    result = again.quire("import", str(out))
    assert result.exit_code == 1
    assert f"{huge}: not restored: the file is 30 MB; the limit is" in result.stderr
    assert stored["unused"].sha256 not in again.contents()["media"]
