"""The addresses other generators gave a post: "pretty" ones with a trailing slash or
`/index.html` answer 301 to the canonical one, and only where something is there."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import PurePath

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from components import frontmatter
from components.models import PostKind, PostStatus
from tests.conftest import write_post

WHEN = datetime(2023, 9, 29, 10, tzinfo=UTC)


@pytest.fixture
async def published(db: AsyncSession) -> None:
    await write_post(
        db,
        title="Hello",
        body="x",
        tags=["flask"],
        status=PostStatus.PUBLISHED,
        published_at=WHEN,
    )
    page = await write_post(
        db, title="About", body="me", status=PostStatus.PUBLISHED, published_at=WHEN
    )
    page.kind = PostKind.PAGE
    await write_post(db, title="Draft", body="not yet")
    await db.commit()


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("/2023/09/29/hello/", "/2023/09/29/hello"),
        ("/2023/09/29/hello/index.html", "/2023/09/29/hello"),
        ("/2023/09/29/hello/?utm=x", "/2023/09/29/hello?utm=x"),
        ("/tags/flask/", "/tags/flask"),
        ("/about/", "/about"),
        ("/about/index.html", "/about"),
        ("/about.html", "/about"),
        ("/archive/", "/archive"),
        # The short form imported links to other posts take.
        ("/hello", "/2023/09/29/hello"),
        ("/hello/", "/2023/09/29/hello"),
    ],
)
async def test_pretty_addresses_move_to_the_canonical_one(
    client, published: None, old: str, new: str
) -> None:
    response = await client.get(old)
    assert response.status_code == 301
    assert response.location == new


@pytest.mark.parametrize(
    "missing",
    [
        "/2023/09/29/nothing/",
        "/2023/09/29/nothing/index.html",
        "/nothing/",
        "/a/b/c/",
        "/draft",
    ],
)
async def test_a_pretty_address_of_nothing_is_not_found_at_once(
    client, published: None, missing: str
) -> None:
    assert (await client.get(missing)).status_code == 404


@pytest.mark.parametrize(
    ("relative", "slug"),
    [
        ("content/posts/my-trip/index.md", "my-trip"),
        ("content/posts/my-trip/index.en.md", "my-trip"),
        ("content/posts/my-trip/index.fr.md", "my-trip"),
        ("content/posts/2023-09-29-dated/index.md", "dated"),
    ],
)
def test_a_hugo_bundle_takes_its_folders_name(relative: str, slug: str) -> None:
    source = frontmatter.read(b"---\ntitle: A trip\n---\nx\n", PurePath("site") / relative)
    assert source.slug == slug
