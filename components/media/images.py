"""The image work on an upload (run in a thread): verified, cleaned, re-encoded, and
its variants made.

An upload is never trusted. Its type is read from its content by Pillow (the name and
the browser's claim are ignored), its pixel count is checked before anything is
decoded, and it is re-encoded so that no metadata leaves with it: no EXIF with the
place a photo was taken, no XMP, no ICC profile, no comments, no text chunks. Only a
file whose container is already clean may be kept as it is, when asked (`keep_clean`,
for importing what Quire once stored); its variants are made from its pixels as usual,
and the variants of a re-encoded file from the bytes stored, so that both agree.
"""

from __future__ import annotations

import functools
import hashlib
import io
import itertools
import struct
import zlib
from dataclasses import dataclass
from typing import Any, cast

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from components.media.clean import is_clean
from components.media.refusals import MediaError, megapixels

# Pillow's names of the formats Quire accepts, and the type each is stored as. MPO is
# what Pillow calls a JPEG that carries extra pictures (a depth map, a second eye):
# it is a JPEG to every browser, and only its first picture is kept.
_ACCEPTED = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "WEBP": "image/webp",
    "GIF": "image/gif",
}
_OPENERS = ["PNG", "JPEG", "WEBP", "GIF"]

# A still image above this is refused before it is decoded: 50 megapixels covers photos
# from phones and most cameras, and decoded as RGBA it already takes 200 MB of memory.
MAX_PIXELS = 50_000_000
# An animation's frames are all held in memory while it is re-encoded, so their sum
# is bounded too (e.g. 400 frames of 500x500).
MAX_ANIMATION_PIXELS = 100_000_000
# The widths `srcset` offers; only those narrower than the original are made.
# 1200 is the width social cards are drawn at (components/social.py).
VARIANT_WIDTHS = (480, 960, 1200, 1600)
JPEG_QUALITY = 85
WEBP_QUALITY = 85

NOT_AN_IMAGE = "This file is not an image Quire accepts (PNG, JPEG, WebP or GIF)."
DAMAGED = "The image is damaged or incomplete, so Quire cannot read it."

# What Pillow raises on hostile or broken input besides UnidentifiedImageError: its
# decoders report in many ways. Anything else is a bug here and is left to surface.
_UNREADABLE = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, zlib.error)


@dataclass(frozen=True)
class Encoded:
    """One file as it will be stored: bytes of a verified type, and their hash."""

    data: bytes
    content_type: str
    width: int
    height: int
    sha256: str

    @classmethod
    def of(cls, data: bytes, content_type: str, size: tuple[int, int]) -> Encoded:
        return cls(data, content_type, size[0], size[1], hashlib.sha256(data).hexdigest())


@dataclass(frozen=True)
class Prepared:
    original: Encoded
    variants: list[Encoded]


def _too_many_pixels(max_pixels: int, width: int = 0, height: int = 0) -> MediaError:
    found = f"{width}x{height}, {megapixels(width * height)} megapixels; " if width else ""
    return MediaError(
        f"The image is too large in pixels ({found}the limit is "
        f"{megapixels(max_pixels)} megapixels).",
        status=413,
    )


def prepare(data: bytes, max_pixels: int, keep_clean: bool = False) -> Prepared:
    """Verify, clean and re-encode an upload, and make its variants: all the CPU work.

    With `keep_clean`, an upload that is already clean is verified and decoded all the
    same, but its own bytes are kept instead of an encoding of its pixels.
    """
    try:
        return _prepare_image(data, max_pixels, keep_clean)
    except MediaError:
        raise
    # Pillow's own bomb check fires inside Image.open on sizes far above ours: a
    # refusal like ours. The warning is an exception only where warnings are errors.
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(max_pixels) from None
    except UnidentifiedImageError:
        raise MediaError(NOT_AN_IMAGE) from None
    except _UNREADABLE as error:
        raise MediaError(DAMAGED) from error


def _prepare_image(data: bytes, max_pixels: int, keep_clean: bool) -> Prepared:
    # `formats` limits Pillow to the plugins of accepted types, each of which
    # recognises its files by their first bytes.
    with Image.open(io.BytesIO(data), formats=_OPENERS) as image:
        content_type = _ACCEPTED.get(image.format or "")
        if content_type is None:
            raise MediaError(NOT_AN_IMAGE)
        width, height = image.size
        # Opening read only the header: nothing is decoded until this check passes.
        if width * height > max_pixels:
            raise _too_many_pixels(max_pixels, width, height)
        # An MPO's extra pictures are hidden data to us: it is never kept as it is.
        keep = keep_clean and image.format != "MPO" and is_clean(data, content_type)
        kept = data if keep else None
        if image.format != "MPO" and getattr(image, "is_animated", False):
            return Prepared(_animation(image, content_type, kept), [])
        return _still(image, content_type, kept)


def _still(image: Image.Image, content_type: str, kept: bytes | None) -> Prepared:
    """A still image: its own bytes `kept`, or its cleaned pixels re-encoded."""
    image.load()
    # The walk over the container already refuses every place EXIF lives; asking
    # what Pillow found as well costs nothing, and the orientation rule must hold.
    if kept is not None and not image.getexif():
        return Prepared(Encoded.of(kept, content_type, image.size), _variants(image))
    still = _bare(_upright(image))
    original = Encoded.of(_save(still, content_type), content_type, still.size)
    return Prepared(original, _variants_of(original))


def _upright(image: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says, as browsers would show it."""
    try:
        return ImageOps.exif_transpose(image)
    except _UNREADABLE:
        # Unreadable EXIF is thrown away below anyway; it is no reason to refuse a photo.
        return image.copy()


def _bare(image: Image.Image) -> Image.Image:
    """The pixels alone, in sRGB, with nothing in `info` for an encoder to carry over.

    A wide-gamut photo (Display P3, Adobe RGB) is converted rather than stripped of
    its profile, which would dull its colours. A copy starts with no cached EXIF.
    """
    icc = image.info.get("icc_profile")
    if image.mode in {"RGB", "RGBA", "CMYK"} and icc:
        output = "RGBA" if image.mode == "RGBA" else "RGB"
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            # Typed Image | None for inPlace=True, which returns None; without it, Pillow
            # always returns the new image.
            image = cast(
                Image.Image,
                ImageCms.profileToProfile(image, source, _srgb(), outputMode=output),
            )
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # A broken or mismatched profile: the pixels are kept as they are.
    if image.mode == "CMYK":
        image = image.convert("RGB")
    bare = image.copy()
    bare.info = {key: image.info[key] for key in ("transparency",) if key in image.info}
    return bare


@functools.cache
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


# Passed to every save, so that no encoder falls back to metadata it finds in `info`
# (PNG takes the ICC profile from there, JPEG and GIF the comment).
_NO_METADATA: dict[str, Any] = {"exif": b"", "icc_profile": None, "comment": b""}
_ENCODINGS: dict[str, dict[str, Any]] = {
    "image/png": {"format": "PNG"},
    "image/jpeg": {
        "format": "JPEG",
        "quality": JPEG_QUALITY,
        "optimize": True,
        "progressive": True,
    },
    "image/webp": {"format": "WEBP", "quality": WEBP_QUALITY},
    "image/gif": {"format": "GIF"},
}


def _save(image: Image.Image, content_type: str, **options: Any) -> bytes:
    output = io.BytesIO()
    image.save(output, **_ENCODINGS[content_type], **_NO_METADATA, **options)
    return output.getvalue()


def _animation(image: Image.Image, content_type: str, kept: bytes | None) -> Encoded:
    """Every frame kept with its timing and the loop count; nothing else.

    Every frame is decoded, also when the file's own bytes are `kept`: that is what
    finds a damaged one. EXIF orientation is not applied to animations (GIF has none,
    and Pillow turns one frame only), and no variants are made: a still variant in
    `srcset` would stop the animation, and resizing every frame costs more than it saves.
    """
    durations = _decode_frames(image)
    if kept is not None:
        return Encoded.of(kept, content_type, image.size)
    # Without a loop count a GIF plays once; adding one would change it.
    loop = {"loop": image.info["loop"]} if "loop" in image.info else {}
    data = _save(image, content_type, save_all=True, duration=durations, **loop)
    return Encoded.of(data, content_type, image.size)


def _decode_frames(image: Image.Image) -> list[float]:
    """Decode every frame, within the animation budget; their durations, back at frame 0."""
    width, height = image.size
    durations: list[float] = []
    # Counted frame by frame, so that a long animation is refused after decoding no
    # more than the budget, not all of it.
    for index in itertools.count():
        try:
            image.seek(index)
        except EOFError:
            break
        if (index + 1) * width * height > MAX_ANIMATION_PIXELS:
            raise MediaError(
                f"The animation is too large: its frames come to more than "
                f"{megapixels(MAX_ANIMATION_PIXELS)} megapixels in all.",
                status=413,
            )
        image.load()
        durations.append(image.info.get("duration", 0))
    image.seek(0)
    return durations


def _rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB or RGBA for WebP: 16-bit greys are scaled down, not clipped to white."""
    if image.mode in {"I", "I;16", "I;16B", "I;16L"}:
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    return image.convert("RGBA" if image.has_transparency_data else "RGB")


def _variants(image: Image.Image) -> list[Encoded]:
    width, height = image.size
    source = _rgb(image)
    variants = []
    for target in VARIANT_WIDTHS:
        if target >= width:
            continue
        size = (target, max(1, round(height * target / width)))
        # reducing_gap shrinks by whole factors first: much faster, no visible cost.
        small = source.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
        variants.append(Encoded.of(_save(small, "image/webp"), "image/webp", size))
    return variants


def _variants_of(original: Encoded) -> list[Encoded]:
    """The variants of a re-encoded original, made from the bytes that are stored.

    Not from the pixels before encoding: JPEG and WebP lose a little on the way, and
    storing these bytes again (an export imported with `keep_clean`) makes its variants
    from the stored pixels; both must give the same files.
    """
    if original.width <= min(VARIANT_WIDTHS):
        return []  # none would be made; no need to decode
    with Image.open(io.BytesIO(original.data), formats=_OPENERS) as stored:
        stored.load()
        return _variants(stored)
