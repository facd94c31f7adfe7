"""What the operator sees: the invocation's console, progress bars, refusals, Beijing times.

Command modules read ``terminal.console`` at call time (never ``from … import console``):
:func:`use_fresh_console` replaces it when each invocation starts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from app.errors import AppError
from app.rules.months import BEIJING

console = Console()


def use_fresh_console() -> None:
    """Each invocation measures the terminal (COLUMNS included) when it runs, not at import."""
    global console
    console = Console()


class Refused(Exception):
    """A refusal the command line makes itself (an ambiguous id prefix): reported as an
    ``AppError`` is, with an English code and a Chinese detail."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def fail(error: AppError | Refused) -> NoReturn:
    console.print(f"[red]错误 {error.code}: {escape(error.detail)}[/red]")
    raise typer.Exit(code=2)


@contextmanager
def app_errors() -> Iterator[None]:
    """A refused operation: its code and detail in red, exit code 2 (its transaction rolled back)."""
    try:
        yield
    except (AppError, Refused) as error:
        fail(error)


def progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def beijing_time(instant: datetime, pattern: str = "%Y-%m-%d %H:%M") -> str:
    return instant.astimezone(BEIJING).strftime(pattern)
