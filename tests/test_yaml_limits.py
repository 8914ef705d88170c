"""YAML from someone else's folder: an alias bomb, a self-holding alias or deep nesting is
refused at once, naming the file and line, and the import goes on with the rest."""

from __future__ import annotations

import shutil
from pathlib import Path, PurePath

import pytest
import yaml

from components import yaml_limits
from components.frontmatter import Source, SourceError, read

from .conftest import backend_url
from .portability import FIXTURES, Blog


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """Nine levels of nine aliases: a few hundred bytes standing for 9^9 values."""
    lines = ["l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * width) + "]")
    return "\n".join(lines)


def parse_source(text: str, name: str) -> Source:
    return read(text.encode(), PurePath("_posts") / name)


def test_an_alias_bomb_is_refused_at_the_line_it_blows_up() -> None:
    text = f"---\ntitle: Boom\n{alias_bomb()}\ntags: *l8\n---\nBody.\n"
    with pytest.raises(SourceError) as refused:
        parse_source(text, "2024-01-01-boom.md")
    assert "aliases expand to more than 10,000 values" in str(refused.value)
    assert refused.value.line == 7  # l5: the first level past the limit


def test_an_alias_that_holds_itself_and_deep_nesting_are_refused() -> None:
    with pytest.raises(SourceError, match="refers to the value holding it"):
        parse_source("---\ntitle: Loop\nx: &x [1, *x]\n---\n", "loop.md")
    with pytest.raises(SourceError, match="nested too deeply"):
        parse_source("---\ntitle: Deep\nx: " + "[" * 3000 + "]" * 3000 + "\n---\n", "deep.md")


def test_ordinary_aliases_still_work() -> None:
    source = parse_source(
        "---\ntitle: Shared\ndefaults: &d {mood: calm}\nextra: *d\ntags: [a, b]\n---\nText\n",
        "2024-01-01-shared.md",
    )
    assert source.title == "Shared"


def test_backups_and_manifests_are_read_within_the_same_bound() -> None:
    with pytest.raises(yaml_limits.TooLarge):
        yaml_limits.safe_load(alias_bomb(levels=12, width=4))
    assert yaml_limits.safe_load("a: &a [1, 2]\nb: *a") == {"a": [1, 2], "b": [1, 2]}
    with pytest.raises(yaml.YAMLError):  # what the backup readers catch
        yaml_limits.safe_load("x: &x [*x]")


def test_quire_import_reports_the_bomb_and_imports_the_rest(
    backend: str, postgres_schema: None, tmp_path: Path
) -> None:
    site = Path(shutil.copytree(FIXTURES, tmp_path / "site"))
    bomb = site / "_posts" / "2024-01-01-boom.md"
    bomb.write_text(f"---\ntitle: Boom\n{alias_bomb()}\ntags: *l8\n---\nBody.\n")
    blog = Blog.empty(backend_url(backend, tmp_path), tmp_path)
    result = blog.quire("import", str(site))
    assert f"{bomb}:7: invalid YAML front matter: its aliases expand" in result.stderr
    assert "boom" not in blog.contents()["posts"]
    assert "hello-jekyll" in blog.contents()["posts"]


def test_a_data_file_that_is_not_yaml_says_its_line() -> None:
    assert yaml_limits.load_data("a: 1\nb: [2, 3]\n") == {"a": 1, "b": [2, 3]}
    with pytest.raises(yaml_limits.NotYaml, match="not YAML at line 3"):
        yaml_limits.load_data("a: 1\nb: [2\nc: d: e\n")
