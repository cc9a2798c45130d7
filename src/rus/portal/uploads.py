"""Size-limited reading of uploaded text files."""

from __future__ import annotations

from fastapi import UploadFile

from rus.services.errors import TooLarge, ValidationFailed


async def read_upload_text(file: UploadFile, max_bytes: int) -> str:
    """Read an upload as UTF-8 text, refusing more than ``max_bytes`` (``TooLarge``)."""
    data = await file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise TooLarge(
            f"upload {file.filename or ''!s} is larger than the limit of {max_bytes:,} bytes"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed(
            f"upload {file.filename or ''!s} is not UTF-8 text (expected GeoJSON or WKT)"
        ) from None
