"""Reading Jekyll and Hugo files: every front matter key, and every way a file is wrong."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import PurePath

import pytest

from components.frontmatter import Source, SourceError, read

POSTS = PurePath("site/_posts")


def source(text: str | bytes, name: str = "2023-09-29-from-name.md", **options: str) -> Source:
    data = text.encode() if isinstance(text, str) else text
    return read(data, POSTS / name, **options)


def problem(text: str | bytes, name: str = "post.md") -> SourceError:
    with pytest.raises(SourceError) as caught:
        source(text, name)
    return caught.value


def test_jekyll_keys_map_onto_the_post() -> None:
    found = source(
        "---\n"
        "layout: post\n"
        "title: '  Hello,   Jekyll '\n"
        "description: ' '\n"
        "date: 2023-09-29 10:00:00 +0200\n"
        "tags: python web\n"
        "categories: [Notes, python]\n"
        "comments: true\n"
        "share: false\n"
        "permalink: /blog/hello.html\n"
        "redirect_from: [/old/hello/, /blog/hello.html]\n"
        "image: /assets/cover.png\n"
        "---\n"
        "\n"
        "The body.\n"
    )
    assert found.title == "Hello, Jekyll"
    assert found.slug == "from-name"
    assert found.description == ""
    assert found.date == datetime(2023, 9, 29, 8, 0, tzinfo=UTC)
    assert found.tags == ("python", "web", "Notes")  # "python" twice is one tag
    assert (found.comments, found.share, found.draft) == (True, False, False)
    assert found.redirects == ("/blog/hello.html", "/old/hello/")
    assert found.image == "/assets/cover.png"
    assert found.extra == {"layout": "post", "image": "/assets/cover.png"}
    assert found.body == "The body.\n"


def test_hugo_toml_keys_map_onto_the_post() -> None:
    found = source(
        "+++\n"
        "title = 'Hugo: 日本語'\n"
        "date = 2023-10-01T08:30:00-07:00\n"
        "lastmod = 2023-10-02\n"
        "draft = true\n"
        "slug = 'Chosen Slug'\n"
        "tags = ['Hugo', 'TOML']\n"
        "aliases = ['/posts/old/', 'relative-alias']\n"
        "summary = 'Said in TOML.'\n"
        "[params]\n"
        "mood = 'curious'\n"
        "+++\n"
        "Body\n",
        "hugo.md",
    )
    assert found.title == "Hugo: 日本語"
    assert found.slug == "chosen-slug"
    assert found.date == datetime(2023, 10, 1, 15, 30, tzinfo=UTC)
    assert found.draft is True
    assert found.tags == ("Hugo", "TOML")
    assert found.redirects == ("/posts/old/", "/relative-alias")
    assert found.description == "Said in TOML."  # a summary stands in for a description
    assert found.extra == {
        "lastmod": "2023-10-02",
        "summary": "Said in TOML.",
        "params": {"mood": "curious"},
    }


def test_hugo_keys_are_read_whatever_their_case() -> None:
    found = source("---\nTitle: Capitals\nDraft: true\nTags: [a]\n---\n", "x.md")
    assert (found.title, found.draft, found.tags) == ("Capitals", True, ("a",))


@pytest.mark.parametrize(
    ("written", "zone", "expected"),
    [
        ("2023-09-29", "UTC", datetime(2023, 9, 29, tzinfo=UTC)),
        ("2023-09-29", "Europe/Paris", datetime(2023, 9, 28, 22, tzinfo=UTC)),
        ("2023-09-29 10:00", "America/New_York", datetime(2023, 9, 29, 14, tzinfo=UTC)),
        ("2023-09-29 10:00:00 +0200", "America/New_York", datetime(2023, 9, 29, 8, tzinfo=UTC)),
        ("'2023-09-29 10:00:00 -0530'", "UTC", datetime(2023, 9, 29, 15, 30, tzinfo=UTC)),
        ("2023-09-29T10:00:00Z", "Asia/Tokyo", datetime(2023, 9, 29, 10, tzinfo=UTC)),
        ("2023-09-29T10:00:00.25+01:00", "UTC", datetime(2023, 9, 29, 9, 0, 0, 250000, UTC)),
        ("2024-02-29", "UTC", datetime(2024, 2, 29, tzinfo=UTC)),
        # The repeated hour when clocks go back: the first of the two is meant.
        ("2023-10-29 02:30", "Europe/Paris", datetime(2023, 10, 29, 0, 30, tzinfo=UTC)),
    ],
)
def test_dates_and_zones(written: str, zone: str, expected: datetime) -> None:
    assert source(f"---\ntitle: T\ndate: {written}\n---\n", time_zone=zone).date == expected


def test_the_date_comes_from_the_file_name_when_the_front_matter_has_none() -> None:
    found = source("---\ntitle: T\n---\n", "2023-01-05-named.md", time_zone="Europe/Paris")
    assert (found.slug, found.date) == ("named", datetime(2023, 1, 4, 23, tzinfo=UTC))
    undated = source("---\ntitle: T\n---\n", "undated.md")
    assert (undated.slug, undated.date) == ("undated", None)


def test_drafts_folder_and_published_false_make_drafts() -> None:
    in_drafts = read(b"---\ntitle: T\n---\n", PurePath("site/_drafts/2023-01-05-idea.md"))
    assert in_drafts.draft and in_drafts.date is None and in_drafts.slug == "2023-01-05-idea"
    assert source("---\ntitle: T\npublished: false\n---\n").draft
    assert not source("---\ntitle: T\npublished: true\n---\n").draft


def test_slug_falls_back_from_front_matter_to_file_name_to_title() -> None:
    assert source("---\ntitle: T\nslug: Given Here\n---\n").slug == "given-here"
    assert source("---\ntitle: Crème Brûlée\n---\n", "ÄÖ.md").slug == "ao"
    by_title = read("---\ntitle: Crème Brûlée\n---\n".encode(), PurePath("日本.md"))
    assert by_title.slug == "creme-brulee"
    bundle = read(b"---\ntitle: T\n---\n", PurePath("content/posts/my-bundle/index.md"))
    assert bundle.slug == "my-bundle"


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ("tags: python web", ("python", "web")),
        ("tags: 'python, web dev'", ("python", "web dev")),
        ("tags: [python, 2023]", ("python", "2023")),
        ("tags:\n  - One\n  - one\n  - Two", ("One", "Two")),
        ("tags: []", ()),
        ("tags:", ()),
    ],
)
def test_tags_as_string_or_list(tags: str, expected: tuple[str, ...]) -> None:
    assert source(f"---\ntitle: T\n{tags}\n---\n").tags == expected


def test_redirects_that_are_not_paths_are_warned_about_and_dropped() -> None:
    found = source(
        "---\ntitle: T\npermalink: /:year/:title/\naliases: ['https://elsewhere.example/x']\n---\n"
    )
    assert found.redirects == ()
    assert len(found.warnings) == 2
    assert "line 3: permalink" in found.warnings[0] and "pattern" in found.warnings[0]


def test_crlf_and_a_byte_order_mark_are_read() -> None:
    found = source(b"\xef\xbb\xbf---\r\ntitle: Windows\r\n---\r\nLine one\r\nLine two\r\n")
    assert (found.title, found.body) == ("Windows", "Line one\nLine two\n")


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("---\ntitle: [oops\n---\n", 2, "invalid YAML"),
        ("---\ntitle: ok\n  bad: indent\n---\n", 3, "invalid YAML"),
        ("---\ntitle: T\ndate: 2023-02-30\n---\n", 3, "impossible date '2023-02-30'"),
        ("---\ntitle: T\ndate: '2023-02-30 10:00'\n---\n", 3, "impossible date"),
        ("---\ntitle: T\n\ndate: next tuesday\n---\n", 4, "is not a date"),
        ("+++\ntitle = 'T'\ndate = 2023-13-45\n+++\n", 3, "invalid TOML"),
        ("+++\ntitle = 'T'\n\ntags = [\n+++\n", 2, "invalid TOML"),
        ("---\ndescription: no title\n---\n", 1, "missing title"),
        ("---\ntitle: '   '\n---\n", 2, "missing title"),
        ("---\ntitle: [a, b]\n---\n", 2, "'title' must be text"),
        ("---\ntitle: T\ncomments: maybe\n---\n", 3, "'comments' must be true or false"),
        ("---\ntitle: T\ntags: {a: 1}\n---\n", 3, "'tags' must be a list or a string"),
        ("---\n- a list\n---\n", 2, "not a list of 'key: value' lines"),
        ("---\ntitle: T\n", 1, "never closed"),
        ("no front matter at all\n", 1, "no front matter"),
    ],
)
def test_bad_files_say_what_and_where(text: str, line: int, words: str) -> None:
    error = problem(text)
    assert words in error.message
    assert error.line == line


def test_a_post_needs_an_address_in_latin_letters_or_digits() -> None:
    error = problem("---\ntitle: 日本\n---\n", "日本.md")
    assert "no address for this post" in error.message and error.line == 2


def test_a_file_that_is_not_utf8_names_the_byte_and_line() -> None:
    error = problem(b"---\ntitle: caf\xe9\n---\n")
    assert "not UTF-8" in error.message and "0xe9" in error.message
    assert error.line == 2


def test_a_file_with_a_nul_character_is_refused_as_binary() -> None:
    error = problem(b"---\ntitle: T\n---\nline\nnul \x00 here\n")
    assert "not a text file" in error.message and error.line == 5


@pytest.mark.parametrize("text", [b"", b"  \n\n\t\n"])
def test_an_empty_file_is_refused(text: bytes) -> None:
    error = problem(text)
    assert error.message == "the file is empty" and error.line is None


def test_kept_values_are_json_safe() -> None:
    found = source(
        "---\ntitle: T\nlastmod: 2023-10-02 10:00:00\nnan: .nan\nwhen: [2023-01-01]\n---\n"
    )
    assert found.extra == {
        "lastmod": "2023-10-02T10:00:00",
        "nan": "nan",
        "when": ["2023-01-01"],
    }


def test_a_summary_stands_in_only_for_a_missing_description() -> None:
    kept = "---\ntitle: T\nexcerpt: The gist.\n"
    assert source(kept + "---\nBody.\n").description == "The gist."
    # A blank one is the writer's choice: the card shows the opening words.
    assert source(kept + "description: ' '\n---\nBody.\n").description == ""
    assert source(kept + "description:\n---\nBody.\n").description == ""


@pytest.mark.parametrize("date", ["0001-01-01 00:00:00 +0500", "9999-12-31T23:00:00-05:00"])
def test_a_date_that_has_no_utc_time_is_impossible(date: str) -> None:
    found = problem(f"---\ntitle: T\ndate: {date}\n---\n")
    assert found.line == 3 and "outside the years 1 to 9999" in found.message
