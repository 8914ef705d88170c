"""The media library over HTTP: uploads and their attacks, serving, the library, srcset."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from components.models import Media, MediaVariant, Post, User
from web import create_app

from .conftest import app_config, csrf_token, make_user, post_form, sign_in
from .media_helpers import noise, png_declaring

JSON = {"Accept": "application/json"}


def png(size: tuple[int, int] = (1200, 600)) -> bytes:
    out = io.BytesIO()
    noise(size).save(out, "PNG")
    return out.getvalue()


async def upload(client, data: bytes, filename: str = "photo.png", **extra: Any) -> Any:
    token = await csrf_token(client)
    return await client.post(
        "/admin/media",
        form={"csrf_token": token, "alt_text": extra.pop("alt_text", "A photo")},
        files={"file": _file(data, filename)},
        **extra,
    )


def _file(data: bytes, filename: str) -> Any:
    from werkzeug.datastructures import FileStorage

    return FileStorage(io.BytesIO(data), filename=filename, content_type="image/png")


async def rows(db: AsyncSession) -> tuple[int, int]:
    media = await db.scalar(select(func.count()).select_from(Media)) or 0
    variants = await db.scalar(select(func.count()).select_from(MediaVariant)) or 0
    return media, variants


def media_files(app) -> list[str]:
    folder: Path = app.config["INSTANCE_PATH"] / "media"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture
async def writer(client, author: User) -> User:
    await sign_in(client, "ada@example.com")
    return author


async def test_an_upload_without_javascript_lands_in_the_library_and_is_served(
    app, client, db, writer
) -> None:
    response = await upload(client, png())
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/admin/media?notice=")
    item = await db.scalar(select(Media))
    assert item.owner_id == writer.id and item.alt_text == "A photo"

    library = await (await client.get("/admin/media")).get_data(as_text=True)
    name = f"{item.sha256}.png"
    assert f"![A photo](/media/{name})" in library

    served = await client.get(f"/media/{name}")
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert Image.open(io.BytesIO(await served.get_data())).size == (1200, 600)
    assert (await client.get("/media/" + "0" * 64 + ".png")).status_code == 404
    assert (await client.get("/media/..%2Fsecret_key")).status_code == 404


async def test_the_editor_upload_answers_json_with_the_markdown(client, db, writer) -> None:
    response = await upload(client, png(), alt_text="A chart", headers=JSON)
    assert response.status_code == 201
    answer = await response.get_json()
    assert answer["markdown"] == f"![A chart]({answer['url']})"
    assert answer["url"].startswith("/media/") and answer["url"].endswith(".png")


BOMB = png_declaring(100_000, 100_000)
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
HTML = b"<!doctype html><html><script>alert(document.cookie)</script></html>"


@pytest.mark.parametrize(
    ("data", "filename", "status", "message"),
    [
        (HTML, "innocent.png", 422, "not an image Quire accepts"),
        (SVG, "drawing.svg", 422, "not an image Quire accepts"),
        (BOMB, "bomb.png", 413, "too large in pixels"),
        (b"", "empty.png", 422, "The file is empty."),
    ],
    ids=["html-as-png", "svg-with-script", "decompression-bomb", "empty"],
)
async def test_upload_attacks_are_refused_cleanly_and_write_nothing(
    app, client, db, writer, data: bytes, filename: str, status: int, message: str
) -> None:
    page = await upload(client, data, filename)
    assert page.status_code == status
    assert message in await page.get_data(as_text=True)
    as_json = await upload(client, data, filename, headers=JSON)
    assert as_json.status_code == status
    assert message in (await as_json.get_json())["error"]
    assert await rows(db) == (0, 0)
    assert media_files(app) == []


async def test_an_oversized_upload_gets_413_and_writes_nothing(
    database_url: str, tmp_path: Path, db: AsyncSession
) -> None:
    await make_user(db, "ada@example.com", "Ada")
    app = create_app(app_config(database_url, tmp_path / "i", QUIRE_MAX_UPLOAD_MB="1"))
    async with app.test_app() as test_app:
        client = test_app.test_client()
        await sign_in(client, "ada@example.com")
        big = png((1600, 1200))
        assert len(big) > 1_000_000
        refused = await upload(client, big, alt_text="A big one")
        assert refused.status_code == 413
        page = await refused.get_data(as_text=True)
        assert "the limit is 1 MB" in page
        assert 'id="upload-alt" name="alt_text" maxlength="500" value="A big one"' in page
        # Far beyond the limit, the server stops reading before the form is parsed,
        # and still says what the limit is: beside the file field, or to the editor.
        huge = await upload(client, b"\0" * 7_000_000)
        assert huge.status_code == 413
        page = await huge.get_data(as_text=True)
        assert "the limit is 1 MB" in page and 'aria-describedby="file-error"' in page
        from_editor = await upload(client, b"\0" * 7_000_000, headers=JSON)
        assert from_editor.status_code == 413
        assert "the limit is 1 MB" in (await from_editor.get_json())["error"]
        # Any other form past the cap gets the general page, which names the limit too.
        essay = await post_form(client, "/admin/posts/save", {"body": "a" * 7_000_000})
        assert essay.status_code == 413
        assert "an image may be up to 1 MB" in await essay.get_data(as_text=True)
        stranger = await upload(test_app.test_client(), b"\0" * 7_000_000)
        assert stranger.status_code == 413
        assert "an image may be up to 1 MB" in await stranger.get_data(as_text=True)
    assert await rows(db) == (0, 0)
    assert media_files(app) == []


async def test_a_refused_upload_shows_the_form_again_with_the_error_beside_the_file(
    client, db, writer
) -> None:
    response = await upload(client, HTML, "cat.png", alt_text="A cat <asleep>")
    assert response.status_code == 422
    page = await response.get_data(as_text=True)
    assert page.startswith("<!doctype html>")
    assert 'aria-invalid="true" aria-describedby="file-error"' in page
    assert '<p class="field-error" id="file-error" role="alert">' in page
    assert "not an image Quire accepts" in page.split('id="file-error"', 1)[1].split("</p>")[0]
    assert 'value="A cat &lt;asleep&gt;"' in page
    # htmx asking for a part of the page gets the form alone, in the same state.
    partial = await upload(
        client,
        HTML,
        "cat.png",
        alt_text="A cat",
        headers={"HX-Request": "true", "HX-Request-Type": "partial"},
    )
    fragment = await partial.get_data(as_text=True)
    assert partial.status_code == 422
    assert fragment.lstrip().startswith('<form id="media-upload"')
    assert 'value="A cat"' in fragment and 'id="file-error"' in fragment


# The backslash goes out escaped, as a quoted header value needs: the server reads `..\x.png`.
@pytest.mark.parametrize("name", ["../x.png", "a/b.png", "..\\\\x.png", "../../../etc/passwd.png"])
async def test_a_path_in_the_file_name_is_refused_and_never_reaches_the_disk(
    app, client, db, writer, name: str
) -> None:
    response = await upload(client, png(), name)
    assert response.status_code == 422
    assert "folder" in await response.get_data(as_text=True)
    as_json = await upload(client, png(), name, headers=JSON)
    assert as_json.status_code == 422
    assert "folder" in (await as_json.get_json())["error"]
    assert await rows(db) == (0, 0)
    assert media_files(app) == []
    assert not (app.config["INSTANCE_PATH"].parent / "etc").exists()


async def test_uploads_need_the_csrf_token(client, db, writer) -> None:
    response = await client.post("/admin/media", files={"file": _file(png(), "x.png")})
    assert response.status_code == 403
    assert await rows(db) == (0, 0)


async def test_a_post_showing_a_library_image_gets_srcset_and_sizes(client, db, writer) -> None:
    answer = await (await upload(client, png((2000, 1000)), headers=JSON)).get_json()
    response = await post_form(
        client,
        "/admin/posts/save",
        {"title": "With a picture", "body": answer["markdown"], "action": "publish"},
    )
    assert response.status_code == 303
    post = await db.scalar(select(Post))
    assert 'srcset="/media/' in post.body_html
    for width in (480, 960, 1200, 1600, 2000):
        assert f" {width}w" in post.body_html
    assert 'width="2000" height="1000" loading="lazy"' in post.body_html


async def test_media_a_post_uses_cannot_be_deleted(client, db, writer) -> None:
    answer = await (await upload(client, png(), headers=JSON)).get_json()
    await post_form(client, "/admin/posts/save", {"title": "Uses it", "body": answer["markdown"]})
    refused = await post_form(client, f"/admin/media/{answer['id']}/delete")
    assert refused.status_code == 422
    assert "Still used by: “Uses it”" in await refused.get_data(as_text=True)
    assert (await rows(db))[0] == 1

    other = await (await upload(client, png((300, 300)), headers=JSON)).get_json()
    deleted = await post_form(client, f"/admin/media/{other['id']}/delete")
    assert deleted.status_code == 303
    assert (await rows(db))[0] == 1


async def test_authors_see_and_delete_only_their_own_media(app, db) -> None:
    await make_user(db, "ada@example.com", "Ada")
    await make_user(db, "bob@example.com", "Bob")
    async with app.test_app() as test_app:
        ada, bob = test_app.test_client(), test_app.test_client()
        await sign_in(ada, "ada@example.com")
        await sign_in(bob, "bob@example.com")
        mine = await (await upload(ada, png(), "ada.png", headers=JSON)).get_json()
        assert "ada.png" not in await (await bob.get("/admin/media")).get_data(as_text=True)
        assert (await post_form(bob, f"/admin/media/{mine['id']}/delete")).status_code == 403
        assert "ada.png" in await (await ada.get("/admin/media")).get_data(as_text=True)
    assert (await rows(db))[0] == 1
