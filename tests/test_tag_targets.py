"""What template tags need from the disk: a file's generator, and the slug a linked file
gives (components/tag_targets.py), and `quire import` using both."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.tag_targets import Files

from .conftest import backend_url
from .portability import Blog


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


POST = "---\ntitle: T\n---\nx\n"


@pytest.mark.parametrize(
    ("settings", "relative", "head", "hugo"),
    [
        # TOML front matter is Hugo's alone.
        ({}, "notes/a.md", "+++\ntitle = 'T'\n+++\n", True),
        # The nearest site settings say which.
        ({"hugo.toml": ""}, "content/posts/a.md", "---\n", True),
        ({"config.toml": "", "content/.keep": ""}, "content/posts/a.md", "---\n", True),
        ({"_config.yml": ""}, "blog/a.md", "---\n", False),
        # A Jekyll site's settings win over a `content` folder name in it.
        ({"_config.yml": ""}, "content/a.md", "---\n", False),
        # `config.toml` alone (no `content/` beside it) is no Hugo site.
        ({"config.toml": ""}, "notes/a.md", "---\n", False),
        # Without settings: Jekyll's folders, else Hugo's `content`, else Jekyll.
        ({"hugo.toml": ""}, "_posts/2024-01-01-a.md", "---\n", False),
        ({}, "content/posts/a.md", "---\n", True),
        ({}, "notes/a.md", "---\n", False),
    ],
)
def test_which_generator_a_file_was_written_for(
    tmp_path: Path, settings: dict[str, str], relative: str, head: str, hugo: bool
) -> None:
    site = tmp_path / "site"
    for name, text in settings.items():
        write(site, name, text)
    file = write(site, relative, head + "x\n")
    assert Files(roots=(site.resolve(),)).is_hugo(file, head) is hugo


def test_a_linked_file_gives_its_own_slug_as_the_generators_find_it(tmp_path: Path) -> None:
    site = tmp_path / "site"
    write(site, "_posts/2024-01-01-first.md", "---\ntitle: First\nslug: chosen-one\n---\nx\n")
    write(site, "about.md", "---\ntitle: About\nlayout: page\npermalink: /about-me/\n---\nx\n")
    write(site, "content/posts/bundle/index.md", "---\ntitle: B\nslug: bundled\n---\nx\n")
    write(site, "content/posts/plain.md", POST)
    linking = write(site, "_posts/2024-02-02-links.md", POST)
    slug_of = Files(roots=(site.resolve(),)).slugs_for(linking)
    assert slug_of("link", "_posts/2024-01-01-first.md") == "chosen-one"
    assert slug_of("link", "/about.md") == "about-me"
    assert slug_of("post_url", "2024-01-01-first") == "chosen-one"
    assert slug_of("link", "_posts/2099-01-01-missing.md") is None

    in_hugo = Files(roots=(site.resolve(),)).slugs_for(site / "content" / "posts" / "plain.md")
    assert in_hugo("ref", "posts/bundle") == "bundled"  # from the content folder
    assert in_hugo("relref", "bundle/index.md") == "bundled"  # beside the page
    assert in_hugo("ref", "plain") == "plain"  # the suffix left out


def test_only_files_under_the_imported_folders_are_read(tmp_path: Path) -> None:
    write(tmp_path, "secret.md", "---\ntitle: Private words here\n---\nx\n")
    posts = tmp_path / "site" / "_posts"
    linking = write(posts, "2024-02-02-links.md", POST)
    slug_of = Files(roots=(posts.resolve(),)).slugs_for(linking)
    assert slug_of("link", "../../secret.md") is None
    assert slug_of("link", "/secret.md") is None
    (posts / "escape.md").symlink_to(tmp_path / "secret.md")
    assert slug_of("link", "_posts/escape.md") is None


def test_a_target_that_is_no_post_says_nothing(tmp_path: Path) -> None:
    site = tmp_path / "site"
    write(site, "_posts/2024-01-01-broken.md", "---\ntitle: [unclosed\n---\nx\n")
    write(site, "assets/a.png", "not a post")
    linking = write(site, "_posts/2024-02-02-links.md", POST)
    slug_of = Files(roots=(site.resolve(),)).slugs_for(linking)
    assert slug_of("link", "_posts/2024-01-01-broken.md") is None
    assert slug_of("link", "assets/a.png") is None


# --- through `quire import` ---------------------------------------------------------


@pytest.fixture
def blog(backend: str, postgres_schema: None, tmp_path: Path) -> Blog:
    return Blog.empty(backend_url(backend, tmp_path), tmp_path)


def test_jekyll_links_lead_to_the_slugs_their_targets_chose(blog: Blog, tmp_path: Path) -> None:
    site = tmp_path / "jekyll"
    write(site, "_config.yml", "title: Mine\n")
    write(site, "_posts/2024-01-01-first.md", "---\ntitle: First\nslug: chosen-one\n---\nx\n")
    write(site, "about.md", "---\ntitle: About\nlayout: page\npermalink: /about-me/\n---\nx\n")
    links = write(
        site,
        "_posts/2024-02-02-links.md",
        "---\ntitle: Links\n---\n\n[a]({% link _posts/2024-01-01-first.md %}) "
        "[b]({% post_url 2024-01-01-first %}) [c]({% link about.md %})\n\n{{ page.title }}\n",
    )
    result = blog.quire("import", str(site))
    assert result.exit_code == 0, result.output
    body = blog.posts()["links"].body
    assert "[a](/chosen-one) [b](/chosen-one) [c](/about-me)" in body
    assert f"{links}: line 7: {{{{ page.title }}}} left as it was" in result.stderr


def test_hugo_refs_take_their_targets_slugs_and_double_braces_stay_quiet(
    blog: Blog, tmp_path: Path
) -> None:
    site = tmp_path / "hugo"
    write(site, "hugo.toml", "title = 'Mine'\n")
    write(site, "content/posts/first.md", "---\ntitle: First\nslug: hugo-first\n---\nx\n")
    write(
        site,
        "content/posts/second.md",
        '---\ntitle: Second\n---\n\n[a]({{< ref "posts/first.md" >}}) '
        '[b]({{< relref "first" >}})\n\nIn a template, write {{ .Title }}.\n',
    )
    result = blog.quire("import", str(site / "content"))
    assert result.exit_code == 0, result.output
    body = blog.posts()["second"].body
    assert "[a](/hugo-first) [b](/hugo-first)" in body
    assert "write {{ .Title }}." in body
    assert "left as it was" not in result.stderr


def test_a_file_of_many_tags_tells_twenty_and_counts_the_rest(blog: Blog, tmp_path: Path) -> None:
    tags = "".join(f"{{% include part-{number}.html %}}\n" for number in range(500))
    post = write(tmp_path / "site", "_posts/2024-01-01-many.md", f"---\ntitle: Many\n---\n{tags}")
    result = blog.quire("import", str(tmp_path / "site"))
    assert result.exit_code == 0, result.output
    told = [line for line in result.stderr.splitlines() if line.startswith(f"warning: {post}:")]
    assert len(told) == 21
    assert told[-1] == f"warning: {post}: 480 more tag(s) left as they were, not listed one by one"
