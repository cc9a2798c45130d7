"""HTML form helpers: read the form once (dependency), turn validation errors into sentences."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile


async def get_form(request: Request) -> FormData:
    """The request's parsed form (cached by Starlette, so the CSRF check can read it too)."""
    return await request.form()


FormDep = Annotated[FormData, Depends(get_form)]


def text(form: FormData, key: str, default: str = "") -> str:
    """A text field, stripped ('' if absent or a file)."""
    value = form.get(key)
    return value.strip() if isinstance(value, str) else default


def texts(form: FormData, key: str) -> list[str]:
    """All values of a repeated field (checkbox groups)."""
    return [v.strip() for v in form.getlist(key) if isinstance(v, str) and v.strip()]


def upload(form: FormData, key: str) -> UploadFile | None:
    """A non-empty uploaded file, or None."""
    value = form.get(key)
    if isinstance(value, UploadFile) and value.filename:
        return value
    return None


def error_sentences(exc: ValidationError) -> str:
    """Human sentences for a pydantic error: ``field: problem; ...``."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{loc.replace('_', ' ')}: {msg}" if loc else msg)
    return "; ".join(parts)
