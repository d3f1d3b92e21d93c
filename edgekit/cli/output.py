"""Writing what a command produced: JSON on stdout, or --json/--report files (rendered first,
written atomically, each only where a regular file may be replaced)."""

from __future__ import annotations

import sys

from rich.markup import escape

from ..artifact import dumps
from .app import ui


def print_json(data) -> None:
    """`data` (plain JSON-able values; non-finite floats as strings) on stdout."""
    sys.stdout.write(dumps(data))
    sys.stdout.flush()


def emit(result, as_json: bool, json_path, report, render_terminal, render_page) -> None:
    """JSON on stdout (`--json`) or the terminal view (tables on stdout, warnings on stderr),
    then the -o JSON file and the --report page. The page is rendered before anything is
    written, so a failure writes nothing."""
    from .._files import atomic_write_text

    u = ui()
    text = dumps(result.to_json(), indent=1)
    if as_json:
        sys.stdout.write(text)
    else:
        u.print(*render_terminal(result, u.out.width), wrap=True)
    warnings = getattr(result, "warnings", ())
    u.print(*[f"[yellow]warning:[/yellow] {escape(w)}" for w in warnings], err=True, wrap=True)
    page = render_page(result) if report is not None else None
    if json_path is not None:
        atomic_write_text(json_path, text)
        u.err.print(f"wrote {json_path}", soft_wrap=True, markup=False)
    if page is not None:
        atomic_write_text(report, page)
        u.err.print(f"wrote {report}", soft_wrap=True, markup=False)
