"""`quire export`, and import(export(blog)) == blog: by example and by property."""

from __future__ import annotations

import dataclasses
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from quart import Quart
from sqlalchemy.ext.asyncio import AsyncSession

from cli import portability
from components import exporter, frontmatter, site
from components.comments import markup
from components.db import make_engine
from components.frontmatter import Source
from components.media.library import store
from components.models import (
    AuthorProfile,
    Comment,
    CommentStatus,
    Media,
    PostStatus,
    Redirect,
    Role,
)
from components.text import slugify
from web import create_app

from .conftest import (
    app_config,
    backend_url,
    make_user,
    reset_database,
    run_async,
    session_on,
    write_post,
)
from .portability import FIXTURES, NO_SITE_IMAGES, Blog, contents


@pytest.fixture
def blog(backend: str, postgres_schema: None, tmp_path: Path) -> Blog:
    return Blog.empty(backend_url(backend, tmp_path), tmp_path)


def test_export_then_import_into_an_empty_blog_gives_the_same_blog(
    blog: Blog, tmp_path: Path
) -> None:
    blog.quire("import", str(FIXTURES))
    before = blog.contents()
    out = tmp_path / "export"
    result = blog.quire("export", str(out))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith(
        f"exported 9 post(s) (3 draft(s)) and 5 image(s) to {out}"
    )

    written = sorted(str(path.relative_to(out)) for path in out.rglob("*") if path.is_file())
    assert "_drafts/a-jekyll-draft.md" in written
    assert "_posts/2023-09-29-hello-jekyll.md" in written
    assert "_data/quire_media.yml" in written
    assert sum(name.startswith("assets/media/") for name in written) == 5
    # A post not edited since its import goes out as its file came in, byte for byte.
    draft = out / "_posts" / "2023-03-01-unpublished.md"
    assert draft.read_bytes() == (FIXTURES / "_posts" / "2023-03-01-unpublished.md").read_bytes()
    hello = (out / "_posts" / "2023-09-29-hello-jekyll.md").read_text()
    assert "](/assets/media/" in hello and "/media/" not in hello.replace("/assets/media/", "")

    again = Blog.empty(blog.url, tmp_path / "second")
    assert again.contents() == {
        "posts": {},
        "media": {},
        "comments": [],
        "site_images": NO_SITE_IMAGES,
    }
    imported = again.quire("import", str(out))
    assert imported.exit_code == 0, imported.output
    assert again.contents() == before
    # The export is a Jekyll site Quire reads back without a change.
    assert "0 created, 0 updated, 9 unchanged" in again.quire("import", str(out)).stdout


def test_export_refuses_a_folder_that_is_not_empty(blog: Blog, tmp_path: Path) -> None:
    blog.quire("import", str(FIXTURES / "_posts"))
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = blog.quire("export", str(out))
    assert result.exit_code == 1
    assert f"{out} is not an empty folder" in result.output
    assert [path.name for path in out.iterdir()] == ["keep.txt"]
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".busy-")]


def test_an_empty_blog_exports_an_empty_folder(blog: Blog, tmp_path: Path) -> None:
    result = blog.quire("export", str(tmp_path / "out"))
    assert result.exit_code == 0 and "exported 0 post(s)" in result.stdout
    assert list((tmp_path / "out").iterdir()) == []


def test_windows_line_endings_come_back_as_plain_newlines(blog: Blog, tmp_path: Path) -> None:
    async def add() -> None:
        async with session_on(blog.url) as session:
            await write_post(session, title="CRLF", body="one\r\ntwo\r\n")
            await session.commit()

    run_async(add())
    blog.quire("export", str(tmp_path / "out"))
    again = Blog.empty(blog.url, tmp_path / "second")
    again.quire("import", str(tmp_path / "out"))
    assert again.contents()["posts"]["crlf"].body == "one\ntwo\n"


# --- the property ---------------------------------------------------------------

_KEPT_OUT = {*frontmatter._KNOWN, "image"}
# No NUL: PostgreSQL stores none in text, and the reader refuses a file with one.
_text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\0"), max_size=60)
_words = _text.map(lambda text: " ".join(text.split()))
titles = _words.filter(lambda title: 0 < len(title) <= 300)
slugs = st.from_regex(r"[a-z0-9]{1,12}(-[a-z0-9]{1,12}){0,3}", fullmatch=True)
tag_names = st.lists(_words.filter(slugify), max_size=4, unique_by=slugify)
# Microseconds kept: a date must come back to the microsecond.
moments = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
bodies = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\r\0"), max_size=300)
paths = st.from_regex(r"/[a-z0-9_.~-]{1,20}(/[a-z0-9_.~-]{1,20}){0,2}/?", fullmatch=True)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True), children, max_size=3)
    ),
    max_leaves=6,
)
extras = st.dictionaries(
    # `summary` and `excerpt` are kept, and stand in for a missing description on import.
    st.sampled_from(["summary", "Excerpt"])
    | st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,12}", fullmatch=True).filter(
        lambda key: key.lower() not in _KEPT_OUT
    ),
    json_values,
    max_size=4,
)


@st.composite
def exported_posts(draw: st.DrawFn, slug: str | None = None) -> Source:
    draft = draw(st.booleans())
    return Source(
        title=draw(titles),
        slug=slug or draw(slugs),
        body=draw(bodies),
        description=draw(_text).strip(),
        tags=tuple(draw(tag_names)),
        draft=draft,
        date=draw(st.none() | moments) if draft else draw(moments),
        comments=draw(st.booleans()),
        share=draw(st.booleans()),
        redirects=tuple(draw(st.lists(paths, max_size=3, unique=True))),
        extra=draw(extras),
    )


@settings(max_examples=300, deadline=None, derandomize=True)
@given(exported_posts())
def test_reading_a_written_file_gives_the_post_back(post: Source) -> None:
    path = exporter.file_path(post)
    assert frontmatter.read(exporter.render_file(post).encode(), path) == post


def test_an_empty_description_stays_empty_beside_a_kept_summary() -> None:
    # On import a summary stands in for a missing description, so an export must say
    # that this one is empty.
    for key in ("summary", "Excerpt"):
        post = Source(title="T", slug="t", body="", extra={key: "Said elsewhere."})
        assert frontmatter.read(exporter.render_file(post).encode(), PurePosixPath("t.md")) == post


def test_a_next_line_character_comes_back_as_it_was() -> None:
    """YAML reads NEL (U+0085) as a line break: unescaped, it would come back a space."""
    post = Source(
        title="T",
        slug="t",
        body="",
        description="before\x85after",
        extra={"summary": "\x85", "notes": ["a\x85b", {"deep": "c\x85"}]},
    )
    assert frontmatter.read(exporter.render_file(post).encode(), PurePosixPath("t.md")) == post


def test_kept_dates_are_written_as_dates() -> None:
    post = Source(title="T", slug="t", body="", extra={"lastmod": "2023-10-02"})
    matter = exporter.render_file(post).split("---\n")[1]
    assert yaml.safe_load(matter)["lastmod"] == datetime(2023, 10, 2).date()
    assert exporter.file_path(post) == PurePosixPath("_drafts/t.md")


@dataclasses.dataclass(frozen=True)
class Said:
    """A generated comment: who, what, in which state, replying to which earlier one."""

    name: str
    url: str
    body: str
    status: CommentStatus
    parent: int | None  # an index among the post's earlier comments


# What a comment can hold: PostgreSQL stores no NUL, and no reader can type a surrogate.
comment_text = st.text(
    alphabet=st.characters(exclude_characters="\x00", exclude_categories=("Cs",))
)


@st.composite
def conversations(draw: st.DrawFn) -> list[Said]:
    said: list[Said] = []
    for index in range(draw(st.integers(0, 4))):
        said.append(
            Said(
                name=draw(
                    comment_text.filter(lambda n: bool(n.strip())).map(
                        lambda n: " ".join(n.split())[:30]
                    )
                )
                or "Someone",
                url=draw(st.sampled_from(["", "https://reader.example/"])),
                body=draw(comment_text.filter(lambda b: bool(b.strip()))),
                status=draw(st.sampled_from(list(CommentStatus))),
                parent=draw(st.none() | st.integers(0, index - 1)) if index else None,
            )
        )
    return said


@dataclasses.dataclass(frozen=True)
class Drawn:
    """A generated image: its pixels' size and colour, its format and its alt text."""

    width: int
    height: int
    color: tuple[int, int, int]
    kind: str
    alt: str

    def data(self) -> bytes:
        output = io.BytesIO()
        Image.new("RGB", (self.width, self.height), self.color).save(output, self.kind)
        return output.getvalue()


drawn = st.builds(
    Drawn,
    width=st.integers(1, 64),
    height=st.integers(1, 64),
    color=st.tuples(*[st.integers(0, 255)] * 3),
    kind=st.sampled_from(["PNG", "JPEG", "GIF", "WEBP"]),
    alt=_words.map(lambda alt: alt[:100]),
)


@dataclasses.dataclass(frozen=True)
class SiteImages:
    """What no post shows: the logo, the icon, an author's avatar, an image left unused."""

    logo: Drawn | None
    icon: Drawn | None
    avatar: Drawn | None
    unused: Drawn | None


site_images = st.builds(
    SiteImages, logo=st.none() | drawn, icon=st.none() | drawn, avatar=st.none() | drawn,
    unused=st.none() | drawn,
)  # fmt: skip

Wanted = tuple[list[tuple[Source, PostStatus, list[Said]]], SiteImages]


@st.composite
def blogs(draw: st.DrawFn) -> Wanted:
    """A few posts with distinct slugs and distinct former addresses, and comments; and
    the images the site and its people show."""
    slugs_used = draw(st.lists(slugs, min_size=1, max_size=4, unique=True))
    chosen = [draw(exported_posts(slug)) for slug in slugs_used]
    taken: set[str] = set()
    result = []
    for post in chosen:
        redirects = tuple(path for path in post.redirects if path not in taken)
        taken.update(redirects)
        scheduled = not post.draft and draw(st.booleans())
        if scheduled:
            post = dataclasses.replace(
                post, date=datetime.now(UTC) + timedelta(days=draw(st.integers(1, 9000)))
            )
        status = (
            PostStatus.DRAFT
            if post.draft
            else PostStatus.SCHEDULED
            if scheduled
            else PostStatus.PUBLISHED
        )
        said = draw(conversations())
        result.append((dataclasses.replace(post, redirects=redirects), status, said))
    return result, draw(site_images)


async def _fill_images(session: AsyncSession, images: SiteImages, folder: Path) -> None:
    """The site's images as an admin uploads them: through the library, as a writer's."""
    writer = await make_user(session, "writer@example.com", "A Writer", role=Role.ADMIN)

    async def upload(image: Drawn | None, name: str) -> Media | None:
        if image is None:
            return None
        owner = writer if name != "unused.png" else None
        return await store(
            session,
            image.data(),
            filename=name,
            owner=owner,
            max_bytes=10_000_000,
            folder=folder,
            alt_text=image.alt,
        )

    logo, icon = await upload(images.logo, "logo.png"), await upload(images.icon, "icon.png")
    if logo or icon:
        await site.save_images(session, logo=logo, favicon=icon)
    if avatar := await upload(images.avatar, "me.png"):
        session.add(AuthorProfile(user_id=writer.id, avatar_id=avatar.id))
    await upload(images.unused, "unused.png")


async def _fill(session: AsyncSession, wanted: Wanted, media: Path) -> None:
    moment = datetime(2024, 1, 1, tzinfo=UTC)
    posts, images = wanted
    await _fill_images(session, images, media)
    for post, status, said in posts:
        created = await write_post(
            session,
            title=post.title,
            slug=post.slug,
            body=post.body,
            description=post.description,
            tags=post.tags,
            status=status,
            comments_enabled=post.comments,
            share_enabled=post.share,
        )
        created.published_at = post.date
        created.front_matter = post.extra
        session.add_all(Redirect(path=path, post_id=created.id) for path in post.redirects)
        made: list[Comment] = []
        for comment in said:
            moment += timedelta(minutes=1, microseconds=7)
            made.append(
                Comment(
                    post_id=created.id,
                    parent=made[comment.parent] if comment.parent is not None else None,
                    author_name=comment.name,
                    author_url=comment.url,
                    body=comment.body,
                    body_html=markup.render(comment.body),
                    status=comment.status,
                    created_at=moment,
                )
            )
        session.add_all(made)
    await session.commit()


async def _round_trip(app: Quart, folder: Path, wanted: Wanted) -> None:
    url = app.config["DATABASE_URL"]
    await reset_database(url)
    async with session_on(url) as session:
        await _fill(session, wanted, app.config["INSTANCE_PATH"] / "media")
    before = await contents(url)
    out = folder / "export"
    engine = make_engine(url)
    try:
        async with portability.web_links(app) as links:
            await portability.export_all(engine, out, links=links, show=lambda *_: None)
            await reset_database(url)
            files, missing = portability.markdown_files([out])
            report = await portability.import_files(
                engine,
                files,
                links=links,
                settings=app.config,
                author_email=None,
                time_zone="UTC",
                dry_run=False,
                show=lambda *_: None,
                folders=[out],
            )
    finally:
        await engine.dispose()
    # Only the restore's own lines about its data files: nothing left out, no warning.
    said = [note for note in report.notes if not note.startswith(str(out / "_data"))]
    assert (missing, report.problems, said) == ([], [], [])
    after = await contents(url)
    # Tag names that slug alike are one tag, named as the first post had it.
    assert after == before


# Blogs made and sent round, per database. The round trip is the same code on both: what
# PostgreSQL adds (its types, its ordering) shows in fewer blogs.
ROUND_TRIPS = {"sqlite": 25, "postgresql": 8}


def test_import_of_export_is_the_same_blog(
    backend: str, postgres_schema: None, tmp_path_factory: pytest.TempPathFactory
) -> None:
    @settings(
        max_examples=ROUND_TRIPS[backend],
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(wanted=blogs())
    def round_trip(wanted: Any) -> None:
        folder = tmp_path_factory.mktemp("roundtrip")
        url = backend_url(backend, folder)
        app = create_app(app_config(url, folder / "instance"))
        run_async(_round_trip(app, folder, wanted))

    round_trip()
