"""Names and types: a stored file's name and the type it is served as, and what an
upload's name and alt text become (cleaned, or refused)."""

from __future__ import annotations

import unicodedata

from components.media.refusals import MediaError

EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}
_CONTENT_TYPES = {extension: content_type for content_type, extension in EXTENSIONS.items()}

MAX_FILENAME_LENGTH = 255
MAX_ALT_TEXT_LENGTH = 500

# Bidirectional controls can make "gnp.exe" display as "exe.png"; they go with the
# other control characters.
_BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def file_name(sha256: str, content_type: str) -> str:
    """The name a stored file has on disk and in its URL: `<sha256>.<ext>`."""
    return f"{sha256}.{EXTENSIONS[content_type]}"


def content_type_of(name: str) -> str:
    """The type to serve a stored file as, from the extension `file_name` gave it."""
    extension = name.rpartition(".")[2].lower()
    return _CONTENT_TYPES.get(extension, "application/octet-stream")


def _without_controls(text: str) -> str:
    return "".join(
        char
        for char in unicodedata.normalize("NFC", text)
        if unicodedata.category(char) not in {"Cc", "Cs"} and char not in _BIDI_CONTROLS
    )


def refuse_paths(filename: str) -> None:
    """A name with a folder in it is refused, never quietly cut down to its last part.

    Browsers send a bare name; a path (`../x.png`, `a/b.png`, `..\\x.png`) comes from a
    hand-made request probing for a file system write, and is answered plainly.
    """
    if "/" in filename or "\\" in filename or filename.strip() in {".", ".."}:
        raise MediaError(
            "The file name may not include a folder path (“/”, “\\” or “..”). "
            "Upload the file under a plain name."
        )


def display_name(filename: str, extension: str) -> str:
    """The name the library shows: what the browser sent, cleaned.

    Only ever displayed. Files on disk are named by hash, so nothing here can reach
    the file system, whatever the upload was called.
    """
    # Paths are refused before this; taking the last part again costs nothing.
    name = _without_controls(filename.replace("\\", "/").rpartition("/")[2]).strip()
    if not name.strip("."):
        return f"image.{extension}"
    if len(name) <= MAX_FILENAME_LENGTH:
        return name
    stem, dot, suffix = name.rpartition(".")
    if not dot or len(suffix) > 10:
        return name[:MAX_FILENAME_LENGTH]
    return f"{stem[: MAX_FILENAME_LENGTH - len(suffix) - 1]}.{suffix}"


def clean_alt_text(alt_text: str) -> str:
    alt = " ".join(_without_controls(alt_text).split())
    if len(alt) > MAX_ALT_TEXT_LENGTH:
        raise MediaError(
            f"The description is {len(alt)} characters long; the limit is {MAX_ALT_TEXT_LENGTH}."
        )
    return alt
