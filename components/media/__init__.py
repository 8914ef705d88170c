"""The media library: uploaded images checked, cleaned, resized, stored and found again.

- `names`: a stored file's name and type; an upload's display name and alt text.
- `refusals`: `MediaError`, and the words its messages give sizes in.
- `images`: the image work in Pillow (verify, orient, strip metadata, sRGB, variants,
  animations).
- `clean`: whether a PNG, JPEG, WebP or GIF is already clean, to be kept as it is.
- `files`: the files on this instance's disk, filled in from the database.
- `library`: storing an upload; listing, finding and deleting the library's images.
- `backup`: the whole library in an export (its files and `_data/quire_media.yml`), and
  back.
"""
