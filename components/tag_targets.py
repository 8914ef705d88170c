"""What an imported file's template tags need from the disk (components/template_tags is
pure): which generator the file was written for, and the slug of the file a
cross-reference (`{% link %}`, `{% post_url %}`, Hugo's `ref` and `relref`) names.

- Hugo leaves `{{ ... }}` in content alone and Jekyll's Liquid does not, so the same
  text is a tag to report in one and plain text in the other. A file is Hugo's when its
  front matter is TOML, or when the nearest folder above it that holds a site's
  settings holds Hugo's (`hugo.toml`, or `config.toml` beside `content/`), or, with
  neither, when it lies under a `content` folder. Files in `_posts` or `_drafts`, and
  sites with `_config.yml`, are Jekyll's.
- A cross-reference names a file; the post it became has the slug that file gives
  (its `slug:`, a page's permalink), which is not always its name. The file is looked
  for as the generators look for it (beside the file, then up from it; Hugo also under
  `content/`, Jekyll's `post_url` under `_posts/`), and read as an import reads it.

Only files under the folders being imported are read, as for images. Everything here
is blocking (it looks at the disk): the importer calls it from a thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from components import frontmatter

_JEKYLL_SETTINGS = ("_config.yml", "_config.yaml", "_config.toml")
_HUGO_SETTINGS = ("hugo.toml", "hugo.yaml", "hugo.yml", "hugo.json")
# Hugo's settings before 0.110; only with a `content` folder beside them, as the name is common.
_OLD_HUGO_SETTINGS = ("config.toml", "config.yaml", "config.yml", "config.json")
_JEKYLL_FOLDERS = frozenset({"_posts", "_drafts"})
_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd")
_BUNDLE_FILES = ("index.md", "_index.md", "index.markdown")


@dataclass
class Files:
    """One import's look at the files it reads, with what it found kept for the next file."""

    # The folders being imported, resolved; none: each file's own folder.
    roots: tuple[Path, ...] = ()
    _generators: dict[Path, str | None] = field(default_factory=dict)
    _slugs: dict[Path, str | None] = field(default_factory=dict)

    # --- which generator --------------------------------------------------------

    def is_hugo(self, file: Path, head: str) -> bool:
        """Whether `file` (its front matter and delimiters `head`) was written for Hugo."""
        if head.startswith("+++"):
            return True
        resolved = file.resolve()
        if _JEKYLL_FOLDERS.intersection(resolved.parts):
            return False
        for folder in resolved.parents:
            if (generator := self._generator(folder)) is not None:
                return generator == "hugo"
        return "content" in resolved.parts

    def _generator(self, folder: Path) -> str | None:
        if folder not in self._generators:
            try:
                self._generators[folder] = _settings_in(folder)
            except OSError:  # a folder it may not read says nothing
                self._generators[folder] = None
        return self._generators[folder]

    # --- cross-references -------------------------------------------------------

    def slugs_for(self, file: Path) -> Callable[[str, str], str | None]:
        """For the tags of `file`: the slug of the file a tag (`link`, `post_url`, `ref`)
        names by `path`, or None when no such file is here to say."""
        folder = file.resolve().parent
        own = [root for root in self.roots if folder.is_relative_to(root)]
        # Any imported folder may hold the target (a post in `_posts` links a draft in
        # `_drafts`); the search goes up to just above the one this file is in.
        allowed = self.roots if own else (folder,)
        top = min(own or [folder], key=lambda root: len(root.parts)).parent

        def slug_of(tag: str, path: str) -> str | None:
            try:
                target = _find(tag, path, folder, top, allowed)
            except OSError:  # a folder it may not read: as if the file were not there
                return None
            return None if target is None else self._slug(target, allowed)

        return slug_of

    def _slug(self, target: Path, allowed: Sequence[Path]) -> str | None:
        if target not in self._slugs:
            self._slugs[target] = _read_slug(target, allowed)
        return self._slugs[target]


def _settings_in(folder: Path) -> str | None:
    """'jekyll' or 'hugo' when `folder` holds that generator's settings, else None."""
    if any((folder / name).is_file() for name in _JEKYLL_SETTINGS):
        return "jekyll"
    if any((folder / name).is_file() for name in _HUGO_SETTINGS):
        return "hugo"
    if (folder / "content").is_dir() and any(
        (folder / name).is_file() for name in _OLD_HUGO_SETTINGS
    ):
        return "hugo"
    return None


def _find(tag: str, written: str, folder: Path, top: Path, allowed: Sequence[Path]) -> Path | None:
    """The file a tag's path names, looked for from `folder` up to `top`; only a file
    under `allowed` counts."""
    relative = unquote(written.split("#")[0].split("?")[0]).strip().lstrip("/")
    if not relative or "\0" in relative:
        return None
    for base in (folder, *folder.parents):
        if tag == "post_url":
            places = [base / "_posts"] + ([base] if base.name == "_posts" else [])
        elif tag == "link":
            places = [base]
        else:  # Hugo: beside the page, then from the content folder
            places = [base, base / "content"]
        for place in places:
            if (found := _file_at(place / relative, tag, allowed)) is not None:
                return found
        if base == top or not base.is_relative_to(top):
            break
    return None


def _file_at(candidate: Path, tag: str, allowed: Sequence[Path]) -> Path | None:
    """The Markdown file `candidate` names: itself, itself with a suffix (`post_url` and
    Hugo leave it out), or a Hugo bundle's own file in it."""
    tries = [candidate]
    if tag != "link":
        tries += [candidate.with_name(candidate.name + suffix) for suffix in _SUFFIXES]
        tries += [candidate / name for name in _BUNDLE_FILES]
    for path in tries:
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError):  # a link loop, a name too long
            continue
        if any(resolved.is_relative_to(root) for root in allowed) and resolved.is_file():
            return resolved
    return None


def _read_slug(target: Path, allowed: Sequence[Path]) -> str | None:
    """The slug importing `target` gives, read as the import reads it (from the folder
    the writer gave, so that `_drafts` and `content` mean what they mean there)."""
    if target.suffix.lower() not in _SUFFIXES:
        return None  # a static file: the tag keeps its path
    root = next(root for root in allowed if target.is_relative_to(root))
    try:
        data = target.read_bytes()
        return frontmatter.read(data, target.relative_to(root.parent)).slug
    except (OSError, frontmatter.SourceError):
        return None
