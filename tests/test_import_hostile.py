"""`quire import` given what it should not take: images outside the folders it was given
(a post cannot bring a file from elsewhere on the machine into the public media library,
nor learn whether one exists), former addresses that belong to a route or another post,
and NUL characters an export can carry."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import backend_url
from tests.media_helpers import encode, halves
from tests.portability import FIXTURES, Blog


def post(folder: Path, body: str) -> Path:
    file = folder / "_posts" / "2024-01-01-reach.md"
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(f"---\ntitle: Reach\n---\n{body}\n")
    return file


def test_images_outside_the_imported_folder_are_not_read(
    backend: str, postgres_schema: None, tmp_path: Path
) -> None:
    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "secret.png").write_bytes(encode(halves(), "PNG"))
    (outside / "notes.txt").write_text("not an image")
    site = tmp_path / "site"
    (site / "assets").mkdir(parents=True)
    (site / "assets" / "inside.png").write_bytes(encode(halves((40, 20)), "PNG"))
    (site / "assets" / "link.png").symlink_to(outside / "secret.png")
    targets = {
        "up": "../../private/secret.png",
        "absolute": f"{outside}/secret.png",
        "not an image, outside": f"{outside}/notes.txt",
        "missing, outside": f"{outside}/nothing.png",
        "a link inside to a file outside": "/assets/link.png",
    }
    body = "\n".join(f"![{alt}]({target})" for alt, target in targets.items())
    post(site, f"![inside](/assets/inside.png)\n{body}")
    blog = Blog.empty(backend_url(backend, tmp_path), tmp_path)

    result = blog.quire("import", str(site))

    media = blog.contents()["media"]
    assert [name for name, *_ in media.values()] == ["inside.png"]
    # One message, whether the file is missing, not an image, or simply elsewhere.
    for target in targets.values():
        assert f"image {target!r} not found in the imported folder" in result.stderr
    assert "not an image" not in result.stderr
    # Only the image inside became a library address; the others' links are as written.
    body = blog.posts()["reach"].body
    assert body.count("](/media/") == 1
    assert all(f"]({target})" in body for target in targets.values())


def test_a_post_given_alone_reads_images_beside_it_only(
    backend: str, postgres_schema: None, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    (site / "assets").mkdir(parents=True)
    (site / "assets" / "root.png").write_bytes(encode(halves(), "PNG"))
    file = post(site, "![beside](here.png)\n![root](/assets/root.png)")
    (file.parent / "here.png").write_bytes(encode(halves((30, 10)), "PNG"))
    blog = Blog.empty(backend_url(backend, tmp_path), tmp_path)

    result = blog.quire("import", str(file))

    assert [name for name, *_ in blog.contents()["media"].values()] == ["here.png"]
    assert "image '/assets/root.png' not found in the imported folder" in result.stderr


def test_former_addresses_that_belong_to_a_route_or_another_post_are_refused(
    backend: str, postgres_schema: None, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    (site / "_posts").mkdir(parents=True)
    (site / "_posts" / "2023-01-01-first.md").write_text(
        "---\ntitle: First\nredirect_from: [/old-first]\n---\nOne.\n"
    )
    (site / "about.md").write_text("---\ntitle: About me\nlayout: page\n---\nMe.\n")
    wanted = ["/tags", "/feed.xml", "/about", "/2023/01/01/first", "/old-first", "/old-b"]
    (site / "_posts" / "2023-02-01-second.md").write_text(
        f"---\ntitle: Second\nredirect_from: [{', '.join(wanted)}]\n---\nTwo.\n"
    )
    blog = Blog.empty(backend_url(backend, tmp_path), tmp_path)

    result = blog.quire("import", str(site))

    second = blog.posts()["second"]
    assert {"/old-b"} == blog.contents()["posts"]["second"].redirects
    assert blog.contents()["posts"]["first"].redirects == {"/old-first"}
    refused = {
        "/tags": "it is the site's own (it serves /tags)",
        "/feed.xml": "it is the site's own (it serves /feed.xml)",
        "/about": "it is the address of “About me”",
        "/2023/01/01/first": "it is the address of “First”",
    }
    for path, reason in refused.items():
        if path != "/about":
            assert f"former address {path!r} not kept: {reason}" in result.stderr
    # Named by a file of this same import, and by the blog's own records once imported.
    assert "former address /old-first is already" in result.stderr
    # The page came after the post that named its address (files go in name order): the
    # page takes it, and says so.
    assert "/about was a former address of “Second”; it is this one's now" in result.stderr
    assert second.title == "Second"
    # Imported again: nothing changes, and the same addresses are named again.
    again = blog.quire("import", str(site))
    assert "0 created, 0 updated, 3 unchanged" in again.stdout
    assert "former address '/about' not kept: it is the address of “About me”" in again.stderr
    # Alone, the second file meets the first's former address in the blog's own records.
    alone = blog.quire("import", str(site / "_posts" / "2023-02-01-second.md"))
    assert "former address '/old-first' not kept: it already leads to “First”" in alone.stderr
    assert "0 created, 0 updated, 1 unchanged" in alone.stdout


def test_a_nul_character_in_an_export_is_refused_on_both_databases(
    backend: str, postgres_schema: None, tmp_path: Path
) -> None:
    """SQLite would keep it and PostgreSQL refuse it: the same export must do the same
    on both, naming the post."""
    export = json.loads((FIXTURES.parent / "ghost" / "blog.json").read_text())
    posts = export["db"][0]["data"]["posts"]
    posts[0]["title"] = "Bad\x00title"
    file = tmp_path / "nul.json"
    file.write_text(json.dumps(export))
    blog = Blog.empty(backend_url(backend, tmp_path), tmp_path)

    result = blog.quire("import", str(file))

    assert result.exit_code == 1
    assert "its title holds a NUL character" in result.output
    assert posts[0]["slug"] not in blog.contents()["posts"]
    assert len(blog.contents()["posts"]) == len(posts) - 1


def test_a_nul_character_in_a_series_name_is_refused(
    backend: str, postgres_schema: None, tmp_path: Path
) -> None:
    site = tmp_path / "site" / "_posts"
    site.mkdir(parents=True)
    (site / "2024-01-01-escaped.md").write_text('---\ntitle: Escaped\nseries: "a\\0b"\n---\nx\n')
    blog = Blog.empty(backend_url(backend, tmp_path), tmp_path)
    result = blog.quire("import", str(tmp_path / "site"))
    assert result.exit_code == 1
    assert "its series holds a NUL character" in result.output
    assert blog.contents()["posts"] == {}
