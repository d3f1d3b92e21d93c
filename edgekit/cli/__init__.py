"""The `edgekit` command line: a thin typer layer. Each command parses its options, calls one
library function, hands the result to a renderer (`edgekit.report.console`) and maps errors
to exit codes (`app.handle_errors`). Policy (what may be combined, when to exit 5) lives in
the library; library messages name Python parameters and `flags.to_cli` prints them as flags.
"""

from .app import app, handle_errors, main, ui
from . import commands  # noqa: F401,E402 - registers the commands

__all__ = ["app", "handle_errors", "main", "ui"]
