"""A request's image: its bytes taken from a raw body (any image/* type) or from a multipart field `image`."""

from __future__ import annotations

import re

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

#: Content types read as the image itself; multipart/form-data is read for its `image` field.
RAW_TYPES = ("image/", "application/octet-stream")


def upload_name(filename: str | None) -> str:
    """A label for an uploaded file in answers and messages: its last name part, printable, at most 80 characters.
    It is never used to open anything."""
    name = re.split(r"[\\/]", filename or "")[-1]
    name = "".join(c for c in name if c.isprintable())[:80].strip()
    return name or "upload"


async def image_from_request(request: Request) -> tuple[bytes, str]:
    """The image's bytes and a label for it; HTTPException 400 (no image, bad multipart) or 415 (not an image type)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "multipart/form-data":
        async with request.form(max_files=1, max_fields=8) as form:
            upload = form.get("image")
            if not isinstance(upload, UploadFile):
                raise HTTPException(400, "the multipart body has no file field 'image'")
            data, name = await upload.read(), upload_name(upload.filename)
    elif not media or media.startswith(RAW_TYPES):
        data, name = await request.body(), "upload"
    else:
        raise HTTPException(
            415,
            f"Content-Type {media} is not an image: send the image itself as the body (image/png, image/jpeg...) "
            "or as the multipart field 'image'",
        )
    if not data:
        raise HTTPException(400, f"{name}: empty (0 bytes), no image sent")
    return data, name
