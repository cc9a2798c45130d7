"""Helpers shared by the CLI command modules: JSON output, progress bars, loose input parsing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

console = Console()


def _default(obj: Any) -> Any:
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def dumps(obj: Any) -> str:
    """JSON text of ``obj`` (datetimes ISO 8601, numpy scalars as numbers)."""
    return json.dumps(obj, indent=2, default=_default, ensure_ascii=False)


def echo_json(obj: Any) -> None:
    """Print ``obj`` as JSON on stdout, for machines."""
    typer.echo(dumps(obj))


@contextmanager
def progress(description: str, total: float | None = None) -> Iterator[Progress]:
    """A rich progress bar on stderr; use ``bar.update(task_id, advance=...)``.

    The task id of ``description`` is ``bar.task_ids[0]``.
    """
    bar = Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )
    with bar:
        bar.add_task(description, total=total)
        yield bar


def parse_shape(text: str) -> tuple[int, int]:
    """Parse ``ROWSxCOLS`` (e.g. ``2000x3000``) into a tuple of ints."""
    try:
        rows, cols = (int(v) for v in text.lower().replace(" ", "").split("x"))
    except ValueError:
        raise typer.BadParameter(f"expected ROWSxCOLS such as 2000x3000, got {text!r}") from None
    if rows <= 0 or cols <= 0:
        raise typer.BadParameter(f"shape must be positive, got {text!r}")
    return rows, cols
