"""Serving product files over HTTP: byte ranges, optional rate limit, zip member access."""

from __future__ import annotations

import re
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath

import anyio
from starlette.responses import Response, StreamingResponse

from rus.hub.errors import UnsafeNameError
from rus.hub.records import check_name

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``(first, last)`` inclusive for a single ``Range: bytes=...`` header, None when absent or
    multi-range (serve the whole file). Raises ValueError when unsatisfiable."""
    if not header:
        return None
    m = _RANGE.match(header.strip())
    if not m or (not m[1] and not m[2]):
        return None
    if not m[1]:
        length = int(m[2])
        if length == 0:
            raise ValueError("empty suffix range")
        return max(0, size - length), size - 1
    first = int(m[1])
    last = min(int(m[2]), size - 1) if m[2] else size - 1
    if first >= size or last < first:
        raise ValueError(f"range {header} outside 0-{size - 1}")
    return first, last


async def _chunks(
    path: Path, first: int, last: int, chunk: int, rate: float | None
) -> AsyncIterator[bytes]:
    remaining = last - first + 1
    clock = anyio.current_time
    t0, sent = clock(), 0
    async with await anyio.open_file(path, "rb") as fh:
        await fh.seek(first)
        while remaining > 0:
            block = await fh.read(min(chunk, remaining))
            if not block:
                break
            remaining -= len(block)
            sent += len(block)
            yield block
            if rate:
                ahead = sent / rate - (clock() - t0)
                if ahead > 0:
                    await anyio.sleep(ahead)


def file_response(
    path: Path,
    *,
    range_header: str | None,
    filename: str,
    range_support: bool = True,
    rate: float | None = None,
    chunk: int = 1 << 20,
    extra_headers: dict[str, str] | None = None,
) -> Response:
    """A streaming response of ``path`` honouring a single byte range (206) when enabled."""
    size = path.stat().st_size
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', **(extra_headers or {})}
    span = None
    if range_support:
        headers["Accept-Ranges"] = "bytes"
        try:
            span = parse_range(range_header, size)
        except ValueError:
            return Response(status_code=416, headers={"Content-Range": f"bytes */{size}"})
    first, last = span if span else (0, size - 1)
    headers["Content-Length"] = str(max(0, last - first + 1))
    status = 200
    if span is not None:
        status = 206
        headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    return StreamingResponse(
        _chunks(path, first, last, chunk, rate),
        status_code=status,
        headers=headers,
        media_type="application/octet-stream",
    )


def node_segments(rest: str) -> list[str]:
    """Node names of ``Nodes(a)/Nodes(b)/...`` (each a plain name; traversal refused)."""
    segments = []
    for part in rest.strip("/").split("/"):
        m = re.fullmatch(r"Nodes\((.*)\)", part)
        if not m:
            raise UnsafeNameError(f"refused node path segment {part[:80]!r}")
        segments.append(check_name(m[1], "node name"))
    return segments


def zip_children(path: Path, segments: list[str]) -> list[tuple[str, int, bool]]:
    """``(name, size, is_folder)`` of the children of node ``segments`` inside a zip product."""
    prefix = "/".join(segments)
    prefix = prefix + "/" if prefix else ""
    out: dict[str, tuple[str, int, bool]] = {}
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if not info.filename.startswith(prefix) or info.filename == prefix:
                continue
            rest = PurePosixPath(info.filename[len(prefix) :]).parts
            if not rest:
                continue
            folder = len(rest) > 1 or info.is_dir()
            out.setdefault(rest[0], (rest[0], 0 if folder else info.file_size, folder))
    return sorted(out.values())


def zip_member(path: Path, segments: list[str]) -> bytes | None:
    """Bytes of one member of a zip product, None when absent."""
    name = "/".join(segments)
    with zipfile.ZipFile(path) as zf:
        try:
            return zf.read(name)
        except KeyError:
            return None
