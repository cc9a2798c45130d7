"""The ``rus`` command line: a thin Typer app over the same functions the portal uses.

Each domain registers its commands from a module in :mod:`rus._cli`; heavy libraries are imported
inside the commands so that ``rus --help`` and ``rus info`` start fast.
"""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console
from rich.markup import escape

from rus.errors import RusError

# Modules in rus._cli that define ``register(app)``; order is the order in --help.
_COMMAND_MODULES = ("products", "ships", "burn", "hub", "portal", "demo")

err_console = Console(stderr=True)


def build_app() -> typer.Typer:
    """Create the Typer application with every domain's commands registered."""
    app = typer.Typer(
        name="rus",
        help="rus: Research and User Support for Copernicus Sentinel data.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )

    @app.callback()
    def _root(
        version: bool = typer.Option(False, "--version", help="Print the version and exit."),
    ) -> None:
        """rus: Research and User Support for Copernicus Sentinel data."""
        if version:
            from rus import __version__

            typer.echo(__version__)
            raise typer.Exit()

    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(f"rus._cli.{name}")
        except ModuleNotFoundError as exc:  # a domain not installed in this build
            if exc.name != f"rus._cli.{name}":
                raise
            continue
        module.register(app)
    return app


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``rus`` script: user errors become one red line and exit code 2.

    Usage errors are reported by Typer itself (exit code 2, no traceback).
    """
    app = build_app()
    try:
        app(args=argv, prog_name="rus")
    except RusError as exc:
        err_console.print(
            f"[bold red]rus: error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("Interrupted.")
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
